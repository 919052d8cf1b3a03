// Ports through the unmodified @cloudflare/sandbox 0.4.14 SDK: exposePort
// (preview URLs are built client-side), getExposedPorts, unexposePort, the
// invalid-port errors from both sides, and a request through /proxy.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { json, startDaemon } from '../lib/daemon.mjs';
import { makeSandbox } from './sandbox.mjs';

const NAME = 'sdk-ports';
const TOKEN = '[a-z0-9_-]{16}';

let daemon;
let sandbox;
let target; // HTTP server the proxy test talks to
let targetPort;

before(async () => {
  daemon = await startDaemon({ env: { SANDBOX_VERSION: '0.4.14' } });
  sandbox = await makeSandbox({ baseUrl: daemon.baseUrl, name: NAME });
  target = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url }));
  });
  await new Promise((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetPort = target.address().port;
});

after(async () => {
  await daemon?.stop();
  target?.closeAllConnections();
  await new Promise((resolve) => (target ? target.close(resolve) : resolve()));
});

test('exposePort returns a preview URL on a custom hostname', async () => {
  const exposed = await sandbox.exposePort(9401, { name: 'web', hostname: 'example.com' });
  assert.equal(exposed.port, 9401);
  assert.equal(exposed.name, 'web');
  assert.match(exposed.url, new RegExp(`^https://9401-${NAME}-${TOKEN}\\.example\\.com/$`));
  assert.equal(await sandbox.isPortExposed(9401), true);
});

test('getExposedPorts lists the exposed ports with preview URLs', async () => {
  await sandbox.exposePort(9402, { hostname: 'example.com' });
  const ports = await sandbox.getExposedPorts('example.com');
  const byPort = new Map(ports.map((p) => [p.port, p]));
  assert.ok(byPort.has(9401) && byPort.has(9402), JSON.stringify(ports));
  assert.equal(byPort.get(9402).status, 'active');
  assert.match(byPort.get(9402).url, new RegExp(`^https://9402-${NAME}-${TOKEN}\\.example\\.com/$`));
  // Insertion order is kept.
  assert.ok(ports.findIndex((p) => p.port === 9401) < ports.findIndex((p) => p.port === 9402));
});

test('exposing a port twice is PortAlreadyExposedError', async () => {
  await assert.rejects(sandbox.exposePort(9401, { hostname: 'example.com' }), (err) => {
    assert.equal(err.name, 'PortAlreadyExposedError');
    assert.equal(err.code, 'PORT_ALREADY_EXPOSED');
    assert.match(err.message, /already exposed/);
    return true;
  });
});

test('unexposePort removes the port', async () => {
  await sandbox.unexposePort(9401);
  await sandbox.unexposePort(9402);
  assert.equal(await sandbox.isPortExposed(9401), false);
  const ports = await sandbox.getExposedPorts('example.com');
  assert.ok(!ports.some((p) => p.port === 9401 || p.port === 9402));
});

test('unexposing a port that is not exposed is PortNotExposedError', async () => {
  await assert.rejects(sandbox.unexposePort(9403), (err) => {
    assert.equal(err.name, 'PortNotExposedError');
    assert.equal(err.code, 'PORT_NOT_EXPOSED');
    assert.match(err.message, /not exposed/);
    return true;
  });
});

test('ports the SDK would refuse are refused by the daemon, and never recorded', async () => {
  // exposePort calls the daemon before its own preview-URL check; the daemon
  // applies the same rule, so nothing stale is left behind (Q30).
  for (const port of [80, 3000, 8787]) {
    await assert.rejects(sandbox.exposePort(port, { hostname: 'example.com' }), (err) => {
      assert.equal(err.name, 'InvalidPortError', `${port}: ${err.message}`);
      assert.equal(err.code, 'INVALID_PORT_NUMBER');
      assert.match(err.message, new RegExp(`^Invalid port number ${port}: `));
      assert.equal(err.port, port);
      assert.equal(typeof err.reason, 'string');
      return true;
    });
  }
  assert.equal(await sandbox.isPortExposed(80), false);
  assert.deepEqual(await sandbox.getExposedPorts('example.com'), []);
});

test("the SDK's own checks reject before calling the daemon", async () => {
  const sent = () => sandbox.ctx.container.requests.length;
  const before = sent();
  await assert.rejects(sandbox.unexposePort(80), (err) => err.name === 'SecurityError' && /Invalid port number: 80/.test(err.message));
  await assert.rejects(sandbox.exposePort(9404, { hostname: 'my-worker.workers.dev' }), (err) => err.code === 'CUSTOM_DOMAIN_REQUIRED');
  assert.equal(sent(), before, 'no request reached the daemon');
});

test('a request through /proxy/<port>/sub/path?q=1 reaches the exposed service', async () => {
  await sandbox.exposePort(targetPort, { hostname: 'example.com' });
  const res = await sandbox.containerFetch(new Request(`http://localhost:3000/proxy/${targetPort}/sub/path?q=1`), 3000);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { method: 'GET', url: '/sub/path?q=1' });
  assert.equal(res.headers.get('access-control-allow-origin'), '*');

  // The same through plain fetch to the daemon, with a body.
  const direct = await fetch(`${daemon.baseUrl}/proxy/${targetPort}/form?x=2`, { method: 'POST', body: 'hello' });
  assert.deepEqual(await direct.json(), { method: 'POST', url: '/form?x=2' });

  await sandbox.unexposePort(targetPort);
  const gone = await json(daemon.baseUrl, 'GET', `/proxy/${targetPort}/sub/path?q=1`);
  assert.equal(gone.status, 404);
  assert.equal(gone.body.code, 'PORT_NOT_EXPOSED');
});
