// HTTP helpers for talking to a daemon directly (no SDK in between).
//
// `json` and `sse` use fetch because that is what the SDK uses; `raw` uses
// node:http because only it exposes `rawHeaders`, which is needed to catch a
// header that is sent twice (fetch's Headers would merge the copies).

import http from 'node:http';

const DEFAULT_TIMEOUT_MS = 10_000;

/** Turn a test-supplied body into what goes on the wire. Strings and
 *  Buffers are sent verbatim (so malformed JSON can be tested); anything
 *  else is JSON-encoded. */
function encodeBody(body) {
  if (body === undefined) return undefined;
  if (typeof body === 'string' || Buffer.isBuffer(body) || body instanceof Uint8Array) return body;
  return JSON.stringify(body);
}

/**
 * Send one request and decode the JSON answer.
 * Returns { status, headers (a Headers object), body (parsed JSON, or the
 * text when it is not JSON), text }.
 */
export async function json(baseUrl, method, path, body, { headers = {}, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const payload = encodeBody(body);
  const res = await fetch(new URL(path, baseUrl), {
    method,
    headers: payload === undefined ? headers : { 'Content-Type': 'application/json', ...headers },
    body: payload,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // leave `body` as text; the caller's assertion will show it
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/**
 * Open an SSE endpoint and read it to the end. POSTs `body` as JSON when
 * given, otherwise GETs. Parses the stream the way every SDK reader does:
 * split on "\n", keep lines starting with exactly "data: ", JSON.parse the
 * rest. Unlike the SDK, an unparsable data line throws, because the daemon
 * must never send one.
 */
export async function sse(baseUrl, path, body, { headers = {}, timeoutMs = 30_000 } = {}) {
  const payload = encodeBody(body);
  const res = await fetch(new URL(path, baseUrl), {
    method: payload === undefined ? 'GET' : 'POST',
    headers: { Accept: 'text/event-stream', ...(payload === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    body: payload,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status !== 200) {
    throw new Error(`sse ${path}: HTTP ${res.status}: ${text}`);
  }
  return parseSse(text);
}

/** Parse a complete SSE body into the list of `data:` JSON payloads. */
export function parseSse(text) {
  const events = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: ')) continue;
    const data = line.slice('data: '.length);
    try {
      events.push(JSON.parse(data));
    } catch (err) {
      throw new Error(`unparsable SSE data line: ${JSON.stringify(data)} (${err.message})`);
    }
  }
  return events;
}

/**
 * One request through node:http. Returns { status, headers, rawHeaders,
 * body (Buffer), reusedSocket }. Pass `agent` to control connection reuse.
 */
export function raw(baseUrl, { method = 'GET', path = '/', headers = {}, body, agent, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
  const url = new URL(path, baseUrl);
  const payload = body === undefined ? undefined : Buffer.from(encodeBody(body));
  const reqHeaders = { ...headers };
  if (payload !== undefined && !Object.keys(reqHeaders).some((h) => h.toLowerCase() === 'content-length')) {
    reqHeaders['Content-Length'] = payload.length;
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path: url.pathname + url.search, headers: reqHeaders, agent },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks),
            reusedSocket: req.reusedSocket,
          }),
        );
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** All values of header `name` (case-insensitive) from a rawHeaders list. */
export function rawHeaderValues(rawHeaders, name) {
  const wanted = name.toLowerCase();
  const values = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === wanted) values.push(rawHeaders[i + 1]);
  }
  return values;
}
