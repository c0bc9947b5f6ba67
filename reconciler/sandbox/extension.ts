// Plugs the sandbox backend into the reconciler: the `backends` and `sources` extensions
// startReconciler takes (the SandboxBackend with its deps materializer; the API-optional Sandbox
// and SandboxClaim watches), and its start-up checks of the installed CRDs (crd-checks.ts).
// Builds objects; startReconciler starts them.

import type { Config } from '../../config/config.ts'
import type { Worker } from '../../api/worker.ts'
import type { Backend } from '../backend/contract.ts'
import { SandboxBackend } from './backend.ts'
import type { BackoffPolicy } from '../controller/backoff.ts'
import type { WatchSource } from '../controller/controller.ts'
import { CLAIM_ATTRIBUTES_CHECK, runCrdChecks, WORKER_SANDBOX_CHECK } from './crd-checks.ts'
import type { DepsStore } from '../deps/store.ts'
import type { BackendContext } from '../backend/context.ts'
import { clusterUrls, credentialSettings, workerImages } from '../backend/options.ts'
import { DepsMaterializer } from './deps-materializer.ts'
import { TokenFreshness } from './token-freshness.ts'
import { TokenSchedule } from './token-schedule.ts'
import type { Sandbox, SandboxClaim, SandboxSet, SandboxSettings } from './objects.ts'
import { sandboxWatchSources } from './watch.ts'

export interface SandboxExtensionOptions {
  store: DepsStore
  /** Sandbox settings of the configuration; names come from the reconciler's naming. */
  settings: Omit<SandboxSettings, 'controllerName' | 'resourcePrefix'>
  /** AGENTTEAMS_SANDBOX_CAPABILITIES; `hibernate` turns Sleeping into a pause. */
  capabilities: readonly string[]
  reclaimBackoff?: BackoffPolicy | undefined
  /** How often the watches look for a missing sandbox API (default sandbox/watch.ts). */
  probeEveryMs?: number | undefined
}

/** The `backends` and `sources` options of startReconciler for the sandbox backend. */
export function sandboxExtension(o: SandboxExtensionOptions): {
  backends: (context: BackendContext) => Backend[]
  sources: (context: BackendContext) => WatchSource<any>[]
  onStart: (context: BackendContext) => Promise<unknown>
} {
  return {
    backends: (ctx) => {
      const s = ctx.options
      const env = clusterUrls(s)
      const token = { tokenAudience: s.authAudience, tokenExpirationSeconds: s.authTokenExpirationSeconds }
      const serviceAccounts = ctx.cache('ServiceAccount')
      // The refresh times the materializer records and the freshness check reads.
      const tokens = new TokenSchedule()
      const materializer = new DepsMaterializer({ ...ctx.naming, ...token, kube: ctx.kube, store: o.store, env, clock: ctx.clock, tokens, serviceAccounts })
      const refresh = (worker: Worker) => materializer.refreshToken(worker)
      const freshness = new TokenFreshness({ ...ctx.naming, ...token, tokens, refresh, store: o.store, serviceAccounts, clock: ctx.clock, log: ctx.log })
      const backend = new SandboxBackend({
        kube: ctx.kube,
        // The kinds sandboxWatchSources (below) adds to the controller.
        caches: { claims: ctx.cache<SandboxClaim>('SandboxClaim'), sandboxes: ctx.cache<Sandbox>('Sandbox'), pools: ctx.cache<SandboxSet>('SandboxSet') },
        settings: { ...o.settings, ...ctx.naming },
        hibernate: o.capabilities.includes('hibernate'),
        images: workerImages(s),
        env,
        materializer,
        freshness,
        clock: ctx.clock,
        log: ctx.log,
        events: ctx.events,
        reclaimBackoff: o.reclaimBackoff,
        credentials: credentialSettings(s),
      })
      return [backend]
    },
    sources: (ctx) =>
      sandboxWatchSources({ kubeconfig: ctx.kubeconfig, kube: ctx.kube, scope: ctx.scope, keys: ctx.runtimeKeys, clock: ctx.clock, probeEveryMs: o.probeEveryMs }),
    // Sandbox Workers need a Worker CRD that allows them and a SandboxClaim CRD that keeps the
    // token mount's attributes: one warning line each at start when the installed ones do not.
    onStart: (ctx) =>
      runCrdChecks({ kube: ctx.kube, log: ctx.log, registry: ctx.registry, clock: ctx.clock, signal: ctx.signal, checks: [WORKER_SANDBOX_CHECK, CLAIM_ATTRIBUTES_CHECK] }),
  }
}

/** The sandbox extension's options from the configuration, around an already created store. */
export function sandboxExtensionOptions(config: Config, store: DepsStore): SandboxExtensionOptions {
  return {
    store,
    capabilities: config.sandboxCapabilities,
    settings: {
      poolName: config.sandboxPoolName,
      prewarmSize: config.sandboxPrewarmSize,
      agentRuntimeImage: config.sandboxAgentRuntimeImage,
      claimTimeout: config.sandboxClaimTimeout,
      waitReadyTimeout: config.sandboxWaitReadyTimeout,
      ttlAfterCompleted: config.sandboxTtlAfterCompleted,
      depsPvName: config.sandboxDepsPvName,
      credentialProviderName: config.sandboxCredentialProviderName,
    },
  }
}
