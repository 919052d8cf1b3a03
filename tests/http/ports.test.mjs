// Exposed-port routes (API.md §8.1-8.3) against a real daemon over HTTP.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { json, startDaemon } from '../lib/daemon.mjs';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let daemon;

before(async () => {
  daemon = await startDaemon();
});

after(async () => {
  await daemon?.stop();
});

const expose = (body) => json(daemon.baseUrl, 'POST', '/api/expose-port', body);
const list = () => json(daemon.baseUrl, 'GET', '/api/exposed-ports?session=s1');
const unexpose = (port) => json(daemon.baseUrl, 'DELETE', `/api/exposed-ports/${port}?session=s1`);

function assertError(res, status, code) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.body.code, code, res.text);
  assert.equal(res.body.httpStatus, status);
  assert.equal(typeof res.body.message, 'string');
  assert.match(res.body.timestamp, ISO_MS);
  return res.body;
}

describe('POST /api/expose-port', () => {
  test('records a port and answers the contract shape', async () => {
    const res = await expose({ port: 9101, sessionId: 's1', name: 'web' });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.success, true);
    assert.equal(res.body.port, 9101);
    assert.equal(res.body.url, 'http://localhost:9101');
    assert.match(res.body.timestamp, ISO_MS);
    await unexpose(9101);
  });

  test('a second exposure of the same port is 409, naming the existing entry', async () => {
    assert.equal((await expose({ port: 9102, name: 'api' })).status, 200);
    const body = assertError(await expose({ port: 9102 }), 409, 'PORT_ALREADY_EXPOSED');
    assert.equal(body.message, 'Port 9102 (api) is already exposed');
    assert.equal(body.context.port, 9102);
    assert.equal(body.context.portName, 'api');
    await unexpose(9102);

    assert.equal((await expose({ port: 9103 })).status, 200);
    assert.equal(assertError(await expose({ port: 9103 }), 409, 'PORT_ALREADY_EXPOSED').message, 'Port 9103 is already exposed');
    await unexpose(9103);
  });

  const invalid = [
    [80, '80', 'Port must be between 1024 and 65535'],
    [70000, '70000', 'Port must be between 1024 and 65535'],
    [3000, '3000', 'Port 3000 is reserved for the sandbox API control plane'],
    [8787, '8787', 'Port 8787 is reserved for the local development server'],
    ['8080', '8080', 'Port must be an integer'],
    [1500.5, '1500.5', 'Port must be an integer'],
    [undefined, 'undefined', 'Port must be an integer'],
  ];
  for (const [port, shown, reason] of invalid) {
    test(`port ${JSON.stringify(port)} is refused with 400 INVALID_PORT_NUMBER`, async () => {
      const body = assertError(await expose({ port, sessionId: 's1' }), 400, 'INVALID_PORT_NUMBER');
      assert.equal(body.message, `Invalid port number ${shown}: ${reason}`);
      assert.equal(body.context.reason, reason);
      if (port === undefined) assert.ok(!('port' in body.context));
      else assert.deepEqual(body.context.port, port);
    });
  }

  test("the daemon's own port is reserved", async () => {
    const body = assertError(await expose({ port: daemon.port }), 400, 'INVALID_PORT_NUMBER');
    assert.equal(body.message, `Invalid port number ${daemon.port}: Port ${daemon.port} is reserved for the sandbox API control plane`);
  });

  test('a refused port is not recorded', async () => {
    await expose({ port: 80 });
    assert.ok(!(await list()).body.ports.some((p) => p.port === 80));
  });

  test('a body that is not JSON is 400 VALIDATION_FAILED', async () => {
    assertError(await expose('{not json'), 400, 'VALIDATION_FAILED');
  });
});

describe('GET /api/exposed-ports', () => {
  test('lists ports in insertion order with status, name and exposedAt', async () => {
    assert.equal((await expose({ port: 9202, name: 'second-is-first' })).status, 200);
    assert.equal((await expose({ port: 9201 })).status, 200);
    const res = await list();
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.success, true);
    assert.match(res.body.timestamp, ISO_MS);
    const ours = res.body.ports.filter((p) => p.port === 9201 || p.port === 9202);
    assert.deepEqual(
      ours.map((p) => p.port),
      [9202, 9201],
    );
    const [named, plain] = ours;
    assert.equal(named.url, 'http://localhost:9202');
    assert.equal(named.status, 'active');
    assert.equal(named.name, 'second-is-first');
    assert.match(named.exposedAt, ISO_MS);
    assert.ok(!('name' in plain));
    await unexpose(9201);
    await unexpose(9202);
    assert.ok(!(await list()).body.ports.some((p) => p.port === 9201 || p.port === 9202));
  });
});

describe('DELETE /api/exposed-ports/{port}', () => {
  test('removes an exposed port', async () => {
    assert.equal((await expose({ port: 9301 })).status, 200);
    const res = await unexpose(9301);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.success, true);
    assert.equal(res.body.port, 9301);
    assert.match(res.body.timestamp, ISO_MS);
  });

  test('a port that is not exposed is 404 PORT_NOT_EXPOSED', async () => {
    const body = assertError(await unexpose(9302), 404, 'PORT_NOT_EXPOSED');
    assert.match(body.message, /not exposed/);
    assert.equal(body.context.port, 9302);
  });

  test('a segment that is not a number is 400 INVALID_PORT_NUMBER', async () => {
    for (const segment of ['abc', '8080abc', '0', '65536']) {
      const body = assertError(await unexpose(segment), 400, 'INVALID_PORT_NUMBER');
      assert.match(body.message, new RegExp(`^Invalid port number ${segment}: `));
    }
  });
});
