// The sandbox backend (docs/sandbox.md, docs/architecture.md): a Worker runs in an OpenKruise Agents
// Sandbox obtained by a SandboxClaim against the warm pool. This file is its state machine: deps
// are delivered and verified before every claim and every resume; a failed claim is replaced only
// after its backoff; a claim built from an older spec is replaced, deps first; Sleeping hibernates
// (capability `hibernate`) or deletes; Stopped and delete remove the claim and every Sandbox.

import type { Logger } from 'pino'
import { imageOf } from '../../api/images.ts'
import { metaTime } from '../../api/meta.ts'
import type { Worker } from '../../api/worker.ts'
import { type Backend, type BackendStatus, RuntimeState, workerKey } from '../backend/contract.ts'
import { type CredentialSettings, type Credentials, credentialPlainEnv, credentialsHold, credentialsResync, earlier, readCredentials } from '../backend/credentials.ts'
import type { EventRecorder } from '../backend/events.ts'
import type { BackoffPolicy } from '../controller/backoff.ts'
import type { Clock } from '../controller/clock.ts'
import type { KubeClient } from '../controller/kube.ts'
import { SandboxApiDiscovery } from './api-discovery.ts'
import { CreatedClaims } from './claim-memory.ts'
import { droppedAttributesWarning } from './compat.ts'
import type { Delivery, DepsMaterializer } from './deps-materializer.ts'
import { checkClaimable, desiredSandboxClaim, recordedSpecHash, type Sandbox, type SandboxClaim, type SandboxSettings } from './objects.ts'
import { type Seen, SandboxObserver, type SandboxObserverCaches } from './observer.ts'
import { ensureSandboxPool, type SandboxPoolCache } from './pool.ts'
import { SandboxWrites } from './runtime-writes.ts'
import { sandboxEnv, type SandboxEnvOptions, sandboxSpecHash } from './spec.ts'
import { SANDBOX_RUNTIME_STATE, type SandboxObservation, SandboxState } from './status.ts'
import type { TokenFreshness } from './token-freshness.ts'

/** Annotation stamped when hibernating (upstream #988 `HibernateSandbox`). */
export const ANNOTATION_LAST_PAUSED = 'agentteams.io/last-paused-time'
/** Re-check a runtime that is being deleted or resumed this soon (watch events usually come first). */
const SETTLE_RECHECK_MS = 5_000
/** How often a Worker waiting for the sandbox API looks again. */
export const API_MISSING_RECHECK_MS = 30_000
/** Ready reasons of the sandbox backend beyond the observation's (status.ts). */
export const SandboxReason = {
  SandboxApiMissing: 'SandboxApiMissing',
  ClaimNameTooLong: 'ClaimNameTooLong',
  ClaimPending: 'ClaimPending',
  SandboxResuming: 'SandboxResuming',
  SandboxDeleting: 'SandboxDeleting',
  SandboxReplacing: 'SandboxReplacing',
} as const
export const SANDBOX_API_MISSING =
  'the OpenKruise Agents sandbox API (agents.kruise.io/v1alpha1 sandboxes, sandboxclaims, sandboxsets) is not installed in this cluster; ' +
  'install its CRDs and the Worker starts without a controller restart'

/** The informer caches the backend reads: its claims and Sandboxes (observer.ts), the pools (pool.ts). */
export interface SandboxCaches extends SandboxObserverCaches {
  pools: SandboxPoolCache
}

export interface SandboxBackendOptions {
  kube: KubeClient
  caches: SandboxCaches
  settings: SandboxSettings
  /** The `hibernate` capability: Sleeping pauses the Sandbox instead of deleting it. */
  hibernate: boolean
  /** Image when `spec.image` is unset, by `spec.runtime`; `default` otherwise (as the pod backend). */
  images: Record<string, string> & { default: string }
  /** Cluster URLs for the env file (the materializer's too). */
  env: SandboxEnvOptions
  /** Writes and removes the Worker's deps (env, token) in the deps store. */
  materializer: Pick<DepsMaterializer, 'materialize' | 'removeDeps'>
  /** Keeps a running sandbox's token fresh. */
  freshness: Pick<TokenFreshness, 'keep' | 'forget'>
  clock: Clock
  log: Logger
  events?: EventRecorder | undefined
  reclaimBackoff?: BackoffPolicy | undefined
  /** The upstream provisioner's credential Secrets (backend/credentials.ts); undefined: none are looked up. */
  credentials?: CredentialSettings | undefined
}

