// Shared helpers for bench scripts: timing, percentiles, row output.
import fs from 'node:fs';
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export const baseUrl = process.env.BENCH_BASE_URL;
export const daemonPid = Number(process.env.BENCH_DAEMON_PID || 0);

export function row(name, unit, median, p99 = '-') {
  const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v);
  process.stdout.write(`ROW\t${name}\t${unit}\t${fmt(median)}\t${fmt(p99)}\n`);
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

// Runs fn `count` times (bounded by `maxMs`), returns per-call latencies in ms.
export async function timeCalls(fn, { count = 1000, maxMs = 10000, warmup = 20 } = {}) {
  for (let i = 0; i < warmup; i++) await fn();
  const out = [];
  const deadline = performance.now() + maxMs;
  for (let i = 0; i < count && performance.now() < deadline; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

export function rssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

// Requests share a keep-alive connection pool. node:http costs the client far
// less per call than fetch, so latency rows measure the daemon.
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

// Sends one request with an optional JSON body; onResponse gets the request
// and the response.
function send(method, path, body, extraHeaders, onResponse, reject) {
  const url = new URL(path, baseUrl);
  const data = body === undefined ? undefined : JSON.stringify(body);
  const headers = { ...extraHeaders };
  if (data !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = Buffer.byteLength(data);
  }
  const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, agent, headers }, (res) => onResponse(req, res));
  req.on('error', reject); // after a deliberate destroy the promise is already settled
  req.end(data);
}

export function requestJson(method, path, body) {
  return new Promise((resolve, reject) => {
    send(method, path, body, {}, (req, res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        try {
          resolve({ status: res.statusCode, body: JSON.parse(text) });
        } catch (err) {
          reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`));
        }
      });
    }, reject);
  });
}

export function closeConnections() {
  agent.destroy();
}

// One request whose body is read as it streams (SSE): onChunk gets each
// decoded piece the moment it arrives. Resolves with the status and the body
// text once the response ends, or as soon as onChunk returns true (the
// request is then dropped; what it started goes on in the daemon).
export function requestStream(method, path, body, onChunk) {
  return new Promise((resolve, reject) => {
    send(method, path, body, { Accept: 'text/event-stream' }, (req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (piece) => {
        text += piece;
        if (onChunk?.(piece) === true) {
          req.destroy();
          resolve({ status: res.statusCode, text });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', reject);
    }, reject);
  });
}
