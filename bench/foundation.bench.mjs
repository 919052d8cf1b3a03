// Foundation rows: cold start to first ping, idle RSS, ping latency and throughput.
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { baseUrl, daemonPid, percentile, row, rssKiB, timeCalls, wrk } from './lib.mjs';

const bin = process.env.SANDBOXD_BIN;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function pingOnce(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/api/ping', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
  });
}

async function coldStart() {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(bin, ['--bind', '127.0.0.1', '--port', String(port)], {
    env: { ...process.env, SANDBOX_LOG_LEVEL: 'error', PYTHON_POOL_MIN_SIZE: '0',
      JAVASCRIPT_POOL_MIN_SIZE: '0', TYPESCRIPT_POOL_MIN_SIZE: '0' },
    stdio: 'ignore',
  });
  const deadline = t0 + 5000;
  let ok = false;
  while (!ok && performance.now() < deadline) ok = await pingOnce(port);
  const ms = performance.now() - t0;
  const rss = ok ? rssKiB(child.pid) : NaN;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return { ms: ok ? ms : NaN, rss };
}

const starts = [];
for (let i = 0; i < 10; i++) starts.push(await coldStart());
row('cold start to first /api/ping', 'ms', percentile(starts.map((s) => s.ms), 50),
  percentile(starts.map((s) => s.ms), 99));
row('idle RSS of a fresh daemon after its first ping', 'MiB',
  percentile(starts.map((s) => s.rss), 50) / 1024);
row('RSS of the bench daemon after the benchmarks before this one', 'MiB', rssKiB(daemonPid) / 1024);

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const url = new URL('/api/ping', baseUrl);
const lat = await timeCalls(
  () =>
    new Promise((resolve, reject) => {
      http
        .get({ host: url.hostname, port: url.port, path: url.pathname, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    }),
  { count: 3000 },
);
row('/api/ping latency, 1 connection (node client)', 'ms', percentile(lat, 50), percentile(lat, 99));
agent.destroy();

for (const c of [1, 16]) {
  const r = wrk(url.pathname, ['-t', c > 1 ? '2' : '1', '-c', String(c), '-d', '5s']);
  row(`/api/ping throughput, ${c} connection(s) (wrk)`, 'req/s', Math.round(r.rps));
  row(`/api/ping latency, ${c} connection(s) (wrk)`, 'ms', r.p50, r.p99);
}
