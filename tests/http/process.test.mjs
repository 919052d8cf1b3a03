// Background processes over HTTP (API.md §6): routes, shapes, errors, kill of
// whole trees, exit codes, log streams with many, slow and vanishing readers.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { json, parseSse, startDaemon, waitFor } from '../lib/daemon.mjs';
import { freePort, pgrep } from '../lib/host.mjs';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const FINAL = new Set(['completed', 'failed', 'killed', 'error']);

let daemon;

before(async () => {
  daemon = await startDaemon({ env: { SANDBOXD_WORKSPACE: '/tmp' } });
});

after(async () => {
  await json(daemon.baseUrl, 'DELETE', '/api/process/kill-all').catch(() => {});
  await daemon?.stop();
});

const start = (body) => json(daemon.baseUrl, 'POST', '/api/process/start', body);
const get = (id) => json(daemon.baseUrl, 'GET', `/api/process/${encodeURIComponent(id)}`);
const kill = (id, query = '') => json(daemon.baseUrl, 'DELETE', `/api/process/${encodeURIComponent(id)}${query}`);
const logs = (id) => json(daemon.baseUrl, 'GET', `/api/process/${encodeURIComponent(id)}/logs`);

async function startOk(command, extra = {}) {
  const res = await start({ command, sessionId: 'proc-tests', ...extra });
  assert.equal(res.status, 200, res.text);
  return res.body;
}

async function waitFinal(id, timeoutMs = 10_000) {
  return waitFor(
    async () => {
      const res = await get(id);
      return FINAL.has(res.body.process?.status) && res.body.process.endTime ? res.body.process : null;
    },
    { timeoutMs, what: `process ${id} to finish` },
  );
}

function canBind(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

/** Open a process log stream and return {res, reader, events(), next()} for incremental reading. */
async function openStream(id, { signal } = {}) {
  const res = await fetch(`${daemon.baseUrl}/api/process/${encodeURIComponent(id)}/stream`, { signal });
  return res;
}

function parentOf(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0; // gone
  }
}

async function readAllEvents(res) {
  return parseSse(await res.text());
}

