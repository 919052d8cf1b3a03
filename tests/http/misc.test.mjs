// Transport-level contract of sandboxd (API.md §1, §2, §11), checked
// against a real daemon over HTTP without the SDK.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { json, raw, rawHeaderValues, startDaemon } from '../lib/daemon.mjs';
import { waitFor } from '../lib/wait.mjs';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type, Authorization, X-Session-Id',
};

/** Each CORS header present exactly once with the exact value. */
function assertCors(res, what) {
  for (const [name, value] of Object.entries(CORS)) {
    assert.deepEqual(rawHeaderValues(res.rawHeaders, name), [value], `${what}: header ${name}`);
  }
}

function assertTimestamp(value, what) {
  assert.match(value, ISO_MS, `${what}: timestamp format`);
  // Generated when the response is built, so it must be "now".
  assert.ok(Math.abs(Date.parse(value) - Date.now()) < 60_000, `${what}: timestamp ${value} is not current`);
}

/** API.md §2.1: the fields every error body carries. */
function assertErrorBody(res, what) {
  assert.match(String(res.headers['content-type']), /^application\/json/, `${what}: content-type`);
  const body = JSON.parse(res.body.toString('utf8'));
  assert.equal(typeof body.code, 'string', `${what}: code`);
  assert.equal(typeof body.message, 'string', `${what}: message`);
  assert.ok(body.context !== null && typeof body.context === 'object' && !Array.isArray(body.context), `${what}: context must be an object`);
  assert.equal(body.httpStatus, res.status, `${what}: httpStatus`);
  assertTimestamp(body.timestamp, what);
  return body;
}

const bodyOf = (res) => JSON.parse(res.body.toString('utf8'));

/**
 * Writes `text` on a fresh connection and collects what comes back until
 * `done(received)` holds or the daemon closes the connection (within `limitMs`).
 */
