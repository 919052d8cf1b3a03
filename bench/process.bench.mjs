// Background process and exec-stream benchmarks against a running daemon
// (BENCH_BASE_URL, loopback). One line per row:
// ROW<TAB>name<TAB>unit<TAB>median<TAB>p99 or -
//
// The daemon runs on this machine, so "really running" and "gone" are read
// from /proc by the PIDs the daemon reports.

import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { baseUrl as base, closeConnections, percentile, requestJson, requestStream, row } from './lib.mjs';

if (!base) {
  console.error('BENCH_BASE_URL is not set');
  process.exit(2);
}

const N = 50;
const now = () => performance.now();

async function call(method, path, body) {
  const res = await requestJson(method, path, body);
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

// State letter and command name of a PID, or null once it is gone.
function procState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return { comm, state };
  } catch {
    return null;
  }
}

const running = (pid) => {
  const s = procState(pid);
  return s !== null && s.comm === 'sleep' && s.state !== 'Z';
};
const gone = (pid) => {
  const s = procState(pid);
  return s === null || s.state === 'Z';
};

async function pollUntil(pred, limitMs) {
  const deadline = now() + limitMs;
  while (!pred()) {
    if (now() > deadline) return false;
    await new Promise((r) => setImmediate(r));
  }
  return true;
}

const ROUNDS = 10;

async function processRows() {
  // Warm-up: the session, the registry and the daemon's heap are set up
  // before anything is timed, and the client's own code is compiled (its
  // first few hundred requests run slower in Node).
  for (let i = 0; i < 500; i++) await call('GET', '/api/ping');
  const warm = [];
  for (let i = 0; i < 10; i++) warm.push((await call('POST', '/api/process/start', { command: 'sleep 60', sessionId: 'bench' })).pid);
  await call('DELETE', '/api/process/kill-all');
  await pollUntil(() => warm.every(gone), 10_000);

  // Rounds of N: start them back to back, wait until all run, list, kill
  // all, wait until all are gone. Latencies pool over the rounds; the
  // all-running and all-gone times are the median round's.
  const latencies = [];
  const listTimes = [];
  const runningTimes = [];
  const goneTimes = [];
  for (let round = 0; round < ROUNDS; round++) {
    const pids = [];
    const t0 = now();
    for (let i = 0; i < N; i++) {
      const s = now();
      const started = await call('POST', '/api/process/start', { command: 'sleep 60', sessionId: 'bench' });
      latencies.push(now() - s);
      pids.push(started.pid);
    }
    runningTimes.push((await pollUntil(() => pids.every(running), 5000)) ? now() - t0 : NaN);

    for (let i = 0; i < 50; i++) {
      const s = now();
      const listed = await call('GET', '/api/process/list?status=running');
      listTimes.push(now() - s);
      if (listed.processes.length < N) throw new Error(`list shows ${listed.processes.length} running`);
    }

    const k0 = now();
    const killed = await call('DELETE', '/api/process/kill-all');
    if (killed.cleanedCount !== N) throw new Error(`kill-all cleaned ${killed.cleanedCount}`);
    goneTimes.push((await pollUntil(() => pids.every(gone), 10_000)) ? now() - k0 : NaN);
  }
  row(`process start latency (${ROUNDS} rounds of ${N}x sleep 60)`, 'ms', percentile(latencies, 50), percentile(latencies, 99));
  row(`process all ${N} running`, 'ms', percentile(runningTimes, 50));
  row(`process list latency (${N} live)`, 'ms', percentile(listTimes, 50), percentile(listTimes, 99));
  row(`process kill-all until ${N} gone`, 'ms', percentile(goneTimes, 50));
}

// The stream is read by curl: Node's HTTP client tops out near 230 MB/s on
// this machine, below what the daemon sends, so reading it in Node would
// measure the client. Timed runs discard the bytes; one more run keeps them
// in a file that is checked event by event (every byte, exit code 0).
function curlStream(totalBytes, file) {
  const body = JSON.stringify({ command: `head -c ${totalBytes} /dev/zero | tr '\\0' x`, sessionId: 'bench' });
  const curl = spawnSync('curl', ['-sS', '-o', file, '-w', '%{time_total}', '-H', 'Content-Type: application/json', '--data-binary', body, base + '/api/execute/stream'], { encoding: 'utf8' });
  if (curl.status !== 0) throw new Error(`curl: ${curl.stderr}`);
  return Number(curl.stdout);
}

function streamThroughput(totalBytes) {
  return totalBytes / 1e6 / curlStream(totalBytes, '/dev/null');
}

function checkStream(totalBytes) {
  const file = path.join(os.tmpdir(), `sandboxd-bench-stream-${process.pid}`);
  try {
    curlStream(totalBytes, file);
    let bytes = 0;
    let complete = false;
    for (const frame of readFileSync(file, 'latin1').split('\n\n')) {
      if (!frame.startsWith('data: ')) continue;
      const event = JSON.parse(frame.slice(6));
      if (event.type === 'stdout') {
        if (/[^x]/.test(event.data)) throw new Error('stream delivered bytes the command did not print');
        bytes += event.data.length;
      } else if (event.type === 'complete') complete = event.exitCode === 0;
    }
    if (!complete || bytes !== totalBytes) throw new Error(`stream delivered ${bytes} of ${totalBytes} bytes`);
  } finally {
    rmSync(file, { force: true });
  }
}

// Timed from the request on an open connection: the stream's own latency,
// not a TCP handshake (the stream's early end drops its connection, so each
// run opens a fresh one first).
async function firstEvent() {
  await requestJson('GET', '/api/ping');
  const s = now();
  let elapsed;
  const res = await requestStream('POST', '/api/execute/stream', { command: 'echo hi; sleep 1', sessionId: 'bench' }, (piece) => {
    if (elapsed === undefined && piece.includes('"type":"stdout"')) elapsed = now() - s;
    return elapsed !== undefined; // the command goes on; the stream is not needed
  });
  if (elapsed === undefined) throw new Error(`stream ended before stdout (HTTP ${res.status})`);
  return elapsed;
}

async function streamRows() {
  const rates = [];
  checkStream(50 * 1024 * 1024);
  for (let i = 0; i < 5; i++) rates.push(streamThroughput(50 * 1024 * 1024));
  row('exec-stream 50 MB', 'MB/s', percentile(rates, 50));

  const firsts = [];
  for (let i = 0; i < 30; i++) firsts.push(await firstEvent());
  row('exec-stream first stdout event (echo hi; sleep 1)', 'ms', percentile(firsts, 50), percentile(firsts, 99));
  await call('DELETE', '/api/process/kill-all');
}

await processRows();
await streamRows();
closeConnections();
