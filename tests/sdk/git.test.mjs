// gitCheckout() of the unmodified @cloudflare/sandbox SDK against sandboxd,
// cloning local bare repositories (no network).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startDaemon } from '../lib/daemon.mjs';
import { makeSandbox } from './sandbox.mjs';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-git-sdk-'));
const workspace = path.join(root, 'workspace');
const fixtureEnv = {
  PATH: process.env.PATH,
  HOME: root,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Fixture',
  GIT_AUTHOR_EMAIL: 'fixture@example.com',
  GIT_COMMITTER_NAME: 'Fixture',
  GIT_COMMITTER_EMAIL: 'fixture@example.com',
};
const git = (args, cwd = root) => execFileSync('git', args, { cwd, env: fixtureEnv, encoding: 'utf8' });

// The SDK computes the default targetDir itself as /workspace/<repo name>
// (not the daemon's workspace), so the repository gets a name no one else uses.
const repoName = `sbx-sdk-git-${process.pid}-${Date.now()}`;
const sdkDefaultDir = `/workspace/${repoName}`;
let bare;
let daemon;
let sandbox;

/** A bare repository: main (2 commits) and feature (+1). */
function makeRepo(name) {
  const work = path.join(root, `src-${name}`);
  fs.mkdirSync(work, { recursive: true });
  git(['init', '-q', '-b', 'main'], work);
  fs.writeFileSync(path.join(work, 'README.md'), `hello from ${name}\n`);
  git(['add', '.'], work);
  git(['commit', '-qm', 'first'], work);
  fs.writeFileSync(path.join(work, 'second.txt'), 'two\n');
  git(['add', '.'], work);
  git(['commit', '-qm', 'second'], work);
  git(['checkout', '-qb', 'feature'], work);
  fs.writeFileSync(path.join(work, 'feature.txt'), 'feature\n');
  git(['add', '.'], work);
  git(['commit', '-qm', 'feature'], work);
  git(['checkout', '-q', 'main'], work);
  const out = path.join(root, `${name}.git`);
  git(['clone', '-q', '--bare', work, out]);
  return out;
}

const target = (label) => path.join(root, 'clones', label);

before(async () => {
  fs.mkdirSync(workspace, { recursive: true });
  bare = makeRepo(repoName);
  // The SDK's version (0.4.14) keeps its start-up check quiet.
  daemon = await startDaemon({ env: { SANDBOXD_WORKSPACE: workspace, SANDBOX_VERSION: '0.4.14' } });
  sandbox = await makeSandbox({ baseUrl: daemon.baseUrl, name: 'sdk-git' });
});

after(async () => {
  await daemon?.stop();
  fs.rmSync(sdkDefaultDir, { recursive: true, force: true });
  fs.rmSync(root, { recursive: true, force: true });
});

test('gitCheckout() without targetDir clones into /workspace/<repo name>', async () => {
  const result = await sandbox.gitCheckout(`file://${bare}`, {});
  assert.equal(result.success, true);
  assert.equal(result.repoUrl, `file://${bare}`);
  assert.equal(result.branch, 'main');
  assert.equal(result.targetDir, sdkDefaultDir);
  assert.equal(fs.readFileSync(path.join(sdkDefaultDir, 'README.md'), 'utf8'), `hello from ${repoName}\n`);
});

test('gitCheckout() with a custom targetDir', async () => {
  const dir = target('custom');
  const result = await sandbox.gitCheckout(bare, { targetDir: dir });
  assert.equal(result.targetDir, dir);
  assert.equal(result.branch, 'main');
  assert.ok(fs.existsSync(path.join(dir, 'second.txt')));
});

test('gitCheckout() of a branch', async () => {
  const dir = target('feature');
  const result = await sandbox.gitCheckout(bare, { branch: 'feature', targetDir: dir });
  assert.equal(result.branch, 'feature');
  assert.ok(fs.existsSync(path.join(dir, 'feature.txt')));
  assert.equal(git(['branch', '--show-current'], dir).trim(), 'feature');
});

test('a shallow clone through the SDK transport (depth is a sandboxd extension)', async () => {
  // gitCheckout() has no depth option; the SDK's git client posts it as-is.
  const dir = target('shallow');
  const result = await sandbox.client.git.post('/api/git/checkout', { repoUrl: `file://${bare}`, targetDir: dir, depth: 1 });
  assert.equal(result.success, true);
  assert.equal(git(['rev-list', '--count', 'HEAD'], dir).trim(), '1');
  assert.ok(fs.existsSync(path.join(dir, '.git', 'shallow')));
});

test('a missing repository rejects with GitRepositoryNotFoundError', async () => {
  const missing = path.join(root, 'missing.git');
  await assert.rejects(sandbox.gitCheckout(missing, { targetDir: target('missing') }), (err) => {
    assert.equal(err.name, 'GitRepositoryNotFoundError');
    assert.equal(err.code, 'GIT_REPOSITORY_NOT_FOUND');
    assert.equal(err.httpStatus, 404);
    assert.equal(err.repository, missing);
    assert.match(err.message, /not found|does not exist|repository|fatal/i);
    return true;
  });
  assert.ok(!fs.existsSync(target('missing')));
});

test('an unknown branch rejects with GitBranchNotFoundError', async () => {
  await assert.rejects(sandbox.gitCheckout(bare, { branch: 'nope', targetDir: target('nope') }), (err) => {
    assert.equal(err.name, 'GitBranchNotFoundError');
    assert.equal(err.code, 'GIT_BRANCH_NOT_FOUND');
    assert.equal(err.branch, 'nope');
    assert.match(err.message, /Failed to clone repository/);
    return true;
  });
});

test('an empty URL rejects with InvalidGitUrlError', async () => {
  await assert.rejects(sandbox.gitCheckout('   ', { targetDir: target('blank') }), (err) => {
    assert.equal(err.name, 'InvalidGitUrlError');
    assert.equal(err.validationErrors[0].field, 'repoUrl');
    return true;
  });
});
