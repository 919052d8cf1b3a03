// Session rows: exec latency, parallel sessions, a large output, RSS per session.
import fs from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { baseUrl, daemonPid, percentile, row, rssKiB, timeCalls } from './lib.mjs';

const url = new URL(baseUrl);

function post(agent, path, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request(
      { host: url.hostname, port: url.port, path, method: 'POST', agent,
        headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const exec = (command, sessionId = 'bench') => post(agent, '/api/execute', { command, sessionId });

for (const command of ['true', 'echo hello']) {
  const lat = await timeCalls(() => exec(command), { count: 2000 });
  row(`exec \`${command}\` latency, one session`, 'ms', percentile(lat, 50), percentile(lat, 99));
}

{
  const sessions = 8;
  const perSession = 300;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: sessions }, async (_, i) => {
      for (let n = 0; n < perSession; n++) await exec('true', `bench-par-${i}`);
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  row('exec `true`, 8 sessions in parallel', 'req/s', Math.round((sessions * perSession) / secs));
}

{
  const runs = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    const r = await exec('seq 1 200000');
    if (!r.stdout.endsWith('200000')) throw new Error('seq output incomplete');
    runs.push(performance.now() - t0);
  }
  row('exec `seq 1 200000` wall time', 'ms', percentile(runs, 50), percentile(runs, 99));
}

// Total RSS of the daemon's bash children (one per session).
function shellsRssKiB() {
  let total = 0;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [, comm, rest] = /^\d+ \((.*)\) (.*)$/s.exec(stat);
      if (comm === 'bash' && Number(rest.split(' ')[1]) === daemonPid) total += rssKiB(pid);
    } catch {
      // the process went away
    }
  }
  return total;
}

{
  await exec('true', 'bench-rss-warm');
  const shellsBefore = shellsRssKiB();
  const before = rssKiB(daemonPid);
  const extra = 20;
  for (let i = 0; i < extra; i++) await exec('true', `bench-rss-${i}`);
  const after = rssKiB(daemonPid);
  row('daemon RSS per additional session (its bash not included)', 'MiB', (after - before) / 1024 / extra);
  row('RSS per additional session, daemon + its bash', 'MiB',
    (after - before + shellsRssKiB() - shellsBefore) / 1024 / extra);
}
agent.destroy();
