// Every file method of the unmodified @cloudflare/sandbox SDK (0.4.14)
// against sandboxd: bytes are checked on disk and on the way back.
// Fixtures use absolute paths in a fresh temp directory; the daemon's
// workspace is a temp directory too, so the real /workspace is never touched.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { collectFile, streamFile } from '@cloudflare/sandbox';
import { startDaemon } from '../lib/daemon.mjs';
import { makeSandbox } from './sandbox.mjs';

let root;
let workspace;
let daemon;
let sandbox;

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-files-sdk-'));
  workspace = path.join(root, 'workspace');
  fs.mkdirSync(workspace);
  daemon = await startDaemon({ env: { SANDBOX_VERSION: '0.4.14', SANDBOXD_WORKSPACE: workspace } });
  sandbox = await makeSandbox({ baseUrl: daemon.baseUrl, name: 'sdk-files' });
});

after(async () => {
  await daemon?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

const at = (...parts) => path.join(root, ...parts);

function binaryFixture(size) {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 131 + 17) & 0xff;
  return bytes;
}

test('writeFile/readFile: utf8 text byte-exact', async () => {
  const p = at('hello.txt');
  const content = 'Hello, sandbox! ✓ 😀\nline two\n';
  const w = await sandbox.writeFile(p, content);
  assert.equal(w.success, true);
  assert.equal(w.path, p);
  assert.deepEqual(fs.readFileSync(p), Buffer.from(content));
  const r = await sandbox.readFile(p);
  assert.equal(r.success, true);
  assert.equal(r.content, content);
  assert.equal(r.encoding, 'utf-8');
  assert.equal(r.isBinary, false);
  assert.match(r.mimeType, /text\/plain/);
  assert.equal(r.size, Buffer.byteLength(content));
});

test('writeFile/readFile: base64 bytes round-trip', async () => {
  const p = at('blob.bin');
  const bytes = binaryFixture(100_000);
  await sandbox.writeFile(p, bytes.toString('base64'), { encoding: 'base64' });
  assert.ok(fs.readFileSync(p).equals(bytes), 'decoded bytes on disk');
  const r = await sandbox.readFile(p);
  assert.equal(r.encoding, 'base64');
  assert.equal(r.isBinary, true);
  assert.ok(Buffer.from(r.content, 'base64').equals(bytes));
  const text = await sandbox.readFile(at('hello.txt'), { encoding: 'base64' });
  assert.equal(text.encoding, 'base64');
  assert.equal(Buffer.from(text.content, 'base64').toString(), fs.readFileSync(at('hello.txt'), 'utf8'));
});

test('readFileStream + streamFile/collectFile reassemble a binary file exactly', async () => {
  const p = at('stream.bin');
  const bytes = binaryFixture(65535 * 4 + 77);
  fs.writeFileSync(p, bytes);

  const { content, metadata } = await collectFile(await sandbox.readFileStream(p));
  assert.equal(metadata.isBinary, true);
  assert.equal(metadata.encoding, 'base64');
  assert.equal(metadata.size, bytes.length);
  assert.ok(Buffer.from(content).equals(bytes));

  const pieces = [];
  const gen = streamFile(await sandbox.readFileStream(p));
  let step = await gen.next();
  while (!step.done) {
    pieces.push(step.value);
    step = await gen.next();
  }
  assert.equal(step.value.mimeType, 'application/octet-stream');
  assert.equal(pieces.length, 5);
  assert.ok(Buffer.concat(pieces.map((u) => Buffer.from(u))).equals(bytes));
});

test('collectFile on text keeps every character', async () => {
  const p = at('stream.txt');
  const content = ('é😀' + 'x'.repeat(1000) + '\n').repeat(200);
  fs.writeFileSync(p, content);
  const { content: got, metadata } = await collectFile(await sandbox.readFileStream(p));
  assert.equal(metadata.isBinary, false);
  assert.equal(got, content);
});

test('streaming a missing file throws File streaming error', async () => {
  const stream = await sandbox.readFileStream(at('missing.bin'));
  await assert.rejects(collectFile(stream), /File streaming error: File not found/);
});

test('mkdir recursive, listFiles options, exists', async () => {
  const deep = at('tree', 'a', 'b');
  await assert.rejects(sandbox.mkdir(deep), (e) => e.name === 'FileNotFoundError' || e.name === 'FileSystemError');
  const m = await sandbox.mkdir(deep, { recursive: true });
  assert.equal(m.success, true);
  assert.equal(m.recursive, true);
  assert.ok(fs.statSync(deep).isDirectory());
  fs.writeFileSync(at('tree', 'a', 'b', 'leaf.txt'), 'leaf');
  fs.writeFileSync(at('tree', '.dot'), 'hidden');

  const flat = await sandbox.listFiles(at('tree'));
  assert.deepEqual(flat.files.map((f) => f.name), ['a']);
  assert.equal(flat.count, 1);
  const rec = await sandbox.listFiles(at('tree'), { recursive: true });
  assert.deepEqual(rec.files.map((f) => f.relativePath).sort(), ['a', 'a/b', 'a/b/leaf.txt']);
  const leaf = rec.files.find((f) => f.name === 'leaf.txt');
  assert.equal(leaf.type, 'file');
  assert.equal(leaf.size, 4);
  assert.equal(leaf.absolutePath, at('tree', 'a', 'b', 'leaf.txt'));
  assert.match(leaf.mode, /^[r-][w-][x-][r-][w-][x-][r-][w-][x-]$/);
  assert.deepEqual(leaf.permissions, { readable: true, writable: true, executable: false });
  const hidden = await sandbox.listFiles(at('tree'), { includeHidden: true });
  assert.deepEqual(hidden.files.map((f) => f.name).sort(), ['.dot', 'a']);

  assert.equal((await sandbox.exists(at('tree', 'a'))).exists, true);
  assert.equal((await sandbox.exists(at('tree', 'nope'))).exists, false);
  await assert.rejects(sandbox.listFiles(at('tree', '.dot')), /not a directory/i);
});

test('renameFile, moveFile, deleteFile', async () => {
  const a = at('r-a.txt');
  fs.writeFileSync(a, 'payload');
  const r = await sandbox.renameFile(a, at('r-b.txt'));
  assert.equal(r.success, true);
  assert.equal(fs.readFileSync(at('r-b.txt'), 'utf8'), 'payload');
  fs.mkdirSync(at('dest'));
  const m = await sandbox.moveFile(at('r-b.txt'), at('dest', 'r-c.txt'));
  assert.equal(m.success, true);
  assert.equal(fs.readFileSync(at('dest', 'r-c.txt'), 'utf8'), 'payload');
  const d = await sandbox.deleteFile(at('dest', 'r-c.txt'));
  assert.equal(d.success, true);
  assert.equal(fs.existsSync(at('dest', 'r-c.txt')), false);
  await assert.rejects(sandbox.deleteFile(at('dest')), (e) => {
    assert.equal(e.name, 'FileSystemError');
    assert.match(e.message, /Cannot delete directory/);
    assert.match(e.message, /deleteFile\(\)/);
    return true;
  });
});

test('missing files raise FileNotFoundError with code and path', async () => {
  const missing = at('does-not-exist.txt');
  for (const call of [
    () => sandbox.readFile(missing),
    () => sandbox.deleteFile(missing),
    () => sandbox.renameFile(missing, at('x')),
    () => sandbox.moveFile(missing, at('x')),
    () => sandbox.listFiles(missing),
  ]) {
    await assert.rejects(call(), (e) => {
      assert.equal(e.name, 'FileNotFoundError');
      assert.equal(e.code, 'FILE_NOT_FOUND');
      assert.equal(e.httpStatus, 404);
      assert.equal(e.context.path, missing);
      assert.match(e.message, /not found/i);
      return true;
    });
  }
});

test('relative paths resolve against the session directory', async () => {
  const dir = path.join(workspace, 'session-dir');
  fs.mkdirSync(dir);
  const session = await sandbox.createSession({ id: 'files-relative', cwd: dir });
  await session.writeFile('rel.txt', 'relative');
  assert.equal(fs.readFileSync(path.join(dir, 'rel.txt'), 'utf8'), 'relative');
  assert.equal((await session.readFile('rel.txt')).content, 'relative');
  assert.equal((await session.exists('rel.txt')).exists, true);
});
