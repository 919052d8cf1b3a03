// Local stand-in for `@cloudflare/containers` (0.0.30), wired in through npm
// `overrides` in tests/package.json so that `@cloudflare/sandbox` imports
// this file instead of the real package.
//
// The SDK imports exactly { Container, getContainer, switchPort } from it.
// The real package extends `DurableObject` from `cloudflare:workers` and
// drives a container through `ctx.container`; neither exists in Node. This
// stub keeps the same public surface and the same division of labour:
// `Container` talks only to `ctx.container`, an object with the workerd
// container API (running / start / destroy / getTcpPort(port).fetch), which
// the test harness provides (tests/sdk/fake-do.mjs) and which forwards to a
// real sandboxd over HTTP. Nothing here imports `cloudflare:workers`, so no
// loader hook is needed.

const DEFAULT_SLEEP_AFTER = '10m';
const PORT_READY_TIMEOUT_MS = 10_000;
const PORT_POLL_MS = 25;

export class Container {
  // Same configurable fields as the real class; subclasses (Sandbox)
  // override them with their own class fields.
  defaultPort;
  requiredPorts;
  sleepAfter = DEFAULT_SLEEP_AFTER;
  envVars = {};
  entrypoint;
  enableInternet = true;

  #starting = null; // in-flight start-up, shared by concurrent requests
  #portsReady = false; // like the platform's "healthy": requests may flow

  constructor(ctx, env, options) {
    // DurableObject's constructor stores these; Sandbox reads this.ctx.
    this.ctx = ctx;
    this.env = env;
    if (ctx?.container === undefined) {
      throw new Error('Containers have not been enabled for this Durable Object class (fake ctx has no .container)');
    }
    this.container = ctx.container;
    if (options?.defaultPort !== undefined) this.defaultPort = options.defaultPort;
    if (options?.sleepAfter !== undefined) this.sleepAfter = options.sleepAfter;
  }

  // ---- lifecycle hooks (overridden by Sandbox) ----
  onStart() {}
  onStop(_params) {}
  onError(error) {
    throw error;
  }
  async onActivityExpired() {
    if (this.container.running) await this.stop();
  }
  renewActivityTimeout() {
    // No sleep timer in tests: the test owns the daemon's lifetime.
  }

  async getState() {
    return { status: this.container.running ? 'healthy' : 'stopped', lastChange: Date.now() };
  }

  // ---- starting ----

  /** Start the container (if needed) without waiting for ports; runs onStart. */
  async start(startOptions, waitOptions) {
    const port = waitOptions?.portToCheck ?? this.defaultPort ?? this.requiredPorts?.[0];
    await this.#ensureStarted(port === undefined ? [] : [port], startOptions);
  }

  /** Start the container, wait until its ports accept connections, run onStart. */
  async startAndWaitForPorts(portsOrArgs, _cancellationOptions, startOptions) {
    let ports = portsOrArgs;
    if (portsOrArgs && typeof portsOrArgs === 'object' && !Array.isArray(portsOrArgs)) {
      ports = portsOrArgs.ports;
      startOptions = portsOrArgs.startOptions;
    }
    if (ports === undefined) ports = this.requiredPorts?.length ? this.requiredPorts : [this.defaultPort];
    await this.#ensureStarted(Array.isArray(ports) ? ports : [ports], startOptions);
  }

