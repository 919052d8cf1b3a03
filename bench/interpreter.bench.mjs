// Code interpreter benchmarks against a running daemon (BENCH_BASE_URL).
// Prints: ROW<TAB>name<TAB>unit<TAB>median<TAB>p99-or-dash
// Every loop is bounded in count and in time; contexts made here are deleted.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  baseUrl as base,
  closeConnections,
  percentile,
  row as printRow,
  requestJson,
  requestStream,
  wrk,
  wrkScripts,
} from './lib.mjs';

if (!base) {
  console.error('interpreter.bench: set BENCH_BASE_URL to a running daemon');
  process.exit(2);
}

const now = () => performance.now();

// Median and (with enough samples) p99 of the samples as one row.
function row(name, unit, samples) {
  if (samples.length === 0) return;
  printRow(name, unit, percentile(samples, 50), samples.length >= 20 ? percentile(samples, 99) : '-');
}

// Through lib.mjs's raw keep-alive client: fetch (undici) costs the client
// about a millisecond per request, node:http ~0.3 ms, more than a trivial
// run takes in the daemon.
async function call(method, path, body) {
  const res = await requestJson(method, path, body);
  if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function runCode(contextId, code, onChunk) {
  const res = await requestStream('POST', '/api/execute/code', { context_id: contextId, code }, onChunk);
  if (res.status !== 200) throw new Error(`execute: ${res.status} ${res.text}`);
  return res.text.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
}

async function idleCount(language) {
  const health = await call('GET', '/api/interpreter/health');
  return health.pools?.[language]?.idle ?? 0;
}

async function waitIdle(language, deadline) {
  while (now() < deadline) {
    if ((await idleCount(language)) > 0) return true;
    await new Promise((r) => setTimeout(r, 20)); // poll interval
  }
  return false;
}

const created = [];
async function create(language) {
  const ctx = await call('POST', '/api/contexts', { language });
  created.push(ctx.contextId);
  return ctx.contextId;
}
async function remove(id) {
  await call('DELETE', `/api/contexts/${id}`);
  created.splice(created.indexOf(id), 1);
}

async function benchCreate() {
  // Warm: an idle executor is waiting (the pool refilled after the last take).
  const warm = [];
  const stopAt = now() + 30_000;
  for (let i = 0; i < 10 && now() < stopAt; i++) {
    if (!(await waitIdle('python', stopAt))) break;
    const t0 = now();
    const id = await create('python');
    warm.push(now() - t0);
    await remove(id);
  }
  row('interpreter context create, pool warm (python)', 'ms', warm);

  // Cold: take every idle executor first, so the measured create spawns one.
  const cold = [];
  for (let i = 0; i < 3 && now() < stopAt + 30_000; i++) {
    const held = [];
    for (let n = await idleCount('python'); n > 0; n--) held.push(await create('python'));
    const t0 = now();
    const id = await create('python');
    cold.push(now() - t0);
    held.push(id);
    for (const h of held) await remove(h);
  }
  row('interpreter context create, pool cold (python)', 'ms', cold);
}

async function benchOnePlusOne(language) {
  const id = await create(language);
  // Taking the pooled executor starts a replacement; its start-up (hundreds
  // of milliseconds of CPU) is not what this row measures. Untimed runs
  // first: the executor's and the client's own code warm up.
  await waitIdle(language, now() + 30_000);
  for (let i = 0; i < 200; i++) await runCode(id, '1+1');
  const samples = [];
  const stopAt = now() + 10_000;
  for (let i = 0; i < 300 && now() < stopAt; i++) {
    const t0 = now();
    await runCode(id, '1+1');
    samples.push(now() - t0);
  }
  row(`interpreter run 1+1 (${language}) (node client)`, 'ms', samples);
  runWrk(`interpreter run 1+1 (${language}) (wrk)`, id, '1+1');
  return id;
}

// The same runs from wrk, which adds far less client time than node does.
function runWrk(name, contextId, code) {
  const r = wrk('/api/execute/code', ['-t1', '-c1', '-d4s', '-s', `${wrkScripts}post_json.lua`], {
    BENCH_BODY: JSON.stringify({ context_id: contextId, code }),
  });
  printRow(name, 'ms', r.p50, r.p99);
}

const PYTHON = '/usr/bin/python3';
const BARE_PRINT_LOOP = `
import io, os, sys, time
out = io.TextIOWrapper(io.BufferedWriter(io.FileIO(os.open(os.devnull, os.O_WRONLY), "wb"), 1 << 16), encoding="utf-8")
sys.stdout, real = out, sys.stdout
code = compile("for i in range(10000):\\n    print(i)\\nout.flush()", "<cell>", "exec")
samples = []
for _ in range(30):
    t = time.perf_counter()
    exec(code, {"out": out})
    samples.append((time.perf_counter() - t) * 1000)
real.write(" ".join("%.3f" % s for s in samples))
`;

async function benchPrintLoop() {
  const id = await create('python');
  await waitIdle('python', now() + 30_000);
  const samples = [];
  const stopAt = now() + 20_000;
  for (let i = 0; i < 30 && now() < stopAt; i++) {
    const t0 = now();
    const events = await runCode(id, 'for i in range(10000):\n    print(i)');
    samples.push(now() - t0);
    const bytes = events.filter((e) => e.type === 'stdout').reduce((n, e) => n + e.text.length, 0);
    if (bytes !== 48890) throw new Error(`print loop: got ${bytes} bytes of stdout`);
  }
  row('interpreter 10k-line print loop (python) (node client)', 'ms', samples);
  runWrk('interpreter 10k-line print loop (python) (wrk)', id, 'for i in range(10000):\n    print(i)');
  // The machine's speed at this moment (it drifts by nearly 2x on shared
  // cores): the same loop in a bare CPython with its own print, no daemon.
  const bare = execFileSync(PYTHON, ['-c', BARE_PRINT_LOOP], { encoding: 'utf8' }).trim().split(' ').map(Number);
  row('same loop, bare CPython and its builtin print (reference)', 'ms', bare);

  const js = await create('javascript');
  runWrk('interpreter 10k-line console.log loop (javascript) (wrk)', js, 'for (let i = 0; i < 10000; i++) console.log(i)');
  await remove(js);

  // First stdout event: how long after the print it reaches the client.
  const latency = [];
  for (let i = 0; i < 30 && now() < stopAt + 10_000; i++) {
    let arrived;
    const events = await runCode(id, "import time\nprint(repr(time.time() * 1000), flush=True)\ntime.sleep(0.02)", (piece) => {
      if (arrived === undefined && piece.includes('"stdout"')) arrived = performance.timeOrigin + performance.now();
    });
    const printed = Number(events.find((e) => e.type === 'stdout').text);
    latency.push(arrived - printed);
  }
  row('interpreter first stdout event after print (python)', 'ms', latency);
  await remove(id);
}

// Other requests while a context turns out 20 MB results back to back: the
// results are parsed and re-encoded off the I/O thread.
async function benchPingDuringLargeResults() {
  const id = await create('python');
  const code = "from IPython.display import HTML, display\ndisplay(HTML('x' * 20_000_000))";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-bench-'));
  const body = path.join(dir, 'body.json');
  fs.writeFileSync(body, JSON.stringify({ context_id: id, code }));
  // A separate process runs them, so that this one's event loop is not the one reading 20 MB.
  // Its own process group, so that ending it ends the curl in flight too.
  const runner = spawn('bash', ['-c', `while curl -s -o /dev/null --data-binary @"$0" "$1"; do :; done`, body, `${base}/api/execute/code`], {
    stdio: 'ignore',
    detached: true,
  });
  try {
    const r = wrk('/api/ping', ['-t1', '-c1', '-d4s']);
    printRow('ping while 20 MB results stream (wrk)', 'ms', r.p50, r.p99);
  } finally {
    process.kill(-runner.pid, 'SIGKILL');
    await new Promise((resolve) => (runner.exitCode !== null ? resolve() : runner.once('exit', resolve)));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await remove(id);
}

function rssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

async function benchIdleRss(language, pidCode) {
  const id = await create(language);
  const events = await runCode(id, pidCode);
  const pid = Number(events.find((e) => e.type === 'result')?.text);
  if (Number.isInteger(pid) && fs.existsSync(`/proc/${pid}/status`)) row(`interpreter idle executor RSS (${language})`, 'MiB', [rssMiB(pid)]);
  await remove(id);
}

try {
  await benchCreate();
  for (const language of ['python', 'javascript', 'typescript']) await remove(await benchOnePlusOne(language));
  await benchPrintLoop();
  await benchPingDuringLargeResults();
  await benchIdleRss('python', 'import os\nos.getpid()');
  await benchIdleRss('javascript', 'process.pid');
  await benchIdleRss('typescript', 'process.pid');
} finally {
  for (const id of [...created]) await call('DELETE', `/api/contexts/${id}`).catch(() => {});
  closeConnections();
}
