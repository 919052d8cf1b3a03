// Session rows: exec latency, parallel sessions, a large output, RSS per session.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { baseUrl, closeConnections, daemonPid, percentile, requestJson, row, rssKiB, timeCalls, wrk, wrkScripts } from './lib.mjs';

const exec = async (command, sessionId = 'bench') => {
  const res = await requestJson('POST', '/api/execute', { command, sessionId });
  if (res.status !== 200) throw new Error(`exec ${command}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

for (const command of ['true', 'echo hello']) {
  const lat = await timeCalls(() => exec(command), { count: 2000 });
  row(`exec \`${command}\` latency, one session (node client)`, 'ms', percentile(lat, 50), percentile(lat, 99));
}

for (const command of ['true', 'echo hello']) {
  const r = wrk('/api/execute', ['-t1', '-c1', '-d4s', '-s', `${wrkScripts}post_json.lua`], {
    BENCH_BODY: JSON.stringify({ command, sessionId: 'bench-wrk' }),
  });
  row(`exec \`${command}\` latency, one session (wrk)`, 'ms', r.p50, r.p99);
}
{
  const r = wrk('/api/execute', ['-t8', '-c8', '-d4s', '-s', `${wrkScripts}exec_sessions.lua`]);
  row('exec `true`, 8 sessions in parallel (wrk)', 'req/s', Math.round(r.rps));
}

{
  const runs = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    const r = await exec('seq 1 200000');
    if (!r.stdout.endsWith('200000')) throw new Error('seq output incomplete');
    runs.push(performance.now() - t0);
  }
  row('exec `seq 1 200000` wall time', 'ms', percentile(runs, 50), percentile(runs, 99));
}

// Total RSS of the daemon's bash children (one per session).
function shellsRssKiB() {
  let total = 0;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [, comm, rest] = /^\d+ \((.*)\) (.*)$/s.exec(stat);
      if (comm === 'bash' && Number(rest.split(' ')[1]) === daemonPid) total += rssKiB(pid);
    } catch {
      // the process went away
    }
  }
  return total;
}

{
  await exec('true', 'bench-rss-warm');
  const shellsBefore = shellsRssKiB();
  const before = rssKiB(daemonPid);
  const extra = 20;
  for (let i = 0; i < extra; i++) await exec('true', `bench-rss-${i}`);
  const after = rssKiB(daemonPid);
  row('daemon RSS per additional session (its bash not included)', 'MiB', (after - before) / 1024 / extra);
  row('RSS per additional session, daemon + its bash', 'MiB',
    (after - before + shellsRssKiB() - shellsBefore) / 1024 / extra);
}
closeConnections();