/** System env keys beyond the fixed ones: the credentials, rendered into the env file. */
type SystemEnv = Record<string, string>
const OFF: Credentials = { state: 'off' }
const API_MISSING: BackendStatus = { state: RuntimeState.NotFound, reason: SandboxReason.SandboxApiMissing, message: SANDBOX_API_MISSING }

/** The credentials as a sandbox gets them: every value in its env file (the deps store is the sandbox's Secret). */
function sandboxCredentialEnv(worker: Worker, credentials: Credentials): SystemEnv {
  return { ...credentialPlainEnv(worker, credentials), ...(credentials.state === 'ready' ? credentials.values : {}) }
}

function report(o: SandboxObservation): BackendStatus {
  return { state: SANDBOX_RUNTIME_STATE[o.state], reason: o.reason, message: o.message }
}

/** Runs Workers in OpenKruise Agents sandboxes. */
export class SandboxBackend implements Backend {
  readonly name = 'sandbox'
  readonly #o: SandboxBackendOptions
  readonly #created: CreatedClaims
  readonly #observer: SandboxObserver
  readonly #writes: SandboxWrites
  /** The dropped mount attributes were logged once (a CRD-wide fact, not one per Worker). */
  #droppedLogged = false

  constructor(options: SandboxBackendOptions) {
    this.#o = options
    this.#created = new CreatedClaims(options.clock)
    const discovery = new SandboxApiDiscovery(options.kube, options.clock)
    this.#observer = new SandboxObserver({ ...options, discovery, created: this.#created })
    this.#writes = new SandboxWrites(options.kube, options.log)
  }

  async status(worker: Worker): Promise<BackendStatus> {
    const seen = await this.#observer.cached(worker)
    return seen ? report(seen.observation) : API_MISSING
  }

