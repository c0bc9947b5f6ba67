// Shared pieces of the fault tests that hit a burst of sandbox Workers: the burst itself (creates
// retried through an outage, as a user re-running `kubectl apply` would), the OpenKruise
// controller's part (bind a Sandbox to each new claim, idempotently, surviving outages), and the
// end-state audit a user would do: every Worker Running, one claim and one Sandbox each, deps
// exactly for the Workers that exist, nothing left of the deleted ones.

import { setTimeout as sleep } from 'node:timers/promises'
import type { ApiClient } from '../../localcluster/api-client.ts'
import type { S3Server } from '../harness/s3-server.ts'
import { workerManifest } from '../../localcluster/workers.ts'
import type { KubeObject } from '../../api/meta.ts'
import { workerPath, LABEL_WORKER, type Worker } from '../../api/worker.ts'
import { depsKeys } from '../../reconciler/deps/store.ts'
import type { Sandbox, SandboxClaim } from '../../reconciler/sandbox/objects.ts'
import { bindSandbox, claimPath, finishBind, sandboxPath } from '../e2e/sandbox-kit.ts'
import { condition, eventually, saPath, runtimeObjectName } from '../e2e/reconciler-kit.ts'

/** A sandbox Worker as a user writes it, with a secret-like env value for the log scans. */
export const BURST_SECRET = 'burst-env-secret-7c41d9'
export const sandboxWorker = (ns: string, name: string) => workerManifest(ns, name, { backendRuntime: 'sandbox', runtime: 'openclaw', env: { API_KEY: BURST_SECRET, LOG_LEVEL: 'info' } })

