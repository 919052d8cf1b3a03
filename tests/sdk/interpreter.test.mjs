// The SDK's code interpreter (createCodeContext, runCode, runCodeStream,
// listCodeContexts, deleteCodeContext) through the real @cloudflare/sandbox
// Sandbox class against sandboxd with the real executors.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startDaemon } from '../lib/daemon.mjs';
import { makeSandbox } from './sandbox.mjs';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let daemon;
let sandbox;
let workspace;

before(async () => {
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-interp-sdk-'));
  daemon = await startDaemon({
    env: {
      SANDBOX_VERSION: '0.4.14',
      SANDBOXD_WORKSPACE: workspace,
      PYTHON_POOL_MIN_SIZE: '1',
      JAVASCRIPT_POOL_MIN_SIZE: '1',
      TYPESCRIPT_POOL_MIN_SIZE: '0',
    },
  });
  sandbox = await makeSandbox({ baseUrl: daemon.baseUrl, name: 'sdk-interpreter' });
});

after(async () => {
  await daemon?.stop();
  fs.rmSync(workspace, { recursive: true, force: true });
});

test('createCodeContext for each language, with cwd and envVars', async () => {
  const sub = path.join(workspace, 'proj');
  fs.mkdirSync(sub, { recursive: true });
  const py = await sandbox.createCodeContext({ language: 'python', cwd: sub, envVars: { WHO: 'sdk' } });
  assert.equal(py.language, 'python');
  assert.equal(py.cwd, sub);
  assert.ok(py.createdAt instanceof Date && !Number.isNaN(py.createdAt.getTime()));
  const out = await sandbox.runCode("import os\nprint(os.getcwd(), os.environ['WHO'])", { context: py });
  assert.equal(out.logs.stdout.join(''), `${sub} sdk\n`);

  const js = await sandbox.createCodeContext({ language: 'javascript', envVars: { WHO: 'node' } });
  assert.equal(js.language, 'javascript');
  const jsOut = await sandbox.runCode('console.log(process.env.WHO)', { context: js });
  assert.equal(jsOut.logs.stdout.join(''), 'node\n');

  const ts = await sandbox.createCodeContext({ language: 'typescript' });
  assert.equal(ts.language, 'typescript');
  const tsOut = await sandbox.runCode('const x: number = 21; x * 2', { context: ts });
  assert.equal(tsOut.results[0].text, '42');
});

test('runCode: stdout, expression result, state across runs, isolation', async () => {
  const a = await sandbox.createCodeContext({ language: 'python' });
  const b = await sandbox.createCodeContext({ language: 'python' });
  const first = await sandbox.runCode("value = 20\nprint('set')\nvalue + 1", { context: a });
  assert.equal(first.logs.stdout.join(''), 'set\n');
  assert.equal(first.error, undefined);
  assert.equal(first.results[0].text, '21');
  const second = await sandbox.runCode('value * 2', { context: a });
  assert.equal(second.results[0].text, '40');
  const isolated = await sandbox.runCode('value', { context: b });
  assert.equal(isolated.error.name, 'NameError');
  assert.match(isolated.error.message, /not defined/);
});

test('runCode: an exception sets execution.error with the class name', async () => {
  const ctx = await sandbox.createCodeContext({ language: 'python' });
  const out = await sandbox.runCode('1/0', { context: ctx });
  assert.equal(out.error.name, 'ZeroDivisionError');
  assert.match(out.error.message, /division/);
  assert.ok(out.error.traceback.some((l) => l.includes('ZeroDivisionError')));
});

test('runCode: a matplotlib chart is a PNG, a DataFrame is html and text', async () => {
  const ctx = await sandbox.createCodeContext({ language: 'python' });
  const chart = await sandbox.runCode('import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nplt.show()', { context: ctx });
  const png = chart.results.find((r) => r.png);
  assert.ok(png, JSON.stringify(chart.results.map((r) => Object.keys(r))));
  assert.deepEqual(Buffer.from(png.png, 'base64').subarray(0, 8), PNG_SIGNATURE);

  const frame = await sandbox.runCode("import pandas as pd\npd.DataFrame({'col': [1, 2, 3]})", { context: ctx });
  const table = frame.results.at(-1);
  assert.match(table.html, /<table/);
  assert.match(table.text, /col/);
});

