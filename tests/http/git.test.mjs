// POST /api/git/checkout (API.md §9, §12, Q32) against a real daemon and
// real git transports on loopback: local paths, file://, git:// (git daemon)
// and smart HTTP (git http-backend behind a small Node server).

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { json, startDaemon, waitFor } from '../lib/daemon.mjs';
import { freePort } from '../lib/host.mjs';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const CLONE_TIMEOUT_MS = 60_000;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-git-http-'));
const workspace = path.join(root, 'workspace');
const served = path.join(root, 'served'); // base path of git daemon and http-backend

// Fixture git runs with a private HOME and no system config, so the
// machine's git configuration cannot change what the tests see.
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

/** A bare repository <dir>/<name>.git: main (2 commits), feature (+1), tag v1. */
function makeRepo(dir, name) {
  const work = path.join(root, `src-${name}`);
  fs.mkdirSync(work, { recursive: true });
  git(['init', '-q', '-b', 'main'], work);
  fs.writeFileSync(path.join(work, 'README.md'), `hello from ${name}\n`);
  git(['add', '.'], work);
  git(['commit', '-qm', 'first'], work);
  git(['tag', 'v1'], work);
  fs.writeFileSync(path.join(work, 'second.txt'), 'two\n');
  git(['add', '.'], work);
  git(['commit', '-qm', 'second'], work);
  git(['checkout', '-qb', 'feature'], work);
  fs.writeFileSync(path.join(work, 'feature.txt'), 'feature\n');
  git(['add', '.'], work);
  git(['commit', '-qm', 'feature'], work);
  git(['checkout', '-q', 'main'], work);
  const bare = path.join(dir, `${name}.git`);
  git(['clone', '-q', '--bare', work, bare]);
  return bare;
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `git daemon` serving `served` on loopback; ended by PID in after(). */
async function startGitDaemon() {
  const port = await freePort();
  const child = spawn(
    'git',
    ['daemon', '--export-all', `--base-path=${served}`, '--listen=127.0.0.1', `--port=${port}`, '--reuseaddr', served],
    { env: fixtureEnv, stdio: 'ignore' },
  );
  const exited = once(child, 'exit');
  await waitFor(() => canConnect(port), { timeoutMs: 10_000, what: `git daemon on port ${port}` });
  return {
    url: `git://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid, 'SIGTERM');
        await exited;
      }
    },
  };
}

/**
 * Smart HTTP through `git http-backend` (CGI). Paths under /private/ need
 * Basic credentials user:secret; everything else is public.
 */
async function startHttpBackend() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let pathInfo = url.pathname;
    if (pathInfo.startsWith('/private/')) {
      const expected = 'Basic ' + Buffer.from('user:secret').toString('base64');
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' });
        res.end('unauthorized');
        return;
      }
      pathInfo = pathInfo.slice('/private'.length);
    }
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...fixtureEnv,
        GIT_PROJECT_ROOT: served,
        GIT_HTTP_EXPORT_ALL: '1',
        REQUEST_METHOD: req.method,
        PATH_INFO: decodeURIComponent(pathInfo),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
        ...(req.headers['git-protocol'] ? { HTTP_GIT_PROTOCOL: req.headers['git-protocol'] } : {}),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(cgi.stdin);
    const chunks = [];
    cgi.stdout.on('data', (c) => chunks.push(c));
    cgi.on('close', () => {
      const out = Buffer.concat(chunks);
      const split = out.indexOf('\r\n\r\n');
      const head = out.subarray(0, split).toString('latin1');
      const headers = {};
      let status = 200;
      for (const line of head.split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      res.end(out.subarray(split + 4));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    port: server.address().port,
    async stop() {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** PIDs of every process below `pid` (from /proc). */
function descendants(pid) {
  const children = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(entry));
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    for (const child of children.get(stack.pop()) ?? []) {
      out.push(child);
      stack.push(child);
    }
  }
  return out;
}

const comm = (pid) => {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
};

let daemon;
let gitDaemon;
let httpBackend;
let alpha; // bare repository path

const checkout = (body, opts = {}) =>
  json(daemon.baseUrl, 'POST', '/api/git/checkout', body, { timeoutMs: CLONE_TIMEOUT_MS, ...opts });
const fresh = (() => {
  let n = 0;
  return (label) => path.join(root, 'clones', `${label}-${++n}`);
})();

function assertCloneError(res, status, code) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.code, code, JSON.stringify(res.body));
  assert.equal(res.body.httpStatus, status);
  assert.match(res.body.timestamp, ISO_MS);
  assert.match(res.body.message, /^Failed to clone repository '/);
  // e2e: the message of any failed clone says what went wrong.
  assert.match(res.body.message, /not found|does not exist|repository|fatal/i);
  for (const key of ['repository', 'targetDir', 'exitCode', 'stderr']) {
    assert.ok(key in res.body.context, `context.${key} in ${JSON.stringify(res.body.context)}`);
  }
}

before(async () => {
  fs.mkdirSync(workspace, { recursive: true });
  fs.mkdirSync(served, { recursive: true });
  alpha = makeRepo(served, 'alpha');
  daemon = await startDaemon({ env: { SANDBOXD_WORKSPACE: workspace } });
  gitDaemon = await startGitDaemon();
  httpBackend = await startHttpBackend();
});

after(async () => {
  await daemon?.stop();
  await gitDaemon?.stop();
  await httpBackend?.stop();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('successful checkouts', () => {
  test('a local path clones into <workspace>/<repo name> by default', async () => {
    const res = await checkout({ repoUrl: alpha });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body).sort(), ['branch', 'repoUrl', 'success', 'targetDir', 'timestamp']);
    assert.equal(res.body.success, true);
    assert.equal(res.body.repoUrl, alpha);
    assert.equal(res.body.branch, 'main');
    assert.equal(res.body.targetDir, path.join(workspace, 'alpha'));
    assert.match(res.body.timestamp, ISO_MS);
    assert.equal(fs.readFileSync(path.join(workspace, 'alpha', 'README.md'), 'utf8'), 'hello from alpha\n');
  });

  test('file:// with a branch and an absolute targetDir', async () => {
    const target = fresh('file-branch');
    const res = await checkout({ repoUrl: `file://${alpha}`, branch: 'feature', targetDir: target, sessionId: 'git-a' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.branch, 'feature');
    assert.equal(res.body.targetDir, target);
    assert.ok(fs.existsSync(path.join(target, 'feature.txt')));
    assert.equal(git(['branch', '--show-current'], target).trim(), 'feature');
  });

  test('a relative targetDir resolves against the session directory', async () => {
    const res = await checkout({ repoUrl: alpha, targetDir: 'rel/alpha-copy' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.targetDir, path.join(workspace, 'rel', 'alpha-copy'));
    assert.ok(fs.existsSync(path.join(workspace, 'rel', 'alpha-copy', 'README.md')));
  });

  test('git:// through git daemon', async () => {
    const target = fresh('daemon');
    const res = await checkout({ repoUrl: `${gitDaemon.url}/alpha.git`, targetDir: target });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.branch, 'main');
    assert.ok(fs.existsSync(path.join(target, 'second.txt')));
  });

  test('smart HTTP, with credentials in the URL that never reach the logs', async () => {
    const target = fresh('http');
    const repoUrl = `http://user:secret@127.0.0.1:${httpBackend.port}/private/alpha.git`;
    const res = await checkout({ repoUrl, targetDir: target });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.repoUrl, repoUrl, 'the success body echoes repoUrl as sent');
    assert.ok(fs.existsSync(path.join(target, 'README.md')));
    // The access log is written asynchronously: wait for the clone's line.
    await waitFor(() => daemon.logs().join('\n').includes('127.0.0.1:' + httpBackend.port), {
      timeoutMs: 5000,
      what: 'the clone is logged',
    });
    assert.ok(!daemon.logs().join('\n').includes('secret'), 'credentials are not logged');
  });

  test('a tag checks out a detached HEAD and reports the requested ref', async () => {
    const target = fresh('tag');
    const res = await checkout({ repoUrl: alpha, branch: 'v1', targetDir: target });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.branch, 'v1');
    assert.ok(!fs.existsSync(path.join(target, 'second.txt')));
  });

  test('depth makes a shallow clone, also from a plain path', async () => {
    for (const repoUrl of [`file://${alpha}`, alpha, `${gitDaemon.url}/alpha.git`]) {
      const target = fresh('shallow');
      const res = await checkout({ repoUrl, targetDir: target, depth: 1 });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(git(['rev-list', '--count', 'HEAD'], target).trim(), '1', repoUrl);
      assert.ok(fs.existsSync(path.join(target, '.git', 'shallow')), repoUrl);
    }
    const full = fresh('full');
    assert.equal((await checkout({ repoUrl: alpha, targetDir: full })).status, 200);
    assert.equal(git(['rev-list', '--count', 'HEAD'], full).trim(), '2');
  });

  test('the request context names the session when the body does not', async () => {
    const cwd = path.join(root, 'session-cwd');
    fs.mkdirSync(cwd, { recursive: true });
    const created = await json(daemon.baseUrl, 'POST', '/api/session/create', { id: 'git-ctx', cwd });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const res = await checkout({ repoUrl: alpha, targetDir: 'via-header' }, { headers: { 'X-Session-Id': 'git-ctx' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.targetDir, path.join(cwd, 'via-header'));
    assert.ok(fs.existsSync(path.join(cwd, 'via-header', 'README.md')));
  });
});

