// Shared helpers for bench scripts: timing, percentiles, row output.
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

function connect() {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: url.hostname, port: Number(url.port) || 80 });
    sock.setNoDelay(true);
    sock.once('error', reject);
    sock.once('connect', () => {
      sock.off('error', reject);
      open.add(sock);
      sock.once('close', () => {
        open.delete(sock);
        const i = idle.indexOf(sock);
        if (i >= 0) idle.splice(i, 1);
      });
      resolve(sock);
    });
  });
}

// Sends one request and parses the response as it arrives. onPiece(buffer)
// gets each piece of the body; returning true ends the exchange early (the
// socket is dropped). Resolves with { status, headers, body } (body: the
// pieces joined, a Buffer).
async function exchange(method, path, body, extraHeaders, onPiece) {
  const sock = idle.pop() ?? (await connect());
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  let head = `${method} ${path} HTTP/1.1\r\nHost: bench\r\n`;
  for (const [k, v] of Object.entries(extraHeaders)) head += `${k}: ${v}\r\n`;
  if (data !== undefined) head += `Content-Type: application/json\r\nContent-Length: ${data.length}\r\n`;
  head += '\r\n';

  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let res = null; // { status, headers }
    let mode = null; // 'length' | 'chunked' | 'close'
    let remaining = 0;
    const pieces = [];
    const cleanup = () => {
      sock.off('data', onData);
      sock.off('close', onClose);
      sock.off('error', onError);
    };
    const finish = (reuse) => {
      cleanup();
      if (reuse) idle.push(sock);
      else sock.destroy();
      resolve({ status: res.status, headers: res.headers, body: Buffer.concat(pieces) });
    };
    const piece = (b) => {
      pieces.push(b);
      if (onPiece?.(b) === true) {
        finish(false);
        return true;
      }
      return false;
    };
    const parse = () => {
      if (!res) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
        buf = buf.subarray(end + 4);
        const headers = {};
        for (const line of lines.slice(1)) {
          const c = line.indexOf(':');
          headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
        }
        res = { status: Number(lines[0].split(' ')[1]), headers };
        if (/chunked/i.test(headers['transfer-encoding'] ?? '')) mode = 'chunked';
        else if (headers['content-length'] !== undefined) {
          mode = 'length';
          remaining = Number(headers['content-length']);
        } else mode = 'close';
      }
      const keep = !/close/i.test(res.headers.connection ?? '');
      if (mode === 'length') {
        if (buf.length && piece(buf.subarray(0, Math.min(buf.length, remaining)))) return;
        remaining -= Math.min(buf.length, remaining);
        buf = Buffer.alloc(0);
        if (remaining === 0) finish(keep);
      } else if (mode === 'chunked') {
        for (;;) {
          const le = buf.indexOf('\r\n');
          if (le < 0) return;
          const size = parseInt(buf.subarray(0, le).toString('latin1'), 16);
          if (buf.length < le + 2 + size + 2) return;
          const chunk = buf.subarray(le + 2, le + 2 + size);
          buf = buf.subarray(le + 4 + size);
          if (size === 0) return finish(keep);
          if (piece(chunk)) return;
        }
      } else if (buf.length) {
        const b = buf;
        buf = Buffer.alloc(0);
        piece(b);
      }
    };
    const onData = (d) => {
      buf = buf.length ? Buffer.concat([buf, d]) : d;
      parse();
    };
    const onClose = () => {
      cleanup();
      if (res && mode === 'close') resolve({ status: res.status, headers: res.headers, body: Buffer.concat(pieces) });
      else reject(new Error(`${method} ${path}: connection closed mid-response`));
    };
    const onError = (err) => {
      cleanup();
      sock.destroy();
      reject(err);
    };
    sock.on('data', onData);
    sock.on('close', onClose);
    sock.on('error', onError);
    sock.write(data === undefined ? head : Buffer.concat([Buffer.from(head), data]));
  });
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
  for (const sock of open) sock.destroy();
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
