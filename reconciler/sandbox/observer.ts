// What exists of a Worker's sandbox runtime (docs/sandbox.md): its claim and its label-matched
// Sandboxes, read from the informer caches (plus a claim created here that the cache has not
// shown yet, claim-memory.ts), or asked of the API server right after a removal, and mapped to one
// observation (status.ts). Undefined whenever the sandbox API is not served at all.

import type { Worker } from '../../api/worker.ts'
import { isOwnObject, workerKey } from '../backend/contract.ts'
import type { BackoffPolicy } from '../controller/backoff.ts'
import type { Clock } from '../controller/clock.ts'
import { ignoreNotFound, isNotFound, type KubeClient, type ObjectList } from '../controller/kube.ts'
import type { SandboxApiDiscovery } from './api-discovery.ts'
import { sandboxApiError, sandboxApiPath } from './api.ts'
import type { CreatedClaims } from './claim-memory.ts'
import { claimName, labelSelector, type Sandbox, type SandboxClaim, SandboxPlural, type SandboxSettings, workerSelector } from './objects.ts'
import { observeSandbox, RECLAIM_BACKOFF, type SandboxObservation } from './status.ts'

/** The Worker's claim, its Sandboxes, and what they mean together. */
export interface Seen {
  claim: SandboxClaim | undefined
  sandboxes: Sandbox[]
  observation: SandboxObservation
}

/**
 * What the backend reads from the controller's informer caches instead of asking the API server on
 * every reconcile (watch.ts): its claim by name, its Sandboxes by owner, the pool by name.
 */
export interface SandboxObserverCaches {
  claims: { get(name: string, namespace?: string): SandboxClaim | undefined }
  sandboxes: { byOwner(key: string): Sandbox[] }
}

export interface SandboxObserverOptions {
  kube: KubeClient
  caches: SandboxObserverCaches
  settings: SandboxSettings
  clock: Clock
  discovery: SandboxApiDiscovery
  created: CreatedClaims
  reclaimBackoff?: BackoffPolicy | undefined
}

/** Observes Workers' sandbox runtimes. The caches hold every Worker-labelled object, the upstream controller's too: this reads its own. */
export class SandboxObserver {
  readonly #o: SandboxObserverOptions

  constructor(options: SandboxObserverOptions) {
    this.#o = options
  }

  /** From the caches: no request but the (remembered) discovery. */
  async cached(worker: Worker): Promise<Seen | undefined> {
    if (!(await this.#o.discovery.served())) return undefined
    const namespace = worker.metadata?.namespace ?? ''
    const name = claimName(this.#o.settings, worker.metadata?.name ?? '')
    const found = this.#o.caches.claims.get(name, namespace)
    const claim = this.#o.created.resolve(`${namespace}/${name}`, isOwnObject(found, this.#o.settings) ? found : undefined)
    const sandboxes = this.#o.caches.sandboxes.byOwner(workerKey(worker)).filter((s) => isOwnObject(s, this.#o.settings))
    return this.seen(claim, sandboxes)
  }

  /**
   * The same, asked of the API server: right after deleting, the caches still show what was just
   * removed, and only the server can say it is gone (so a re-claim or replacement goes ahead in the
   * same pass, its attempt count and backoff intact). Removals are rare; claims are not.
   */
  async live(worker: Worker): Promise<Seen | undefined> {
    const namespace = worker.metadata?.namespace
    const name = claimName(this.#o.settings, worker.metadata?.name ?? '')
    const selector = labelSelector(workerSelector(this.#o.settings, worker.metadata?.name ?? ''))
    let sandboxes: Sandbox[]
    try {
      const list = await this.#o.kube.request<ObjectList<Sandbox>>({ method: 'GET', path: sandboxApiPath(SandboxPlural.Sandbox, namespace), query: { labelSelector: selector } })
      sandboxes = list.items ?? []
    } catch (cause) {
      // A 404 on a collection means the resource type is not served: the CRDs are missing.
      if (isNotFound(cause)) return undefined
      throw sandboxApiError('list', 'Sandboxes', `${namespace}/${selector}`, cause)
    }
    const claim = await ignoreNotFound(this.#o.kube.request<SandboxClaim>({ method: 'GET', path: sandboxApiPath(SandboxPlural.SandboxClaim, namespace, name) })).catch((cause) => {
      throw sandboxApiError('get', 'SandboxClaim', `${namespace}/${name}`, cause)
    })
    return this.seen(claim, sandboxes)
  }

  /** The observation of `claim` and `sandboxes` now. */
  seen(claim: SandboxClaim | undefined, sandboxes: Sandbox[]): Seen {
    const observation = observeSandbox({
      claim,
      sandboxes,
      now: this.#o.clock.now(),
      claimTimeout: this.#o.settings.claimTimeout,
      backoff: this.#o.reclaimBackoff ?? RECLAIM_BACKOFF,
    })
    return { claim, sandboxes, observation }
  }
}
