// File route benchmarks against a running daemon (BENCH_BASE_URL).
// Prints: ROW<TAB>name<TAB>unit<TAB>median<TAB>p99
// Fixtures live in a temp directory on this machine (the daemon is local)
// and are removed at the end. Every loop is bounded in count and time.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { daemonPid } from './lib.mjs';

const base = process.env.BENCH_BASE_URL;
if (!base) {
  console.error('files.bench: set BENCH_BASE_URL to a running sandboxd');
  process.exit(2);
}
const MB = 1024 * 1024;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-files-bench-'));

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
  return { median: at(0.5), p99: s.length >= 20 ? at(0.99) : null };
}

function row(name, unit, samples) {
  const { median, p99 } = stats(samples);
  const fmt = (v) => (v === null ? '-' : v.toFixed(1));
  console.log(`ROW\t${name}\t${unit}\t${fmt(median)}\t${fmt(p99)}`);
}

async function post(route, body) {
  const res = await fetch(new URL(route, base), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body,
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${route}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

/** Run fn up to `count` times or until `budgetMs` is spent (at least 3 runs). */
async function repeat(fn, { count, budgetMs }) {
  const samples = [];
  const deadline = Date.now() + budgetMs;
  for (let i = 0; i < count && (i < 3 || Date.now() < deadline); i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return samples;
}

const mbps = (bytes, samplesMs) => samplesMs.map((ms) => bytes / MB / (ms / 1000));

function textOf(size) {
  const line = 'The quick brown fox jumps over the lazy dog 0123456789 ✓\n';
  return line.repeat(Math.ceil(size / Buffer.byteLength(line))).slice(0, size);
}

// Whole-file writes and reads are timed with curl: Node's fetch spends more
// time encoding and decoding a 10 MB JSON body than the daemon spends on the
// request, so timing it in Node would measure the client. One more request
// outside the timing is checked in full.
function curlPost(route, bodyFile, outFile) {
  const r = spawnSync('curl', ['-sS', '-o', outFile, '-w', '%{http_code} %{time_total}',
    '-H', 'Content-Type: application/json', '--data-binary', `@${bodyFile}`, new URL(route, base).href],
  { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`curl: ${r.stderr}`);
  const [code, seconds] = r.stdout.split(' ');
  if (code !== '200') throw new Error(`${route}: HTTP ${code}`);
  return Number(seconds) * 1000;
}

function timedPosts(route, body, count) {
  const bodyFile = path.join(dir, 'request.json');
  fs.writeFileSync(bodyFile, body);
  const samples = [];
  const deadline = Date.now() + 20_000;
  for (let i = 0; i < count && (i < 3 || Date.now() < deadline); i++)
    samples.push(curlPost(route, bodyFile, '/dev/null'));
  return samples;
}

function checkedPost(route, body) {
  const bodyFile = path.join(dir, 'request.json');
  const outFile = path.join(dir, 'response.json');
  fs.writeFileSync(bodyFile, body);
  curlPost(route, bodyFile, outFile);
  const response = JSON.parse(fs.readFileSync(outFile, 'utf8'));
  fs.rmSync(outFile);
  return response;
}

async function textRows(label, size, count) {
  const p = path.join(dir, `text-${label}.txt`);
  const content = textOf(size);
  const bytes = Buffer.byteLength(content);
  const body = JSON.stringify({ path: p, content, encoding: 'utf8' });
  const writes = timedPosts('/api/write', body, count);
  checkedPost('/api/write', body);
  if (fs.readFileSync(p, 'utf8') !== content) throw new Error('written file differs');
  row(`files.write.text.${label}`, 'MB/s', mbps(bytes, writes));
  const readBody = JSON.stringify({ path: p, encoding: 'utf8' });
  const reads = timedPosts('/api/read', readBody, count);
  const r = checkedPost('/api/read', readBody);
  if (r.size !== bytes || r.content !== content) throw new Error('read content mismatch');
  row(`files.read.text.${label}`, 'MB/s', mbps(bytes, reads));
  fs.rmSync(p);
}

async function binaryRows() {
  const p = path.join(dir, 'binary-10MB.bin');
  const data = Buffer.alloc(10 * MB);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
  const body = JSON.stringify({ path: p, content: data.toString('base64'), encoding: 'base64' });
  const writes = timedPosts('/api/write', body, 15);
  checkedPost('/api/write', body);
  if (!fs.readFileSync(p).equals(data)) throw new Error('written file differs');
  row('files.write.binary_base64.10MB', 'MB/s', mbps(data.length, writes));
  const readBody = JSON.stringify({ path: p });
  const reads = timedPosts('/api/read', readBody, 15);
  const r = checkedPost('/api/read', readBody);
  if (!r.isBinary || r.size !== data.length || !Buffer.from(r.content, 'base64').equals(data))
    throw new Error('binary read mismatch');
  row('files.read.binary_base64.10MB', 'MB/s', mbps(data.length, reads));
  fs.rmSync(p);
}

// Read streams are timed with curl too (see curlPost); one more stream per
// size is kept and checked chunk by chunk against the file.
function curlStream(p, outFile) {
  const r = spawnSync('curl', ['-sS', '-o', outFile, '-w', '%{http_code} %{time_total}',
    '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ path: p }),
    new URL('/api/read/stream', base).href], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`curl: ${r.stderr}`);
  const [code, seconds] = r.stdout.split(' ');
  if (code !== '200') throw new Error(`/api/read/stream: HTTP ${code}`);
  return Number(seconds) * 1000;
}

function checkStream(p, expected) {
  const outFile = path.join(dir, 'stream.sse');
  curlStream(p, outFile);
  const text = fs.readFileSync(outFile, 'latin1');
  fs.rmSync(outFile);
  let offset = 0;
  let complete = false;
  for (const frame of text.split('\n\n')) {
    if (!frame.startsWith('data: ')) continue;
    const event = JSON.parse(frame.slice(6));
    if (event.type === 'chunk') {
      const bytes = Buffer.from(event.data, 'base64');
      if (!bytes.equals(expected.subarray(offset, offset + bytes.length))) throw new Error(`stream differs at ${offset}`);
      offset += bytes.length;
    } else if (event.type === 'complete') {
      complete = event.bytesRead === expected.length;
    } else if (event.type === 'error') {
      throw new Error(`stream error: ${event.error}`);
    }
  }
  if (!complete || offset !== expected.length) throw new Error(`stream delivered ${offset} of ${expected.length} bytes`);
}

async function streamRows(label, size, count) {
  const p = path.join(dir, `stream-${label}.bin`);
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = ((i % MB) * 131 + 7) & 0xff;
  fs.writeFileSync(p, data);
  checkStream(p, data);
  const samples = [];
  const deadline = Date.now() + 30_000;
  for (let i = 0; i < count && (i < 3 || Date.now() < deadline); i++) samples.push(curlStream(p, '/dev/null'));
  row(`files.read_stream.binary.${label}`, 'MB/s', mbps(size, samples));
  fs.rmSync(p);
}

// The daemon's anonymous memory (its heap) while one 200 MB stream runs:
// sampled every few ms, reported as the peak above the level just before.
function anonKiB() {
  return Number(/RssAnon:\s+(\d+)/.exec(fs.readFileSync(`/proc/${daemonPid}/status`, 'utf8'))[1]);
}

async function streamMemoryRow(kind, size) {
  if (!daemonPid) return;
  const p = path.join(dir, 'stream-memory.bin');
  const data = Buffer.alloc(size);
  if (kind === 'binary') {
    for (let i = 0; i < size; i++) data[i] = ((i % MB) * 131 + 7) & 0xff;
  } else {
    const line = Buffer.from('the quick brown fox jumps over the lazy dog 0123456789\n');
    for (let i = 0; i < size; i += line.length) line.copy(data, i);
  }
  fs.writeFileSync(p, data);
  curlStream(p, '/dev/null');  // the pool thread and its buffers exist before the baseline
  const before = anonKiB();
  let peak = before;
  const curl = spawn('curl', ['-sS', '-o', '/dev/null', '-H', 'Content-Type: application/json',
    '--data-binary', JSON.stringify({ path: p }), new URL('/api/read/stream', base).href]);
  const done = new Promise((resolve) => curl.on('exit', resolve));
  const sampler = setInterval(() => { peak = Math.max(peak, anonKiB()); }, 2);
  const code = await done;
  clearInterval(sampler);
  if (code !== 0) throw new Error(`curl exited ${code}`);
  console.log(`ROW\tfiles.read_stream.${kind}.200MB daemon heap growth (RssAnon peak)\tKiB\t${peak - before}\t-`);
  fs.rmSync(p);
}

async function listRow() {
  const tree = path.join(dir, 'tree');
  for (let d = 0; d < 100; d++) {
    const sub = path.join(tree, `d${d}`);
    fs.mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 100; f++) fs.closeSync(fs.openSync(path.join(sub, `file-${f}.txt`), 'w'));
  }
  const body = JSON.stringify({ path: tree, options: { recursive: true } });
  const samples = await repeat(async () => {
    const r = JSON.parse(await post('/api/list-files', body));
    if (r.count !== 10_100) throw new Error(`list count ${r.count}`);
  }, { count: 30, budgetMs: 20_000 });
  row('files.list_files.recursive.10k', 'ms', samples);
  fs.rmSync(tree, { recursive: true, force: true });
}

try {
  await textRows('1MB', 1 * MB, 40);
  await textRows('10MB', 10 * MB, 15);
  await textRows('100MB', 100 * MB, 4);
  await binaryRows();
  await streamRows('20MB', 20 * MB, 10);
  await streamRows('200MB', 200 * MB, 3);
  await streamMemoryRow('binary', 200 * MB);
  await streamMemoryRow('text', 200 * MB);
  await listRow();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
