// /proxy/{port} throughput and overhead against a running daemon
// (BENCH_BASE_URL). The target servers run in a worker thread on loopback so
// they do not share an event loop with the load generator.
//
// Rows: ROW <name> <unit> <median> <p99 or ->

import http from 'node:http';
import { Worker } from 'node:worker_threads';

const BASE_URL = process.env.BENCH_BASE_URL;
if (!BASE_URL) {
  console.error('proxy.bench: set BENCH_BASE_URL to a running daemon');
  process.exit(2);
}

const MB = 1024 * 1024;
const CONNECTIONS = 16;
const LOAD_MAX_MS = 3000;
const LOAD_MAX_REQUESTS = 30000;
const TRANSFER_BYTES = 100 * MB;
const TRANSFER_RUNS = 3;

// --- target (worker thread) ---------------------------------------------------------

const TARGET_SOURCE = `
const http = require('node:http');
const { parentPort } = require('node:worker_threads');
const page = Buffer.alloc(1024, 'x');
const piece = Buffer.alloc(1024 * 1024, 'y');
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://t');
  if (url.pathname === '/download') {
    let left = Number(url.searchParams.get('bytes'));
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': left });
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, piece.length);
        left -= n;
        if (!res.write(n === piece.length ? piece : piece.subarray(0, n))) return res.once('drain', pump);
      }
      res.end();
    };
    return pump();
  }
  if (url.pathname === '/upload') {
    let bytes = 0;
    req.on('data', (c) => (bytes += c.length));
    req.on('end', () => res.end(String(bytes)));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/html', 'Content-Length': page.length });
  res.end(page);
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

async function startTarget() {
  const worker = new Worker(TARGET_SOURCE, { eval: true });
  const port = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { port, stop: () => worker.terminate() };
}

// --- helpers -----------------------------------------------------------------------

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function row(name, unit, median, p99) {
  const fmt = (v) => (v === undefined ? '-' : Number(v).toFixed(3));
  console.log(`ROW\t${name}\t${unit}\t${fmt(median)}\t${fmt(p99)}`);
}

function request(agent, url, { method = 'GET', body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent }, (res) => {
      let bytes = 0;
      res.on('data', (c) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30000, () => req.destroy(new Error(`${url}: timed out`)));
    if (body) body(req);
    else req.end();
  });
}

async function expose(port) {
  const res = await fetch(new URL('/api/expose-port', BASE_URL), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ port, name: 'proxy-bench' }),
  });
  if (res.status !== 200) throw new Error(`expose ${port}: HTTP ${res.status} ${await res.text()}`);
}

async function unexpose(port) {
  await fetch(new URL(`/api/exposed-ports/${port}`, BASE_URL), { method: 'DELETE' });
}

/** CONNECTIONS parallel keep-alive loops against `url`; latencies in ms. */
async function load(url) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const latencies = [];
  const started = performance.now();
  let issued = 0;
  const loop = async () => {
    while (issued < LOAD_MAX_REQUESTS && performance.now() - started < LOAD_MAX_MS) {
      issued++;
      const t0 = performance.now();
      const res = await request(agent, url);
      if (res.status !== 200 || res.bytes !== 1024) throw new Error(`${url}: HTTP ${res.status}, ${res.bytes} bytes`);
      latencies.push(performance.now() - t0);
    }
  };
  // Warm-up: open the connections.
  await Promise.all(Array.from({ length: CONNECTIONS }, () => request(agent, url)));
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function transfer(url, direction) {
  const agent = new http.Agent({ keepAlive: false });
  const rates = [];
  for (let i = 0; i < TRANSFER_RUNS; i++) {
    const t0 = performance.now();
    let res;
    if (direction === 'download') {
      res = await request(agent, `${url}/download?bytes=${TRANSFER_BYTES}`);
      if (res.bytes !== TRANSFER_BYTES) throw new Error(`download: ${res.bytes} bytes`);
    } else {
      const piece = Buffer.alloc(MB, 'z');
      res = await request(agent, `${url}/upload`, {
        method: 'POST',
        body: (req) => {
          req.setHeader('Content-Length', TRANSFER_BYTES);
          let left = TRANSFER_BYTES;
          const pump = () => {
            while (left > 0) {
              left -= piece.length;
              if (!req.write(piece)) return req.once('drain', pump);
            }
            req.end();
          };
          pump();
        },
      });
      if (res.status !== 200) throw new Error(`upload: HTTP ${res.status}`);
    }
    rates.push(TRANSFER_BYTES / MB / ((performance.now() - t0) / 1000));
  }
  agent.destroy();
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

// --- main --------------------------------------------------------------------------

const target = await startTarget();
try {
  await expose(target.port);
  const direct = `http://127.0.0.1:${target.port}`;
  const proxied = new URL(`/proxy/${target.port}`, BASE_URL).href;

  const viaProxy = await load(`${proxied}/page`);
  const viaDirect = await load(`${direct}/page`);
  row(`proxy GET 1KB c${CONNECTIONS} throughput`, 'req/s', viaProxy.rps);
  row(`proxy GET 1KB c${CONNECTIONS} latency`, 'ms', viaProxy.p50, viaProxy.p99);
  row(`direct GET 1KB c${CONNECTIONS} throughput`, 'req/s', viaDirect.rps);
  row(`direct GET 1KB c${CONNECTIONS} latency`, 'ms', viaDirect.p50, viaDirect.p99);
  row(`proxy/direct GET 1KB c${CONNECTIONS} p50 latency ratio`, 'x', viaProxy.p50 / viaDirect.p50, viaProxy.p99 / viaDirect.p99);

  row('proxy download 100MB', 'MB/s', await transfer(proxied, 'download'));
  row('proxy upload 100MB', 'MB/s', await transfer(proxied, 'upload'));
} finally {
  await unexpose(target.port).catch(() => {});
  await target.stop();
}