function exchange(port, text, done, limitMs = 5000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${limitMs} ms; got ${JSON.stringify(received)}`));
    }, limitMs);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received);
    };
    socket.on('connect', () => socket.write(text));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (done(received)) finish();
    });
    socket.on('close', finish);
    socket.on('error', finish);
  });
}

let daemon;

before(async () => {
  daemon = await startDaemon({ env: { SANDBOX_VERSION: '0.4.13-test' } });
});

after(async () => {
  await daemon?.stop();
});

describe('misc routes', () => {
  test('GET / says hello in plain text', async () => {
    const res = await raw(daemon.baseUrl, { path: '/' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(res.body.toString('utf8'), 'Hello from Bun server! 🚀');
  });

  test('GET /api/ping answers pong', async () => {
    const res = await json(daemon.baseUrl, 'GET', '/api/ping');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^application\/json/);
    assertTimestamp(res.body.timestamp, 'ping');
    assert.deepEqual({ ...res.body, timestamp: 'T' }, { success: true, message: 'pong', status: 'healthy', timestamp: 'T' });
  });

  test('GET /api/version reports SANDBOX_VERSION', async () => {
    const res = await json(daemon.baseUrl, 'GET', '/api/version');
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    assert.equal(res.body.version, '0.4.13-test');
    assertTimestamp(res.body.timestamp, 'version');
  });

  test('GET /api/version reports "unknown" without SANDBOX_VERSION', async () => {
    const bare = await startDaemon();
    try {
      const res = await json(bare.baseUrl, 'GET', '/api/version');
      assert.equal(res.status, 200);
      assert.equal(res.body.version, 'unknown');
    } finally {
      await bare.stop();
    }
  });

  test('GET /api/commands lists sorted commands with a matching count', async () => {
    const res = await json(daemon.baseUrl, 'GET', '/api/commands');
    assert.equal(res.status, 200);
    const { availableCommands, count } = res.body;
    assert.ok(Array.isArray(availableCommands), 'availableCommands is an array');
    assert.ok(availableCommands.every((c) => typeof c === 'string'), 'all names are strings');
    assert.deepEqual(availableCommands, [...availableCommands].sort(), 'sorted');
    assert.ok(availableCommands.includes('bash'), 'contains bash');
    assert.ok(availableCommands.includes('ls'), 'contains ls');
    assert.equal(count, availableCommands.length);
  });
});

describe('CORS', () => {
  // One request of every kind this file covers: success, plain text,
  // not found, unsupported method, preflight, bad body.
  const requests = [
    { method: 'GET', path: '/' },
    { method: 'GET', path: '/api/ping' },
    { method: 'GET', path: '/api/version' },
    { method: 'GET', path: '/api/commands' },
    { method: 'GET', path: '/api/nope' },
    { method: 'PATCH', path: '/api/execute' },
    { method: 'OPTIONS', path: '/api/execute' },
    { method: 'POST', path: '/api/write', body: '{nope', headers: { 'Content-Type': 'application/json' } },
  ];
  for (const req of requests) {
    test(`${req.method} ${req.path} carries each CORS header exactly once`, async () => {
      assertCors(await raw(daemon.baseUrl, req), `${req.method} ${req.path}`);
    });
  }

  test('OPTIONS /api/execute is an empty 204 with CORS headers', async () => {
    const res = await raw(daemon.baseUrl, { method: 'OPTIONS', path: '/api/execute' });
    assert.equal(res.status, 204);
    assertCors(res, 'OPTIONS');
    assert.equal(res.body.length, 0);
  });
});

describe('errors', () => {
  test('unknown route is the fixed 404 body', async () => {
    const res = await raw(daemon.baseUrl, { path: '/api/nope' });
    assert.equal(res.status, 404);
    const body = assertErrorBody(res, 'GET /api/nope');
    assert.deepEqual(
      { ...body, timestamp: 'T' },
      { code: 'UNKNOWN_ERROR', message: 'The requested endpoint was not found', context: {}, httpStatus: 404, timestamp: 'T' },
    );
  });

  test('unsupported method (PATCH) is a 404 JSON error', async () => {
    const res = await raw(daemon.baseUrl, { method: 'PATCH', path: '/api/execute' });
    assert.equal(res.status, 404);
    assertErrorBody(res, 'PATCH /api/execute');
  });

  const badBodies = [
    ['malformed JSON', '{nope'],
    ['an empty body', ''],
  ];
  for (const [label, body] of badBodies) {
    test(`POST /api/write with ${label} is 400 VALIDATION_FAILED`, async () => {
      const res = await raw(daemon.baseUrl, { method: 'POST', path: '/api/write', body, headers: { 'Content-Type': 'application/json' } });
      assert.equal(res.status, 400, res.body.toString());
      const err = assertErrorBody(res, label);
      assert.equal(err.code, 'VALIDATION_FAILED');
      assert.equal(err.httpStatus, 400);
      assert.ok(err.message.startsWith('Failed to parse request body'), `message: ${err.message}`);
    });
  }

  test('POST /api/write with valid JSON that is not an object is 400 VALIDATION_FAILED', async () => {
    const res = await raw(daemon.baseUrl, { method: 'POST', path: '/api/write', body: '[1]', headers: { 'Content-Type': 'application/json' } });
    assert.equal(res.status, 400, res.body.toString());
    assert.equal(assertErrorBody(res, '[1]').code, 'VALIDATION_FAILED');
  });

  test('random bodies on every body-taking route get an answer, never an unexpected 5xx or a dead daemon', async () => {
    // Deterministic: the same 300 bodies on every run. Paths stay inside a
    // scratch directory; commands are harmless.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-fuzz-'));
    fs.mkdirSync(path.join(dir, 'd'));
    fs.writeFileSync(path.join(dir, 'f.txt'), 'hi\n');
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const pick = (a) => a[Math.floor(rnd() * a.length)];
    const inDir = ['', '.', 'x', 'a/b', 'd/../x', 'f.txt', 'd', 'd/e', 'nope/x', '\u0000x', 'é✓😀', 'n'.repeat(300), 'f.txt/x'].map((p) => path.join(dir, p));
    const values = [...inDir, '', ' ', 'é✓😀', 'y'.repeat(5000), -1, 0, 1, 3000, 65536, 1e308, 1.5, true, false, null, [], ['a'], {}, { a: 1 }, { K: 'v' }, { K: 1 }, 'utf-8', 'base64', 'hex', 'SIGKILL'];
    const fields = ['command', 'sessionId', 'path', 'content', 'encoding', 'newPath', 'destination', 'recursive', 'port', 'name', 'processId', 'cwd', 'env', 'timeoutMs', 'id', 'signal', 'oldPath'];
    const routes = ['/api/session/create', '/api/session/delete', '/api/execute', '/api/execute/stream', '/api/read', '/api/read/stream', '/api/write', '/api/delete', '/api/rename', '/api/move', '/api/mkdir', '/api/list-files', '/api/exists', '/api/expose-port', '/api/process/start'];
    const statuses = new Set();
    try {
      for (let i = 0; i < 300; i++) {
        const route = pick(routes);
        const body = {};
        for (let n = Math.floor(rnd() * 5); n > 0; n--) body[pick(fields)] = pick(values);
        if (typeof body.command === 'string') body.command = pick(['true', 'echo x', '', '   ', 'exit 3']);
        const what = `${route} ${JSON.stringify(body).slice(0, 200)}`;
        const res = await raw(daemon.baseUrl, { method: 'POST', path: route, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
        statuses.add(res.status);
        // The one 500 the contract has for caller input: a session id in use.
        if (res.status >= 500) assert.match(res.body.toString(), /already exists/, what);
        if (res.status >= 400) assertErrorBody(res, what);
        assert.equal((await raw(daemon.baseUrl, { path: '/api/ping' })).status, 200, `daemon alive after ${what}`);
      }
    } finally {
      await json(daemon.baseUrl, 'DELETE', '/api/process/kill-all');
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.ok(statuses.has(200) && statuses.has(400), `statuses seen: ${[...statuses]}`);
  });

  test('a body over SANDBOXD_MAX_BODY_BYTES is 413', async () => {
    const small = await startDaemon({ env: { SANDBOXD_MAX_BODY_BYTES: '1024' } });
    try {
      // Valid JSON of exactly 4096 bytes, so only its size is wrong.
      const head = '{"path":"/tmp/sandboxd-413-test","content":"';
      const tail = '"}';
      const body = head + 'a'.repeat(4096 - head.length - tail.length) + tail;
      assert.equal(Buffer.byteLength(body), 4096);
      const res = await raw(small.baseUrl, { method: 'POST', path: '/api/write', body, headers: { 'Content-Type': 'application/json' } });
      assert.equal(res.status, 413, res.body.toString());
      const err = assertErrorBody(res, '413');
      assert.equal(err.httpStatus, 413);
      assertCors(res, '413');
    } finally {
      await small.stop();
    }
  });

  test('every error body has code, message, context, httpStatus, timestamp', async () => {
    const cases = [
      { method: 'GET', path: '/api/nope' },
      { method: 'GET', path: '/api/health' },
      { method: 'PATCH', path: '/api/execute' },
      { method: 'GET', path: '/api/execute/' },
      { method: 'POST', path: '/api/write', body: '{nope' },
      { method: 'POST', path: '/api/write', body: '' },
      { method: 'POST', path: '/api/write', body: '[1]' },
      { method: 'POST', path: '/api/write', body: '"text"' },
    ];
    for (const c of cases) {
      const res = await raw(daemon.baseUrl, { ...c, headers: { 'Content-Type': 'application/json' } });
      assert.ok(res.status >= 400, `${c.method} ${c.path} ${c.body ?? ''}: expected an error status, got ${res.status}`);
      assertErrorBody(res, `${c.method} ${c.path} ${c.body ?? ''}`);
    }
  });
});

describe('connection handling', () => {
  test('keep-alive: two requests share one connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await raw(daemon.baseUrl, { path: '/api/ping', agent });
      const second = await raw(daemon.baseUrl, { path: '/api/ping', agent });
      assert.equal(first.status, 200);
      assert.equal(second.status, 200);
      assert.equal(bodyOf(second).message, 'pong');
      assert.equal(second.reusedSocket, true, 'second request reused the first connection');
    } finally {
      agent.destroy();
    }
  });

  test('bytes that are not an HTTP request get a 400 saying so, an oversized header a 431', async () => {
    const cases = [
      ['GARBAGE\r\n\r\n', 400, 'VALIDATION_FAILED', /^Malformed HTTP request: /],
      ['POST /api/execute HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}', 400, 'VALIDATION_FAILED', /^Malformed HTTP request: /],
      [`GET /api/ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`, 431, 'REQUEST_HEADER_TOO_LARGE', /^Request header too large$/],
    ];
    for (const [sent, status, code, message] of cases) {
      const reply = await exchange(daemon.port, sent, () => false);
      const what = JSON.stringify(sent.slice(0, 40));
      assert.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `), what);
      const body = JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4));
      assert.equal(body.code, code, what);
      assert.equal(body.httpStatus, status, what);
      assert.match(body.message, message, what);
    }
  });

  test('more clients than descriptors: the daemon pauses at its connection limit, never runs out, then serves again', async () => {
    // 64 descriptors: at most 32 connections, the rest stay for the daemon
    // (with no executors pre-started, which would take most of them).
    const pools = {};
    for (const lang of ['PYTHON', 'JAVASCRIPT', 'TYPESCRIPT']) pools[`${lang}_POOL_MIN_SIZE`] = '0';
    const small = await startDaemon({ maxOpenFiles: 64, env: pools });
    const sockets = [];
    try {
      // More connections than the limit: the last ones wait in the backlog.
      for (let i = 0; i < 100; i++) {
        const s = net.connect(small.port, '127.0.0.1');
        s.on('error', () => {});
        sockets.push(s);
      }
      await Promise.all(sockets.map((s) => new Promise((resolve) => s.once('connect', resolve))));
      await waitFor(() => small.logs().some((l) => l.includes('connection limit reached')), {
        what: 'the daemon pausing at its connection limit',
      });
      // Paused, it accepts nothing more: no accept ever met EMFILE (where it
      // would have had to retry), and descriptors stay free for its own work.
      assert.ok(!small.logs().some((l) => l.includes('accept failed')), small.logs().join('\n'));
      const open = fs.readdirSync(`/proc/${small.pid}/fd`).length;
      assert.ok(open < 64, `the daemon kept descriptors in reserve (${open} open)`);
      for (const s of sockets) s.destroy();
      sockets.length = 0;
      const res = await waitFor(() => raw(small.baseUrl, { path: '/api/ping' }), {
        timeoutMs: 10_000,
        what: 'a ping once descriptors are free',
      });
      assert.equal(res.status, 200);
    } finally {
      for (const s of sockets) s.destroy();
      await small.stop();
    }
  });

  test('a HEAD response has no body, so the next response on the connection is intact', async () => {
    const reply = await exchange(daemon.port, 'HEAD /api/ping HTTP/1.1\r\nHost: x\r\n\r\nGET /api/ping HTTP/1.1\r\nHost: x\r\n\r\n', (text) => /"message":"pong"/.test(text));
    const second = reply.indexOf('HTTP/1.1 ', 1);
    assert.ok(second > 0, `two responses: ${reply}`);
    const first = reply.slice(0, second);
    assert.ok(first.endsWith('\r\n\r\n'), `HEAD response ends after its head: ${JSON.stringify(first)}`);
    assert.match(first, /\r\nContent-Length: \d+\r\n/);
    assert.match(reply.slice(second), /^HTTP\/1\.1 200 OK\r\n/);
  });

  test('an idle keep-alive connection is closed after SANDBOXD_IDLE_TIMEOUT_MS, a busy one is not', async () => {
    const quick = await startDaemon({ env: { SANDBOXD_IDLE_TIMEOUT_MS: '600' } });
    try {
      // Requests 100 ms apart, for longer than the timeout, keep one connection.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; i < 10; i++) {
          const res = await raw(quick.baseUrl, { path: '/api/ping', agent });
          assert.equal(res.status, 200);
          if (i > 0) assert.equal(res.reusedSocket, true, `request ${i} reused the connection`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        agent.destroy();
      }
      // Left idle, or stalled inside a request's header, a connection is closed.
      for (const sent of ['GET /api/ping HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /api/ping HTTP/1.1\r\n']) {
        const started = Date.now();
        await exchange(quick.port, sent, () => false, 5000);
        const waited = Date.now() - started;
        assert.ok(waited >= 550 && waited < 5000, `closed after ${waited} ms`);
      }
    } finally {
      await quick.stop();
    }
  });

  test('SIGTERM: the daemon exits 0 promptly', async () => {
    const victim = await startDaemon();
    // Make sure it is serving before it is told to stop.
    assert.equal((await json(victim.baseUrl, 'GET', '/api/ping')).status, 200);
    const started = Date.now();
    const result = await victim.stop({ graceMs: 5000 });
    assert.equal(result.forced, false, `daemon ignored SIGTERM for 5 s and was killed`);
    assert.deepEqual({ code: result.code, signal: result.signal }, { code: 0, signal: null });
    assert.ok(Date.now() - started < 5000);
  });
});
