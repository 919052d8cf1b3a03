// Just enough of the Durable Object runtime for the SDK's Sandbox class to
// run in plain Node: an object id, in-memory storage, blockConcurrencyWhile,
// a namespace binding (so the SDK's own getSandbox() works), and
// `ctx.container`, the workerd container API that the containers stub
// drives. `ctx.container` forwards requests over real HTTP: port 3000 (the
// control plane) goes to the sandboxd under test, any other port to the same
// port on 127.0.0.1, because here the "container" shares the host loopback.

import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

/** Durable Object id: 64 hex chars, derived from the name like idFromName. */
export class FakeId {
  constructor(hex, name) {
    this.hex = hex;
    this.name = name;
  }
  toString() {
    return this.hex;
  }
  equals(other) {
    return other?.toString() === this.hex;
  }
}

/**
 * In-memory DurableObjectStorage (key/value part). Values are
 * structured-cloned on the way in and out, as the real storage serialises
 * them, so a test cannot mutate stored state by accident.
 */
export class FakeStorage {
  #data = new Map();
  #alarm = null;

  async get(keyOrKeys) {
    if (Array.isArray(keyOrKeys)) {
      const found = new Map();
      for (const key of keyOrKeys) if (this.#data.has(key)) found.set(key, structuredClone(this.#data.get(key)));
      return found;
    }
    return this.#data.has(keyOrKeys) ? structuredClone(this.#data.get(keyOrKeys)) : undefined;
  }

  async put(keyOrEntries, value) {
    if (typeof keyOrEntries === 'string') {
      this.#data.set(keyOrEntries, structuredClone(value));
      return;
    }
    for (const [key, v] of Object.entries(keyOrEntries)) this.#data.set(key, structuredClone(v));
  }

  async delete(keyOrKeys) {
    if (Array.isArray(keyOrKeys)) return keyOrKeys.filter((key) => this.#data.delete(key)).length;
    return this.#data.delete(keyOrKeys);
  }

  async deleteAll() {
    this.#data.clear();
  }

  async list({ prefix = '', start, end, reverse = false, limit = Infinity } = {}) {
    let keys = [...this.#data.keys()].filter((k) => k.startsWith(prefix) && (start === undefined || k >= start) && (end === undefined || k < end));
    keys.sort();
    if (reverse) keys.reverse();
    keys = keys.slice(0, limit);
    return new Map(keys.map((k) => [k, structuredClone(this.#data.get(k))]));
  }

  async transaction(fn) {
    return fn(this);
  }

  async sync() {}

  async getAlarm() {
    return this.#alarm;
  }

  async setAlarm(when) {
    this.#alarm = typeof when === 'number' ? when : when.getTime();
  }

  async deleteAlarm() {
    this.#alarm = null;
  }
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'content-length', 'host'];

/**
 * The workerd `ctx.container` API, backed by a sandboxd that the test
 * started. `requests` records what was forwarded ({method, path, port}) so
 * tests can check what the SDK actually sent.
 */
export class FakeContainerRuntime {
  running = false;
  requests = [];
  startOptions = null;

  constructor({ daemonUrl, controlPort = 3000 }) {
    this.daemonUrl = new URL(daemonUrl);
    this.controlPort = controlPort;
  }

  start(options) {
    this.startOptions = options ?? null;
    this.running = true;
  }

  monitor() {
    return new Promise(() => {}); // the test, not the stub, ends the daemon
  }

  destroy() {
    this.running = false;
  }

  signal(_signo) {}

  /** Where a container port is reachable from this process. */
  hostPortFor(port) {
    return port === this.controlPort
      ? { host: this.daemonUrl.hostname, port: Number(this.daemonUrl.port) }
      : { host: '127.0.0.1', port };
  }

  getTcpPort(port) {
    const { host, port: hostPort } = this.hostPortFor(port);
    return {
      // TCP connect probe, used while "starting" the container.
      probe: () =>
        new Promise((resolve) => {
          const socket = net.connect({ host, port: hostPort });
          socket.once('connect', () => {
            socket.destroy();
            resolve(true);
          });
          socket.once('error', () => resolve(false));
        }),
      // Forward one request: same method, path+query, headers and body.
      // The body is buffered so it goes out with a Content-Length, as the
      // SDK's JSON bodies do on the platform; the response is returned as
      // is, so a streamed SSE body is consumed incrementally by the SDK.
      fetch: async (url, request) => {
        const source = new URL(url);
        const target = `http://${host}:${hostPort}${source.pathname}${source.search}`;
        const headers = new Headers(request.headers);
        for (const name of HOP_BY_HOP) headers.delete(name);
        headers.delete('cf-container-target-port');
        const method = request.method;
        const body = method === 'GET' || method === 'HEAD' ? undefined : await request.arrayBuffer();
        this.requests.push({ method, path: source.pathname + source.search, port });
        return fetch(target, { method, headers, body, redirect: 'manual', signal: request.signal });
      },
    };
  }
}

/**
 * A DurableObjectState-like `ctx`. blockConcurrencyWhile runs the callback
 * at once (as the runtime does) and remembers the promise, so the factory
 * can wait for the constructor's storage load before using the object.
 */
export function makeCtx(id, container) {
  const pending = new Set();
  const track = (promise) => {
    pending.add(promise);
    promise.finally(() => pending.delete(promise)).catch(() => {});
    return promise;
  };
  return {
    id,
    storage: new FakeStorage(),
    container,
    blockConcurrencyWhile(fn) {
      let promise;
      try {
        promise = Promise.resolve(fn());
      } catch (err) {
        promise = Promise.reject(err);
      }
      return track(promise);
    },
    waitUntil(promise) {
      track(Promise.resolve(promise));
    },
    abort(reason) {
      throw new Error(`ctx.abort(${reason ?? ''}) called`);
    },
    /** Resolves when every blockConcurrencyWhile/waitUntil so far settled. */
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}

/**
 * DurableObjectNamespace binding: idFromName/get like the runtime, one
 * object per id, all in this process.
 */
export class FakeNamespace {
  #objects = new Map();

  constructor(DOClass, { env, makeContainer }) {
    this.DOClass = DOClass;
    this.env = env;
    this.makeContainer = makeContainer;
  }

  idFromName(name) {
    return new FakeId(createHash('sha256').update(String(name)).digest('hex'), name);
  }

  idFromString(hex) {
    return new FakeId(hex);
  }

  newUniqueId() {
    return new FakeId(randomBytes(32).toString('hex'));
  }

  get(id) {
    const key = id.toString();
    if (!this.#objects.has(key)) {
      this.#objects.set(key, new this.DOClass(makeCtx(id, this.makeContainer()), this.env));
    }
    return this.#objects.get(key);
  }
}
