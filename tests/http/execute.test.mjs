// Sessions and foreground execution (API.md §4, §5.1-5.2) against a real daemon.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { json, startDaemon, waitFor } from '../lib/daemon.mjs';
import { pgrep } from '../lib/host.mjs';

let daemon;
let workspace;
const exec = (body, opts) => json(daemon.baseUrl, 'POST', '/api/execute', body, opts);
const run = async (command, sessionId = 'http-exec', extra = {}) => {
  const r = await exec({ command, sessionId, ...extra });
  assert.equal(r.status, 200, r.text);
  return r.body;
};

before(async () => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-exec-'));
  daemon = await startDaemon({ env: { SANDBOXD_WORKSPACE: workspace, MAX_OUTPUT_SIZE_BYTES: String(1024 * 1024) } });
});
after(async () => {
  await daemon?.stop();
  fs.rmSync(workspace, { recursive: true, force: true });
});

describe('foreground execution', () => {
  test('stdout, stderr and exit code are separate and exact', async () => {
    const r = await run('echo out; echo err >&2; exit_code() { return 7; }; exit_code');
    assert.equal(r.stdout, 'out');
    assert.equal(r.stderr, 'err');
    assert.equal(r.exitCode, 7);
    assert.equal(r.success, false);
    assert.equal(r.command, 'echo out; echo err >&2; exit_code() { return 7; }; exit_code');
    assert.equal(r.sessionId, 'http-exec');
    assert.match(r.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test('exactly one trailing newline is removed', async () => {
    assert.equal((await run("printf 'a\\n\\n'")).stdout, 'a\n');
    assert.equal((await run("printf 'abc'")).stdout, 'abc');
    assert.equal((await run("printf '\\r\\n'")).stdout, '\r');
  });

  test('output bytes: NULs dropped, invalid UTF-8 replaced, control characters escaped', async () => {
    const r = await exec({ command: "printf 'a\\000b\\377c\\001\\033[0m\\t\\xe2\\x82\\xac\"\\\\\\n'; printf 'e\\377' >&2", sessionId: 'http-bytes' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.stdout, 'ab\ufffdc\u0001\u001b[0m\t\u20ac"\\');
    assert.equal(r.body.stderr, 'e\ufffd');
    // Members in the same order as every other response.
    assert.deepEqual(Object.keys(r.body), ['command', 'duration', 'exitCode', 'sessionId', 'stderr', 'stdout', 'success', 'timestamp']);
  });

  test('state persists: cwd, exports, functions, aliases, options, traps', async () => {
    const sid = 'persist';
    await run(`mkdir -p ${workspace}/sub && cd ${workspace}/sub`, sid);
    await run('export GREETING=hi; LOCALVAR=x; greet() { echo "$GREETING $1"; }; alias ll="echo aliased"', sid);
    await run('set -o pipefail; trap "echo trapped" USR1', sid);
    const r = await run('pwd; greet you; echo $LOCALVAR; ll; [[ -o pipefail ]] && echo pipefail-on; trap -p USR1', sid);
    assert.equal(
      r.stdout,
      `${workspace}/sub\nhi you\nx\naliased\npipefail-on\ntrap -- 'echo trapped' SIGUSR1`,
    );
  });

  test('$? carries over between commands', async () => {
    await run('false', 'status');
    assert.equal((await run('echo $?', 'status')).stdout, '1');
  });

  test('sessions are isolated', async () => {
    await run('export ONLY_A=1; cd /', 'iso-a');
    const b = await run('echo "${ONLY_A:-none}"; pwd', 'iso-b');
    assert.equal(b.stdout, `none\n${workspace}`);
  });

  test('here-documents, trailing comments, quotes, multi-line scripts', async () => {
    assert.equal((await run('cat <<EOF\nline one\n$((1+2))\nEOF')).stdout, 'line one\n3');
    assert.equal((await run("cat <<'EOF'\n$HOME\nEOF")).stdout, '$HOME');
    assert.equal((await run('echo done # a trailing comment')).stdout, 'done');
    assert.equal((await run(`echo "dq 'sq'" 'sq "dq"' $'tab\\there' \\\`bt\\\``)).stdout, `dq 'sq' sq "dq" tab\there \`bt\``);
    assert.equal((await run('for i in 1 2 3; do\n  echo $i\ndone\nif true; then echo yes; fi')).stdout, '1\n2\n3\nyes');
  });

  test('a syntax error is exit code 2 on stderr, and the session lives on', async () => {
    const r = await run('if then fi', 'syntax');
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /syntax error/);
    assert.equal((await run('echo alive', 'syntax')).stdout, 'alive');
  });

  test('a 1 MB command and binary-looking text', async () => {
    const big = 'x'.repeat(1024 * 1024);
    const r = await run(`v='${big}'; echo \${#v}`);
    assert.equal(r.stdout, String(1024 * 1024));
    const weird = await run("printf '%s' $'\\x01\\x7f\\xc3\\xa9'");
    assert.equal(weird.stdout, '\x01\x7fé');
  });

  test('stdin is /dev/null', async () => {
    const r = await run('cat; read x; echo "read=$?"');
    assert.equal(r.stdout, 'read=1');
  });

  test('unknown command gives 127 with "command not found"', async () => {
    const r = await run('definitely-not-a-command-xyz');
    assert.equal(r.exitCode, 127);
    assert.match(r.stderr, /command not found/);
  });

  test('background jobs do not hold the command open and do not leak output', async () => {
    const sid = 'bg';
    const started = Date.now();
    const r = await run('(sleep 3; echo late) & echo now', sid);
    assert.equal(r.stdout, 'now');
    assert.ok(Date.now() - started < 2500, 'command waited for its background job');
    const next = await run('echo next', sid);
    assert.equal(next.stdout, 'next');
  });

  test('a background writer that never pauses does not stall its session', async () => {
    const started = await run('(sleep 0.1; exec yes) & echo $!', 'http-exec-yes');
    const pid = Number(started.stdout);
    try {
      await waitFor(() => fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'yes', { what: 'yes running' });
      for (let i = 0; i < 3; i++) {
        const r = await run('echo next', 'http-exec-yes');
        assert.equal(r.stdout, 'next');
      }
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });

  test('exit N: contract error, then a fresh shell for the same session', async () => {
    const sid = 'dies';
    await run('export KEEP=1', sid);
    const r = await exec({ command: 'exit 3', sessionId: sid });
    assert.equal(r.status, 500);
    assert.equal(r.body.code, 'COMMAND_EXECUTION_ERROR');
    assert.match(r.body.message, /shell terminated unexpectedly/i);
    assert.match(r.body.message, /exit code.*3/i);
    const again = await run('echo "${KEEP:-fresh}"; pwd', sid);
    assert.equal(again.stdout, `fresh\n${workspace}`);
  });

  test('timeoutMs kills the command tree and the session works afterwards', async () => {
    const sid = 'timeout';
    const marker = `sbx-timeout-${process.pid}`;
    const r = await exec({ command: `bash -c 'sleep 30; : ${marker}' & sleep 30`, sessionId: sid, timeoutMs: 300 });
    assert.equal(r.status, 500);
    assert.match(r.body.message, /Command timeout after 300ms/);
    await waitFor(() => pgrep(marker).length === 0, { timeoutMs: 10000, what: 'timed-out tree gone' });
    assert.equal((await run('echo after', sid)).stdout, 'after');
  });

  test('timeoutMs: any non-negative whole number; past a century it means no limit', async () => {
    for (const timeoutMs of [10_000_000_000_000, 9_223_372_036_854_775, 1e30]) {
      const r = await exec({ command: 'echo in-time', sessionId: 'long-timeouts', timeoutMs });
      assert.equal(r.status, 200, `${timeoutMs}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.stdout, 'in-time');
    }
    const huge = await fetch(new URL('/api/execute', daemon.baseUrl), {
      method: 'POST',
      body: '{"command":"echo in-time","sessionId":"long-timeouts","timeoutMs":18446744073709551615}',
    });
    assert.equal(huge.status, 200);
    for (const [timeoutMs, message] of [[-1, /must not be negative/], [1.5, /whole number/], ['5', /whole number/]]) {
      const r = await exec({ command: 'echo x', sessionId: 'long-timeouts', timeoutMs });
      assert.equal(r.status, 400, String(timeoutMs));
      assert.match(r.body.message, message);
    }
  });

  test('a builtin loop past its timeout is stopped and the session recovers', async () => {
    const sid = 'spin';
    const r = await exec({ command: 'while :; do :; done', sessionId: sid, timeoutMs: 200 });
    assert.equal(r.status, 500);
    assert.equal((await run('echo recovered', sid, { timeoutMs: 15000 })).stdout, 'recovered');
  });

  test('a large answer (written off the I/O thread) is whole, with the shaped output', async () => {
    const r = await run('head -c 600000 /dev/zero | tr "\\0" b; echo; printf "e\\0rr\\n" >&2; (exit 4)', 'large');
    assert.equal(r.stdout, 'b'.repeat(600000));
    assert.equal(r.stderr, 'err');
    assert.equal(r.exitCode, 4);
    assert.equal(r.success, false);
    assert.equal(r.sessionId, 'large');
  });

  test('output beyond MAX_OUTPUT_SIZE_BYTES is a clear error', async () => {
    const r = await exec({ command: 'head -c 5000000 /dev/zero | tr "\\0" a', sessionId: 'big' });
    assert.equal(r.status, 500);
    assert.match(r.body.message, /Output too large/);
    assert.equal((await run('echo ok', 'big')).stdout, 'ok');
  });

  test('per-command cwd and env apply to that command only', async () => {
    const sid = 'override';
    const r = await run('pwd; echo $ONE', sid, { cwd: '/usr', env: { ONE: 'uno' } });
    assert.equal(r.stdout, '/usr\nuno');
    const after = await run('pwd; echo "${ONE:-unset}"', sid);
    assert.equal(after.stdout, `${workspace}\nunset`);
    const missing = await run('pwd', sid, { cwd: '/no/such/dir' });
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /No such file or directory/);
  });

  test('commands of one session run in order; sessions run in parallel', async () => {
    const sid = 'order';
    await run(': > order.txt', sid);
    await Promise.all([1, 2, 3, 4, 5].map((i) => run(`echo ${i} >> order.txt`, sid)));
    const lines = (await run('cat order.txt', sid)).stdout.split('\n');
    assert.deepEqual([...lines].sort(), ['1', '2', '3', '4', '5']);
    const t0 = Date.now();
    await Promise.all(['p1', 'p2', 'p3', 'p4'].map((s) => run('sleep 1', s)));
    assert.ok(Date.now() - t0 < 3500, 'parallel sessions were serialised');
  });

  test('a top-level return is the error bash gives typed input; the command goes on', async () => {
    const r = await run('echo before; return 3; echo after', 'http-exec-return');
    assert.equal(r.stdout, 'before\nafter');
    assert.match(r.stderr, /^bash: .*return: can only `return' from a function or sourced script$/);
    assert.equal(r.exitCode, 0);
  });

  test("bash's error messages name no internal file", async () => {
    const r = await run('if then', 'http-exec-return');
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /^bash: eval: line \d+: syntax error near unexpected token `then'/);
  });

  test("redefining the daemon's shell helpers does not break the session", async () => {
    const r = await run('__sbx_r() { :; }; unset -f __sbx_e; echo tried', 'http-exec-helpers');
    assert.equal(r.stdout, 'tried');
    assert.match(r.stderr, /readonly/);
    assert.equal((await run('echo alive', 'http-exec-helpers')).stdout, 'alive');
  });

  test("the shell and its commands hold none of the daemon's sockets", async () => {
    // The listener and client connections must not outlive the daemon in a shell.
    const r = await run('ls -l /proc/$$/fd /proc/self/fd', 'http-exec-fds');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /socket:/);
    const bg = await exec({ command: 'ls -l /proc/self/fd', background: true });
    assert.equal(bg.status, 200, bg.text);
    await waitFor(async () => {
      const p = await json(daemon.baseUrl, 'GET', `/api/process/${bg.body.processId}`);
      return p.body.process?.status === 'completed';
    });
    const logs = await json(daemon.baseUrl, 'GET', `/api/process/${bg.body.processId}/logs`);
    assert.match(logs.body.stdout, /-> /);
    assert.doesNotMatch(logs.body.stdout, /socket:/);
  });

  test('LANG and LC_ALL are C.UTF-8', async () => {
    assert.equal((await run('echo $LANG $LC_ALL')).stdout, 'C.UTF-8 C.UTF-8');
  });
});

describe('request validation', () => {
  test('empty or whitespace command is 400 INVALID_COMMAND', async () => {
    for (const command of ['', '   \n\t']) {
      const r = await exec({ command, sessionId: 'v' });
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 'INVALID_COMMAND');
      assert.equal(r.body.message, 'Invalid command: empty command provided');
    }
  });
  test('missing or mistyped fields name the field', async () => {
    const missing = await exec({ sessionId: 'v' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.code, 'VALIDATION_FAILED');
    assert.match(missing.body.message, /command/);
    const typed = await exec({ command: 42 });
    assert.equal(typed.status, 400);
    assert.match(typed.body.message, /command/);
    const env = await exec({ command: 'true', env: { 'BAD-NAME': 'x' } });
    assert.equal(env.status, 400);
    assert.match(env.body.message, /env/);
  });
  test('malformed JSON is 400', async () => {
    const r = await exec('{"command": ');
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'VALIDATION_FAILED');
  });
  test('session from X-Session-Id, ?session= and default', async () => {
    await run('export VIA=header', 'hdr');
    const r = await exec({ command: 'echo $VIA' }, { headers: { 'X-Session-Id': 'hdr' } });
    assert.equal(r.body.stdout, 'header');
    assert.equal(r.body.sessionId, 'hdr');
    const q = await json(daemon.baseUrl, 'POST', '/api/execute?session=hdr', { command: 'echo $VIA' });
    assert.equal(q.body.stdout, 'header');
    const d = await exec({ command: 'echo ok' });
    assert.equal(d.body.stdout, 'ok');
    assert.equal(d.body.sessionId, undefined);
  });
});

describe('session routes', () => {
  test('create with env and cwd, duplicate says "already exists", list, delete', async () => {
    const created = await json(daemon.baseUrl, 'POST', '/api/session/create', {
      id: 'made',
      env: { MADE: 'yes' },
      cwd: '/tmp',
    });
    assert.equal(created.status, 200, created.text);
    assert.equal(created.body.success, true);
    assert.equal(created.body.data.id, 'made');
    const r = await run('echo $MADE; pwd', 'made');
    assert.equal(r.stdout, 'yes\n/tmp');
    const dup = await json(daemon.baseUrl, 'POST', '/api/session/create', { id: 'made' });
    assert.notEqual(dup.status, 200);
    assert.match(dup.body.message, /already exists/);
    const list = await json(daemon.baseUrl, 'GET', '/api/session/list');
    assert.ok(list.body.data.includes('made'));
    assert.ok(list.body.data.includes('http-exec'), 'auto-created sessions are listed');
    const del = await json(daemon.baseUrl, 'POST', '/api/session/delete', { sessionId: 'made' });
    assert.equal(del.status, 200, del.text);
    const gone = await json(daemon.baseUrl, 'POST', '/api/session/delete', { sessionId: 'made' });
    assert.equal(gone.status, 404);
    assert.equal(gone.body.message, "Session 'made' not found");
    assert.deepEqual(gone.body.context, { sessionId: 'made', originalError: 'Session not found' });
  });
  test('create without a body generates an id', async () => {
    const r = await json(daemon.baseUrl, 'POST', '/api/session/create', '');
    assert.equal(r.status, 200, r.text);
    assert.match(r.body.data.id, /^session_\d+_[0-9a-f]{12}$/);
  });
  test('create with a missing cwd fails cleanly', async () => {
    const r = await json(daemon.baseUrl, 'POST', '/api/session/create', { id: 'nocwd', cwd: '/no/such' });
    assert.equal(r.status, 400);
    assert.ok(r.body.message.includes('/no/such'));
  });
});