describe('start, get, list', () => {
  test('start answers with processId, pid and command; get shows the record', async () => {
    const body = await startOk('sleep 30');
    assert.equal(body.success, true);
    assert.match(body.processId, /^proc_\d{13}_[0-9a-z]{6}$/);
    assert.ok(Number.isInteger(body.pid) && body.pid > 1, `pid ${body.pid}`);
    assert.equal(body.command, 'sleep 30');
    assert.match(body.timestamp, ISO_MS);

    const res = await get(body.processId);
    assert.equal(res.status, 200);
    const p = res.body.process;
    assert.equal(p.id, body.processId);
    assert.equal(p.pid, body.pid);
    assert.equal(p.command, 'sleep 30');
    assert.equal(p.status, 'running');
    assert.match(p.startTime, ISO_MS);
    assert.equal('endTime' in p, false);
    assert.equal('exitCode' in p, false);
    assert.equal((await kill(body.processId)).status, 200);
  });

  test('list shows every record in creation order with endTime and exitCode once known, and filters by status', async () => {
    const a = await startOk('exit 0');
    const b = await startOk('sleep 30');
    await waitFinal(a.processId);
    const res = await json(daemon.baseUrl, 'GET', '/api/process/list');
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    const ids = res.body.processes.map((p) => p.id);
    assert.ok(ids.indexOf(a.processId) < ids.indexOf(b.processId));
    const done = res.body.processes.find((p) => p.id === a.processId);
    assert.equal(done.status, 'completed');
    assert.equal(done.exitCode, 0);
    assert.match(done.endTime, ISO_MS);
    assert.ok(Number.isInteger(done.pid));
    const running = await json(daemon.baseUrl, 'GET', '/api/process/list?status=running');
    assert.ok(running.body.processes.every((p) => p.status === 'running'));
    assert.ok(running.body.processes.some((p) => p.id === b.processId));
    const none = await json(daemon.baseUrl, 'GET', '/api/process/list?status=bogus');
    assert.deepEqual(none.body.processes, []);
    await kill(b.processId);
  });

  test('unknown ids are 404 PROCESS_NOT_FOUND on every route', async () => {
    for (const res of [await get('nope'), await kill('nope'), await logs('nope')]) {
      assert.equal(res.status, 404);
      assert.equal(res.body.code, 'PROCESS_NOT_FOUND');
      assert.equal(res.body.message, 'Process nope not found');
      assert.deepEqual(res.body.context, { processId: 'nope' });
    }
    const stream = await openStream('nope');
    assert.equal(stream.status, 404);
    assert.equal((await stream.json()).code, 'PROCESS_NOT_FOUND');
  });

  test('empty command is 400 INVALID_COMMAND', async () => {
    const res = await start({ command: '   ', sessionId: 's' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'INVALID_COMMAND');
    assert.equal(res.body.message, 'Invalid command: empty command provided');
  });

  test('a caller-chosen processId is used, and a duplicate while running is 409', async () => {
    const id = `custom-${Date.now()}`;
    const first = await startOk('sleep 30', { processId: id });
    assert.equal(first.processId, id);
    const dup = await start({ command: 'sleep 1', processId: id });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.code, 'RESOURCE_BUSY');
    assert.equal(dup.body.message, `Process ID '${id}' already exists`);
    // The first one is untouched.
    assert.equal((await get(id)).body.process.command, 'sleep 30');
    await kill(id);
  });

  test('exit N reaches failed with the code; exit 0 completed', async () => {
    const failing = await startOk('echo bye; exit 7');
    const ok = await startOk('true');
    const f = await waitFinal(failing.processId);
    assert.equal(f.status, 'failed');
    assert.equal(f.exitCode, 7);
    const o = await waitFinal(ok.processId);
    assert.equal(o.status, 'completed');
    assert.equal(o.exitCode, 0);
  });

  test('a cwd that does not exist completes with exit code 1 and a stderr message', async () => {
    const p = await startOk('echo never', { cwd: '/no/such/dir' });
    const done = await waitFinal(p.processId);
    assert.equal(done.status, 'failed');
    assert.equal(done.exitCode, 1);
    const l = await logs(p.processId);
    assert.equal(l.body.stderr, 'Failed to change directory to /no/such/dir\n');
    assert.equal(l.body.stdout, '');
  });

  test('cwd and env from the request apply; stdin is empty', async () => {
    const p = await startOk('cat; pwd; echo "$FOO"', { cwd: '/usr', env: { FOO: 'bar baz' } });
    await waitFinal(p.processId);
    assert.equal((await logs(p.processId)).body.stdout, '/usr\nbar baz\n');
  });
  test('a plain program call sees exactly what it would under bash -c', async () => {
    // "env" alone is exec'd without a shell; "exec env" goes through bash.
    const setup = await json(daemon.baseUrl, 'POST', '/api/execute', {
      command: 'export FOO="a b"; cd /usr',
      sessionId: 'proc-direct',
    });
    assert.equal(setup.body.exitCode, 0, setup.text);
    const output = async (command, extra = {}) => {
      const p = await startOk(command, { sessionId: 'proc-direct', ...extra });
      const done = await waitFinal(p.processId);
      assert.equal(done.exitCode, 0);
      return (await logs(p.processId)).body.stdout;
    };
    // bash's exec builtin leaves `_` out; bash -c sets it to the program.
    const sorted = (text) => text.split('\n').filter((l) => l && !l.startsWith('_=')).sort();
    const direct = await output('env');
    assert.deepEqual(sorted(direct), sorted(await output('exec env')));
    assert.match(direct, /^_=\/.*\/env$/m);
    assert.match(direct, /^FOO=a b$/m);
    assert.match(direct, /^PWD=\/usr$/m);
    assert.match(await output('env', { cwd: '/tmp' }), /^PWD=\/tmp$/m);
    const missing = await startOk('no-such-program-xyz', { sessionId: 'proc-direct' });
    assert.equal((await waitFinal(missing.processId)).exitCode, 127);
    assert.match((await logs(missing.processId)).body.stderr, /no-such-program-xyz: command not found/);
  });
  test('functions the session exported reach its processes; others do not', async () => {
    const setup = await json(daemon.baseUrl, 'POST', '/api/execute', {
      command: 'greet() { echo "hi $1"; }; export -f greet; private() { echo no; }',
      sessionId: 'proc-functions',
    });
    assert.equal(setup.body.exitCode, 0, setup.text);
    const run = async (command) => {
      const p = await startOk(command, { sessionId: 'proc-functions' });
      const done = await waitFinal(p.processId);
      return { code: done.exitCode, ...(await logs(p.processId)).body };
    };
    const greeted = await run('greet there');
    assert.equal(greeted.code, 0, greeted.stderr);
    assert.equal(greeted.stdout, 'hi there\n');
    assert.equal((await run('greet a; greet b')).stdout, 'hi a\nhi b\n');
    assert.equal((await run('private')).code, 127);
  });
});