// Output may arrive in several pieces (it streams as printed; a line is
// normally one piece, but a loaded machine can split print()'s two writes):
// merge neighbouring pieces of one kind before comparing the order.
function merged(seen) {
  const out = [];
  for (const [kind, value] of seen) {
    if (out.length && out.at(-1)[0] === kind && kind !== 'result') out.at(-1)[1] += value;
    else out.push([kind, value]);
  }
  return out.map(([kind, value]) => `${kind}:${value}`);
}

test('runCode callbacks arrive in order', async () => {
  const ctx = await sandbox.createCodeContext({ language: 'python' });
  const seen = [];
  await sandbox.runCode("import sys\nprint('out')\nprint('err', file=sys.stderr)\n7", {
    context: ctx,
    onStdout: (m) => seen.push(['stdout', m.text]),
    onStderr: (m) => seen.push(['stderr', m.text]),
    onResult: (r) => seen.push(['result', r.text]),
  });
  assert.deepEqual(merged(seen), ['stdout:out\n', 'stderr:err\n', 'result:7']);

  const failures = [];
  await sandbox.runCode("print('x')\nraise ValueError('bad')", {
    context: ctx,
    onStdout: (m) => failures.push(['stdout', m.text]),
    onError: (e) => failures.push(['error', `${e.name}:${e.message}`]),
  });
  assert.deepEqual(merged(failures), ['stdout:x\n', 'error:ValueError:bad']);
});

test('runCodeStream returns the SSE stream of the run', async () => {
  const ctx = await sandbox.createCodeContext({ language: 'python' });
  const stream = await sandbox.runCodeStream("print('a')\nprint('b')\n3", { context: ctx });
  const textOut = await new Response(stream).text();
  const events = textOut.split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
  assert.equal(events.filter((e) => e.type === 'stdout').map((e) => e.text).join(''), 'a\nb\n');
  assert.equal(events.find((e) => e.type === 'result').text, '3');
  assert.equal(events.at(-1).type, 'execution_complete');
});

test('listCodeContexts and deleteCodeContext; a deleted context is not found', async () => {
  const ctx = await sandbox.createCodeContext({ language: 'javascript' });
  const listed = await sandbox.listCodeContexts();
  assert.ok(listed.some((c) => c.id === ctx.id && c.language === 'javascript'));
  await sandbox.deleteCodeContext(ctx.id);
  assert.ok(!(await sandbox.listCodeContexts()).some((c) => c.id === ctx.id));
  await assert.rejects(sandbox.runCode('1', { context: ctx }), (err) => {
    assert.equal(err.name, 'ContextNotFoundError');
    assert.equal(err.message, `Context ${ctx.id} not found`);
    assert.equal(err.contextId, ctx.id);
    return true;
  });
  await assert.rejects(sandbox.deleteCodeContext(ctx.id), (err) => {
    assert.equal(err.name, 'ContextNotFoundError');
    assert.match(err.message, /not found/);
    return true;
  });
});

test('runCode keeps working past the pool maximum: the least recently used context gives way', async () => {
  // The SDK keeps one default context per language name as given, and the
  // daemon answers with the canonical name, so each runCode with 'js' makes
  // a new context.
  const small = await startDaemon({
    env: { SANDBOX_VERSION: '0.4.14', SANDBOXD_WORKSPACE: workspace, JAVASCRIPT_POOL_MIN_SIZE: '0', JAVASCRIPT_POOL_MAX_SIZE: '2', PYTHON_POOL_MIN_SIZE: '0', TYPESCRIPT_POOL_MIN_SIZE: '0' },
  });
  try {
    const sb = await makeSandbox({ baseUrl: small.baseUrl, name: 'sdk-interpreter-small' });
    for (let i = 0; i < 5; i++) {
      const out = await sb.runCode(`${i} + 1`, { language: 'js' });
      assert.equal(out.error, undefined, JSON.stringify(out.error));
      assert.equal(out.results[0].text, String(i + 1));
    }
    assert.equal((await sb.listCodeContexts()).length, 5);
  } finally {
    await small.stop();
  }
});
