// Polling helpers. Tests never sleep for a fixed time to "let something
// happen": they poll a condition until it holds or a deadline passes, so a
// fast daemon makes fast tests and a broken one fails with a clear message.

import { setTimeout as delay } from 'node:timers/promises';

/**
 * Call `fn` until it returns a truthy value (sync or async) and return that
 * value. Exceptions thrown by `fn` count as "not yet" and are kept so the
 * timeout error can say what was last seen.
 */
export async function waitFor(fn, { timeoutMs = 5000, intervalMs = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError ? `; last error: ${lastError.message ?? lastError}` : '';
      throw new Error(`waitFor: ${what} not met within ${timeoutMs} ms${why}`);
    }
    await delay(intervalMs); // poll interval, not a wait for the condition itself
  }
}

/** Race a promise against a deadline; rejects with a named timeout error. */
export async function withTimeout(promise, timeoutMs, what = 'operation') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
