// The sandbox backend (product.md §5): a Worker runs in an OpenKruise Agents Sandbox obtained by a
// SandboxClaim against the warm pool. Deps are delivered and verified before every claim and every
// resume; a failed claim is replaced only after its backoff; a claim built from an older spec
// (image, runtime, env, labels) is replaced, deps first; Sleeping hibernates (capability
// `hibernate`) or deletes; Stopped and delete remove the claim and every label-matched Sandbox.

import type { Logger } from 'pino'
import { imageOf } from '../../api/images.ts'
import { metaTime } from '../../api/meta.ts'
import type { Worker } from '../../api/worker.ts'
import { type Backend, type BackendStatus, DepsError, isOwnObject, RuntimeState, workerKey } from '../backend/contract.ts'
import type { BackoffPolicy } from '../controller/backoff.ts'
import type { Clock } from '../controller/clock.ts'
import { type CredentialSettings, type Credentials, credentialPlainEnv, credentialsHold, credentialsResync, earlier, readCredentials } from '../backend/credentials.ts'
import type { EventRecorder } from '../backend/events.ts'
import { ignoreNotFound, isAlreadyExists, isNotFound, type KubeClient, type ObjectList, PatchType } from '../controller/kube.ts'
import { stripManagedFields } from '../controller/cache-transform.ts'
import { sandboxApiError, sandboxApiPath } from './api.ts'
import type { Delivery, DepsMaterializer } from './deps-materializer.ts'
import {
  checkClaimable,
  claimLabels,
  claimName,
  claimSpecHash,
  desiredSandboxClaim,
  labelSelector,
  recordedSpecHash,
  SANDBOX_GROUP,
  SANDBOX_VERSION,
  SandboxPlural,
  type Sandbox,
  type SandboxClaim,
  type SandboxSettings,
  workerSelector,
} from './objects.ts'
import { droppedAttributesWarning } from './compat.ts'
import { ensureSandboxPool, type SandboxPoolCache } from './pool.ts'
import { observeSandbox, RECLAIM_BACKOFF, SANDBOX_RUNTIME_STATE, type SandboxObservation, SandboxState } from './status.ts'
import { sandboxApiServed } from './watch.ts'

/** Annotation stamped when hibernating (upstream #988 `HibernateSandbox`). */
export const ANNOTATION_LAST_PAUSED = 'agentteams.io/last-paused-time'
/** Re-check a runtime that is being deleted or resumed this soon (watch events usually come first). */
const SETTLE_RECHECK_MS = 5_000
/** Retry a failed token refresh this soon while the current token is still valid. */
const TOKEN_RETRY_MS = 30_000
/** How often a Worker waiting for the sandbox API looks again. */
export const API_MISSING_RECHECK_MS = 30_000
/** How long a discovery answer "the sandbox API is served" is trusted (one request per period, not per reconcile). */
export const API_SERVED_MEMORY_MS = 30_000
/**
 * How long a claim this backend just created counts as existing while the informer cache has not
 * delivered it yet (read-your-writes; the watch event normally arrives within milliseconds).
 */
export const CREATED_MEMORY_MS = 60_000
/** Ready reasons of the sandbox backend beyond the observation's (sandbox/status.ts). */
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

/**
 * What the backend reads from the controller's informer caches instead of asking the API server on
 * every reconcile (sandbox/watch.ts): its claim by name, its Sandboxes by owner, the pool by name.
 */
export interface SandboxCaches {
  claims: { get(name: string, namespace?: string): SandboxClaim | undefined }
  sandboxes: { byOwner(key: string): Sandbox[] }
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
  /** Writes, refreshes and removes the Worker's deps (env, token) in the deps store. */
  materializer: DepsMaterializer
  clock: Clock
  log: Logger
  events?: EventRecorder | undefined
  reclaimBackoff?: BackoffPolicy | undefined
  /** The upstream provisioner's credential Secrets (credentials.ts); undefined: none are looked up. */
  credentials?: CredentialSettings | undefined
}

/** System env keys beyond the fixed ones: the credentials, rendered into the env file. */
type SystemEnv = Record<string, string>
const OFF: Credentials = { state: 'off' }

/** The credentials as a sandbox gets them: every value in its env file (the deps store is the sandbox's Secret). */
function sandboxCredentialEnv(worker: Worker, credentials: Credentials): SystemEnv {
  return { ...credentialPlainEnv(worker, credentials), ...(credentials.state === 'ready' ? credentials.values : {}) }
}

