// Git checkout benchmark against a running daemon (BENCH_BASE_URL): clone of
// a local repository with 1,000 files. The fixture repository and every clone
// live in a temp directory on this machine (the daemon is local) and are
// removed at the end. Prints: ROW<TAB>name<TAB>unit<TAB>median<TAB>p99
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { baseUrl, percentile, row } from './lib.mjs';

if (!baseUrl) {
  console.error('git.bench: set BENCH_BASE_URL to a running sandboxd');
  process.exit(2);
}

const FILES = 1000;
const RUNS = 7;
const BUDGET_MS = 60_000;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-git-bench-'));
const env = {
  PATH: process.env.PATH,
  HOME: dir,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
};

function makeRepo() {
  const work = path.join(dir, 'src');
  for (let i = 0; i < FILES; i++) {
    const sub = path.join(work, `d${Math.floor(i / 100)}`);
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `f${i}.txt`), `file ${i}\n`.repeat(20));
  }
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: work, env });
  execFileSync('git', ['add', '.'], { cwd: work, env });
  execFileSync('git', ['commit', '-qm', 'files'], { cwd: work, env });
  const bare = path.join(dir, 'thousand.git');
  execFileSync('git', ['clone', '-q', '--bare', work, bare], { env });
  return bare;
}

async function checkout(repoUrl, targetDir) {
  const res = await fetch(new URL('/api/git/checkout', baseUrl), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ repoUrl, targetDir }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`checkout: HTTP ${res.status}: ${text.slice(0, 300)}`);
}

try {
  const bare = makeRepo();
  const samples = [];
  const deadline = performance.now() + BUDGET_MS;
  for (let i = 0; i < RUNS && (i < 3 || performance.now() < deadline); i++) {
    const target = path.join(dir, `clone-${i}`);
    const t0 = performance.now();
    await checkout(bare, target);
    samples.push(performance.now() - t0);
    fs.rmSync(target, { recursive: true, force: true });
  }
  row(`git checkout: local repository, ${FILES} files`, 'ms', percentile(samples, 50));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
