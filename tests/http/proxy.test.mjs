// /proxy/{port}/... (API.md §8.4 with the [REC]s of Q3/Q42): every method,
// streamed bodies both ways, SSE, headers, WebSocket tunnelling and errors,
// against real target servers on loopback.

import assert from 'node:assert/strict';
import fs, { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { json, raw, rawHeaderValues, startDaemon, waitFor, withTimeout } from '../lib/daemon.mjs';

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type, Authorization, X-Session-Id',
};
const MB = 1024 * 1024;
const PIECE = Buffer.alloc(MB, 'abcdefghijklmnopqrstuvwxyz0123456789');

let daemon;
let target; // { server, port }: the HTTP target
let wsTarget; // WebSocket echo target
let closeDelimited; // answers without a length and closes
let sseGate; // { release(), wait: Promise } for the SSE route

/** Start `server` on an ephemeral loopback port; resolves to the port. */
async function listen(server) {
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return server.address().port;
}

async function closeServer(server) {
  if (!server) return;
  server.closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

/** Write `total` bytes to `out` honouring backpressure. */
async function writeBytes(out, total) {
  let left = total;
  while (left > 0) {
    const n = Math.min(left, PIECE.length);
    left -= n;
    if (!out.write(n === PIECE.length ? PIECE : PIECE.subarray(0, n))) {
      await new Promise((resolve) => out.once('drain', resolve));
    }
  }
}

function makeGate() {
  let release;
  const wait = new Promise((resolve) => (release = resolve));
  return { release, wait };
}

async function handleTarget(req, res) {
  const url = new URL(req.url, 'http://target');
  switch (url.pathname) {
    case '/cookies':
      res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; Path=/']);
      // Hop-by-hop fields the proxy must not pass on.
      res.setHeader('Connection', 'X-Resp-Hop');
      res.setHeader('X-Resp-Hop', 'secret');
      res.setHeader('Keep-Alive', 'timeout=5');
      res.end('cookies');
      return;
    case '/stream-echo':
      // Sends the body back while still reading it.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      req.pipe(res);
      return;
    case '/count': {
      let bytes = 0;
      for await (const c of req) bytes += c.length;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ bytes, transferEncoding: req.headers['transfer-encoding'] ?? null }));
      return;
    }
    case '/download': {
      const bytes = Number(url.searchParams.get('bytes'));
      const headers = { 'Content-Type': 'application/octet-stream' };
      if (url.searchParams.get('length') === '1') headers['Content-Length'] = String(bytes);
      res.writeHead(200, headers);
      await writeBytes(res, bytes);
      res.end();
      return;
    }
    case '/sse':
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      res.write('data: {"n":1}\n\n');
      await sseGate.wait;
      res.write('data: {"n":2}\n\n');
      res.end();
      return;
    case '/no-content':
      res.writeHead(204);
      res.end();
      return;
    default: {
      const body = await readBody(req);
      const payload = JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: body.toString('utf8'),
      });
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Content-Length', Buffer.byteLength(payload));
      res.setHeader('X-Target', 'echo');
      res.end(req.method === 'HEAD' ? undefined : payload);
    }
  }
}

before(async () => {
  daemon = await startDaemon();

  const server = http.createServer((req, res) => {
    handleTarget(req, res).catch((err) => res.destroy(err));
  });
  target = { server, port: await listen(server) };

  const wsHttp = http.createServer();
  const wss = new WebSocketServer({ server: wsHttp });
  const closes = [];
  wss.on('connection', (socket, req) => {
    socket.send(JSON.stringify({ hello: req.url, forwardedFor: req.headers['x-forwarded-for'] }));
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    socket.on('close', (code) => closes.push(code));
  });
  wsTarget = { server: wsHttp, wss, closes, port: await listen(wsHttp) };

  const rawServer = net.createServer((socket) => {
    socket.once('data', () => {
      socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nuntil the end');
    });
  });
  closeDelimited = { server: rawServer, port: await listen(rawServer) };

  for (const port of [target.port, wsTarget.port, closeDelimited.port]) {
    const res = await json(daemon.baseUrl, 'POST', '/api/expose-port', { port });
    assert.equal(res.status, 200, res.text);
  }
});

after(async () => {
  await daemon?.stop();
  for (const client of wsTarget?.wss.clients ?? []) client.terminate();
  await closeServer(target?.server);
  await closeServer(wsTarget?.server);
  await new Promise((resolve) => (closeDelimited ? closeDelimited.server.close(resolve) : resolve()));
});

