// Shared helpers for bench scripts: timing, percentiles, row output.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
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

// Requests go over a small HTTP/1.1 client on raw keep-alive sockets. A
// latency row should measure the daemon, and node:http alone costs ~0.3 ms
// per request on this machine (a ping answers in ~0.1 ms over a raw socket).
// It speaks what the daemon answers with: Content-Length or chunked bodies,
// or a body up to the close.
const idle = [];
const open = new Set();

// One keep-alive socket. Its listeners stay for its life; the exchange in
// progress (at most one) is parsed as data arrives.
class Connection {
  constructor(sock) {
    this.sock = sock;
    this.buf = null;
    this.ex = null; // { method, path, onPiece, resolve, reject, status, headers, mode, remaining, pieces }
    sock.on('data', (d) => {
      this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
      if (this.ex) this.parse();
    });
    sock.on('close', () => {
      open.delete(this);
      const i = idle.indexOf(this);
      if (i >= 0) idle.splice(i, 1);
      const ex = this.ex;
      this.ex = null;
      if (!ex) return;
      if (ex.mode === 'close') ex.resolve({ status: ex.status, headers: ex.headers, body: Buffer.concat(ex.pieces) });
      else ex.reject(new Error(`${ex.method} ${ex.path}: connection closed mid-response`));
    });
    sock.on('error', (err) => {
      const ex = this.ex;
      this.ex = null;
      sock.destroy();
      ex?.reject(err);
    });
  }

  send(ex, head, data) {
    this.ex = ex;
    ex.pieces = [];
    this.sock.write(data === undefined ? head : head + data);
  }

  finish(reuse) {
    const ex = this.ex;
    this.ex = null;
    if (reuse) idle.push(this);
    else this.sock.destroy();
    ex.resolve({ status: ex.status, headers: ex.headers, body: ex.pieces.length === 1 ? ex.pieces[0] : Buffer.concat(ex.pieces) });
  }

  // Hands a piece of body to the exchange; true when it ended the exchange.
  piece(b) {
    this.ex.pieces.push(b);
    if (this.ex.onPiece?.(b) !== true) return false;
    this.finish(false);
    return true;
  }

  parse() {
    const ex = this.ex;
    if (!ex.mode) {
      const end = this.buf ? this.buf.indexOf('\r\n\r\n') : -1;
      if (end < 0) return;
      const lines = this.buf.toString('latin1', 0, end).split('\r\n');
      this.buf = this.buf.subarray(end + 4);
      const headers = {};
      for (let i = 1; i < lines.length; i++) {
        const c = lines[i].indexOf(':');
        headers[lines[i].slice(0, c).trim().toLowerCase()] = lines[i].slice(c + 1).trim();
      }
      ex.status = Number(lines[0].slice(9, 12));
      ex.headers = headers;
      ex.keep = !/close/i.test(headers.connection ?? '');
      if (/chunked/i.test(headers['transfer-encoding'] ?? '')) ex.mode = 'chunked';
      else if (headers['content-length'] !== undefined) {
        ex.mode = 'length';
        ex.remaining = Number(headers['content-length']);
      } else ex.mode = 'close';
    }
    const buf = this.buf;
    if (ex.mode === 'length') {
      const n = Math.min(buf.length, ex.remaining);
      this.buf = n < buf.length ? buf.subarray(n) : null;
      ex.remaining -= n;
      if (n && this.piece(buf.subarray(0, n))) return;
      if (ex.remaining === 0) this.finish(ex.keep);
    } else if (ex.mode === 'chunked') {
      for (;;) {
        const b = this.buf;
        const le = b ? b.indexOf('\r\n') : -1;
        if (le < 0) return;
        const size = parseInt(b.toString('latin1', 0, le), 16);
        if (b.length < le + 2 + size + 2) return;
        this.buf = b.length > le + 4 + size ? b.subarray(le + 4 + size) : null;
        if (size === 0) return this.finish(ex.keep);
        if (this.piece(b.subarray(le + 2, le + 2 + size))) return;
      }
    } else if (buf?.length) {
      this.buf = null;
      this.piece(buf);
    }
  }
}

function connect() {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: url.hostname, port: Number(url.port) || 80 });
    sock.setNoDelay(true);
    sock.once('error', reject);
    sock.once('connect', () => {
      sock.off('error', reject);
      const conn = new Connection(sock);
      open.add(conn);
      resolve(conn);
    });
  });
}

// Sends one request and parses the response as it arrives. onPiece(buffer)
// gets each piece of the body; returning true ends the exchange early (the
// socket is dropped). Resolves with { status, headers, body } (body: the
// pieces joined, a Buffer).
async function exchange(method, path, body, extraHeaders, onPiece) {
  const conn = idle.pop() ?? (await connect());
  const data = body === undefined ? undefined : JSON.stringify(body);
  let head = `${method} ${path} HTTP/1.1\r\nHost: bench\r\n`;
  for (const k in extraHeaders) head += `${k}: ${extraHeaders[k]}\r\n`;
  if (data !== undefined) head += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(data)}\r\n`;
  head += '\r\n';
  return new Promise((resolve, reject) => conn.send({ method, path, onPiece, resolve, reject }, head, data));
}

export async function requestJson(method, path, body) {
  const res = await exchange(method, path, body, {});
  const text = res.body.toString();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
  }
}

export function closeConnections() {
  for (const conn of open) conn.sock.destroy();
  idle.length = 0;
}

// One request whose body is read as it streams (SSE): onChunk gets each
// decoded piece the moment it arrives. Resolves with the status and the body
// text once the response ends, or as soon as onChunk returns true (the
// request is then dropped; what it started goes on in the daemon).
export async function requestStream(method, path, body, onChunk) {
  const decoder = new TextDecoder();
  let text = '';
  const res = await exchange(method, path, body, { Accept: 'text/event-stream' }, (b) => {
    const piece = decoder.decode(b, { stream: true });
    text += piece;
    return onChunk?.(piece) === true;
  });
  return { status: res.status, text: text + decoder.decode() };
}

// Runs wrk against `path` and returns { rps, p50, p99 } (latencies in ms).
// Latency rows use it where they can: on these two cores wrk adds far less
// client time per request than node does.
export function wrk(path, args, env = {}) {
  const out = execFileSync('wrk', [...args, '--latency', new URL(path, baseUrl).href], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  const toMs = (v, unit) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? 1);
  const p = (q) => {
    const m = new RegExp(`\\s${q}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
    return m ? toMs(m[1], m[2]) : NaN;
  };
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]), p50: p(50), p99: p(99) };
}

// wrk's Lua scripts.
export const wrkScripts = new URL('./wrk/', import.meta.url).pathname;
