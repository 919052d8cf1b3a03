// Start and stop a real sandboxd process for a test file.
//
// The daemon is told to bind 127.0.0.1 on an ephemeral port (--port 0) and
// announces the port it got in a JSON log line {"msg":"listening","port":N}
// on stdout; we wait for that line with a deadline instead of sleeping.
// Every daemon started here is tracked by PID and ended by PID.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { withTimeout } from './wait.mjs';

export { json, sse, raw, parseSse, rawHeaderValues } from './http.mjs';
export { waitFor, withTimeout } from './wait.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function daemonBin() {
  return process.env.SANDBOXD_BIN || path.join(repoRoot, 'build', 'sandboxd');
}

// Variables the daemon reads that must not leak in from the shell running
// the tests, so each test states exactly the configuration it relies on.
const SCRUBBED_ENV = ['SANDBOX_VERSION', 'SANDBOXD_MAX_BODY_BYTES', 'COMMAND_TIMEOUT_MS', 'MAX_OUTPUT_SIZE_BYTES'];

// Daemons still running when this Node process exits (a crashed test, a
// missing `after`) are killed by PID so none outlive the test run.
const live = new Set();
function killLive() {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
process.on('exit', killLive);
// 'exit' does not run when a signal ends the process (Ctrl-C, the runner
// killing a file): clean up, then re-raise with the default action.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killLive();
    process.kill(process.pid, signal);
  });
}

/**
 * Spawn the daemon and resolve once it is listening.
 * @param {object} [opts]
 * @param {object} [opts.env]   extra environment (wins over the defaults)
 * @param {string[]} [opts.args] extra command-line arguments
 * @param {number} [opts.timeoutMs] how long to wait for the "listening" line
 * @returns {Promise<{port:number, baseUrl:string, pid:number, logs:()=>string[], exited:Promise<{code:number|null, signal:string|null}>, stop:(o?:{graceMs?:number})=>Promise<{code:number|null, signal:string|null, forced:boolean}>}>}
 */
export async function startDaemon({ env = {}, args = [], timeoutMs = 10_000, maxOpenFiles } = {}) {
  const childEnv = { ...process.env };
  for (const name of SCRUBBED_ENV) delete childEnv[name];
  // The SDK side of the tests may turn its own logging down through these
  // variables; the daemon must still log at info in JSON, or the
  // "listening" line would never reach us.
  Object.assign(childEnv, { SANDBOX_LOG_LEVEL: 'info', SANDBOX_LOG_FORMAT: 'json' }, env);

  const bin = daemonBin();
  const argv = [bin, '--bind', '127.0.0.1', '--port', '0', ...args];
  // prlimit sets the descriptor limit (soft and hard) and execs the daemon,
  // so the child's pid is still the daemon's.
  if (maxOpenFiles !== undefined) argv.unshift('prlimit', `--nofile=${maxOpenFiles}:${maxOpenFiles}`, '--');
  const child = spawn(argv[0], argv.slice(1), {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);

  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });

  // Keep the last lines of output for error messages. Both pipes are read
  // for the whole life of the process: an unread pipe fills up and blocks
  // the daemon's logger.
  const recent = [];
  const remember = (line) => {
    recent.push(line);
    if (recent.length > 200) recent.shift();
  };

  let announce;
  const listening = new Promise((resolve) => (announce = resolve));
  // The "listening" line is expected on stdout; stderr is searched too so
  // that a logger routed there does not look like a hang.
  const scan = (prefix) => (line) => {
    remember(prefix + line);
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      return; // not a JSON log line
    }
    if (entry?.msg === 'listening' && Number.isInteger(entry.port)) announce(entry.port);
  };
  readline.createInterface({ input: child.stdout }).on('line', scan(''));
  readline.createInterface({ input: child.stderr }).on('line', scan('[stderr] '));

  const spawnFailed = once(child, 'error').then(([err]) => {
    throw new Error(`cannot start ${bin}: ${err.message}`);
  });
  const diedEarly = exited.then(({ code, signal }) => {
    throw new Error(`${bin} exited before listening (code ${code}, signal ${signal})\n${recent.join('\n')}`);
  });

  let port;
  try {
    port = await withTimeout(Promise.race([listening, spawnFailed, diedEarly]), timeoutMs, `${bin} "listening" log line`);
  } catch (err) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await withTimeout(exited, 2000, 'daemon exit after SIGKILL').catch(() => {});
    }
    live.delete(child);
    if (!err.message.includes('\n')) err.message += `\n${recent.join('\n')}`;
    throw err;
  }
  // Later rejections of these races are expected (e.g. the daemon exiting
  // on stop) and must not become unhandled rejections.
  spawnFailed.catch(() => {});
  diedEarly.catch(() => {});

  const stop = async ({ graceMs = 5000 } = {}) => {
    if (child.exitCode !== null || child.signalCode !== null) return { ...(await exited), forced: false };
    process.kill(child.pid, 'SIGTERM');
    try {
      return { ...(await withTimeout(exited, graceMs, 'daemon exit after SIGTERM')), forced: false };
    } catch {
      process.kill(child.pid, 'SIGKILL');
      return { ...(await exited), forced: true };
    }
  };

  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    pid: child.pid,
    logs: () => [...recent],
    exited,
    stop,
  };
}
