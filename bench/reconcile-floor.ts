// The floor of bench/reconcile.ts: the same client doing the same writes with no controller. Per
// Worker, in the apply's concurrency: create the Worker, then exactly what docs/deps.md requires
// before a claim — the reconciler's own DepsMaterializer (ServiceAccount, TokenRequest, env → token
// → both read back) — and the SandboxClaim create, built by the reconciler's own object builder.
// No informers, queue, finalizer, status writes or Events: those are the controller's overhead.

import { loadConfig } from '../config/config.ts'
import { type Worker, workerPath } from '../api/worker.ts'
import { systemClock } from '../reconciler/controller/clock.ts'
import type { DepsStore } from '../reconciler/deps/store.ts'
import { type KubeClient, resourcePath } from '../reconciler/controller/kube.ts'
import { DepsMaterializer } from '../reconciler/sandbox/deps-materializer.ts'
import { desiredSandboxClaim, SANDBOX_GROUP, SANDBOX_VERSION } from '../reconciler/sandbox/objects.ts'
import { desiredSandboxSet } from '../reconciler/sandbox/pool.ts'
import { sandboxEnv, sandboxSpecHash } from '../reconciler/sandbox/spec.ts'
import { TokenSchedule } from '../reconciler/sandbox/token-schedule.ts'
import { sandboxSettings, WORKER_IMAGE } from '../test/e2e/sandbox-settings.ts'
import { forEachLimit } from './pool.ts'

/** What the controller child is configured with (controller-child.ts), so both write the same bytes. */
export const CONTROLLER_URL = 'http://controller.agentteams.svc:8090'

export interface FloorResult {
  /** From the first Worker create to the last claim create answered. */
  ms: number
  /** API requests made, by kind (see controller-child.ts requestKind). */
  requests: number
}

/** Creates `workers` in `namespace` and materializes deps and claims for each, `concurrency` at a time. */
export async function runFloor(kube: KubeClient, store: DepsStore, namespace: string, workers: readonly Worker[], concurrency: number): Promise<FloorResult> {
  const config = loadConfig({})
  const settings = sandboxSettings()
  let requests = 0
  const counted: KubeClient = { close: () => kube.close(), request: (r) => (requests++, kube.request(r)) }
  const env = { controllerUrl: CONTROLLER_URL, matrixUrl: config.matrixUrl, aiGatewayUrl: config.aiGatewayUrl }
  const materializer = new DepsMaterializer({
    controllerName: settings.controllerName,
    resourcePrefix: settings.resourcePrefix,
    kube: counted,
    store,
    env,
    tokenAudience: config.authAudience,
    tokenExpirationSeconds: config.authTokenExpirationSeconds,
    clock: systemClock,
    tokens: new TokenSchedule(),
  })
  const claims = resourcePath({ group: SANDBOX_GROUP, version: SANDBOX_VERSION, plural: 'sandboxclaims', namespace })
  const started = performance.now()
  // The warm pool exists once per namespace (the controller creates it on its first claim too).
  await counted.request({ method: 'POST', path: resourcePath({ group: SANDBOX_GROUP, version: SANDBOX_VERSION, plural: 'sandboxsets', namespace }), body: desiredSandboxSet(settings, namespace) })
  let last = started
  await forEachLimit(workers, concurrency, async (manifest) => {
    const worker = await counted.request<Worker>({ method: 'POST', path: workerPath(namespace), body: manifest })
    await materializer.materialize(worker)
    // The same claim the backend builds, spec digest included (sandbox/spec.ts).
    const specHash = sandboxSpecHash(settings, worker, WORKER_IMAGE, sandboxEnv(worker, env).file)
    await counted.request({ method: 'POST', path: claims, body: desiredSandboxClaim(settings, { worker, image: WORKER_IMAGE, attempt: 1, specHash }) })
    last = Math.max(last, performance.now())
  })
  return { ms: last - started, requests }
}
