// Background processes through the unmodified @cloudflare/sandbox 0.4.14 SDK:
// startProcess/listProcesses/getProcess/getProcessLogs/streamProcessLogs,
// killProcess (the tree and its port are really gone), killAllProcesses,
// execStream with the SDK's own parseSSEStream, and exec({stream:true}).

import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { parseSSEStream } from '@cloudflare/sandbox';
import { startDaemon, waitFor } from '../lib/daemon.mjs';
import { makeSandbox } from './sandbox.mjs';
import { freePort, pgrep } from '../lib/host.mjs';

// Process calls take an explicit session id so they do not depend on the
// SDK's lazy default-session creation; execStream/exec always create it.
const SESSION = 'sdk-proc-session';

let daemon;
let sandbox;

before(async () => {
  daemon = await startDaemon({ env: { SANDBOX_VERSION: '0.4.14', SANDBOXD_WORKSPACE: '/tmp' } });
  sandbox = await makeSandbox({ baseUrl: daemon.baseUrl, name: 'sdk-process' });
});

after(async () => {
  await sandbox?.killAllProcesses().catch(() => {});
  await daemon?.stop();
});

const canBind = (port) =>
  new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

const accepts = (port) =>
  new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });

async function waitStatus(id, wanted) {
  return waitFor(
    async () => {
      const p = await sandbox.getProcess(id, SESSION);
      return wanted.includes(p?.status) ? p : null;
    },
    { timeoutMs: 10_000, what: `process ${id} ${wanted.join('/')}` },
  );
}

test('startProcess with a processId, then getProcess and listProcesses', async () => {
  const id = `sdk-${Date.now()}`;
  const proc = await sandbox.startProcess('sleep 60', { processId: id }, SESSION);
  assert.equal(proc.id, id);
  assert.ok(Number.isInteger(proc.pid) && proc.pid > 1);
  assert.equal(proc.command, 'sleep 60');
  assert.equal(proc.status, 'running');

  const got = await sandbox.getProcess(id, SESSION);
  assert.equal(got.id, id);
  assert.equal(got.pid, proc.pid);
  assert.equal(got.status, 'running');
  assert.ok(got.startTime instanceof Date && !Number.isNaN(got.startTime.getTime()));
  assert.equal(await got.getStatus(), 'running');

  const listed = await sandbox.listProcesses(SESSION);
  assert.ok(listed.some((p) => p.id === id && p.status === 'running'));
  await proc.kill();
  await waitStatus(id, ['killed']);
  // `killed` shows at once; endTime follows when the process has been reaped.
  const done = await waitFor(
    async () => {
      const p = await sandbox.getProcess(id, SESSION);
      return p?.endTime instanceof Date ? p : null;
    },
    { timeoutMs: 10_000, what: `process ${id} endTime` },
  );
  assert.equal(done.status, 'killed');
});

test('getProcess of an unknown id throws ProcessNotFoundError', async () => {
  await assert.rejects(sandbox.getProcess('no-such-process', SESSION), (err) => {
    assert.equal(err.name, 'ProcessNotFoundError');
    assert.match(err.message, /not found/);
    return true;
  });
});

test('a process exiting by itself reports its exit code; getProcessLogs returns its output', async () => {
  const proc = await sandbox.startProcess('echo out; echo err >&2; exit 5', {}, SESSION);
  const done = await waitStatus(proc.id, ['failed']);
  assert.equal(done.exitCode, 5);
  const logs = await sandbox.getProcessLogs(proc.id);
  assert.equal(logs.processId, proc.id);
  assert.equal(logs.stdout, 'out\n');
  assert.equal(logs.stderr, 'err\n');
  assert.deepEqual(await proc.getLogs(), { stdout: 'out\n', stderr: 'err\n' });
});