describe('clone failures use registry codes (Q32)', () => {
  test('a missing local repository is 404 GIT_REPOSITORY_NOT_FOUND', async () => {
    const target = fresh('missing');
    const repoUrl = path.join(root, 'nope.git');
    const res = await checkout({ repoUrl, targetDir: target });
    assertCloneError(res, 404, 'GIT_REPOSITORY_NOT_FOUND');
    assert.equal(res.body.context.repository, repoUrl);
    assert.equal(res.body.context.targetDir, target);
    assert.equal(res.body.context.exitCode, 128);
    assert.match(res.body.context.stderr, /does not exist/);
    assert.equal(res.body.suggestion, 'Verify the repository URL is correct and accessible');
    assert.ok(!fs.existsSync(target));
  });

  test('a missing repository behind git daemon and HTTP is 404 too', async () => {
    for (const repoUrl of [`${gitDaemon.url}/nope.git`, `${httpBackend.url}/nope.git`]) {
      const res = await checkout({ repoUrl, targetDir: fresh('missing-remote') });
      assertCloneError(res, 404, 'GIT_REPOSITORY_NOT_FOUND');
    }
  });

  test('an unknown branch is 404 GIT_BRANCH_NOT_FOUND naming the branch', async () => {
    const target = fresh('bad-branch');
    const res = await checkout({ repoUrl: alpha, branch: 'no-such-branch', targetDir: target });
    assertCloneError(res, 404, 'GIT_BRANCH_NOT_FOUND');
    assert.equal(res.body.context.branch, 'no-such-branch');
    assert.match(res.body.suggestion, /Branch "no-such-branch" does not exist/);
    assert.ok(!fs.existsSync(target), 'git removes the directory it started');
  });

  test('a non-empty target directory is 409 FILE_EXISTS', async () => {
    const target = fresh('occupied');
    fs.mkdirSync(target, { recursive: true });
    fs.writeFileSync(path.join(target, 'keep.txt'), 'mine');
    const res = await checkout({ repoUrl: alpha, targetDir: target });
    assertCloneError(res, 409, 'FILE_EXISTS');
    assert.equal(res.body.context.path, target);
    assert.equal(res.body.context.targetDir, target);
    assert.equal(fs.readFileSync(path.join(target, 'keep.txt'), 'utf8'), 'mine');
  });

  test('missing or wrong credentials are 401 GIT_AUTH_FAILED, redacted everywhere', async () => {
    const anonymous = await checkout({ repoUrl: `${httpBackend.url}/private/alpha.git`, targetDir: fresh('anon') });
    assertCloneError(anonymous, 401, 'GIT_AUTH_FAILED');
    assert.match(anonymous.body.context.stderr, /terminal prompts disabled/);

    const repoUrl = `http://user:wrong-token-123@127.0.0.1:${httpBackend.port}/private/alpha.git`;
    const wrong = await checkout({ repoUrl, targetDir: fresh('wrong') });
    assertCloneError(wrong, 401, 'GIT_AUTH_FAILED');
    assert.ok(!wrong.text.includes('wrong-token-123'), wrong.text);
    assert.equal(wrong.body.context.repository, `http://***@127.0.0.1:${httpBackend.port}/private/alpha.git`);
    assert.ok(wrong.body.message.includes(`'http://***@127.0.0.1:${httpBackend.port}/private/alpha.git'`));
    assert.ok(!daemon.logs().join('\n').includes('wrong-token-123'));
  });

  test('an unreachable host is 502 GIT_NETWORK_ERROR', async () => {
    const port = await freePort();
    const res = await checkout({ repoUrl: `git://127.0.0.1:${port}/x.git`, targetDir: fresh('refused') });
    assertCloneError(res, 502, 'GIT_NETWORK_ERROR');
    assert.match(res.body.context.stderr, /Connection refused/);
  });

  test('shell metacharacters are data, never commands', async () => {
    const marker = path.join(root, 'pwned');
    for (const repoUrl of [`/tmp/x; touch ${marker}`, `$(touch ${marker})`, `\`touch ${marker}\``, `--upload-pack=touch ${marker}`]) {
      const res = await checkout({ repoUrl, targetDir: fresh('inject') });
      assert.ok(res.status >= 400 && res.status < 600, `${repoUrl}: ${res.status}`);
      assert.equal(res.body.success, undefined);
      assert.ok(!fs.existsSync(marker), `${repoUrl} ran a command`);
    }
    const branch = await checkout({ repoUrl: alpha, branch: `main; touch ${marker}`, targetDir: fresh('inject') });
    assert.equal(branch.status, 404);
    assert.ok(!fs.existsSync(marker));
  });
});