  async create(worker: Worker): Promise<BackendStatus> {
    const seen = await this.#observer.cached(worker)
    // No deps are written while the API is missing: nothing could mount them yet.
    if (!seen) return { ...API_MISSING, state: RuntimeState.Unknown, requeueAfterMs: API_MISSING_RECHECK_MS }
    const problem = checkClaimable(this.#o.settings, worker.metadata?.name ?? '')
    if (problem) return { state: RuntimeState.Failed, reason: SandboxReason.ClaimNameTooLong, message: problem }
    await ensureSandboxPool({ ...this.#o, pools: this.#o.caches.pools }, worker.metadata?.namespace ?? '')
    const credentials = this.#o.credentials ? await readCredentials(this.#o.kube, this.#o.credentials, worker) : OFF
    const hold = this.#o.credentials ? credentialsHold(credentials, this.#o.credentials) : undefined
    if (hold) {
      // No claim, no deps written without usable credentials; a runtime that exists is left as it is.
      if (seen.observation.state === SandboxState.Absent) return hold
      return { ...report(seen.observation), warnings: [hold.message ?? ''], requeueAfterMs: hold.requeueAfterMs }
    }
    const status = await this.#drive(worker, seen, sandboxCredentialEnv(worker, credentials))
    const resync = earlier(status.requeueAfterMs, credentialsResync(credentials))
    return resync === undefined ? status : { ...status, requeueAfterMs: resync }
  }

  /** The state machine: drives an observed runtime one step towards Running, its credentials known and usable. */
  async #drive(worker: Worker, seen: Seen, system: SystemEnv): Promise<BackendStatus> {
    const o = seen.observation
    switch (o.state) {
      case SandboxState.Absent:
        return this.#claim(worker, system, 1)
      case SandboxState.Starting:
      case SandboxState.Running:
        await this.#writes.deleteSandboxes(worker, o.stale)
        if (this.#drifted(worker, system, seen)) return this.#replace(worker, system, seen)
        return this.#keepFresh(worker, system, o, seen.claim)
      case SandboxState.Sleeping:
        // Resuming would wake the old image and labels: a changed spec needs a new claim.
        if (this.#drifted(worker, system, seen)) return this.#replace(worker, system, seen)
        return this.#resume(worker, system, o.sandbox as Sandbox)
      case SandboxState.Terminating:
        return { ...report(o), requeueAfterMs: SETTLE_RECHECK_MS }
      case SandboxState.Failed: {
        const wait = (o.retryAt ?? 0) - this.#o.clock.now()
        if (wait > 0) return { ...report(o), requeueAfterMs: wait }
        this.#o.log.info({ worker: workerKey(worker), reason: o.reason, attempt: o.nextAttempt }, 're-claiming a sandbox after its backoff')
        this.#o.events?.record(worker, 'Warning', 'SandboxReclaim', `replacing the Worker's sandbox: ${o.message}`)
        const left = await this.#removeAll(worker, seen)
        if (left.state !== RuntimeState.NotFound) return left
        return this.#claim(worker, system, o.nextAttempt ?? 1)
      }
    }
  }

  async stop(worker: Worker): Promise<BackendStatus> {
    const seen = await this.#observer.cached(worker)
    if (!seen) return API_MISSING
    const { sandbox, state } = seen.observation
    const hibernatable = state !== SandboxState.Failed && state !== SandboxState.Terminating
    if (!this.#o.hibernate || !sandbox || !hibernatable) return this.#removeAll(worker, seen)
    await this.#writes.deleteSandboxes(worker, seen.observation.stale)
    if (sandbox.spec?.paused !== true) {
      const body = { metadata: { annotations: { [ANNOTATION_LAST_PAUSED]: metaTime(this.#o.clock.now()) } }, spec: { paused: true } }
      await this.#writes.patchSandbox(sandbox, body, 'hibernate')
      this.#o.log.info({ worker: workerKey(worker), sandbox: sandbox.metadata.name }, 'hibernated the sandbox')
    }
    this.#o.freshness.forget(worker)
    return { state: RuntimeState.Sleeping, reason: 'Hibernated', message: `Sandbox ${sandbox.metadata.namespace}/${sandbox.metadata.name} is hibernated` }
  }

  async delete(worker: Worker): Promise<BackendStatus> {
    const seen = await this.#observer.cached(worker)
    const left = seen ? await this.#removeAll(worker, seen) : { state: RuntimeState.NotFound }
    // Only on Worker deletion (the finalizer's call): a Stopped Worker keeps its deps for its restart.
    if (left.state === RuntimeState.NotFound && worker.metadata?.deletionTimestamp) {
      const { removed, ownedBy } = await this.#o.materializer.removeDeps(worker)
      if (ownedBy) this.#o.log.info({ worker: workerKey(worker), owner: `${ownedBy.namespace}/${ownedBy.name}` }, 'left the deps folder alone: it belongs to another Worker of the same name')
      else this.#o.log.info({ worker: workerKey(worker), objects: removed }, 'removed the Worker deps')
    }
    return left
  }

  /** The worker image (spec.image, else the default of spec.runtime) and the spec digest a claim for `worker` carries now. */
  #build(worker: Worker, system: SystemEnv): { image: string; specHash: string } {
    const image = imageOf(worker, this.#o.images)
    return { image, specHash: sandboxSpecHash(this.#o.settings, worker, image, sandboxEnv(worker, this.#o.env, system).file) }
  }

  /** True when the runtime records a spec digest and it is not the current one. */
  #drifted(worker: Worker, system: SystemEnv, seen: Seen): boolean {
    const recorded = recordedSpecHash(seen.claim, seen.observation.sandbox)
    return recorded !== undefined && recorded !== this.#build(worker, system).specHash
  }

  /**
   * The spec changed under a running, starting or hibernated runtime: deliver the new deps first
   * (a store outage throws DepsError and leaves the runtime as it is), then remove the claim and
   * its Sandboxes, then claim again — deps before claim, as always.
   */
  async #replace(worker: Worker, system: SystemEnv, seen: Seen): Promise<BackendStatus> {
    const delivery = await this.#o.materializer.materialize(worker, system)
    this.#o.log.info({ worker: workerKey(worker), claim: seen.claim?.metadata.name }, 'the Worker spec changed; replacing its sandbox')
    this.#o.events?.record(worker, 'Normal', 'SandboxReplacing', "the Worker's image, runtime, env or labels changed: replacing its sandbox with a new claim")
    const left = await this.#removeAll(worker, seen)
    if (left.state !== RuntimeState.NotFound) {
      return { ...left, reason: SandboxReason.SandboxReplacing, message: `replacing the sandbox to apply the changed spec: ${left.message ?? ''}`, depsDelivered: true }
    }
    return this.#claim(worker, system, 1, delivery)
  }

  /** Deps first (env → token → verified, unless `delivered` just now), then the claim. A deps failure throws DepsError: no claim. */
  async #claim(worker: Worker, system: SystemEnv, attempt: number, delivered?: Delivery): Promise<BackendStatus> {
    const delivery = delivered ?? (await this.#o.materializer.materialize(worker, system))
    const claim = desiredSandboxClaim(this.#o.settings, { worker, attempt, ...this.#build(worker, system) })
    const ref = `${claim.metadata.namespace}/${claim.metadata.name}`
    const created = await this.#writes.createClaim(claim)
    if (created) this.#created.remember(ref, created)
    const stored = created ?? claim
    this.#o.log.info({ worker: workerKey(worker), claim: ref, attempt }, 'deps delivered; created the SandboxClaim')
    this.#o.events?.record(worker, 'Normal', 'SandboxClaimCreated', `env and token delivered and verified; created SandboxClaim ${claim.metadata.name} (attempt ${attempt})`)
    const dropped = droppedAttributesWarning(this.#o.settings, worker, stored)
    if (dropped) {
      this.#o.events?.record(worker, 'Warning', 'ClaimFieldsDropped', dropped)
      if (!this.#droppedLogged) this.#o.log.warn({ worker: workerKey(worker), claim: ref }, dropped)
      this.#droppedLogged = true
    }
    // Reported exactly as the next pass will observe the new claim, so that pass (started by the
    // claim's own watch event) finds the status already right and writes nothing.
    return {
      ...report(this.#observer.seen(stored, []).observation),
      warnings: [...delivery.warnings, ...(dropped ? [dropped] : [])],
      requeueAfterMs: Math.max(0, delivery.refreshAt - this.#o.clock.now()),
      depsDelivered: true,
      eventRecorded: true,
    }
  }

  /** A running or starting runtime: rewrite the token when its refresh time has come (token-freshness.ts). */
  async #keepFresh(worker: Worker, system: SystemEnv, o: SandboxObservation, claim: SandboxClaim | undefined): Promise<BackendStatus> {
    const { refreshAt, warning } = await this.#o.freshness.keep(worker)
    // The claim exists, so its deps were delivered before it (a failed refresh is only a warning).
    // The unused spec.env entries stay in the message for as long as they are in the spec.
    const dropped = droppedAttributesWarning(this.#o.settings, worker, claim)
    const warnings = [...sandboxEnv(worker, this.#o.env, system).warnings, ...(warning ? [warning] : []), ...(dropped ? [dropped] : [])]
    return { ...report(o), warnings, requeueAfterMs: Math.max(0, refreshAt - this.#o.clock.now()), depsDelivered: true }
  }

  /** Wake a hibernated Sandbox: fresh deps first, then `spec.paused: false`. */
  async #resume(worker: Worker, system: SystemEnv, sandbox: Sandbox): Promise<BackendStatus> {
    const delivery = await this.#o.materializer.materialize(worker, system)
    await this.#writes.patchSandbox(sandbox, { spec: { paused: false } }, 'resume')
    this.#o.log.info({ worker: workerKey(worker), sandbox: sandbox.metadata.name }, 'deps delivered; resuming the sandbox')
    return {
      state: RuntimeState.Starting,
      reason: SandboxReason.SandboxResuming,
      message: `resuming Sandbox ${sandbox.metadata.namespace}/${sandbox.metadata.name}`,
      warnings: delivery.warnings,
      requeueAfterMs: Math.max(0, Math.min(delivery.refreshAt - this.#o.clock.now(), SETTLE_RECHECK_MS)),
      depsDelivered: true,
    }
  }

  /** Deletes the claim and every label-matched Sandbox; NotFound once the API server shows nothing left. */
  async #removeAll(worker: Worker, seen: Seen): Promise<BackendStatus> {
    if (seen.claim && !seen.claim.metadata.deletionTimestamp) await this.#writes.deleteClaim(worker, seen.claim)
    if (seen.claim) this.#created.forget(`${seen.claim.metadata.namespace}/${seen.claim.metadata.name}`)
    await this.#writes.deleteSandboxes(worker, seen.sandboxes.filter((s) => !s.metadata.deletionTimestamp))
    this.#o.freshness.forget(worker)
    const after = await this.#observer.live(worker)
    if (!after || after.observation.state === SandboxState.Absent) return { state: RuntimeState.NotFound }
    const left = [...(after.claim ? [`SandboxClaim ${after.claim.metadata.name}`] : []), ...after.sandboxes.map((s) => `Sandbox ${s.metadata.name}`)]
    return { state: RuntimeState.Stopping, reason: SandboxReason.SandboxDeleting, message: `waiting for ${left.join(', ')} to be deleted`, requeueAfterMs: SETTLE_RECHECK_MS }
  }
}