describe('logs', () => {
  test('logs return stdout and stderr separately, exact, with truncation flags', async () => {
    const p = await startOk("printf 'a\\nb'; printf 'oops\\n' >&2");
    await waitFinal(p.processId);
    const res = await logs(p.processId);
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    assert.equal(res.body.processId, p.processId);
    assert.equal(res.body.stdout, 'a\nb');
    assert.equal(res.body.stderr, 'oops\n');
    assert.equal(res.body.stdoutTruncated, false);
    assert.equal(res.body.stderrTruncated, false);
  });
});

describe('kill', () => {
  test('kill ends the whole tree (also a child that left the group): every sleep is gone and the record is killed', async () => {
    const tag = `tree-${process.pid}-${Date.now()}`;
    const p = await startOk(`sleep 300 & sleep 301 & setsid sleep 302 & : ${tag}; wait`);
    // The sleeps of this process (its children; the pattern alone could also
    // match a stranger's sleep).
    const ours = () => pgrep('sleep 30[012]').filter((pid) => parentOf(pid) === p.pid);
    await waitFor(() => ours().length >= 3, { what: 'three sleeps running' });
    const before = ours();
    const res = await kill(p.processId);
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    assert.equal(res.body.processId, p.processId);
    await waitFor(() => before.every((pid) => !pgrep('sleep 30[012]').includes(pid)), { timeoutMs: 6000, what: 'tree gone' });
    const done = await waitFinal(p.processId);
    assert.equal(done.status, 'killed');
    assert.equal(done.exitCode, 143);
  });

  test('killing a server frees its port', async () => {
    const port = await freePort();
    const p = await startOk(`python3 -m http.server ${port} --bind 127.0.0.1`);
    await waitFor(() => accepts(port), { timeoutMs: 10_000, what: 'http.server listening' });
    assert.equal((await kill(p.processId)).status, 200);
    await waitFor(() => pgrep(`http.server ${port}`).length === 0, { timeoutMs: 6000, what: 'http.server gone' });
    await waitFor(() => canBind(port), { timeoutMs: 2000, what: `port ${port} free` });
    assert.equal((await waitFinal(p.processId)).status, 'killed');
  });

  test('the signal can be chosen by query or body; bad names are 400', async () => {
    const a = await startOk('sleep 300');
    assert.equal((await kill(a.processId, '?signal=SIGKILL')).status, 200);
    assert.equal((await waitFinal(a.processId)).exitCode, 137);

    const b = await startOk('sleep 300');
    const res = await json(daemon.baseUrl, 'DELETE', `/api/process/${b.processId}`, { signal: 'INT' });
    assert.equal(res.status, 200);
    assert.equal((await waitFinal(b.processId)).exitCode, 130);

    const c = await startOk('sleep 300');
    const bad = await kill(c.processId, '?signal=SIGBOGUS');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'VALIDATION_FAILED');
    await kill(c.processId);
  });

  test('a TERM-ignoring process is killed after the grace', async () => {
    const graced = await startDaemon({ env: { SANDBOXD_WORKSPACE: '/tmp', SANDBOXD_KILL_GRACE_MS: '300' } });
    try {
      const tag = `stubborn-${process.pid}-${Date.now()}`;
      const res = await json(graced.baseUrl, 'POST', '/api/process/start', { command: `trap '' TERM; sleep 299 & : ${tag}; wait; wait` });
      assert.equal(res.status, 200, res.text);
      await waitFor(() => pgrep('sleep 299').length > 0, { what: 'sleep running' });
      const t0 = Date.now();
      assert.equal((await json(graced.baseUrl, 'DELETE', `/api/process/${res.body.processId}`)).status, 200);
      await waitFor(() => pgrep(tag).length === 0 && pgrep('sleep 299').length === 0, { timeoutMs: 3000, what: 'stubborn tree gone' });
      assert.ok(Date.now() - t0 >= 250, 'SIGKILL came only after the grace');
      const rec = await waitFor(async () => {
        const r = await json(graced.baseUrl, 'GET', `/api/process/${res.body.processId}`);
        return r.body.process.endTime ? r.body.process : null;
      }, { what: 'record final' });
      assert.equal(rec.status, 'killed');
      assert.equal(rec.exitCode, 137);
    } finally {
      await graced.stop();
    }
  });

  test('killing a finished process is 404 COMMAND_NOT_FOUND', async () => {
    const p = await startOk('true');
    await waitFinal(p.processId);
    const res = await kill(p.processId);
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'COMMAND_NOT_FOUND');
    assert.match(res.body.message, /not found or already completed/);
  });

  test('what a finished process left running in the background is still its to kill', async () => {
    const tag = `left-behind-${process.pid}-${Date.now()}`;
    const p = await startOk(`bash -c 'sleep 296; : ${tag}' & echo started`);
    assert.equal((await waitFinal(p.processId)).status, 'completed');
    await waitFor(() => pgrep(tag).length === 1, { what: 'the background job running' });
    const res = await kill(p.processId);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await waitFor(() => pgrep(tag).length === 0, { timeoutMs: 10_000, what: 'the background job gone' });
    assert.equal((await kill(p.processId)).status, 404);
    // kill-all reaches such leftovers too.
    const q = await startOk(`bash -c 'sleep 295; : ${tag}' & echo started`);
    await waitFinal(q.processId);
    await waitFor(() => pgrep(tag).length === 1, { what: 'the second background job running' });
    assert.equal((await json(daemon.baseUrl, 'DELETE', '/api/process/kill-all')).body.cleanedCount, 1);
    await waitFor(() => pgrep(tag).length === 0, { timeoutMs: 10_000, what: 'the second job gone' });
  });

  test('kill-all kills the running ones and counts them', async () => {
    await json(daemon.baseUrl, 'DELETE', '/api/process/kill-all');
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await startOk('sleep 300')).processId);
    const res = await json(daemon.baseUrl, 'DELETE', '/api/process/kill-all');
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    assert.equal(res.body.cleanedCount, 4);
    for (const id of ids) assert.equal((await waitFinal(id)).status, 'killed');
    const again = await json(daemon.baseUrl, 'DELETE', '/api/process/kill-all');
    assert.equal(again.body.cleanedCount, 0);
  });

  test('daemon shutdown kills every process tree', async () => {
    const d = await startDaemon({ env: { SANDBOXD_WORKSPACE: '/tmp' } });
    const tag = `shutdown-${process.pid}-${Date.now()}`;
    await json(d.baseUrl, 'POST', '/api/process/start', { command: `sleep 298 & sleep 297 & : ${tag}; wait` });
    // A session's background job whose shell has since exited (an orphan the
    // daemon adopted) ends too.
    await json(d.baseUrl, 'POST', '/api/execute', { command: 'sleep 296 &', sessionId: 'orphans' });
    await json(d.baseUrl, 'POST', '/api/execute', { command: 'exit 4', sessionId: 'orphans' });
    await waitFor(() => pgrep('sleep 29[678]').length >= 3, { what: 'sleeps running' });
    const stopped = await d.stop();
    assert.equal(stopped.forced, false);
    await waitFor(() => pgrep('sleep 29[678]').length === 0 && pgrep(tag).length === 0, { timeoutMs: 3000, what: 'trees gone after shutdown' });
  });
});

