// Whether the OpenKruise Agents API is served (docs/architecture.md): asked through discovery,
// since its CRDs may be installed or removed while the controller runs. A "served" answer is
// trusted for a while (one request per period, not one per reconcile); "not served" never is.

import type { Clock } from '../controller/clock.ts'
import { isNotFound, type KubeClient } from '../controller/kube.ts'
import { sandboxApiError } from './api.ts'
import { SANDBOX_GROUP, SANDBOX_VERSION, SandboxPlural } from './objects.ts'

/** How long a discovery answer "the sandbox API is served" is trusted. */
export const API_SERVED_MEMORY_MS = 30_000

/** True when `plural` is served under agents.kruise.io/v1alpha1 (discovery); 404 → false. */
export async function sandboxApiServed(kube: KubeClient, plural: string): Promise<boolean> {
  try {
    const list = await kube.request<{ resources?: Array<{ name: string }> }>({ method: 'GET', path: `/apis/${SANDBOX_GROUP}/${SANDBOX_VERSION}` })
    return (list?.resources ?? []).some((r) => r.name === plural)
  } catch (error) {
    if (isNotFound(error)) return false
    throw error
  }
}

/** Discovery of the SandboxClaim API, remembered for API_SERVED_MEMORY_MS once it is served. */
export class SandboxApiDiscovery {
  readonly #kube: KubeClient
  readonly #clock: Clock
  readonly #memoryMs: number
  #servedUntil = 0

  constructor(kube: KubeClient, clock: Clock, memoryMs = API_SERVED_MEMORY_MS) {
    this.#kube = kube
    this.#clock = clock
    this.#memoryMs = memoryMs
  }

  /** Whether SandboxClaims are served; a failed discovery throws `discover API agents.kruise.io/v1alpha1: <cause>`. */
  async served(): Promise<boolean> {
    const now = this.#clock.now()
    if (now < this.#servedUntil) return true
    let served: boolean
    try {
      served = await sandboxApiServed(this.#kube, SandboxPlural.SandboxClaim)
    } catch (cause) {
      throw sandboxApiError('discover', 'API', `${SANDBOX_GROUP}/${SANDBOX_VERSION}`, cause)
    }
    if (served) this.#servedUntil = now + this.#memoryMs
    return served
  }
}