/** Names `<prefix>-00` … */
export const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`)

/**
 * Creates `workers`, `concurrency` at a time, each caller pausing `paceMs` between creates (so the
 * burst lasts long enough for a fault to land in it). A failed create (API server away) is retried
 * until the API server answers; 409 means an earlier attempt went through.
 */
export async function createBurst(api: ApiClient, ns: string, workers: readonly string[], concurrency: number, paceMs = 0): Promise<{ retries: number }> {
  let next = 0
  let retries = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < workers.length) {
      const name = workers[next++] as string
      for (let attempt = 1; ; attempt++) {
        const r = await api.request('POST', workerPath(ns), sandboxWorker(ns, name)).catch((e: Error) => ({ status: 0, text: e.message }))
        if (r.status === 201 || r.status === 409) break
        if (attempt > 600) throw new Error(`create Worker ${ns}/${name}: gave up after ${attempt} attempts (last: ${r.status} ${r.text.slice(0, 200)})`)
        retries++
        await sleep(250)
      }
      await sleep(paceMs)
    }
  }))
  return { retries }
}

/** Deletes a Worker, retrying through an outage; 404 counts as gone. */
export async function deleteWorker(api: ApiClient, ns: string, name: string): Promise<void> {
  for (let attempt = 1; attempt <= 600; attempt++) {
    const r = await api.request('DELETE', workerPath(ns, name)).catch(() => ({ status: 0 }))
    if (r.status === 200 || r.status === 202 || r.status === 404) return
    await sleep(250)
  }
  throw new Error(`delete Worker ${ns}/${name}: the API server never answered`)
}

const ok = (status: number) => status >= 200 && status < 300

/** The claim's Sandbox (by the provider's owner annotation), if one was bound already. */
async function boundSandbox(api: ApiClient, claim: SandboxClaim): Promise<Sandbox | undefined> {
  const r = await api.request('GET', `${sandboxPath(claim.metadata.namespace)}?labelSelector=${encodeURIComponent(`agents.kruise.io/claim-name=${claim.metadata.name}`)}`)
  if (!ok(r.status)) throw new Error(`list Sandboxes: HTTP ${r.status}`)
  return (r.body.items as Sandbox[]).find((s) => s.metadata.annotations?.['agents.kruise.io/owner'] === claim.metadata.uid)
}

export interface Provider {
  /** Claim uids the provider bound, per Worker: more than one means a claim was replaced. */
  readonly bound: Map<string, Set<string>>
  stop(): Promise<void>
}

/**
 * Plays the OpenKruise controller for `ns`: every claim without a Sandbox gets one (Running,
 * Ready) and is marked Completed. Idempotent per claim uid, so an outage in the middle of a bind
 * never yields a second Sandbox; errors wait for the next round.
 */
export function startProvider(api: ApiClient, ns: string): Provider {
  const bound = new Map<string, Set<string>>()
  let running = true
  const bind = async (claim: SandboxClaim) => {
    try {
      const sandbox = await boundSandbox(api, claim)
      if (!sandbox) await bindSandbox(api, claim)
      else await finishBind(api, claim, sandbox)
    } catch (error) {
      // The Worker (and so its claim) may have been deleted meanwhile: take back what we made.
      const gone = (await api.request('GET', claimPath(ns, claim.metadata.name))).status === 404
      const orphan = gone ? await boundSandbox(api, claim) : undefined
      if (orphan) await api.request('DELETE', sandboxPath(ns, orphan.metadata.name))
      if (!gone) throw error
    }
  }
  const loop = (async () => {
    while (running) {
      try {
        const list = await api.request('GET', claimPath(ns))
        for (const claim of ok(list.status) ? (list.body.items as SandboxClaim[]) : []) {
          if (claim.metadata.deletionTimestamp || claim.status?.phase === 'Completed') continue
          const worker = claim.metadata.labels?.[LABEL_WORKER] ?? ''
          await bind(claim)
          bound.set(worker, (bound.get(worker) ?? new Set()).add(claim.metadata.uid ?? ''))
        }
      } catch {
        // The API server is away: try again next round.
      }
      await sleep(300)
    }
  })()
  return { bound, stop: async () => ((running = false), await loop) }
}

export const getWorker = async (api: ApiClient, ns: string, name: string): Promise<Worker | undefined> => {
  const r = await api.request('GET', workerPath(ns, name))
  return r.status === 200 ? r.body : undefined
}

/** True when the Worker is what a user waits for: Running on the sandbox, deps delivered, Ready. */
export function converged(w: Worker | undefined): boolean {
  return w?.status?.phase === 'Running' && w.status.backendRuntime === 'sandbox' && condition(w, 'Ready')?.status === 'True' && condition(w, 'DepsMaterialized')?.status === 'True'
}

/** Waits until every live Worker converged and every deleted one is gone. */
export async function waitConverged(api: ApiClient, ns: string, live: readonly string[], deleted: readonly string[], timeoutMs = 120_000): Promise<void> {
  await eventually(`${live.length} Workers Running and ${deleted.length} deleted ones gone`, async () => {
    for (const name of live) if (!converged(await getWorker(api, ns, name))) return undefined
    for (const name of deleted) if (await getWorker(api, ns, name)) return undefined
    return true
  }, timeoutMs)
}

/** What a user would look for after the fault: duplicates, leftovers, orphans. Empty lists mean nothing was lost or doubled. */
export interface Audit {
  /** Live Workers without exactly one claim, or whose claim was replaced during the run. */
  claimProblems: string[]
  /** Live Workers without exactly one Sandbox. */
  sandboxProblems: string[]
  /** Deps objects that belong to no live Worker, and live Workers missing one. */
  depsProblems: string[]
  /** Claims, Sandboxes or ServiceAccounts left of deleted Workers. */
  leftovers: string[]
}

export async function audit(api: ApiClient, s3: S3Server, ns: string, live: readonly string[], deleted: readonly string[], provider: Provider): Promise<Audit> {
  const claims = (await api.request('GET', claimPath(ns))).body.items as SandboxClaim[]
  const sandboxes = (await api.request('GET', sandboxPath(ns))).body.items as Sandbox[]
  const of = (items: KubeObject[], name: string) => items.filter((o) => o.metadata?.labels?.[LABEL_WORKER] === name).length
  const keys = new Set(await s3.listKeys('workers-deps/'))
  const mine = [...live, ...deleted]
  const prefix = (k: string) => mine.some((n) => k.startsWith(`workers-deps/${n}/`))
  // env, token and the owner record the reconciler writes with them (reconciler/deps/owner.ts).
  const expected = new Set(live.flatMap((n) => [depsKeys(n).env, depsKeys(n).token, depsKeys(n).owner]))
  const result: Audit = { claimProblems: [], sandboxProblems: [], depsProblems: [], leftovers: [] }
  for (const name of live) {
    if (of(claims, name) !== 1) result.claimProblems.push(`${name}: ${of(claims, name)} claims`)
    if ((provider.bound.get(name)?.size ?? 0) > 1) result.claimProblems.push(`${name}: its claim was replaced (${provider.bound.get(name)?.size} claims over the run)`)
    if (of(sandboxes, name) !== 1) result.sandboxProblems.push(`${name}: ${of(sandboxes, name)} Sandboxes`)
  }
  for (const key of keys) if (prefix(key) && !expected.has(key)) result.depsProblems.push(`orphaned ${key}`)
  for (const key of expected) if (!keys.has(key)) result.depsProblems.push(`missing ${key}`)
  for (const name of deleted) {
    if (of(claims, name) > 0) result.leftovers.push(`${name}: claim`)
    if (of(sandboxes, name) > 0) result.leftovers.push(`${name}: Sandbox`)
    if ((await api.request('GET', saPath(ns, runtimeObjectName(name)))).status !== 404) result.leftovers.push(`${name}: ServiceAccount`)
  }
  return result
}