  #ensureStarted(ports, startOptions) {
    if (this.container.running && this.#portsReady) return Promise.resolve();
    if (!this.#starting) {
      this.#starting = (async () => {
        this.container.start({
          enableInternet: startOptions?.enableInternet ?? this.enableInternet,
          env: startOptions?.envVars ?? this.envVars,
          entrypoint: startOptions?.entrypoint ?? this.entrypoint,
        });
        for (const port of ports) await this.#waitForPort(port);
        this.#portsReady = true;
        // Like the real class: onStart runs once the ports answer, inside
        // blockConcurrencyWhile. Sandbox.onStart fires the version check,
        // whose request must not wait for this start-up to finish (it is
        // already "healthy"), hence #portsReady above.
        await this.ctx.blockConcurrencyWhile(async () => {
          await this.onStart();
        });
      })().finally(() => {
        this.#starting = null;
      });
    }
    return this.#starting;
  }

  async #waitForPort(port) {
    const deadline = Date.now() + PORT_READY_TIMEOUT_MS;
    while (!(await this.container.getTcpPort(port).probe())) {
      if (Date.now() >= deadline) throw new Error(`container port ${port} not ready within ${PORT_READY_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, PORT_POLL_MS)); // poll interval
    }
  }

  // ---- stopping ----

  async stop(_signal = 'SIGTERM') {
    await this.#markStopped();
  }

  async destroy() {
    await this.#markStopped();
  }

  async #markStopped() {
    if (!this.container.running) return;
    this.#portsReady = false;
    // The daemon process belongs to the test (tests/lib/daemon.mjs), so the
    // stub only forgets that it is running; the next request starts it
    // "again", which re-runs onStart exactly as on the platform.
    this.container.destroy();
    await this.onStop({ exitCode: 0, reason: 'exit' });
  }

  // ---- requests ----

  /**
   * containerFetch(request, port?) or containerFetch(url, init?, port?).
   * Starts the container if needed, then forwards over real HTTP and returns
   * the real Response, so streamed (SSE) bodies arrive incrementally.
   */
  async containerFetch(requestOrUrl, portOrInit, portParam) {
    const { request, port } = this.#requestAndPort(requestOrUrl, portOrInit, portParam);
    if (isWebSocketUpgrade(request)) {
      throw new Error('containers stub: WebSocket upgrades are not forwarded; connect with the ws package to the daemon instead');
    }
    if (!this.container.running || !this.#portsReady) {
      try {
        await this.startAndWaitForPorts(port);
      } catch (e) {
        return new Response(`Failed to start container: ${e instanceof Error ? e.message : String(e)}`, { status: 500 });
      }
    }
    this.renewActivityTimeout();
    return this.container.getTcpPort(port).fetch(request.url.replace('https:', 'http:'), request);
  }

  /** Durable Object fetch: the port comes from switchPort's header or defaultPort. */
  async fetch(request) {
    let port = this.defaultPort;
    const header = request.headers.get('cf-container-target-port');
    if (header !== null) {
      port = parseInt(header, 10);
      if (Number.isNaN(port)) throw new Error('port value from switchPort is not a number');
    }
    if (port === undefined) throw new Error('No port configured for this container.');
    return this.containerFetch(request, port);
  }

  #requestAndPort(requestOrUrl, portOrInit, portParam) {
    let request;
    let port;
    if (requestOrUrl instanceof Request) {
      request = requestOrUrl;
      port = typeof portOrInit === 'number' ? portOrInit : undefined;
    } else {
      const init = typeof portOrInit === 'number' ? {} : portOrInit || {};
      port = typeof portOrInit === 'number' ? portOrInit : typeof portParam === 'number' ? portParam : undefined;
      request = new Request(String(requestOrUrl), init);
    }
    port ??= this.defaultPort;
    if (port === undefined) throw new Error('No port specified for container fetch. Set defaultPort or specify a port parameter.');
    return { request, port };
  }
}

function isWebSocketUpgrade(request) {
  return request.headers.get('Upgrade')?.toLowerCase() === 'websocket';
}

export const singletonContainerId = 'cf-singleton-container';

/** Same as the real helper: a stub from a Durable Object namespace binding. */
export function getContainer(binding, name = singletonContainerId) {
  return binding.get(binding.idFromName(name));
}

/** Same as the real helper: mark a request for a given container port. */
export function switchPort(request, port) {
  const headers = new Headers(request.headers);
  headers.set('cf-container-target-port', port.toString());
  return new Request(request, { headers });
}

export async function getRandom(binding, instances = 3) {
  return binding.get(binding.idFromName(`instance-${Math.floor(Math.random() * instances)}`));
}

export const loadBalance = getRandom;
