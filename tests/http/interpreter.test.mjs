// Code interpreter routes (API.md §10) against a real daemon and the real
// executors: contexts, streamed runs, errors, timeouts, deletion.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { json, parseSse, sse, startDaemon, waitFor } from '../lib/daemon.mjs';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let daemon;
let workspace;

before(async () => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-interp-http-'));
  daemon = await startDaemon({
    env: {
      SANDBOXD_WORKSPACE: workspace,
      PYTHON_POOL_MIN_SIZE: '1',
      PYTHON_POOL_MAX_SIZE: '6',
      JAVASCRIPT_POOL_MIN_SIZE: '1',
      TYPESCRIPT_POOL_MIN_SIZE: '0',
      SANDBOXD_KILL_GRACE_MS: '2000',
    },
  });
});

after(async () => {
  await daemon?.stop();
  fs.rmSync(workspace, { recursive: true, force: true });
});

async function createContext(body = {}) {
  const res = await json(daemon.baseUrl, 'POST', '/api/contexts', { cwd: workspace, ...body }, { timeoutMs: 60_000 });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

function run(contextId, code, extra = {}) {
  return sse(daemon.baseUrl, '/api/execute/code', { context_id: contextId, code, ...extra }, { timeoutMs: 60_000 });
}

const text = (events, type) => events.filter((e) => e.type === type).map((e) => e.text).join('');

describe('contexts', () => {
  test('health answers healthy', async () => {
    const res = await json(daemon.baseUrl, 'GET', '/api/interpreter/health');
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    assert.equal(res.body.status, 'healthy');
    assert.match(res.body.timestamp, ISO_MS);
  });

  test('create answers with a uuid, the canonical language and the cwd', async () => {
    const body = await createContext({ language: 'Python3' });
    assert.equal(body.success, true);
    assert.match(body.contextId, UUID_V4);
    assert.equal(body.language, 'python');
    assert.equal(body.cwd, workspace);
    assert.match(body.timestamp, ISO_MS);
    for (const [alias, canonical] of [['JS', 'javascript'], ['node', 'javascript']]) {
      assert.equal((await createContext({ language: alias })).language, canonical);
    }
  });

  test('an unknown language is a 400 naming the field', async () => {
    const res = await json(daemon.baseUrl, 'POST', '/api/contexts', { language: 'ruby' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'VALIDATION_FAILED');
    assert.match(res.body.message, /language/);
  });

  test('a missing cwd is a 400 naming the field', async () => {
    const res = await json(daemon.baseUrl, 'POST', '/api/contexts', { cwd: path.join(workspace, 'nope') });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'VALIDATION_FAILED');
    assert.match(res.body.message, /cwd/);
  });

  test('list shows contexts in creation order; delete removes them', async () => {
    const a = await createContext();
    const b = await createContext({ language: 'javascript' });
    const listed = await json(daemon.baseUrl, 'GET', '/api/contexts');
    assert.equal(listed.status, 200);
    assert.equal(listed.body.success, true);
    const ids = listed.body.contexts.map((c) => c.id);
    assert.ok(ids.indexOf(a.contextId) < ids.indexOf(b.contextId));
    assert.deepEqual(listed.body.contexts.find((c) => c.id === b.contextId), { id: b.contextId, language: 'javascript', cwd: workspace });

    const del = await json(daemon.baseUrl, 'DELETE', `/api/contexts/${a.contextId}`);
    assert.equal(del.status, 200);
    assert.equal(del.body.success, true);
    assert.equal(del.body.contextId, a.contextId);
    const again = await json(daemon.baseUrl, 'DELETE', `/api/contexts/${a.contextId}`);
    assert.equal(again.status, 404);
    assert.equal(again.body.code, 'CONTEXT_NOT_FOUND');
    assert.equal(again.body.message, `Code context '${a.contextId}' not found`);
    const after = await json(daemon.baseUrl, 'GET', '/api/contexts');
    assert.ok(!after.body.contexts.some((c) => c.id === a.contextId));
    await json(daemon.baseUrl, 'DELETE', `/api/contexts/${b.contextId}`);
  });

  test('deleting a context ends its executor process', async () => {
    const ctx = await createContext();
    const events = await run(ctx.contextId, 'import os\nos.getpid()');
    const pid = Number(events.find((e) => e.type === 'result').text);
    assert.ok(fs.existsSync(`/proc/${pid}`));
    await json(daemon.baseUrl, 'DELETE', `/api/contexts/${ctx.contextId}`);
    // The daemon reaps it, so the /proc entry disappears (no zombie).
    await waitFor(() => !fs.existsSync(`/proc/${pid}`), { what: `executor ${pid} gone` });
  });
});

describe('execute', () => {
  let py;
  before(async () => {
    py = await createContext({ env_vars: { GREETING: 'hello' } });
  });

  test('unknown context: 404 with the standard body and the legacy error field', async () => {
    const res = await json(daemon.baseUrl, 'POST', '/api/execute/code', { context_id: 'nope', code: '1' });
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'CONTEXT_NOT_FOUND');
    assert.equal(res.body.message, 'Context nope not found');
    assert.equal(res.body.error, 'Context nope not found');
    assert.deepEqual(res.body.context, { contextId: 'nope' });
    assert.equal(res.body.httpStatus, 404);
  });

  test('stdout, the expression result, then execution_complete', async () => {
    const events = await run(py.contextId, "print('hi')\n1 + 1");
    assert.equal(text(events, 'stdout'), 'hi\n');
    const result = events.find((e) => e.type === 'result');
    assert.equal(result.text, '2');
    assert.deepEqual(result.metadata, {});
    assert.equal(events.at(-1).type, 'execution_complete');
    assert.equal(typeof events.at(-1).execution_count, 'number');
  });

  test('stdout text survives quotes, backslashes, control and non-ASCII characters', async () => {
    const printed = 'q"b\\c\tt\x01\x1f\x7f\r\x08\x0c end\n';
    const events = await run(py.contextId, `import sys\nsys.stdout.write(${JSON.stringify(printed)})\nsys.stdout.flush()\nprint("caf\\u00e9 \\u2603")`);
    assert.equal(text(events, 'stdout'), `${printed}caf\u00e9 \u2603\n`);
    assert.equal(events.at(-1).type, 'execution_complete');
  });

  test('print is the one-write print built beside the daemon, and prints as the builtin does', async () => {
    const events = await run(
      py.contextId,
      "import sys, builtins\nprint(1, 'a', sep='-', end='!\\n')\nprint()\nprint('x', file=sys.stderr, flush=True)\n" +
        "sys.modules['sandboxd_print'].print is builtins.print",
    );
    assert.equal(text(events, 'stdout'), '1-a!\n\n');
    assert.equal(text(events, 'stderr'), 'x\n');
    assert.equal(events.find((e) => e.type === 'result').text, 'True');
  });

  test('a cell that closes sys.stdout and sys.stderr leaves the next run printing', async () => {
    const ctx = await createContext();
    const closing = await run(ctx.contextId, 'import sys\nsys.stdout.close()\nsys.stderr.close()');
    assert.equal(closing.at(-1).type, 'execution_complete');
    const events = await run(ctx.contextId, "import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.stdout is sys.__stdout__");
    assert.equal(text(events, 'stdout'), 'out\n');
    assert.equal(text(events, 'stderr'), 'err\n');
    assert.equal(events.find((e) => e.type === 'result').text, 'True');
    await json(daemon.baseUrl, 'DELETE', `/api/contexts/${ctx.contextId}`);
  });

  test('a cell that deletes or detaches sys.stdout and sys.stderr keeps its context', async () => {
    const ctx = await createContext();
    await run(ctx.contextId, 'import sys\nkept = 7\ndel sys.stdout');
    await run(ctx.contextId, 'import sys\ndel sys.stderr\n1/0');
    await run(ctx.contextId, 'import sys\nsys.stdout.detach()\nsys.stderr.detach()');
    const events = await run(ctx.contextId, "import sys\nprint('out', kept)\nprint('err', file=sys.stderr)");
    assert.equal(text(events, 'stdout'), 'out 7\n');
    assert.equal(text(events, 'stderr'), 'err\n');
    assert.equal(events.at(-1).type, 'execution_complete');
    await json(daemon.baseUrl, 'DELETE', `/api/contexts/${ctx.contextId}`);
  });

  test('env_vars and cwd reach the code', async () => {
    const events = await run(py.contextId, "import os\n(os.environ['GREETING'], os.getcwd())");
    assert.equal(events.find((e) => e.type === 'result').text, `('hello', '${workspace}')`);
  });

  test('an exception ends the stream with its error event', async () => {
    const events = await run(py.contextId, "print('before')\n1/0");
    assert.equal(text(events, 'stdout'), 'before\n');
    const last = events.at(-1);
    assert.equal(last.type, 'error');
    assert.equal(last.ename, 'ZeroDivisionError');
    assert.match(last.evalue, /division/);
    assert.ok(Array.isArray(last.traceback) && last.traceback.length > 0);
    assert.ok(!events.some((e) => e.type === 'execution_complete'));
  });

  test('a DataFrame yields html and text in one result', async () => {
    const events = await run(py.contextId, "import pandas as pd\npd.DataFrame({'a': [1, 2]})");
    const result = events.find((e) => e.type === 'result');
    assert.match(result.html, /<table/);
    assert.match(result.text, /a/);
  });

  test('output streams while the code runs', async () => {
    const res = await fetch(new URL('/api/execute/code', daemon.baseUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify({ context_id: py.contextId, code: "import time\nprint('first', flush=True)\ntime.sleep(1)\nprint('second')" }),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /text\/event-stream/);
    const reader = res.body.getReader();
    const started = Date.now();
    let seen = '';
    let firstAt;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
      if (firstAt === undefined && seen.includes('"first\\n"')) firstAt = Date.now();
    }
    const endedAt = Date.now();
    assert.ok(firstAt !== undefined, seen);
    assert.ok(endedAt - firstAt >= 800, `first line arrived ${endedAt - firstAt} ms before the end (${firstAt - started} ms after start)`);
  });

  test('a silent run still gets its response head before it ends', async () => {
    const started = Date.now();
    const res = await fetch(new URL('/api/execute/code', daemon.baseUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify({ context_id: py.contextId, code: 'import time\ntime.sleep(1.5)\n7' }),
    });
    const headAt = Date.now();
    assert.equal(res.status, 200);
    const text = await res.text();
    const endedAt = Date.now();
    assert.match(text, /"text":"7"/);
    assert.ok(endedAt - headAt >= 1000, `head came ${headAt - started} ms after the request, ${endedAt - headAt} ms before the end`);
  });

  test('runs in one context queue in order', async () => {
    // Requests on two connections have no order until the daemon took one:
    // its response head says the first run is queued.
    const first = await fetch(new URL('/api/execute/code', daemon.baseUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify({ context_id: py.contextId, code: "import time\ntime.sleep(0.3)\nqueue_order = ['a']" }),
    });
    assert.equal(first.status, 200);
    const [aText, b] = await Promise.all([first.text(), run(py.contextId, "queue_order.append('b')\nqueue_order")]);
    assert.equal(parseSse(aText).at(-1).type, 'execution_complete');
    assert.equal(b.find((e) => e.type === 'result').text, "['a', 'b']");
  });

  test('timeout_ms interrupts the run and the context keeps its state', async () => {
    await run(py.contextId, 'kept = 7');
    const started = Date.now();
    const events = await run(py.contextId, 'import time\ntime.sleep(30)', { timeout_ms: 500 });
    assert.ok(Date.now() - started < 10_000);
    assert.equal(events.at(-1).type, 'error');
    assert.match(events.at(-1).evalue, /timed out after 500 ms/);
    const after = await run(py.contextId, 'kept');
    assert.equal(after.find((e) => e.type === 'result').text, '7');
  });

  test('a run whose client leaves while its interpreter starts never runs', async () => {
    // No typescript executor is pre-started: the run waits for one to spawn.
    const ctx = await createContext();
    const controller = new AbortController();
    const res = await fetch(new URL('/api/execute/code', daemon.baseUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
      body: JSON.stringify({ context_id: ctx.contextId, language: 'typescript', code: 'while (true) {}' }),
      signal: controller.signal,
    });
    assert.equal(res.status, 200);
    controller.abort();
    const events = await sse(
      daemon.baseUrl,
      '/api/execute/code',
      { context_id: ctx.contextId, code: '6 * 7' },
      { timeoutMs: 30_000 },
    );
    assert.equal(events.find((e) => e.type === 'result')?.text, '42');
    const ts = await sse(daemon.baseUrl, '/api/execute/code', {
      context_id: ctx.contextId,
      language: 'typescript',
      code: 'const n: number = 5; n',
    }, { timeoutMs: 30_000 });
    assert.equal(ts.find((e) => e.type === 'result')?.text, '5');
    await json(daemon.baseUrl, 'DELETE', `/api/contexts/${ctx.contextId}`);
  });

  test('a run past its timeout fails even when the code catches the interrupt', async () => {
    const caught = await run(
      py.contextId,
      'import time\ntry:\n    time.sleep(30)\nexcept KeyboardInterrupt:\n    print("caught")',
      { timeout_ms: 300 },
    );
    assert.equal(text(caught, 'stdout'), 'caught\n');
    assert.equal(caught.at(-1).type, 'error');
    assert.equal(caught.at(-1).ename, 'TimeoutError');
    assert.match(caught.at(-1).evalue, /timed out after 300 ms/);
    const converted = await run(
      py.contextId,
      'import time\ntry:\n    time.sleep(30)\nexcept KeyboardInterrupt:\n    raise ValueError("gave up")',
      { timeout_ms: 300 },
    );
    assert.equal(converted.at(-1).ename, 'TimeoutError');
    assert.match(converted.at(-1).evalue, /timed out after 300 ms; the code then raised ValueError: gave up/);
  });

  test("an interrupt that lands while a display is written shows the cell's frames, not the executor's", async () => {
    // Most of this loop's time is spent writing the display out.
    const events = await run(
      py.contextId,
      'from IPython.display import HTML, display\nwhile True:\n    display(HTML("x" * 1_000_000))',
      { timeout_ms: 300 },
    );
    const last = events.at(-1);
    assert.equal(last.ename, 'TimeoutError');
    const traceback = last.traceback.join('\n');
    assert.match(traceback, /display\(HTML\("x" \* 1_000_000\)\)/);
    assert.doesNotMatch(traceback, /python_executor\.py|skipping hidden/);
    assert.match(last.traceback.at(-1), /^KeyboardInterrupt/);
    const next = await run(py.contextId, '6 * 7');
    assert.equal(next.find((e) => e.type === 'result')?.text, '42');
  });

  test('a result too large to deliver is an error, and the context goes on', async () => {
    const big = await run(py.contextId, "'b' * 70_000_000");
    assert.equal(big.at(-1).type, 'error');
    assert.equal(big.at(-1).ename, 'OutputTooLarge');
    assert.match(big.at(-1).evalue, /larger than 64 MiB/);
    const next = await run(py.contextId, '2 + 2');
    assert.equal(next.find((e) => e.type === 'result')?.text, '4');
  });

  test('state never crosses contexts', async () => {
    const other = await createContext();
    await run(py.contextId, 'secret = 1');
    const events = await run(other.contextId, 'secret');
    assert.equal(events.at(-1).ename, 'NameError');
    await json(daemon.baseUrl, 'DELETE', `/api/contexts/${other.contextId}`);
  });

  test('a dead executor is reported on the run, then replaced', async () => {
    const ctx = await createContext();
    const died = await run(ctx.contextId, 'import os\nos._exit(3)');
    assert.equal(died.at(-1).type, 'error');
    assert.equal(died.at(-1).ename, 'InterpreterDied');
    assert.match(died.at(-1).evalue, /exited with code 3/);
    const next = await run(ctx.contextId, '40 + 2');
    assert.equal(next.find((e) => e.type === 'result').text, '42');
    await json(daemon.baseUrl, 'DELETE', `/api/contexts/${ctx.contextId}`);
  });

  test('large results keep their place among the output around them', async () => {
    // Each result is parsed off the I/O thread; what is printed after one waits for it.
    const outline = (events) =>
      events
        .map((e) => {
          if (e.type === 'stdout') return e.text;
          if (e.type !== 'result') return '';
          const format = e.html !== undefined ? 'html' : 'text';
          return `[${format} ${e[format].slice(0, 2)} ${e[format].length}]`;
        })
        .join('');
    const events = await run(
      py.contextId,
      'from IPython.display import HTML, display\n' +
        'for i in range(2):\n    print("before", i)\n    display(HTML(str(i) * 2_000_000))\n' +
        'print("after")\n"y" * 1_000_000',
    );
    assert.equal(
      outline(events),
      "before 0\n[html 00 2000000]before 1\n[html 11 2000000]after\n[text 'y 1000002]",
    );
    assert.equal(events.at(-1).type, 'execution_complete');
    const js = await createContext({ language: 'javascript' });
    const fromJs = await run(js.contextId, "console.log('first'); 'z'.repeat(3_000_000)");
    assert.equal(outline(fromJs), `first\n[text zz 3000000]`);
    await json(daemon.baseUrl, 'DELETE', `/api/contexts/${js.contextId}`);
  });

  test('each display keeps its place between the prints around it', async () => {
    // The executor prints on only once the daemon has read the display.
    const events = await run(
      py.contextId,
      'from IPython.display import HTML, display\n' +
        'for i in range(30):\n    print(i, flush=True)\n    display(HTML(f"<i>{i}</i>"))\nprint("end")',
    );
    const order = events
      .map((e) => (e.type === 'stdout' ? e.text : e.type === 'result' ? `${e.html}\n` : ''))
      .join('');
    const expected = Array.from({ length: 30 }, (_, i) => `${i}\n<i>${i}</i>\n`).join('') + 'end\n';
    assert.equal(order, expected);
  });

  test('javascript: console.log and the completion value', async () => {
    const js = await createContext({ language: 'javascript' });
    const events = await run(js.contextId, "console.log('from js'); 6 * 7");
    assert.equal(text(events, 'stdout'), 'from js\n');
    assert.equal(events.find((e) => e.type === 'result').text, '42');
    assert.equal(events.at(-1).type, 'execution_complete');
    const thrown = await run(js.contextId, "throw new Error('boom')");
    assert.equal(thrown.at(-1).type, 'error');
    assert.match(thrown.at(-1).evalue, /boom/);
  });

  test('lone UTF-16 surrogates in code, results and errors read as U+FFFD', async () => {
    const js = await createContext({ language: 'javascript' });
    const sliced = await run(js.contextId, "'\u{1F600}'.slice(0, 1) + 'tail'");
    assert.equal(sliced.find((e) => e.type === 'result')?.text, '\ufffdtail');
    const thrown = await run(js.contextId, "throw new RangeError('bad ' + '\u{1F600}'.slice(0, 1))");
    assert.equal(thrown.at(-1).type, 'error');
    assert.equal(thrown.at(-1).ename, 'RangeError');
    assert.equal(thrown.at(-1).evalue, 'bad \ufffd');
    // JSON.stringify writes the lone surrogate in the body as an escape.
    const literal = await run(js.contextId, "'a\ud800b'.length");
    assert.equal(literal.find((e) => e.type === 'result')?.text, '3');
    const py = await createContext();
    const raised = await run(py.contextId, "raise ValueError('x\ud800y')");
    assert.equal(raised.at(-1).evalue, 'x\ufffdy');
  });

  test('an unfinished stdout line is not overtaken by stderr printed after it', async () => {
    const js = await createContext({ language: 'javascript' });
    // stderr comes within the time an unfinished line is held for its end.
    const events = await run(
      js.contextId,
      'const pause = (ms) => new Promise((r) => setTimeout(r, ms));\n' +
        'process.stdout.write("a"); await pause(2); process.stderr.write("b\\n"); await pause(40); process.stdout.write("c\\n")',
    );
    const order = events.filter((e) => e.type === 'stdout' || e.type === 'stderr').map((e) => e.text).join('|');
    assert.equal(order, 'a|b\n|c\n');
  });

  test('typescript is transpiled and run', async () => {
    const ts = await createContext({ language: 'ts' });
    assert.equal(ts.language, 'typescript');
    const events = await run(ts.contextId, 'const n: number = 5;\nconsole.log(n * 2)');
    assert.equal(text(events, 'stdout'), '10\n');
    assert.equal(events.at(-1).type, 'execution_complete');
  });

  test('an unknown language on a run is a 400', async () => {
    const res = await json(daemon.baseUrl, 'POST', '/api/execute/code', { context_id: py.contextId, code: '1', language: 'cobol' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'VALIDATION_FAILED');
  });
});
