// File routes (API.md §7) against a real daemon over HTTP: shapes field by
// field, byte-exact content in both encodings, streaming, listing, and
// every error with its code and status. Fixtures live in a fresh temp
// directory; the daemon's workspace is a temp directory too.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { json, parseSse, startDaemon } from '../lib/daemon.mjs';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const FIND_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{10}$/;
const MODE = /^[r-][w-][x-][r-][w-][x-][r-][w-][x-]$/;
const CHUNK = 65535;

let root; // per-run temp directory
let workspace;
let daemon;
let base;

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-files-http-'));
  workspace = path.join(root, 'workspace');
  fs.mkdirSync(workspace);
  daemon = await startDaemon({ env: { SANDBOXD_WORKSPACE: workspace } });
  base = daemon.baseUrl;
});

after(async () => {
  await daemon?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

const post = (route, body, opts) => json(base, 'POST', route, body, opts);
const fixture = (...parts) => path.join(root, ...parts);

function assertSuccess(res, what) {
  assert.equal(res.status, 200, `${what}: ${res.text}`);
  assert.equal(res.headers.get('content-type'), 'application/json', `${what}: content-type`);
  assert.equal(res.body.success, true, what);
  assert.match(res.body.timestamp, ISO_MS, `${what}: timestamp`);
  return res.body;
}

/** API.md §2.1 with the expected code and status. */
function assertError(res, status, code, what) {
  assert.equal(res.status, status, `${what}: ${res.text}`);
  const body = res.body;
  assert.equal(body.code, code, `${what}: code`);
  assert.equal(typeof body.message, 'string');
  assert.equal(body.httpStatus, status);
  assert.match(body.timestamp, ISO_MS);
  assert.equal(typeof body.context, 'object');
  return body;
}

/** Open an SSE route and return its events (status must be 200). */
async function stream(body) {
  const res = await fetch(new URL('/api/read/stream', base), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  return parseSse(await res.text());
}

describe('write and read', () => {
  test('text round-trips byte-exact with every response field', async () => {
    const p = fixture('text.txt');
    const content = 'héllo wörld ✓ 😀\nsecond line\n\n';
    const w = assertSuccess(await post('/api/write', { path: p, content, encoding: 'utf8', sessionId: 's1' }), 'write');
    assert.deepEqual(Object.keys(w).sort(), ['path', 'success', 'timestamp']);
    assert.equal(w.path, p);
    assert.deepEqual(fs.readFileSync(p), Buffer.from(content, 'utf8'));
    assert.equal((fs.statSync(p).mode & 0o777).toString(8), '644');

    const r = assertSuccess(await post('/api/read', { path: p, encoding: 'utf8', sessionId: 's1' }), 'read');
    assert.deepEqual(Object.keys(r).sort(), ['content', 'encoding', 'isBinary', 'mimeType', 'path', 'size', 'success', 'timestamp']);
    assert.equal(r.path, p);
    assert.equal(r.content, content, 'trailing newlines kept');
    assert.equal(r.encoding, 'utf-8');
    assert.equal(r.isBinary, false);
    assert.match(r.mimeType, /text\/plain/);
    assert.equal(r.size, Buffer.byteLength(content));
  });

  test('base64 write stores the decoded bytes; binary reads come back as base64', async () => {
    const p = fixture('blob.bin');
    const bytes = Buffer.alloc(300_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
    assertSuccess(await post('/api/write', { path: p, content: bytes.toString('base64'), encoding: 'base64' }), 'write');
    assert.ok(fs.readFileSync(p).equals(bytes));
    const r = assertSuccess(await post('/api/read', { path: p }), 'read');
    assert.equal(r.isBinary, true);
    assert.equal(r.encoding, 'base64');
    assert.equal(r.mimeType, 'application/octet-stream');
    assert.equal(r.size, bytes.length);
    assert.ok(Buffer.from(r.content, 'base64').equals(bytes));
  });

  test('a PNG is detected as image/png', async () => {
    const p = fixture('dot.png');
    const png = Buffer.from(
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
      'base64',
    );
    fs.writeFileSync(p, png);
    const r = assertSuccess(await post('/api/read', { path: p }), 'read');
    assert.match(r.mimeType, /image\/png/);
    assert.equal(r.isBinary, true);
    assert.ok(Buffer.from(r.content, 'base64').equals(png));
  });

  test('JSON and empty files are text', async () => {
    fs.writeFileSync(fixture('data.json'), '{"a": [1, 2]}');
    const j = assertSuccess(await post('/api/read', { path: fixture('data.json') }), 'json');
    assert.match(j.mimeType, /json/);
    assert.equal(j.content, '{"a": [1, 2]}');
    fs.writeFileSync(fixture('empty'), '');
    const e = assertSuccess(await post('/api/read', { path: fixture('empty') }), 'empty');
    assert.equal(e.mimeType, 'inode/x-empty');
    assert.equal(e.isBinary, false);
    assert.equal(e.content, '');
    assert.equal(e.size, 0);
  });

  test('JSON longer than the sniffed head is still JSON, as file(1) names it', async () => {
    const rows = Array.from({ length: 1500 }, (_, k) => ({ k, v: 'x'.repeat(50) }));
    const text = JSON.stringify(rows);
    assert.ok(text.length > 64 * 1024);
    fs.writeFileSync(fixture('long.json'), text);
    const j = assertSuccess(await post('/api/read', { path: fixture('long.json') }), 'long json');
    assert.equal(j.mimeType, 'application/json');
    assert.equal(j.content, text);
    const events = await stream({ path: fixture('long.json') });
    assert.equal(events[0].mimeType, 'application/json');
    // Text that only looks like JSON at its start stays plain text.
    fs.writeFileSync(fixture('not.json'), '[' + 'y'.repeat(70 * 1024));
    const n = assertSuccess(await post('/api/read', { path: fixture('not.json') }), 'not json');
    assert.equal(n.mimeType, 'text/plain');
  });

  test('read with encoding base64 returns base64 even for text (Q8)', async () => {
    const p = fixture('b64.txt');
    fs.writeFileSync(p, 'plain text\n');
    const r = assertSuccess(await post('/api/read', { path: p, encoding: 'base64' }), 'read');
    assert.equal(r.encoding, 'base64');
    assert.equal(r.isBinary, false);
    assert.equal(Buffer.from(r.content, 'base64').toString(), 'plain text\n');
  });

  test('invalid base64 is a 400 naming the field', async () => {
    const p = fixture('bad-b64');
    const body = assertError(await post('/api/write', { path: p, content: 'not*base64!', encoding: 'base64' }), 400, 'VALIDATION_FAILED', 'bad base64');
    assert.equal(body.message, `Invalid base64 content for '${p}'`);
    assert.equal(body.context.validationErrors[0].field, 'content');
    assert.equal(fs.existsSync(p), false);
  });

  test('a 10 MB text file round-trips exactly', async () => {
    const p = fixture('big.txt');
    const line = 'The quick brown fox "jumps" over the lazy dog \\ é ✓\n';
    const content = line.repeat(Math.ceil((10 << 20) / line.length));
    assertSuccess(await post('/api/write', { path: p, content }, { timeoutMs: 60_000 }), 'write');
    const r = assertSuccess(await post('/api/read', { path: p }, { timeoutMs: 60_000 }), 'read');
    assert.equal(r.size, Buffer.byteLength(content));
    assert.ok(r.content === content, 'content identical');
  });

  test('writes replace atomically and keep the mode of the replaced file', async () => {
    const p = fixture('script.sh');
    fs.writeFileSync(p, 'old');
    fs.chmodSync(p, 0o750);
    assertSuccess(await post('/api/write', { path: p, content: '#!/bin/sh\necho new\n' }), 'write');
    assert.equal(fs.readFileSync(p, 'utf8'), '#!/bin/sh\necho new\n');
    assert.equal((fs.statSync(p).mode & 0o777).toString(8), '750');
    assert.deepEqual(fs.readdirSync(root).filter((n) => n.startsWith('.sbx-')), [], 'no temp files left');
  });

  test('relative paths resolve against the workspace', async () => {
    assertSuccess(await post('/api/write', { path: 'rel.txt', content: 'in workspace' }), 'write');
    assert.equal(fs.readFileSync(path.join(workspace, 'rel.txt'), 'utf8'), 'in workspace');
    const r = assertSuccess(await post('/api/read', { path: 'rel.txt', sessionId: 'another' }), 'read');
    assert.equal(r.path, 'rel.txt');
    assert.equal(r.content, 'in workspace');
    const e = assertSuccess(await post('/api/exists', { path: 'rel.txt' }), 'exists');
    assert.equal(e.exists, true);
  });

  test('missing parent directory is an error and creates nothing', async () => {
    const p = fixture('no-such-dir', 'f.txt');
    const body = assertError(await post('/api/write', { path: p, content: 'x' }), 404, 'FILE_NOT_FOUND', 'no parent');
    assert.equal(body.context.path, p);
    assert.equal(body.context.operation, 'file.write');
    assert.equal(body.operation, 'file.write');
    assert.equal(fs.existsSync(fixture('no-such-dir')), false);
  });

  test('read errors: not found, is a directory', async () => {
    const missing = fixture('missing.txt');
    const nf = assertError(await post('/api/read', { path: missing }), 404, 'FILE_NOT_FOUND', 'missing');
    assert.equal(nf.message, `File not found: ${missing}`);
    assert.deepEqual(nf.context, { path: missing, operation: 'file.read' });
    assert.equal(nf.operation, 'file.read');
    assert.equal(nf.suggestion, `Ensure the file exists at ${missing} before attempting to access it`);
    const dir = assertError(await post('/api/read', { path: root }), 400, 'IS_DIRECTORY', 'directory');
    assert.equal(dir.context.path, root);
    assertError(await post('/api/write', { path: root, content: 'x' }), 400, 'IS_DIRECTORY', 'write onto directory');
  });
});

describe('validation', () => {
  test('path problems are 400 VALIDATION_FAILED with the contract message', async () => {
    for (const route of ['/api/read', '/api/write', '/api/delete', '/api/mkdir', '/api/list-files', '/api/exists']) {
      const body = assertError(await post(route, { content: 'x' }), 400, 'VALIDATION_FAILED', route);
      assert.equal(body.message, "Invalid path format for 'undefined': Path must be a non-empty string", route);
      assert.deepEqual(body.context.validationErrors, [
        { field: 'path', message: 'Path must be a non-empty string', code: 'INVALID_PATH' },
      ]);
    }
    const nul = assertError(await post('/api/read', { path: '/tmp/a\u0000b' }), 400, 'VALIDATION_FAILED', 'nul');
    assert.match(nul.message, /Path contains null bytes$/);
    const long = assertError(await post('/api/read', { path: '/' + 'a'.repeat(4096) }), 400, 'VALIDATION_FAILED', 'long');
    assert.match(long.message, /Path too long \(max 4096 characters\)$/);
  });

  test('rename and move validate both paths with 400, not 500 (Q33)', async () => {
    const r = assertError(await post('/api/rename', { oldPath: '', newPath: '/tmp/x' }), 400, 'VALIDATION_FAILED', 'rename');
    assert.equal(r.context.validationErrors[0].field, 'oldPath');
    const m = assertError(await post('/api/move', { sourcePath: fixture('a'), destinationPath: 5 }), 400, 'VALIDATION_FAILED', 'move');
    assert.equal(m.context.validationErrors[0].field, 'destinationPath');
    assert.equal(m.message, "Invalid path format for '5': Path must be a non-empty string");
  });

  test('a body that is not JSON is an error response', async () => {
    const res = await post('/api/write', 'not json');
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'VALIDATION_FAILED');
  });

  test('a component that is a file is NOT_DIRECTORY; a too-long name is NAME_TOO_LONG', async () => {
    fs.writeFileSync(fixture('plain'), 'x');
    assertError(await post('/api/write', { path: fixture('plain', 'x') , content: 'x' }), 400, 'NOT_DIRECTORY', 'under a file');
    assertError(await post('/api/write', { path: fixture('n'.repeat(300)), content: 'x' }), 400, 'NAME_TOO_LONG', 'long name');
  });
});

describe('delete, rename, move, mkdir, exists', () => {
  test('delete: file, directory refused, missing', async () => {
    const p = fixture('del.txt');
    fs.writeFileSync(p, 'x');
    const ok = assertSuccess(await post('/api/delete', { path: p }), 'delete');
    assert.deepEqual(Object.keys(ok).sort(), ['path', 'success', 'timestamp']);
    assert.equal(fs.existsSync(p), false);
    const nf = assertError(await post('/api/delete', { path: p }), 404, 'FILE_NOT_FOUND', 'missing');
    assert.match(nf.message, /not found/i);
    assert.deepEqual(nf.context, { path: p, operation: 'file.delete' });
    const d = fixture('del-dir');
    fs.mkdirSync(d);
    const isdir = assertError(await post('/api/delete', { path: d }), 400, 'IS_DIRECTORY', 'dir');
    assert.equal(isdir.message, `Cannot delete directory with deleteFile() at '${d}'. Use exec('rm -rf <path>') instead.`);
    assert.deepEqual(isdir.context, { path: d, operation: 'file.delete' });
    assert.ok(fs.existsSync(d));
  });

  test('rename: shape, overwrite, missing source', async () => {
    const a = fixture('ren-a');
    const b = fixture('ren-b');
    fs.writeFileSync(a, 'A');
    fs.writeFileSync(b, 'old B');
    const r = assertSuccess(await post('/api/rename', { oldPath: a, newPath: b, sessionId: 'x' }), 'rename');
    assert.deepEqual(r, { success: true, path: a, newPath: b, timestamp: r.timestamp });
    assert.equal(fs.readFileSync(b, 'utf8'), 'A');
    assert.equal(fs.existsSync(a), false);
    const nf = assertError(await post('/api/rename', { oldPath: a, newPath: b }), 404, 'FILE_NOT_FOUND', 'missing');
    assert.equal(nf.message, `Source file not found: ${a}`);
    assert.deepEqual(nf.context, { path: a, operation: 'file.rename' });
    // A missing parent of the destination is not a missing source.
    const c = fixture('ren-c');
    fs.writeFileSync(c, 'C');
    const into = path.join(fixture('ren-no-such-dir'), 'x');
    const np = assertError(await post('/api/rename', { oldPath: c, newPath: into }), 500, 'FILESYSTEM_ERROR', 'no parent');
    assert.match(np.message, /parent directory does not exist/);
    assert.equal(fs.readFileSync(c, 'utf8'), 'C');
  });

  test('move: shape, into an existing directory, directories too', async () => {
    const src = fixture('mv-src.txt');
    const dir = fixture('mv-dir');
    fs.writeFileSync(src, 'S');
    fs.mkdirSync(dir);
    const m = assertSuccess(await post('/api/move', { sourcePath: src, destinationPath: dir }), 'move');
    assert.deepEqual(m, { success: true, path: src, newPath: dir, timestamp: m.timestamp });
    assert.equal(fs.readFileSync(path.join(dir, 'mv-src.txt'), 'utf8'), 'S');
    assertSuccess(await post('/api/move', { sourcePath: dir, destinationPath: fixture('mv-dir2') }), 'move dir');
    assert.equal(fs.readFileSync(fixture('mv-dir2', 'mv-src.txt'), 'utf8'), 'S');
    const nf = assertError(await post('/api/move', { sourcePath: src, destinationPath: dir }), 404, 'FILE_NOT_FOUND', 'missing');
    assert.equal(nf.context.operation, 'file.move');
  });

  test('mkdir: plain, existing (409 FILE_EXISTS), recursive, missing parent', async () => {
    const d = fixture('mk');
    const r = assertSuccess(await post('/api/mkdir', { path: d, recursive: false, sessionId: 's' }), 'mkdir');
    assert.deepEqual(r, { success: true, path: d, recursive: false, timestamp: r.timestamp });
    assert.ok(fs.statSync(d).isDirectory());
    const again = assertError(await post('/api/mkdir', { path: d }), 409, 'FILE_EXISTS', 'exists');
    assert.equal(again.context.operation, 'directory.create');
    const deep = fixture('mk', 'a', 'b', 'c');
    assertError(await post('/api/mkdir', { path: deep }), 404, 'FILE_NOT_FOUND', 'no parent');
    const rec = assertSuccess(await post('/api/mkdir', { path: deep, recursive: true }), 'recursive');
    assert.equal(rec.recursive, true);
    assert.ok(fs.statSync(deep).isDirectory());
    assertSuccess(await post('/api/mkdir', { path: deep, recursive: true }), 'recursive again');
  });

  test('exists: file, directory, missing, dangling symlink', async () => {
    const p = fixture('ex.txt');
    fs.writeFileSync(p, 'x');
    fs.symlinkSync(fixture('nowhere'), fixture('dangling'));
    const cases = [[p, true], [root, true], [fixture('nope'), false], [fixture('dangling'), false]];
    for (const [target, expected] of cases) {
      const r = assertSuccess(await post('/api/exists', { path: target, sessionId: 'any' }), target);
      assert.deepEqual(r, { success: true, path: target, exists: expected, timestamp: r.timestamp });
    }
  });
});

describe('list-files', () => {
  let dir;
  before(() => {
    dir = fixture('tree');
    fs.mkdirSync(path.join(dir, 'level1', 'level2'), { recursive: true });
    fs.mkdirSync(path.join(dir, '.config', 'inner'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'data.txt'), 'hello');
    fs.writeFileSync(path.join(dir, '.hidden'), 'h');
    fs.writeFileSync(path.join(dir, 'level1', 'level2', 'deep.txt'), 'deep');
    fs.writeFileSync(path.join(dir, 'run.sh'), '#!/bin/sh\n');
    fs.chmodSync(path.join(dir, 'run.sh'), 0o755);
    fs.symlinkSync('level1', path.join(dir, 'loop'));
    fs.symlinkSync('.', path.join(dir, 'level1', 'self'));
  });

  test('non-recursive: direct children with every FileInfo field', async () => {
    const r = assertSuccess(await post('/api/list-files', { path: dir, sessionId: 's', options: {} }), 'list');
    assert.deepEqual(Object.keys(r).sort(), ['count', 'files', 'path', 'success', 'timestamp']);
    assert.equal(r.path, dir);
    assert.equal(r.count, r.files.length);
    const names = r.files.map((f) => f.name).sort();
    assert.deepEqual(names, ['data.txt', 'level1', 'loop', 'run.sh']);
    const data = r.files.find((f) => f.name === 'data.txt');
    assert.deepEqual(Object.keys(data).sort(), ['absolutePath', 'mode', 'modifiedAt', 'name', 'permissions', 'relativePath', 'size', 'type']);
    assert.equal(data.absolutePath, `${dir}/data.txt`);
    assert.equal(data.relativePath, 'data.txt');
    assert.equal(data.type, 'file');
    assert.equal(data.size, 5);
    assert.match(data.modifiedAt, FIND_TIME);
    const expected = execFileSync('find', [path.join(dir, 'data.txt'), '-printf', '%TY-%Tm-%TdT%TH:%TM:%TS']).toString();
    assert.equal(data.modifiedAt, expected, 'same text as GNU find');
    assert.equal(data.mode, 'rw-r--r--');
    assert.deepEqual(data.permissions, { readable: true, writable: true, executable: false });
    const run = r.files.find((f) => f.name === 'run.sh');
    assert.equal(run.mode, 'rwxr-xr-x');
    assert.equal(run.permissions.executable, true);
    assert.equal(r.files.find((f) => f.name === 'loop').type, 'symlink');
    assert.equal(r.files.find((f) => f.name === 'level1').type, 'directory');
    for (const f of r.files) assert.match(f.mode, MODE);
  });

  test('recursive: pre-order, links not followed', async () => {
    const r = assertSuccess(await post('/api/list-files', { path: dir + '/', options: { recursive: true } }), 'list');
    const rel = r.files.map((f) => f.relativePath);
    assert.ok(rel.includes('level1/level2/deep.txt'));
    assert.ok(rel.indexOf('level1') < rel.indexOf('level1/level2'));
    assert.ok(rel.indexOf('level1/level2') < rel.indexOf('level1/level2/deep.txt'));
    assert.ok(rel.includes('level1/self'));
    assert.ok(!rel.some((p) => p.startsWith('loop/') || p.startsWith('level1/self/')), 'symlinks not entered');
    assert.ok(!rel.some((p) => p.split('/').some((c) => c.startsWith('.'))), 'hidden excluded');
    assert.equal(r.files.find((f) => f.relativePath === 'level1/level2/deep.txt').absolutePath, `${dir}/level1/level2/deep.txt`);
  });

  test('includeHidden, and listing inside a dot-directory (Q39)', async () => {
    const all = assertSuccess(await post('/api/list-files', { path: dir, options: { includeHidden: true, recursive: true } }), 'hidden');
    const rel = all.files.map((f) => f.relativePath);
    assert.ok(rel.includes('.hidden') && rel.includes('.config/inner'));
    const inside = assertSuccess(await post('/api/list-files', { path: path.join(dir, '.config') }), 'inside');
    assert.deepEqual(inside.files.map((f) => f.name), ['inner']);
  });

  test('relative path lists the workspace', async () => {
    fs.mkdirSync(path.join(workspace, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(workspace, 'sub', 'w.txt'), 'w');
    const r = assertSuccess(await post('/api/list-files', { path: 'sub' }), 'relative');
    assert.equal(r.files[0].name, 'w.txt');
    assert.equal(r.files[0].relativePath, 'w.txt');
  });

  test('errors: not a directory, not found', async () => {
    const file = path.join(dir, 'data.txt');
    const nd = assertError(await post('/api/list-files', { path: file }), 400, 'NOT_DIRECTORY', 'file');
    assert.equal(nd.message, `Path is not a directory: ${file}`);
    assert.deepEqual(nd.context, { path: file, operation: 'directory.list' });
    const nf = assertError(await post('/api/list-files', { path: fixture('nope') }), 404, 'FILE_NOT_FOUND', 'missing');
    assert.match(nf.message, /not found/i);
  });

  test('100k entries list without trouble', async () => {
    const big = fixture('big-tree');
    for (let d = 0; d < 100; d++) {
      const sub = path.join(big, `d${d}`);
      fs.mkdirSync(sub, { recursive: true });
      for (let f = 0; f < 1000; f++) fs.closeSync(fs.openSync(path.join(sub, `f${f}`), 'w'));
    }
    const started = Date.now();
    const r = assertSuccess(await post('/api/list-files', { path: big, options: { recursive: true } }, { timeoutMs: 60_000 }), 'big');
    assert.equal(r.count, 100_100);
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
    fs.rmSync(big, { recursive: true, force: true });
  });
});

describe('write: lone UTF-16 surrogates', () => {
  test('content holding one (JSON.stringify writes it as an escape) is written with U+FFFD', async () => {
    const p = fixture('lone-surrogate.txt');
    assertSuccess(await post('/api/write', { path: p, content: 'a\ud800b\udc00c' }), 'write');
    assert.equal(fs.readFileSync(p, 'utf8'), 'a\ufffdb\ufffdc');
  });
});

describe('write into linked files', () => {
  test('a file with another name (hard link) is written in place: both names show the new content', async () => {
    const a = fixture('linked-a.txt');
    const b = fixture('linked-b.txt');
    fs.writeFileSync(a, 'old');
    fs.rmSync(b, { force: true });
    fs.linkSync(a, b);
    assertSuccess(await post('/api/write', { path: a, content: 'new content' }), 'write');
    assert.equal(fs.readFileSync(a, 'utf8'), 'new content');
    assert.equal(fs.readFileSync(b, 'utf8'), 'new content');
    assert.equal(fs.statSync(a).nlink, 2);
  });
});

describe('read/stream', () => {
  test('binary: metadata, independently decodable chunks, complete', async () => {
    const p = fixture('stream.bin');
    const bytes = Buffer.alloc(CHUNK * 3 + 1234);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) & 0xff;
    fs.writeFileSync(p, bytes);
    const events = await stream({ path: p, sessionId: 's' });
    assert.deepEqual(events[0], { type: 'metadata', mimeType: 'application/octet-stream', size: bytes.length, isBinary: true, encoding: 'base64' });
    const chunks = events.filter((e) => e.type === 'chunk');
    assert.equal(chunks.length, 4);
    const decoded = chunks.map((c) => Buffer.from(c.data, 'base64'));
    assert.deepEqual(decoded.map((d) => d.length), [CHUNK, CHUNK, CHUNK, 1234]);
    assert.ok(Buffer.concat(decoded).equals(bytes));
    assert.deepEqual(events.at(-1), { type: 'complete', bytesRead: bytes.length });
  });

  test('text: exact, no character split at chunk boundaries', async () => {
    const p = fixture('stream.txt');
    // Four-byte characters straddle every 65535-byte boundary.
    const content = ('a' + '😀'.repeat(20000) + '\n').repeat(3);
    fs.writeFileSync(p, content);
    const events = await stream({ path: p });
    assert.equal(events[0].type, 'metadata');
    assert.equal(events[0].encoding, 'utf-8');
    assert.equal(events[0].isBinary, false);
    assert.match(events[0].mimeType, /text\/plain/);
    const chunks = events.filter((e) => e.type === 'chunk');
    assert.ok(chunks.length >= 3);
    for (const c of chunks) assert.ok(!c.data.includes('\ufffd'), 'no mangled character');
    assert.equal(chunks.map((c) => c.data).join(''), content);
    assert.deepEqual(events.at(-1), { type: 'complete', bytesRead: Buffer.byteLength(content) });
  });

  test('text that escapes a little or a lot arrives exact', async () => {
    // A few quotes, backslashes and newlines per line (escaped where the
    // block lies), and runs of control bytes that take six characters each.
    const light = ('say "hi" \\ then\t' + 'x'.repeat(80) + '\n').repeat(3000);
    const heavy = ('\x07'.repeat(40) + 'é\n').repeat(4000);
    for (const [name, content] of [['light.txt', light], ['heavy.txt', heavy]]) {
      const p = fixture(name);
      fs.writeFileSync(p, content);
      const events = await stream({ path: p });
      assert.equal(events[0].isBinary, false, name);
      const chunks = events.filter((e) => e.type === 'chunk');
      assert.ok(chunks.length >= 3, name);
      assert.equal(chunks.map((c) => c.data).join(''), content, name);
      assert.deepEqual(events.at(-1), { type: 'complete', bytesRead: Buffer.byteLength(content) });
    }
  });

  test('text with a non-UTF-8 byte past the first block goes out as exact base64', async () => {
    const p = fixture('late-latin1.txt');
    const bytes = Buffer.concat([Buffer.from('hello world\n'.repeat(20000)), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])]);
    fs.writeFileSync(p, bytes);
    const events = await stream({ path: p });
    assert.equal(events[0].isBinary, true);
    assert.equal(events[0].encoding, 'base64');
    assert.equal(events[0].size, bytes.length);
    const got = Buffer.concat(events.filter((e) => e.type === 'chunk').map((c) => Buffer.from(c.data, 'base64')));
    assert.ok(got.equals(bytes));
  });

  test('a pseudo file that reports size 0 streams its content', async () => {
    const expected = fs.readFileSync('/proc/version', 'utf8');
    const events = await stream({ path: '/proc/version' });
    assert.equal(events[0].size, Buffer.byteLength(expected));
    assert.equal(events[0].isBinary, false);
    assert.equal(events.filter((e) => e.type === 'chunk').map((c) => c.data).join(''), expected);
    assert.deepEqual(events.at(-1), { type: 'complete', bytesRead: Buffer.byteLength(expected) });
  });

  test('13000-byte text file (e2e shape)', async () => {
    const p = fixture('e2e.txt');
    fs.writeFileSync(p, 'x'.repeat(12999) + '\n');
    const events = await stream({ path: p });
    assert.equal(events[0].type, 'metadata');
    assert.ok(events.some((e) => e.type === 'chunk' && e.data.length > 0));
    assert.deepEqual(events.at(-1), { type: 'complete', bytesRead: 13000 });
  });

  test('empty file: metadata then complete', async () => {
    const p = fixture('stream-empty');
    fs.writeFileSync(p, '');
    const events = await stream({ path: p });
    assert.deepEqual(events, [
      { type: 'metadata', mimeType: 'inode/x-empty', size: 0, isBinary: false, encoding: 'utf-8' },
      { type: 'complete', bytesRead: 0 },
    ]);
  });

  test('failures are error events inside the stream', async () => {
    const missing = fixture('no-stream');
    assert.deepEqual(await stream({ path: missing }), [{ type: 'error', error: `File not found: ${missing}` }]);
    const [invalid] = await stream({});
    assert.equal(invalid.type, 'error');
    assert.equal(invalid.error, "Invalid path format for 'undefined': Path must be a non-empty string");
    const [dir] = await stream({ path: root });
    assert.equal(dir.type, 'error');
    const res = await post('/api/read/stream', '{oops');
    assert.notEqual(res.status, 200, 'a body that is not JSON is an HTTP error');
  });

  test('1 GB sparse file streams with flat daemon memory', async () => {
    const p = fixture('huge.bin');
    const size = 1 << 30;
    fs.closeSync(fs.openSync(p, 'w'));
    fs.truncateSync(p, size);
    const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${daemon.pid}/status`, 'utf8'))[1]);
    const before = rssKb();
    let peak = before;
    const res = await fetch(new URL('/api/read/stream', base), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: p }),
    });
    // Count decoded bytes without keeping them.
    let pending = '';
    let bytes = 0;
    let last;
    let n = 0;
    const decoder = new TextDecoder();
    for await (const piece of res.body) {
      pending += decoder.decode(piece, { stream: true });
      let end;
      while ((end = pending.indexOf('\n\n')) >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (!line.startsWith('data: ')) continue;
        const ev = JSON.parse(line.slice(6));
        if (ev.type === 'chunk') {
          const pad = ev.data.endsWith('==') ? 2 : ev.data.endsWith('=') ? 1 : 0;
          bytes += (ev.data.length / 4) * 3 - pad;
        }
        last = ev;
      }
      if (++n % 512 === 0) peak = Math.max(peak, rssKb());
    }
    fs.rmSync(p);
    assert.deepEqual(last, { type: 'complete', bytesRead: size });
    assert.equal(bytes, size);
    const growthKb = peak - before;
    // Flat means bounded by the stream window, not the file: 32 MiB leaves room
    // for a sanitizer build's quarantine of freed chunks.
    assert.ok(growthKb < 32 * 1024, `daemon RSS grew by ${growthKb} KiB while streaming 1 GB`);
  });
});

describe('filesystem limits', () => {
  function canMount() {
    try {
      return process.getuid() === 0 && fs.existsSync('/bin/mount');
    } catch {
      return false;
    }
  }

  test('no space left: 500 NO_SPACE, nothing left behind', { skip: !canMount() && 'needs root to mount tmpfs' }, async (t) => {
    const mnt = fixture('small-fs');
    fs.mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
    } catch {
      t.skip('mount -t tmpfs not permitted here');
      return;
    }
    try {
      const p = path.join(mnt, 'big.txt');
      const body = assertError(await post('/api/write', { path: p, content: 'x'.repeat(512 * 1024) }), 500, 'NO_SPACE', 'full');
      assert.equal(body.context.path, p);
      assert.equal(body.operation, 'file.write');
      assert.deepEqual(fs.readdirSync(mnt), [], 'partial temp file removed');

      // Moves across filesystems copy and delete.
      const src = fixture('cross-src');
      fs.mkdirSync(path.join(src, 'inner'), { recursive: true });
      fs.writeFileSync(path.join(src, 'inner', 'f.txt'), 'cross');
      assertSuccess(await post('/api/move', { sourcePath: src, destinationPath: path.join(mnt, 'moved') }), 'cross-fs move');
      assert.equal(fs.readFileSync(path.join(mnt, 'moved', 'inner', 'f.txt'), 'utf8'), 'cross');
      assert.equal(fs.existsSync(src), false);
      assertSuccess(await post('/api/rename', { oldPath: path.join(mnt, 'moved', 'inner', 'f.txt'), newPath: fixture('back.txt') }), 'cross-fs rename');
      assert.equal(fs.readFileSync(fixture('back.txt'), 'utf8'), 'cross');
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  test('permission denied as a non-root daemon: 403 PERMISSION_DENIED', { skip: process.getuid() !== 0 && 'needs root to drop privileges' }, async () => {
    const wrapper = fixture('as-nobody.sh');
    const real = process.env.SANDBOXD_BIN || path.resolve('..', 'build', 'sandboxd');
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec setpriv --reuid=nobody --regid=nogroup --clear-groups ${JSON.stringify(real)} "$@"\n`, { mode: 0o755 });
    const ws = fixture('nobody-ws');
    fs.mkdirSync(ws, { mode: 0o777 });
    fs.chmodSync(ws, 0o777);
    fs.chmodSync(root, 0o755);
    const locked = fixture('locked');
    fs.mkdirSync(locked, { mode: 0o700 });
    fs.writeFileSync(path.join(locked, 'secret'), 's');
    const saved = process.env.SANDBOXD_BIN;
    process.env.SANDBOXD_BIN = wrapper;
    let nobody;
    try {
      nobody = await startDaemon({ env: { SANDBOXD_WORKSPACE: ws } });
    } finally {
      if (saved === undefined) delete process.env.SANDBOXD_BIN;
      else process.env.SANDBOXD_BIN = saved;
    }
    try {
      const call = (route, body) => json(nobody.baseUrl, 'POST', route, body);
      const w = assertError(await call('/api/write', { path: path.join(locked, 'x'), content: 'x' }), 403, 'PERMISSION_DENIED', 'write');
      assert.equal(w.suggestion, 'Operation not permitted. Check file/directory permissions');
      assertError(await call('/api/read', { path: path.join(locked, 'secret') }), 403, 'PERMISSION_DENIED', 'read');
      assertError(await call('/api/list-files', { path: locked }), 403, 'PERMISSION_DENIED', 'list');
      assertError(await call('/api/mkdir', { path: '/root-owned-' + process.pid }), 403, 'PERMISSION_DENIED', 'mkdir');
      // Its own workspace works.
      assertSuccess(await call('/api/write', { path: 'mine.txt', content: 'ok' }), 'own write');
    } finally {
      await nobody.stop();
    }
  });
});
