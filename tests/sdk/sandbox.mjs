// Build the SDK's real `Sandbox` Durable Object, talking to a sandboxd
// under test. Construction follows the platform: the namespace binding
// creates the object (`new Sandbox(ctx, env)`), then the SDK's own
// getSandbox() does its set-up (setSandboxName, options, wsConnect).
// The first request then "starts the container", which runs Sandbox.onStart
// and with it the GET /api/version compatibility check.

import { Sandbox, getSandbox } from '@cloudflare/sandbox';
import { FakeContainerRuntime, FakeNamespace } from './fake-do.mjs';

export { Sandbox };

/**
 * @param {object} opts
 * @param {string} opts.baseUrl  the daemon, e.g. http://127.0.0.1:41234
 * @param {string} [opts.name]   sandbox id given to getSandbox()
 * @param {object} [opts.env]    Worker env vars (e.g. SANDBOX_LOG_LEVEL)
 * @param {object} [opts.options] getSandbox options (baseUrl for preview URLs, keepAlive, …)
 * @param {FakeNamespace} [opts.namespace] reuse a namespace (same object and storage) across calls
 * @returns {Promise<Sandbox>} the Sandbox instance; `sandbox.ctx.container.requests` lists forwarded requests
 */
export async function makeSandbox({ baseUrl, name = 'test-sandbox', env = {}, options, namespace } = {}) {
  if (!baseUrl) throw new Error('makeSandbox: baseUrl (the daemon URL) is required');
  const ns =
    namespace ??
    new FakeNamespace(Sandbox, {
      env: { ...env },
      makeContainer: () => new FakeContainerRuntime({ daemonUrl: baseUrl }),
    });
  ns.env.Sandbox ??= ns; // the binding a Worker would pass to getSandbox

  // Create the object first and let its constructor's
  // blockConcurrencyWhile (loading state from storage) finish: on the
  // platform no call reaches the object before that.
  const instance = ns.get(ns.idFromName(name));
  await instance.ctx.settled();

  const sandbox = getSandbox(ns, name, options);
  await instance.ctx.settled();
  return sandbox;
}

export { FakeNamespace, FakeContainerRuntime };