const viaProxy = (path) => `/proxy/${target.port}${path}`;
const bodyJson = (res) => JSON.parse(res.body.toString('utf8'));

function assertCors(res, what) {
  for (const [name, value] of Object.entries(CORS)) {
    assert.deepEqual(rawHeaderValues(res.rawHeaders, name), [value], `${what}: ${name}`);
  }
}

/** VmHWM (peak resident set) of the daemon, in bytes. */
function daemonPeakRss() {
  const status = readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
  const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)[1]);
  return kb * 1024;
}

// Resets the daemon's peak RSS to its current RSS and returns that, so a test
// measures what its own transfer adds (a sanitizer build starts much higher).
function resetPeakRss() {
  writeFileSync(`/proc/${daemon.pid}/clear_refs`, '5');
  const status = readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)[1]) * 1024;
}

describe('forwarding', () => {
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
    test(`${method} reaches the target with path, query and body`, async () => {
      const hasBody = ['POST', 'PUT', 'PATCH'].includes(method);
      const res = await raw(daemon.baseUrl, {
        method,
        path: viaProxy('/sub/path?q=1&x=a%20b'),
        body: hasBody ? `payload of ${method}` : undefined,
      });
      assert.equal(res.status, 200, res.body.toString());
      const echo = bodyJson(res);
      assert.equal(echo.method, method);
      assert.equal(echo.url, '/sub/path?q=1&x=a%20b');
      assert.equal(echo.body, hasBody ? `payload of ${method}` : '');
      assert.equal(res.headers['x-target'], 'echo');
      assertCors(res, method);
    });
  }

  test('HEAD gets the headers, including the length, and no body', async () => {
    const res = await raw(daemon.baseUrl, { method: 'HEAD', path: viaProxy('/head') });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
    assert.ok(Number(res.headers['content-length']) > 0, JSON.stringify(res.headers));
    assert.equal(res.headers['x-target'], 'echo');
  });

  test('the bare /proxy/<port> and /proxy/<port>/ forward to /', async () => {
    for (const path of [`/proxy/${target.port}`, `/proxy/${target.port}/`]) {
      const res = await raw(daemon.baseUrl, { path });
      assert.equal(res.status, 200);
      assert.equal(bodyJson(res).url, '/', path);
    }
    const query = await raw(daemon.baseUrl, { path: `/proxy/${target.port}?a=1` });
    assert.equal(bodyJson(query).url, '/?a=1');
  });

  test('a chunked request body arrives whole', async () => {
    const parts = ['first part,', ' second part,', ' third part'];
    const res = await new Promise((resolve, reject) => {
      const req = http.request(`${daemon.baseUrl}${viaProxy('/chunked')}`, { method: 'POST' }, (r) => {
        readBody(r).then((body) => resolve({ status: r.statusCode, body }), reject);
      });
      req.on('error', reject);
      for (const p of parts) req.write(p); // no Content-Length: Node sends chunks
      req.end();
    });
    assert.equal(res.status, 200);
    const echo = JSON.parse(res.body.toString());
    assert.equal(echo.body, parts.join(''));
    assert.equal(echo.headers['transfer-encoding'], 'chunked');
  });

  test('a response without a length that ends at close is relayed whole', async () => {
    const res = await raw(daemon.baseUrl, { path: `/proxy/${closeDelimited.port}/x` });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), 'until the end');
  });

  test('204 from the target passes through without a body', async () => {
    const res = await raw(daemon.baseUrl, { path: viaProxy('/no-content') });
    assert.equal(res.status, 204);
    assert.equal(res.body.length, 0);
  });

  test('the client connection is kept alive across proxied requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await raw(daemon.baseUrl, { path: viaProxy('/one'), agent });
      const second = await raw(daemon.baseUrl, { path: viaProxy('/two'), agent });
      const third = await raw(daemon.baseUrl, { path: '/api/ping', agent });
      assert.equal(bodyJson(first).url, '/one');
      assert.equal(bodyJson(second).url, '/two');
      assert.equal(second.reusedSocket, true);
      assert.equal(third.status, 200);
      assert.equal(third.reusedSocket, true);
    } finally {
      agent.destroy();
    }
  });
});