describe('stream', () => {
  test('process_info first, buffered then live output, exit last', async () => {
    const p = await startOk('echo one; echo warn >&2; sleep 0.3; echo two; exit 3');
    const res = await openStream(p.processId);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const events = await readAllEvents(res);
    assert.equal(events[0].type, 'process_info');
    assert.equal(events[0].processId, p.processId);
    assert.equal(events[0].command, p.command);
    assert.equal(events[0].status, 'running');
    const out = events.filter((e) => e.type === 'stdout').map((e) => e.data).join('');
    const err = events.filter((e) => e.type === 'stderr').map((e) => e.data).join('');
    assert.equal(out, 'one\ntwo\n');
    assert.equal(err, 'warn\n');
    for (const e of events) {
      assert.match(e.timestamp, ISO_MS);
      if (e.type !== 'process_info') assert.equal(e.processId, p.processId);
    }
    const last = events.at(-1);
    assert.equal(last.type, 'exit');
    assert.equal(last.exitCode, 3);
    assert.equal(last.data, 'Process failed with exit code 3');
  });

  test('a finished process streams its output and the exit event at once', async () => {
    const p = await startOk('echo done');
    await waitFinal(p.processId);
    const events = await readAllEvents(await openStream(p.processId));
    assert.deepEqual(events.map((e) => e.type), ['process_info', 'stdout', 'exit']);
    assert.equal(events[0].status, 'completed');
    assert.equal(events[1].data, 'done\n');
    assert.equal(events[2].data, 'Process completed with exit code 0');
  });

  test('output the log let go before a reader got to it is announced on stderr, not skipped silently', async () => {
    const small = await startDaemon({ env: { SANDBOXD_WORKSPACE: '/tmp', SANDBOXD_PROCESS_LOG_BYTES: '65536' } });
    try {
      const started = await json(small.baseUrl, 'POST', '/api/process/start', { command: 'seq 1 100000' });
      assert.equal(started.status, 200);
      const id = started.body.processId;
      await waitFor(async () => (await json(small.baseUrl, 'GET', `/api/process/${id}`)).body.process?.status === 'completed', {
        what: 'seq done',
      });
      const res = await fetch(new URL(`/api/process/${id}/stream`, small.baseUrl));
      const events = await readAllEvents(res);
      const err = events.filter((e) => e.type === 'stderr').map((e) => e.data).join('');
      assert.match(err, /\[sandboxd: \d+ bytes of stdout are missing here: they were dropped from the process's log/);
      const out = events.filter((e) => e.type === 'stdout').map((e) => e.data).join('');
      assert.ok(out.endsWith('99999\n100000\n'));
      assert.ok(out.length <= 65536);
      assert.equal(events.at(-1).type, 'exit');
    } finally {
      await small.stop();
    }
  });

  test('a killed process ends its streams with a real exit code', async () => {
    const p = await startOk('echo up; sleep 300');
    const res = await openStream(p.processId);
    const text = res.text();
    await waitFor(async () => (await logs(p.processId)).body.stdout === 'up\n', { what: 'output' });
    await kill(p.processId);
    const events = parseSse(await text);
    const last = events.at(-1);
    assert.equal(last.type, 'exit');
    assert.equal(last.exitCode, 143);
    assert.equal(last.data, 'Process killed with exit code 143');
  });

  test('many concurrent readers each get everything from the start', async () => {
    const p = await startOk('for i in $(seq 1 2000); do echo "line $i"; done; sleep 0.2; for i in $(seq 2001 4000); do echo "line $i"; done');
    const want = Array.from({ length: 4000 }, (_, i) => `line ${i + 1}\n`).join('');
    const readers = await Promise.all(Array.from({ length: 20 }, () => openStream(p.processId)));
    const results = await Promise.all(readers.map(readAllEvents));
    for (const events of results) {
      assert.equal(events[0].type, 'process_info');
      assert.equal(events.filter((e) => e.type === 'stdout').map((e) => e.data).join(''), want);
      assert.equal(events.at(-1).type, 'exit');
    }
  });

  test('a slow reader does not slow the process or the other readers', async () => {
    const p = await startOk('head -c 20000000 /dev/zero | tr "\\0" y; echo; sleep 0.5; echo end');
    const slow = await openStream(p.processId);
    const slowReader = slow.body.getReader();
    await slowReader.read(); // read one chunk, then stall
    const fast = await readAllEvents(await openStream(p.processId));
    assert.equal(fast.at(-1).type, 'exit');
    const done = await waitFinal(p.processId);
    assert.equal(done.status, 'completed');
    // The slow one still gets the end (what is retained) once it reads.
    let rest = '';
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done: end } = await slowReader.read();
      if (end) break;
      rest += decoder.decode(value, { stream: true });
    }
    assert.match(rest, /"type":"exit"/);
    assert.match(rest, /end\\n/);
  });

  test('a reader that disconnects does not disturb the process', async () => {
    const p = await startOk('for i in $(seq 1 30); do echo tick $i; sleep 0.02; done');
    const controller = new AbortController();
    const res = await openStream(p.processId, { signal: controller.signal });
    const reader = res.body.getReader();
    await reader.read();
    controller.abort();
    await reader.read().catch(() => {});
    const done = await waitFinal(p.processId);
    assert.equal(done.status, 'completed');
    const l = await logs(p.processId);
    assert.ok(l.body.stdout.endsWith('tick 30\n'));
    // The daemon still serves.
    assert.equal((await json(daemon.baseUrl, 'GET', '/api/ping')).status, 200);
  });
});

describe('routing', () => {
  test('kill-all and list are not taken as process ids', async () => {
    const res = await json(daemon.baseUrl, 'GET', '/api/process/list');
    assert.ok(Array.isArray(res.body.processes));
  });
});
