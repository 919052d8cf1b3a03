// The unmodified @cloudflare/sandbox SDK (0.4.14) driving sandboxd through
// the containers stub: construction, container start-up (which runs the
// SDK's GET /api/version check) and the utility client.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startDaemon } from '../lib/daemon.mjs';
import { Sandbox, makeSandbox } from './sandbox.mjs';

// SDK_VERSION inside @cloudflare/sandbox 0.4.14 (not exported). A daemon
// reporting it makes the start-up check pass without a warning.
const SDK_VERSION = '0.4.14';

let daemon;
let sandbox;

before(async () => {
  daemon = await startDaemon({ env: { SANDBOX_VERSION: SDK_VERSION } });
  sandbox = await makeSandbox({ baseUrl: daemon.baseUrl, name: 'sdk-misc' });
});

after(async () => {
  await daemon?.stop();
});

/** Record what the SDK logs at warn/error level on this sandbox. */
function spyLogger(target) {
  const seen = [];
  for (const level of ['warn', 'error']) {
    const original = target.logger[level];
    target.logger[level] = function (msg, ...rest) {
      seen.push({ level, msg });
      return original.call(this, msg, ...rest);
    };
  }
  return seen;
}

test('the SDK constructs a Sandbox through getSandbox', () => {
  assert.ok(sandbox instanceof Sandbox);
  assert.equal(sandbox.sandboxName, 'sdk-misc');
  assert.equal(typeof sandbox.wsConnect, 'function');
});

test('container start-up runs the version check without warnings', async () => {
  const logged = spyLogger(sandbox);
  // onStart() calls checkVersionCompatibility() without awaiting it; wrap
  // it so the test can await exactly that call instead of sleeping.
  let check;
  const original = sandbox.checkVersionCompatibility;
  sandbox.checkVersionCompatibility = function () {
    check = original.call(this);
    return check;
  };
  try {
    // The first request "starts the container", which runs onStart.
    assert.equal(await sandbox.client.utils.ping(), 'pong');
    assert.ok(check, 'onStart ran the version check');
    await check;
  } finally {
    sandbox.checkVersionCompatibility = original;
  }
  const sent = sandbox.ctx.container.requests.map((r) => `${r.method} ${r.path}`);
  assert.ok(sent.includes('GET /api/version'), `requests sent: ${sent.join(', ')}`);
  assert.deepEqual(logged, [], 'no warning or error logged');
  assert.equal(await sandbox.client.utils.getVersion(), SDK_VERSION);
});

test('utils.ping() returns pong', async () => {
  assert.equal(await sandbox.client.utils.ping(), 'pong');
});

test('utils.getCommands() lists bash', async () => {
  const commands = await sandbox.client.utils.getCommands();
  assert.ok(Array.isArray(commands));
  assert.ok(commands.includes('bash'), `commands: ${commands.join(', ')}`);
});

test('exec("echo hi") smoke', async () => {
  const result = await sandbox.exec('echo hi');
  assert.equal(result.success, true);
  assert.equal(result.exitCode, 0);
  assert.equal(result.stdout, 'hi'); // one trailing newline is removed (API.md §5.2)
});
