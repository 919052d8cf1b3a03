import { requestJson, requestStream, percentile, closeConnections } from './lib.mjs';
const now = () => performance.now();
async function ctx(language) { return (await requestJson('POST', '/api/contexts', { language })).body.contextId; }
const js = await ctx('javascript'); const py = await ctx('python');
const ops = {
  ping: () => requestJson('GET', '/api/ping'),
  exec: () => requestJson('POST', '/api/execute', { command: 'true', sessionId: 'p' }),
  js: () => requestStream('POST', '/api/execute/code', { context_id: js, code: '1+1' }),
  py: () => requestStream('POST', '/api/execute/code', { context_id: py, code: '1+1' }),
};
const lat = {}; for (const k in ops) lat[k] = [];
for (let i = 0; i < 300; i++) for (const k in ops) await ops[k]();
for (let i = 0; i < 1000; i++) for (const k in ops) { const t = now(); await ops[k](); lat[k].push(now() - t); }
for (const k in ops) console.log(k.padEnd(5), 'p50', percentile(lat[k], 50).toFixed(3), 'p90', percentile(lat[k], 90).toFixed(3));
closeConnections();