interface Seen {
  claim: SandboxClaim | undefined
  sandboxes: Sandbox[]
  observation: SandboxObservation
}

const path = sandboxApiPath

/** Runs Workers in OpenKruise Agents sandboxes. */
export class SandboxBackend implements Backend {
  readonly name = 'sandbox'
  readonly #o: SandboxBackendOptions
  /** Claims created by this backend, by `namespace/name`, until the cache shows them (CREATED_MEMORY_MS). */
  readonly #created = new Map<string, { claim: SandboxClaim; at: number }>()
  #servedUntil = 0
  /** The dropped mount attributes were logged once (a CRD-wide fact, not one per Worker). */
  #droppedLogged = false

  constructor(options: SandboxBackendOptions) {
    this.#o = options
  }

  async status(worker: Worker): Promise<BackendStatus> {
    const seen = await this.#observe(worker)
    if (!seen) return { state: RuntimeState.NotFound, reason: SandboxReason.SandboxApiMissing, message: SANDBOX_API_MISSING }
    return this.#report(seen.observation)
  }

  async create(worker: Worker): Promise<BackendStatus> {
    const seen = await this.#observe(worker)
    // No deps are written while the API is missing: nothing could mount them yet.
    if (!seen) return { state: RuntimeState.Unknown, reason: SandboxReason.SandboxApiMissing, message: SANDBOX_API_MISSING, requeueAfterMs: API_MISSING_RECHECK_MS }
    const problem = checkClaimable(this.#o.settings, worker.metadata?.name ?? '')
    if (problem) return { state: RuntimeState.Failed, reason: SandboxReason.ClaimNameTooLong, message: problem }
    await ensureSandboxPool({ ...this.#o, pools: this.#o.caches.pools }, worker.metadata?.namespace ?? '')
    const o = seen.observation
    const credentials = this.#o.credentials ? await readCredentials(this.#o.kube, this.#o.credentials, worker) : OFF
    const hold = this.#o.credentials ? credentialsHold(credentials, this.#o.credentials) : undefined
    if (hold) {
      // No claim, no deps written without usable credentials; a runtime that exists is left as it is.
      if (o.state === SandboxState.Absent) return hold
      return { ...this.#report(o), warnings: [hold.message ?? ''], requeueAfterMs: hold.requeueAfterMs }
    }
    const status = await this.#drive(worker, seen, sandboxCredentialEnv(worker, credentials))
    const resync = earlier(status.requeueAfterMs, credentialsResync(credentials))
    return resync === undefined ? status : { ...status, requeueAfterMs: resync }
  }

  /** Drives an observed runtime towards Running, its credentials known and usable. */
  async #drive(worker: Worker, seen: Seen, system: SystemEnv): Promise<BackendStatus> {
    const o = seen.observation
    switch (o.state) {
      case SandboxState.Absent:
        return this.#claim(worker, system, 1)
      case SandboxState.Starting:
      case SandboxState.Running:
        await this.#deleteSandboxes(worker, o.stale)
        if (this.#drifted(worker, system, seen)) return this.#replace(worker, system, seen)
        return this.#keepFresh(worker, system, o, seen.claim)
      case SandboxState.Sleeping:
        // Resuming would wake the old image and labels: a changed spec needs a new claim.
        if (this.#drifted(worker, system, seen)) return this.#replace(worker, system, seen)
        return this.#resume(worker, system, o)
      case SandboxState.Terminating:
        return { ...this.#report(o), requeueAfterMs: SETTLE_RECHECK_MS }
      case SandboxState.Failed: {
        const wait = (o.retryAt ?? 0) - this.#o.clock.now()
        if (wait > 0) return { ...this.#report(o), requeueAfterMs: wait }
        this.#o.log.info({ worker: workerKey(worker), reason: o.reason, attempt: o.nextAttempt }, 're-claiming a sandbox after its backoff')
        this.#o.events?.record(worker, 'Warning', 'SandboxReclaim', `replacing the Worker's sandbox: ${o.message}`)
        const left = await this.#removeAll(worker, seen)
        if (left.state !== RuntimeState.NotFound) return left
        return this.#claim(worker, system, o.nextAttempt ?? 1)
      }
    }
  }

  async stop(worker: Worker): Promise<BackendStatus> {
    const seen = await this.#observe(worker)
    if (!seen) return { state: RuntimeState.NotFound, reason: SandboxReason.SandboxApiMissing, message: SANDBOX_API_MISSING }
    const { sandbox, state } = seen.observation
    const hibernatable = state !== SandboxState.Failed && state !== SandboxState.Terminating
    if (!this.#o.hibernate || !sandbox || !hibernatable) return this.#removeAll(worker, seen)
    await this.#deleteSandboxes(worker, seen.observation.stale)
    if (sandbox.spec?.paused !== true) {
      const now = metaTime(this.#o.clock.now())
      await this.#patchSandbox(worker, sandbox, { metadata: { annotations: { [ANNOTATION_LAST_PAUSED]: now } }, spec: { paused: true } }, 'hibernate')
      this.#o.log.info({ worker: workerKey(worker), sandbox: sandbox.metadata.name }, 'hibernated the sandbox')
    }
    this.#o.materializer.forget(worker)
    return { state: RuntimeState.Sleeping, reason: 'Hibernated', message: `Sandbox ${sandbox.metadata.namespace}/${sandbox.metadata.name} is hibernated` }
  }

  async delete(worker: Worker): Promise<BackendStatus> {
    const seen = await this.#observe(worker)
    const left = seen ? await this.#removeAll(worker, seen) : { state: RuntimeState.NotFound }
    // Only on Worker deletion (the finalizer's call): a Stopped Worker keeps its deps for its restart.
    if (left.state === RuntimeState.NotFound && worker.metadata?.deletionTimestamp) {
      const { removed, ownedBy } = await this.#o.materializer.removeDeps(worker)
      if (ownedBy) this.#o.log.info({ worker: workerKey(worker), owner: `${ownedBy.namespace}/${ownedBy.name}` }, "left the deps folder alone: it belongs to another Worker of the same name")
      else this.#o.log.info({ worker: workerKey(worker), objects: removed }, 'removed the Worker deps')
    }
    return left
  }

  #report(o: SandboxObservation): BackendStatus {
    return { state: SANDBOX_RUNTIME_STATE[o.state], reason: o.reason, message: o.message }
  }

  /**
   * Claim and label-matched Sandboxes, from the informer caches (plus a claim created here that the
   * cache has not shown yet); undefined when the sandbox API is not served at all.
   */
  async #observe(worker: Worker): Promise<Seen | undefined> {
    if (!(await this.#apiServed())) return undefined
    const namespace = worker.metadata?.namespace ?? ''
    const claim = this.#claimOf(namespace, claimName(this.#o.settings, worker.metadata?.name ?? ''))
    // The caches hold every Worker-labelled object, the upstream controller's too: this backend reads its own.
    const sandboxes = this.#o.caches.sandboxes.byOwner(workerKey(worker)).filter((s) => isOwnObject(s, this.#o.settings))
    return this.#seen(claim, sandboxes)
  }

  /**
   * The same, asked of the API server: right after deleting, the caches still show what was just
   * removed, and only the server can say it is gone (so a re-claim or replacement goes ahead in the
   * same pass, its attempt count and backoff intact). Removals are rare; claims are not.
   */
  async #observeLive(worker: Worker): Promise<Seen | undefined> {
    const namespace = worker.metadata?.namespace
    const name = claimName(this.#o.settings, worker.metadata?.name ?? '')
    const selector = labelSelector(workerSelector(this.#o.settings, worker.metadata?.name ?? ''))
    let sandboxes: Sandbox[]
    try {
      const list = await this.#o.kube.request<ObjectList<Sandbox>>({ method: 'GET', path: path(SandboxPlural.Sandbox, namespace), query: { labelSelector: selector } })
      sandboxes = list.items ?? []
    } catch (cause) {
      // A 404 on a collection means the resource type is not served: the CRDs are missing.
      if (isNotFound(cause)) return undefined
      throw sandboxApiError('list', 'Sandboxes', `${namespace}/${selector}`, cause)
    }
    const claim = await ignoreNotFound(this.#o.kube.request<SandboxClaim>({ method: 'GET', path: path(SandboxPlural.SandboxClaim, namespace, name) })).catch((cause) => {
      throw sandboxApiError('get', 'SandboxClaim', `${namespace}/${name}`, cause)
    })
    return this.#seen(claim, sandboxes)
  }

  #seen(claim: SandboxClaim | undefined, sandboxes: Sandbox[]): Seen {
    const observation = observeSandbox({
      claim,
      sandboxes,
      now: this.#o.clock.now(),
      claimTimeout: this.#o.settings.claimTimeout,
      backoff: this.#o.reclaimBackoff ?? RECLAIM_BACKOFF,
    })
    return { claim, sandboxes, observation }
  }

  /**
   * The cached claim, or the one this backend created moments ago while the cache catches up. Claim
   * names repeat (a re-claim reuses the name), so the cache only counts once it shows the very claim
   * created here (same uid): until then it may still hold the one just deleted.
   */
  #claimOf(namespace: string, name: string): SandboxClaim | undefined {
    const key = `${namespace}/${name}`
    const found = this.#o.caches.claims.get(name, namespace)
    const cached = isOwnObject(found, this.#o.settings) ? found : undefined
    const created = this.#created.get(key)
    if (!created) return cached
    const caughtUp = cached !== undefined && cached.metadata.uid === created.claim.metadata.uid
    if (caughtUp || this.#o.clock.now() - created.at > CREATED_MEMORY_MS) {
      this.#created.delete(key)
      return cached
    }
    return created.claim
  }

  /**
   * Keeps `claim` as created until the cache shows it. Entries are in creation order, so the expired
   * ones are dropped from the front here: a claim whose Worker is not reconciled again soon (the
   * next pass may be a token refresh an hour later) must not stay in memory until then.
   */
  #remember(key: string, claim: SandboxClaim): void {
    const now = this.#o.clock.now()
    for (const [k, v] of this.#created) {
      if (now - v.at <= CREATED_MEMORY_MS) break
      this.#created.delete(k)
    }
    this.#created.delete(key)
    this.#created.set(key, { claim: stripManagedFields(claim), at: now })
  }

  /** Whether the sandbox API is served (discovery, remembered for API_SERVED_MEMORY_MS once it is). */
  async #apiServed(): Promise<boolean> {
    const now = this.#o.clock.now()
    if (now < this.#servedUntil) return true
    let served: boolean
    try {
      served = await sandboxApiServed(this.#o.kube, SandboxPlural.SandboxClaim)
    } catch (cause) {
      throw sandboxApiError('discover', 'API', `${SANDBOX_GROUP}/${SANDBOX_VERSION}`, cause)
    }
    if (served) this.#servedUntil = now + API_SERVED_MEMORY_MS
    return served
  }

  /** The worker image: spec.image, else the default of spec.runtime, else the default. */
  #image(worker: Worker): string {
    return imageOf(worker, this.#o.images)
  }

  /**
   * The spec digest a claim for `worker` carries now (see ANNOTATION_SPEC_HASH). The env file holds
   * the credentials (`system`), so a changed credential Secret replaces the sandbox like `spec.env`.
   */
  #specHash(worker: Worker, system: SystemEnv): string {
    const envFile = this.#o.materializer.renderEnv(worker, system).file
    return claimSpecHash({ uid: worker.metadata?.uid ?? '', image: this.#image(worker), labels: claimLabels(this.#o.settings, worker), envFile })
  }

  /** True when the runtime records a spec digest and it is not the current one. */
  #drifted(worker: Worker, system: SystemEnv, seen: Seen): boolean {
    const recorded = recordedSpecHash(seen.claim, seen.observation.sandbox)
    return recorded !== undefined && recorded !== this.#specHash(worker, system)
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
    const claim = desiredSandboxClaim(this.#o.settings, { worker, image: this.#image(worker), attempt, specHash: this.#specHash(worker, system) })
    const ref = `${claim.metadata.namespace}/${claim.metadata.name}`
    let stored: SandboxClaim = claim
    try {
      stored = (await this.#o.kube.request<SandboxClaim>({ method: 'POST', path: path(SandboxPlural.SandboxClaim, claim.metadata.namespace), body: claim })) ?? claim
      this.#remember(ref, stored)
    } catch (cause) {
      if (!isAlreadyExists(cause)) throw sandboxApiError('create', 'SandboxClaim', ref, cause)
    }
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
      ...this.#report(this.#seen(stored, []).observation),
      warnings: [...delivery.warnings, ...(dropped ? [dropped] : [])],
      requeueAfterMs: Math.max(0, delivery.refreshAt - this.#o.clock.now()),
      depsDelivered: true,
      eventRecorded: true,
    }
  }

  /** A running or starting runtime: rewrite the token when its refresh time has come. */
  async #keepFresh(worker: Worker, system: SystemEnv, o: SandboxObservation, claim: SandboxClaim | undefined): Promise<BackendStatus> {
    const now = this.#o.clock.now()
    let refreshAt = this.#o.materializer.refreshAt(worker)
    if (refreshAt === undefined) {
      // This process never delivered the Worker's token (it just started): keep the stored one while it is good.
      refreshAt = await this.#o.materializer.adoptStoredToken(worker)
      if (refreshAt !== undefined) this.#o.log.debug({ worker: workerKey(worker), nextRefreshInMs: refreshAt - now }, 'kept the stored auth token')
    }
    const warnings: string[] = []
    if (refreshAt === undefined || now >= refreshAt) {
      try {
        refreshAt = await this.#o.materializer.refreshToken(worker)
        this.#o.log.info({ worker: workerKey(worker), nextRefreshInMs: refreshAt - now }, 'rewrote the auth token')
      } catch (error) {
        if (!(error instanceof DepsError)) throw error
        // The current token may still be valid: keep the runtime, say so, try again soon.
        warnings.push(`could not refresh the auth token (${error.reason}): ${error.message}`)
        refreshAt = now + TOKEN_RETRY_MS
      }
    }
    // The claim exists, so its deps were delivered before it (a failed refresh is only a warning).
    // The unused spec.env entries stay in the message for as long as they are in the spec.
    warnings.unshift(...this.#o.materializer.renderEnv(worker, system).warnings)
    const dropped = droppedAttributesWarning(this.#o.settings, worker, claim)
    if (dropped) warnings.push(dropped)
    return { ...this.#report(o), warnings, requeueAfterMs: Math.max(0, refreshAt - now), depsDelivered: true }
  }

  /** Wake a hibernated Sandbox: fresh deps first, then `spec.paused: false`. */
  async #resume(worker: Worker, system: SystemEnv, o: SandboxObservation): Promise<BackendStatus> {
    const sandbox = o.sandbox as Sandbox
    const delivery = await this.#o.materializer.materialize(worker, system)
    await this.#patchSandbox(worker, sandbox, { spec: { paused: false } }, 'resume')
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

  /** Deletes the claim and every label-matched Sandbox; NotFound once nothing is left. */
  async #removeAll(worker: Worker, seen: Seen): Promise<BackendStatus> {
    const namespace = worker.metadata?.namespace
    if (seen.claim && !seen.claim.metadata.deletionTimestamp) {
      const name = seen.claim.metadata.name
      // The uid precondition: never the claim of a later attempt that took the same name.
      const body = { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: seen.claim.metadata.uid } }
      await ignoreNotFound(this.#o.kube.request({ method: 'DELETE', path: path(SandboxPlural.SandboxClaim, namespace, name), body })).catch((cause) => {
        throw sandboxApiError('delete', 'SandboxClaim', `${namespace}/${name}`, cause)
      })
      this.#o.log.info({ worker: workerKey(worker), claim: name }, 'deleted the SandboxClaim')
    }
    if (seen.claim) this.#created.delete(`${seen.claim.metadata.namespace ?? namespace}/${seen.claim.metadata.name}`)
    await this.#deleteSandboxes(worker, seen.sandboxes.filter((s) => !s.metadata.deletionTimestamp))
    this.#o.materializer.forget(worker)
    const after = await this.#observeLive(worker)
    if (!after || after.observation.state === SandboxState.Absent) return { state: RuntimeState.NotFound }
    const left = [...(after.claim ? [`SandboxClaim ${after.claim.metadata.name}`] : []), ...after.sandboxes.map((s) => `Sandbox ${s.metadata.name}`)]
    return { state: RuntimeState.Stopping, reason: SandboxReason.SandboxDeleting, message: `waiting for ${left.join(', ')} to be deleted`, requeueAfterMs: SETTLE_RECHECK_MS }
  }

  async #deleteSandboxes(worker: Worker, sandboxes: readonly Sandbox[]): Promise<void> {
    for (const s of sandboxes) {
      const ref = `${s.metadata.namespace}/${s.metadata.name}`
      await ignoreNotFound(this.#o.kube.request({ method: 'DELETE', path: path(SandboxPlural.Sandbox, s.metadata.namespace, s.metadata.name) })).catch((cause) => {
        throw sandboxApiError('delete', 'Sandbox', ref, cause)
      })
      this.#o.log.info({ worker: workerKey(worker), sandbox: s.metadata.name }, 'deleted a sandbox')
    }
  }

  async #patchSandbox(worker: Worker, sandbox: Sandbox, body: unknown, verb: string): Promise<void> {
    const ref = `${sandbox.metadata.namespace}/${sandbox.metadata.name}`
    try {
      await this.#o.kube.request({ method: 'PATCH', path: path(SandboxPlural.Sandbox, sandbox.metadata.namespace, sandbox.metadata.name), contentType: PatchType.Merge, body })
    } catch (cause) {
      throw sandboxApiError(verb, 'Sandbox', ref, cause)
    }
  }
}
