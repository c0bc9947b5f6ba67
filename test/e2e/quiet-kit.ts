// Pieces of the "a pass that changes nothing writes nothing" proofs (docs/runtime-objects.md, docs/sandbox.md): an
// API client wrapper that counts the controller's writes by kind, a quiet window in which the
// Worker is touched (a label, as a user or a tool might) so that passes keep running while nothing
// the controller owns changes, and a wait until the API server publishes a CRD's new schema.

import type { ApiClient } from '../../localcluster/api-client.ts'
import type { KubeClient, KubeRequest } from '../../reconciler/controller/kube.ts'
import { eventually } from './reconciler-kit.ts'

/** How long a quiet window lasts: the "quiet minute-long window of passes". */
export const QUIET_WINDOW_MS = 60_000
/** How often the Worker is touched during a window (a pass each time). */
export const TOUCH_EVERY_MS = 2_000

export interface Write {
  at: number
  method: string
  path: string
}

/** Wraps the controller's API client; `writes` records every request that is not a read. */
export function countWrites(kube: KubeClient, writes: Write[]): KubeClient {
  return {
    close: () => kube.close(),
    async request<T>(request: KubeRequest): Promise<T> {
      const result = await kube.request<T>(request)
      if (request.method !== 'GET') writes.push({ at: Date.now(), method: request.method, path: request.path })
      return result
    },
  }
}

/** The writes to Worker status subresources. */
export const statusWrites = (writes: readonly Write[]) => writes.filter((w) => /\/workers\/[^/]+\/status$/.test(w.path))
/** The writes to SandboxSets (pools). */
export const poolWrites = (writes: readonly Write[]) => writes.filter((w) => /\/sandboxsets(\/|$)/.test(w.path))

/** Waits until `select(writes)` has had no new entry for `quietMs` (the controller settled). */
export async function settled(writes: readonly Write[], select: (w: readonly Write[]) => Write[], quietMs = 3_000): Promise<void> {
  await eventually(`no new write for ${quietMs} ms`, async () => {
    const last = select(writes).at(-1)?.at ?? 0
    return Date.now() - last >= quietMs ? true : undefined
  })
}

/**
 * Touches the Worker's metadata every TOUCH_EVERY_MS for `ms` (a label `touched=<n>`,
 * each a watch event and a pass) and returns how many touches were made.
 */
export async function touchWorker(api: ApiClient, workerPath: string, ms = QUIET_WINDOW_MS): Promise<number> {
  const end = Date.now() + ms
  let n = 0
  while (Date.now() < end) {
    const r = await api.request('PATCH', workerPath, { metadata: { labels: { touched: String(++n) } } }, { contentType: 'application/merge-patch+json' })
    if (r.status !== 200) throw new Error(`touch ${workerPath}: HTTP ${r.status} ${r.text}`)
    await new Promise((resolve) => setTimeout(resolve, Math.min(TOUCH_EVERY_MS, Math.max(0, end - Date.now()))))
  }
  return n
}

/** Waits until the API server's published OpenAPI v3 of `group/version` satisfies `ready`. */
export async function waitForPublished(api: ApiClient, group: string, version: string, what: string, ready: (doc: any) => boolean): Promise<void> {
  await eventually(`the published schema of ${group}/${version}: ${what}`, async () => {
    const r = await api.request('GET', `/openapi/v3/apis/${group}/${version}`)
    return r.status === 200 && ready(r.body) ? true : undefined
  })
}