describe('validation', () => {
  const invalidUrl = async (body, problem) => {
    const res = await checkout(body);
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.code, 'INVALID_GIT_URL');
    assert.match(res.body.message, /^Invalid Git URL '/);
    assert.ok(res.body.message.endsWith(problem), res.body.message);
    assert.deepEqual(res.body.context.validationErrors, [{ field: 'repoUrl', message: problem, code: 'INVALID_GIT_URL' }]);
  };

  test('repoUrl: missing, empty, blank, too long, NUL', async () => {
    await invalidUrl({}, 'Git URL must be a non-empty string');
    await invalidUrl({ repoUrl: 42 }, 'Git URL must be a non-empty string');
    await invalidUrl({ repoUrl: '' }, 'Git URL must be a non-empty string');
    await invalidUrl({ repoUrl: '   ' }, 'Git URL cannot be empty');
    await invalidUrl({ repoUrl: `https://example.com/${'a'.repeat(2048)}` }, 'Git URL too long (max 2048 characters)');
    await invalidUrl({ repoUrl: 'https://example.com/a\u0000b' }, 'Git URL contains null bytes');
  });

  test('targetDir per §12.1', async () => {
    for (const [targetDir, problem] of [
      ['/tmp/a\u0000b', 'Path contains null bytes'],
      [`/tmp/${'d'.repeat(4100)}`, 'Path too long (max 4096 characters)'],
    ]) {
      const res = await checkout({ repoUrl: alpha, targetDir });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.code, 'VALIDATION_FAILED');
      assert.match(res.body.message, /^Invalid target directory '/);
      assert.ok(res.body.message.endsWith(problem));
      assert.equal(res.body.context.validationErrors[0].field, 'targetDirectory');
    }
  });

  test('depth must be an integer >= 1', async () => {
    for (const depth of [0, -1, 1.5, 2 ** 31, '2', true]) {
      const res = await checkout({ repoUrl: alpha, targetDir: fresh('depth'), depth });
      assert.equal(res.status, 400, `depth ${JSON.stringify(depth)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, 'VALIDATION_FAILED');
      assert.match(res.body.message, /depth/);
    }
  });

  test('a malformed body is a 400', async () => {
    const res = await checkout('{not json');
    assert.equal(res.status, 400);
  });
});

describe('timeout', () => {
  let slow;
  let silent;

  before(async () => {
    slow = await startDaemon({ env: { SANDBOXD_WORKSPACE: workspace, SANDBOXD_GIT_TIMEOUT_MS: '500' } });
    // Accepts connections and never answers: a git:// clone waits forever.
    silent = net.createServer(() => {}).listen(0, '127.0.0.1');
    await once(silent, 'listening');
  });

  after(async () => {
    await slow?.stop();
    silent?.close();
  });

  test('a clone over the limit is ended and reported as GIT_CLONE_FAILED', async () => {
    const repoUrl = `git://127.0.0.1:${silent.address().port}/hang.git`;
    const started = Date.now();
    const res = await json(slow.baseUrl, 'POST', '/api/git/checkout', { repoUrl, targetDir: fresh('hang') }, { timeoutMs: 20_000 });
    assert.equal(res.status, 500, JSON.stringify(res.body));
    assert.equal(res.body.code, 'GIT_CLONE_FAILED');
    assert.equal(res.body.message, `Failed to clone repository '${repoUrl}': timed out after 500 ms`);
    assert.ok(Date.now() - started < 10_000);
    await waitFor(() => !descendants(slow.pid).some((pid) => comm(pid).startsWith('git')), {
      timeoutMs: 5000,
      what: 'no git process left under the daemon',
    });
  });
});
