// POST /api/execute/stream (API.md §5.3): the event sequence, its process
// record, errors before the stream, disconnects, and a 200 MB stream that
// arrives complete while the daemon's memory stays flat.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { json, parseSse, sse, startDaemon, waitFor } from '../lib/daemon.mjs';

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

let daemon;

before(async () => {
  daemon = await startDaemon({ env: { SANDBOXD_WORKSPACE: '/tmp' } });
});

after(async () => {
  await json(daemon.baseUrl, 'DELETE', '/api/process/kill-all').catch(() => {});
  await daemon?.stop();
});

const execStream = (command, extra = {}) => sse(daemon.baseUrl, '/api/execute/stream', { command, sessionId: 'exec-stream-tests', ...extra });

function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

describe('events', () => {
  test('start, stdout/stderr with exact data, complete with the exit code', async () => {
    const events = await execStream("printf 'a\\nb'; echo err >&2; exit 4");
    assert.equal(events[0].type, 'start');
    assert.equal(events[0].command, "printf 'a\\nb'; echo err >&2; exit 4");
    const last = events.at(-1);
    assert.equal(last.type, 'complete');
    assert.equal(last.exitCode, 4);
    for (const e of events) assert.match(e.timestamp, ISO_MS);
    assert.equal(events.filter((e) => e.type === 'stdout').map((e) => e.data).join(''), 'a\nb');
    assert.equal(events.filter((e) => e.type === 'stderr').map((e) => e.data).join(''), 'err\n');
    assert.ok(events.slice(1, -1).every((e) => e.type === 'stdout' || e.type === 'stderr'));
  });

  test('unknown commands exit 127 with command-not-found on stderr', async () => {
    const events = await execStream('definitely-not-a-command-xyz');
    assert.equal(events.at(-1).exitCode, 127);
    assert.match(events.filter((e) => e.type === 'stderr').map((e) => e.data).join(''), /command not found/);
  });

  test('output is pushed as it happens, not at the end', async () => {
    const res = await fetch(`${daemon.baseUrl}/api/execute/stream`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ command: 'echo early; sleep 1; echo late' }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const t0 = Date.now();
    let text = '';
    while (!text.includes('early')) {
      const { value, done } = await reader.read();
      assert.equal(done, false);
      text += decoder.decode(value, { stream: true });
    }
    assert.ok(Date.now() - t0 < 500, `first output after ${Date.now() - t0} ms`);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    assert.equal(parseSse(text).at(-1).type, 'complete');
  });

  test('the command is a visible process record', async () => {
    const marker = `rec-${Date.now()}`;
    await execStream(`echo ${marker}`);
    const list = await json(daemon.baseUrl, 'GET', '/api/process/list');
    const rec = list.body.processes.find((p) => p.command === `echo ${marker}`);
    assert.ok(rec, 'record listed');
    assert.match(rec.id, /^proc_/);
    assert.equal(rec.status, 'completed');
    assert.equal(rec.exitCode, 0);
  });

  test('cwd and env apply; a missing cwd completes with exit code 1', async () => {
    const events = await execStream('pwd; echo "$X"', { cwd: '/usr', env: { X: 'y' } });
    assert.equal(events.filter((e) => e.type === 'stdout').map((e) => e.data).join(''), '/usr\ny\n');
    const missing = await execStream('pwd', { cwd: '/no/such/dir' });
    assert.equal(missing.at(-1).type, 'complete');
    assert.equal(missing.at(-1).exitCode, 1);
    assert.equal(missing.filter((e) => e.type === 'stderr').map((e) => e.data).join(''), 'Failed to change directory to /no/such/dir\n');
  });
});

describe('errors', () => {
  test('empty command is a 400 INVALID_COMMAND JSON error, no stream', async () => {
    const res = await json(daemon.baseUrl, 'POST', '/api/execute/stream', { command: ' \n ' });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'INVALID_COMMAND');
    assert.equal(res.body.message, 'Invalid command: empty command provided');
  });

  test('missing command and malformed bodies are 400', async () => {
    assert.equal((await json(daemon.baseUrl, 'POST', '/api/execute/stream', {})).status, 400);
    assert.equal((await json(daemon.baseUrl, 'POST', '/api/execute/stream', '{nope')).status, 400);
  });
});

describe('disconnect and volume', () => {
  test('a client that disconnects does not kill the command', async () => {
    const marker = `dc-${Date.now()}`;
    const controller = new AbortController();
    const res = await fetch(`${daemon.baseUrl}/api/execute/stream`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ command: `echo ${marker}; sleep 0.5; echo after` }),
      signal: controller.signal,
    });
    const reader = res.body.getReader();
    await reader.read();
    controller.abort();
    await reader.read().catch(() => {});
    const list = await json(daemon.baseUrl, 'GET', '/api/process/list');
    const rec = list.body.processes.find((p) => p.command.startsWith(`echo ${marker}`));
    assert.ok(rec);
    await waitFor(async () => (await json(daemon.baseUrl, 'GET', `/api/process/${rec.id}`)).body.process.status === 'completed', { what: 'command completes' });
    const logs = await json(daemon.baseUrl, 'GET', `/api/process/${rec.id}/logs`);
    assert.equal(logs.body.stdout, `${marker}\nafter\n`);
  });

  test('200 MB arrives complete with flat daemon memory, also through a slow client', async () => {
    const total = 200 * 1024 * 1024;
    const rssBefore = rssBytes(daemon.pid);
    const res = await fetch(`${daemon.baseUrl}/api/execute/stream`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ command: `head -c ${total} /dev/zero | tr '\\0' z` }),
    });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    let bytes = 0;
    let last;
    let peakRss = rssBefore;
    let chunks = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffered.indexOf('\n\n')) >= 0) {
        const frame = buffered.slice(0, cut);
        buffered = buffered.slice(cut + 2);
        if (!frame.startsWith('data: ')) continue;
        const event = JSON.parse(frame.slice(6));
        if (event.type === 'stdout') bytes += event.data.length;
        last = event;
      }
      if (++chunks % 200 === 0) {
        peakRss = Math.max(peakRss, rssBytes(daemon.pid));
        // Be a slow client for a while: the daemon must stop reading the pipe.
        if (chunks === 2000) await new Promise((r) => setTimeout(r, 300));
      }
    }
    assert.equal(last.type, 'complete');
    assert.equal(last.exitCode, 0);
    assert.equal(bytes, total);
    const growth = peakRss - rssBefore;
    assert.ok(growth < 48 * 1024 * 1024, `daemon RSS grew by ${(growth / 1048576).toFixed(1)} MiB`);
  });
});