test('streamProcessLogs yields the lines in order, then the completion', async () => {
  const proc = await sandbox.startProcess('for i in 1 2 3 4 5; do echo "line $i"; sleep 0.05; done', {}, SESSION);
  const stream = await sandbox.streamProcessLogs(proc.id);
  const events = [];
  for await (const event of parseSSEStream(stream)) events.push(event);
  assert.equal(events[0].type, 'process_info');
  const text = events.filter((e) => e.type === 'stdout').map((e) => e.data).join('');
  assert.equal(text, 'line 1\nline 2\nline 3\nline 4\nline 5\n');
  const last = events.at(-1);
  assert.equal(last.type, 'exit');
  assert.equal(last.exitCode, 0);
  assert.equal(last.processId, proc.id);
});

test('killProcess ends the server: its port is free and pgrep finds nothing', async () => {
  const port = await freePort();
  const proc = await sandbox.startProcess(`python3 -m http.server ${port} --bind 127.0.0.1`, {}, SESSION);
  await waitFor(() => accepts(port), { timeoutMs: 10_000, what: 'server listening' });
  await sandbox.killProcess(proc.id);
  await waitFor(() => pgrep(`http.server ${port}`).length === 0, { timeoutMs: 6000, what: 'server gone' });
  await waitFor(() => canBind(port), { timeoutMs: 2000, what: 'port free' });
  const done = await waitStatus(proc.id, ['killed']);
  assert.equal(done.status, 'killed');
});

test('killProcess of a finished process throws CommandNotFoundError', async () => {
  const proc = await sandbox.startProcess('true', {}, SESSION);
  await waitStatus(proc.id, ['completed']);
  await assert.rejects(sandbox.killProcess(proc.id), (err) => {
    assert.equal(err.name, 'CommandNotFoundError');
    return true;
  });
});

test('killAllProcesses returns how many running processes it killed', async () => {
  await sandbox.killAllProcesses();
  const procs = [];
  for (let i = 0; i < 3; i++) procs.push(await sandbox.startProcess('sleep 120', {}, SESSION));
  assert.equal(await sandbox.killAllProcesses(), 3);
  for (const p of procs) await waitStatus(p.id, ['killed']);
  assert.equal(await sandbox.killAllProcesses(), 0);
});

test('execStream events parse with the SDK parser', async () => {
  const stream = await sandbox.execStream('echo hello; echo oops >&2; exit 2');
  const events = [];
  for await (const event of parseSSEStream(stream)) events.push(event);
  assert.equal(events[0].type, 'start');
  assert.equal(events.at(-1).type, 'complete');
  assert.equal(events.at(-1).exitCode, 2);
  assert.equal(events.filter((e) => e.type === 'stdout').map((e) => e.data).join(''), 'hello\n');
  assert.equal(events.filter((e) => e.type === 'stderr').map((e) => e.data).join(''), 'oops\n');
  for (const e of events) assert.equal(typeof e.timestamp, 'string');
});

test('exec with stream:true calls onOutput and returns the exit code', async () => {
  const seen = [];
  const result = await sandbox.exec('echo a; echo b >&2; exit 3', {
    stream: true,
    onOutput: (stream, data) => seen.push([stream, data]),
  });
  assert.equal(result.exitCode, 3);
  assert.equal(result.success, false);
  assert.equal(result.stdout, 'a\n');
  assert.equal(result.stderr, 'b\n');
  assert.deepEqual(
    seen.filter(([s]) => s === 'stdout').map(([, d]) => d).join(''),
    'a\n',
  );
});

test('a foreground exec in the same session works while a background server runs', async () => {
  const port = await freePort();
  const server = await sandbox.startProcess(`python3 -m http.server ${port} --bind 127.0.0.1`);
  try {
    await waitFor(() => accepts(port), { timeoutMs: 10_000, what: 'server listening' });
    const result = await sandbox.exec('echo foreground');
    assert.equal(result.exitCode, 0);
    assert.equal(result.stdout.trim(), 'foreground');
  } finally {
    await sandbox.killProcess(server.id).catch(() => {});
  }
});
