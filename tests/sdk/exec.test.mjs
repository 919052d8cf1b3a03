// exec, sessions and env through the real SDK `Sandbox` class.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon } from '../lib/daemon.mjs';
import { makeSandbox } from './sandbox.mjs';

let daemon;
let workspace;
let sandbox;

before(async () => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-sdk-exec-'));
  daemon = await startDaemon({ env: { SANDBOXD_WORKSPACE: workspace } });
  sandbox = await makeSandbox({ baseUrl: daemon.baseUrl, name: 'sdk-exec' });
});
after(async () => {
  await daemon?.stop();
  fs.rmSync(workspace, { recursive: true, force: true });
});

describe('exec', () => {
  test('returns stdout, stderr, exitCode and success', async () => {
    const r = await sandbox.exec('echo hello; echo oops >&2');
    assert.equal(r.stdout.trim(), 'hello');
    assert.equal(r.stderr.trim(), 'oops');
    assert.equal(r.exitCode, 0);
    assert.equal(r.success, true);
    const bad = await sandbox.exec('exit_with() { return 4; }; exit_with');
    assert.equal(bad.exitCode, 4);
    assert.equal(bad.success, false);
  });

  test('state persists in the default session (cd, export)', async () => {
    await sandbox.exec('mkdir -p /tmp/sdk-exec-dir && cd /tmp/sdk-exec-dir && export SDKVAR=42');
    const r = await sandbox.exec('pwd; echo $SDKVAR');
    assert.equal(r.stdout.trim(), '/tmp/sdk-exec-dir\n42');
  });

  test('stream: true calls onOutput and returns the exit code', async () => {
    const chunks = [];
    const r = await sandbox.exec('echo one; echo two >&2; exit 0', {
      stream: true,
      onOutput: (stream, data) => chunks.push([stream, data]),
    });
    assert.equal(r.exitCode, 0);
    assert.ok(chunks.some(([s, d]) => s === 'stdout' && d.includes('one')));
    assert.ok(chunks.some(([s, d]) => s === 'stderr' && d.includes('two')));
  });

  test('exit 1 surfaces the contract error message', async () => {
    const session = await sandbox.createSession({ id: 'sdk-dies' });
    await assert.rejects(session.exec('exit 1'), (e) => {
      assert.match(e.message, /shell terminated unexpectedly/i);
      assert.match(e.message, /exit code.*1/i);
      return true;
    });
    const again = await session.exec('echo back');
    assert.equal(again.stdout.trim(), 'back');
  });
});

describe('sessions', () => {
  test('createSession with env and cwd, isolated from the default session', async () => {
    const s = await sandbox.createSession({ id: 'sdk-s1', env: { ONLY_S1: 'yes' }, cwd: '/tmp' });
    const r = await s.exec('echo $ONLY_S1; pwd');
    assert.equal(r.stdout.trim(), 'yes\n/tmp');
    const d = await sandbox.exec('echo "${ONLY_S1:-no}"');
    assert.equal(d.stdout.trim(), 'no');
  });

  test('getSession reattaches to an existing session', async () => {
    const s = await sandbox.createSession({ id: 'sdk-s2' });
    await s.exec('export REMEMBER=me');
    const again = await sandbox.getSession('sdk-s2');
    assert.equal((await again.exec('echo $REMEMBER')).stdout.trim(), 'me');
  });

  test('setEnvVars exports into the session', async () => {
    const s = await sandbox.createSession({ id: 'sdk-env' });
    await s.setEnvVars({ A_VAR: "it's quoted", B_VAR: 'two words' });
    const r = await s.exec('echo "$A_VAR|$B_VAR"');
    assert.equal(r.stdout.trim(), "it's quoted|two words");
  });

  test('a duplicate createSession id is an error mentioning "already exists"', async () => {
    await sandbox.createSession({ id: 'sdk-dup' });
    await assert.rejects(sandbox.createSession({ id: 'sdk-dup' }), /already exists/);
  });
});