describe('half-closing clients', () => {
  test('a client that shuts down its sending side after the request still gets the answer', async () => {
    const socket = net.connect(daemon.port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => (text += d));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.end(`GET ${viaProxy('/half-closed')} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await withTimeout(closed, 10_000, 'the daemon answering and closing');
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /Connection: close/i);
    assert.match(text, /"url":"\/half-closed"/);
  });
});

describe('connections to the target', () => {
  test('requests reuse one idle connection; one the target closed is replaced', async () => {
    let connections = 0;
    const server = http.createServer((req, res) => res.end(`served ${req.url}`));
    server.on('connection', () => connections++);
    const port = await listen(server);
    try {
      assert.equal((await json(daemon.baseUrl, 'POST', '/api/expose-port', { port })).status, 200);
      for (const path of ['/a', '/b', '/c']) {
        const res = await raw(daemon.baseUrl, { path: `/proxy/${port}${path}` });
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), `served ${path}`);
      }
      assert.equal(connections, 1, 'three requests, one connection to the target');

      server.closeIdleConnections();
      const again = await raw(daemon.baseUrl, { path: `/proxy/${port}/d` });
      assert.equal(again.status, 200);
      assert.equal(again.body.toString(), 'served /d');
      assert.equal(connections, 2);
    } finally {
      await json(daemon.baseUrl, 'DELETE', `/api/exposed-ports/${port}`);
      await closeServer(server);
    }
  });
});

describe('headers', () => {
  test('repeated Set-Cookie headers are kept and hop-by-hop ones dropped', async () => {
    const res = await raw(daemon.baseUrl, { path: viaProxy('/cookies') });
    assert.equal(res.status, 200);
    assert.deepEqual(rawHeaderValues(res.rawHeaders, 'Set-Cookie'), ['a=1; Path=/', 'b=2; Path=/']);
    assert.deepEqual(rawHeaderValues(res.rawHeaders, 'X-Resp-Hop'), []);
    assert.deepEqual(rawHeaderValues(res.rawHeaders, 'Keep-Alive'), []);
    assertCors(res, 'cookies');
  });

  test('X-Forwarded-For/-Host/-Proto are added, appending to an existing X-Forwarded-For', async () => {
    const plain = bodyJson(await raw(daemon.baseUrl, { path: viaProxy('/fwd') }));
    assert.equal(plain.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(plain.headers['x-forwarded-host'], `127.0.0.1:${daemon.port}`);
    assert.equal(plain.headers['x-forwarded-proto'], 'http');
    assert.equal(plain.headers.host, `localhost:${target.port}`);

    const chained = bodyJson(
      await raw(daemon.baseUrl, { path: viaProxy('/fwd'), headers: { 'X-Forwarded-For': '203.0.113.7' } }),
    );
    assert.equal(chained.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  });

  test('hop-by-hop request headers are not forwarded; end-to-end ones are', async () => {
    const echo = bodyJson(
      await raw(daemon.baseUrl, {
        path: viaProxy('/hop'),
        headers: {
          Connection: 'keep-alive, X-Hop',
          'X-Hop': 'secret',
          'Keep-Alive': 'timeout=5',
          'Proxy-Authorization': 'Basic Zm9vOmJhcg==',
          TE: 'trailers',
          'X-End-To-End': 'kept',
          Authorization: 'Bearer token',
        },
      }),
    );
    for (const name of ['x-hop', 'keep-alive', 'proxy-authorization', 'te', 'upgrade']) {
      assert.ok(!(name in echo.headers), `${name} forwarded: ${JSON.stringify(echo.headers)}`);
    }
    assert.equal(echo.headers['x-end-to-end'], 'kept');
    assert.equal(echo.headers.authorization, 'Bearer token');
  });
});

describe('streaming', () => {
  test('SSE events arrive one by one', async () => {
    sseGate = makeGate();
    const res = await fetch(`${daemon.baseUrl}${viaProxy('/sse')}`, { signal: AbortSignal.timeout(15_000) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let text = '';
    // The target holds event 2 back until the test has seen event 1, so this
    // only completes if the proxy flushes each piece as it arrives.
    await withTimeout(
      (async () => {
        while (!text.includes('"n":1')) {
          const { value, done } = await reader.read();
          assert.ok(!done, 'stream ended before the first event');
          text += decoder.decode(value, { stream: true });
        }
      })(),
      5000,
      'first SSE event through the proxy',
    );
    assert.ok(!text.includes('"n":2'));
    sseGate.release();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    assert.equal(text, 'data: {"n":1}\n\ndata: {"n":2}\n\n');
  });

  test('a body the target echoes while still reading it streams both ways', async () => {
    const total = 32 * MB;
    const received = await new Promise((resolve, reject) => {
      const req = http.request(
        `${daemon.baseUrl}${viaProxy('/stream-echo')}`,
        { method: 'POST', headers: { 'Content-Length': total } },
        (res) => {
          let bytes = 0;
          res.on('data', (c) => (bytes += c.length));
          res.on('end', () => resolve(bytes));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      writeBytes(req, total).then(() => req.end(), reject);
    });
    assert.equal(received, total);
  });

  for (const withLength of [true, false]) {
    test(`a 200 MB download (${withLength ? 'Content-Length' : 'chunked'}) streams with flat memory`, async () => {
      const total = 200 * MB;
      const base = resetPeakRss();
      const res = await new Promise((resolve, reject) => {
        http
          .get(`${daemon.baseUrl}${viaProxy(`/download?bytes=${total}&length=${withLength ? 1 : 0}`)}`, (r) => {
            let bytes = 0;
            r.on('data', (c) => (bytes += c.length));
            r.on('end', () => resolve({ bytes, headers: r.headers }));
            r.on('error', reject);
          })
          .on('error', reject);
      });
      assert.equal(res.bytes, total);
      if (withLength) assert.equal(res.headers['content-length'], String(total));
      else assert.equal(res.headers['transfer-encoding'], 'chunked');
      const growth = daemonPeakRss() - base;
      assert.ok(growth < 48 * MB, `daemon RSS grew by ${(growth / MB).toFixed(1)} MB`);
    });
  }

  test('a 200 MB upload streams with flat memory', async () => {
    const total = 200 * MB;
    const base = resetPeakRss();
    const res = await new Promise((resolve, reject) => {
      const req = http.request(
        `${daemon.baseUrl}${viaProxy('/count')}`,
        { method: 'POST', headers: { 'Content-Length': total } },
        (r) => readBody(r).then((body) => resolve({ status: r.statusCode, body }), reject),
      );
      req.on('error', reject);
      writeBytes(req, total).then(() => req.end(), reject);
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body.toString()), { bytes: total, transferEncoding: null });
    const growth = daemonPeakRss() - base;
    assert.ok(growth < 48 * MB, `daemon RSS grew by ${(growth / MB).toFixed(1)} MB`);
  });
});

describe('WebSocket', () => {
  test('an upgrade is tunnelled both ways until close', async () => {
    const before = wsTarget.closes.length;
    const ws = new WebSocket(`ws://127.0.0.1:${daemon.port}/proxy/${wsTarget.port}/chat?room=1`);
    const messages = [];
    let notify;
    ws.on('message', (data, isBinary) => {
      messages.push({ data, isBinary });
      notify?.();
    });
    const nextMessage = async (count) => {
      await withTimeout(
        (async () => {
          while (messages.length < count) await new Promise((resolve) => (notify = resolve));
        })(),
        5000,
        `WebSocket message ${count}`,
      );
      return messages[count - 1];
    };
    await withTimeout(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 5000, 'WebSocket open');

    const hello = JSON.parse((await nextMessage(1)).data.toString());
    assert.equal(hello.hello, '/chat?room=1');
    assert.equal(hello.forwardedFor, '127.0.0.1');

    ws.send('ping');
    const text = await nextMessage(2);
    assert.equal(text.isBinary, false);
    assert.equal(text.data.toString(), 'ping');

    const blob = Buffer.alloc(300 * 1024, 7);
    ws.send(blob);
    const binary = await nextMessage(3);
    assert.equal(binary.isBinary, true);
    assert.ok(Buffer.compare(binary.data, blob) === 0);

    const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
    ws.close(1000, 'bye');
    assert.equal(await withTimeout(closed, 5000, 'WebSocket close'), 1000);
    await waitFor(() => wsTarget.closes.length > before, { what: 'target sees the close' });
    assert.equal(wsTarget.closes.at(-1), 1000);
  });
});

describe('errors', () => {
  test('an unexposed port is 404 with the contract body plus a code', async () => {
    const port = target.port === 65000 ? 65001 : 65000;
    const res = await raw(daemon.baseUrl, { path: `/proxy/${port}/x` });
    assert.equal(res.status, 404);
    const body = bodyJson(res);
    assert.equal(body.error, 'Port not found');
    assert.equal(body.message, `Port ${port} is not exposed`);
    assert.equal(body.port, port);
    assert.equal(body.code, 'PORT_NOT_EXPOSED');
    assert.equal(body.httpStatus, 404);
    assertCors(res, '404');
  });

  test('nothing listening on an exposed port is 502 SERVICE_NOT_RESPONDING', async () => {
    const probe = net.createServer();
    const port = await listen(probe);
    await new Promise((resolve) => probe.close(resolve));
    assert.equal((await json(daemon.baseUrl, 'POST', '/api/expose-port', { port })).status, 200);
    try {
      const res = await raw(daemon.baseUrl, { method: 'POST', path: `/proxy/${port}/x`, body: 'data' });
      assert.equal(res.status, 502);
      const body = bodyJson(res);
      assert.equal(body.error, 'Proxy error');
      assert.match(body.message, new RegExp(`^Failed to proxy request to port ${port}: \\S`));
      assert.equal(body.port, port);
      assert.equal(body.code, 'SERVICE_NOT_RESPONDING');
      assert.equal(body.httpStatus, 502);
      assertCors(res, '502');
    } finally {
      await json(daemon.baseUrl, 'DELETE', `/api/exposed-ports/${port}`);
    }
  });

  test('a port segment that is not a number is 400 INVALID_PORT_NUMBER', async () => {
    const res = await raw(daemon.baseUrl, { path: '/proxy/abc/x' });
    assert.equal(res.status, 400);
    assert.equal(bodyJson(res).code, 'INVALID_PORT_NUMBER');
  });

  test('proxied connections stay within their share of the descriptor limit; the control routes keep working', async () => {
    // 256 descriptors: a budget of 192 sockets, of which proxy targets may
    // hold 48 (each proxied client holds a client socket as well).
    const pools = {};
    for (const lang of ['PYTHON', 'JAVASCRIPT', 'TYPESCRIPT']) pools[`${lang}_POOL_MIN_SIZE`] = '0';
    const small = await startDaemon({ maxOpenFiles: 256, env: pools });
    const held = new Set(); // target-side sockets, never answered
    let accepted = 0;
    const silent = net.createServer((s) => {
      accepted++;
      held.add(s);
      s.on('error', () => {});
    });
    const clients = [];
    try {
      const port = await listen(silent);
      assert.equal((await json(small.baseUrl, 'POST', '/api/expose-port', { port })).status, 200);
      const replies = [];
      for (let i = 0; i < 60; i++) {
        const s = net.connect(small.port, '127.0.0.1');
        s.on('error', () => {});
        let text = '';
        s.on('data', (d) => (text += d));
        replies.push(() => text);
        s.write(`GET /proxy/${port}/held-${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
        clients.push(s);
      }
      await waitFor(() => held.size >= 48 && replies.filter((r) => r().startsWith('HTTP/1.1 502')).length >= 12, {
        what: '48 proxied requests held and 12 refused',
      });
      assert.equal(held.size, 48);
      const refused = replies.map((r) => r()).filter((t) => t.startsWith('HTTP/1.1 502'));
      assert.equal(refused.length, 12);
      assert.match(refused[0], /too many proxied connections/);
      // The control routes are not starved.
      const exec = await json(small.baseUrl, 'POST', '/api/execute', { command: 'echo still-here', sessionId: 'budget' });
      assert.equal(exec.status, 200, JSON.stringify(exec.body));
      assert.equal(exec.body.stdout, 'still-here');
      assert.ok(!small.logs().some((l) => l.includes('accept failed')), small.logs().join('\n'));
      assert.ok(fs.readdirSync(`/proc/${small.pid}/fd`).length < 200);
      // Once the held requests end, their places are free again.
      for (const s of clients) s.destroy();
      for (const s of held) s.destroy();
      const before = accepted;
      await waitFor(
        () => {
          if (accepted > before) return true;
          const probe = net.connect(small.port, '127.0.0.1');
          probe.on('error', () => {});
          probe.write(`GET /proxy/${port}/after HTTP/1.1\r\nHost: x\r\n\r\n`);
          clients.push(probe);
          return false;
        },
        { intervalMs: 100, what: 'a proxied request reaching the target again' },
      );
    } finally {
      for (const s of clients) s.destroy();
      for (const s of held) s.destroy();
      silent.close();
      await small.stop();
    }
  });

  test('the daemon keeps serving after all of the above', async () => {
    const res = await json(daemon.baseUrl, 'GET', '/api/ping');
    assert.equal(res.status, 200);
  });
});
