// The Worker's status (docs/overview.md, docs/reconcile.md): phase, backendRuntime, message, observedGeneration and
// the Ready / DepsMaterialized / BackendSwitchBlocked conditions. Computed as a whole, compared with
// what is stored, and written through the status subresource only when it changed.

import { type Condition, type Worker, type WorkerStatus, workerPath } from '../../api/worker.ts'
import { workerKey } from '../backend/contract.ts'
import { type KubeClient, PatchType } from '../controller/kube.ts'
import type { PrunedFields } from './status-pruning.ts'

/** A condition as the reconciler decides it; timestamps and generation are filled in here. */
export interface ConditionInput {
  type: string
  status: 'True' | 'False' | 'Unknown'
  reason: string
  message: string
  /**
   * The generation the condition was decided on; default the Worker's current one. RuntimeAdopted
   * keeps the generation of the adoption, so a later spec change can be told apart.
   */
  observedGeneration?: number | undefined
}

/** The status fields the reconciler owns. Conditions not listed are kept as they are. */
export interface StatusInput {
  /** Undefined: the stored phase stays (a Worker this controller runs nothing for). */
  phase?: string | undefined
  backendRuntime?: string | undefined
  message: string
  conditions: ConditionInput[]
}

/** Typed failure of a status write: `update status of Worker <ns/name>: <cause>` (409 → retried). */
export class StatusError extends Error {
  override name = 'StatusError'
}

/**
 * The status to store: `input` on top of the stored one. A condition keeps its
 * lastTransitionTime unless its status flips (metav1.Condition semantics).
 */
export function nextStatus(worker: Worker, input: StatusInput, now: string): WorkerStatus {
  const stored = worker.status ?? {}
  const generation = worker.metadata?.generation
  const old = new Map((stored.conditions ?? []).map((c) => [c.type, c]))
  const decided = new Set(input.conditions.map((c) => c.type))
  const conditions: Condition[] = input.conditions.map((c) => {
    const prev = old.get(c.type)
    const lastTransitionTime = prev && prev.status === c.status ? prev.lastTransitionTime : now
    const observed = c.observedGeneration ?? generation
    return { type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime, ...(observed !== undefined ? { observedGeneration: observed } : {}) }
  })
  for (const c of stored.conditions ?? []) if (!decided.has(c.type)) conditions.push(c)
  const status: WorkerStatus = { ...stored, message: input.message, conditions }
  if (input.phase !== undefined) status.phase = input.phase
  const backendRuntime = input.backendRuntime ?? stored.backendRuntime
  if (backendRuntime) status.backendRuntime = backendRuntime
  if (generation !== undefined) status.observedGeneration = generation
  if (status.message === '') delete status.message
  return status
}

/** JSON with object keys sorted at every level, so equal statuses compare equal. */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

function canonical(status: WorkerStatus): string {
  const conditions = [...(status.conditions ?? [])].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0))
  return stable({ ...status, message: status.message || undefined, conditions })
}

/**
 * True when writing `next` would change the stored status. Fields the server is known to prune
 * (`pruned`) are left out on both sides: writing them changes nothing the server keeps.
 */
export function statusChanged(worker: Worker, next: WorkerStatus, pruned?: PrunedFields): boolean {
  const kept = (s: WorkerStatus) => (pruned ? pruned.strip(s) : s)
  return canonical(kept(worker.status ?? {})) !== canonical(kept(next))
}

const statusPath = (worker: Worker) => workerPath(worker.metadata?.namespace, worker.metadata?.name ?? '', 'status')

/** One status merge patch; what the server kept of `status` teaches `pruned`. */
async function patchStatus(kube: KubeClient, worker: Worker, status: Record<string, unknown>, pruned: PrunedFields | undefined): Promise<Worker> {
  const body = { metadata: { resourceVersion: worker.metadata?.resourceVersion }, status }
  const stored = await kube.request<Worker>({ method: 'PATCH', path: statusPath(worker), contentType: PatchType.Merge, body })
  if (stored?.metadata) pruned?.learn(status, stored.status ?? {})
  return stored
}

/**
 * Writes `status` through the status subresource, based on the resourceVersion of `worker`
 * (a 409 means the Worker moved on: the caller re-reads and retries). Returns the stored Worker.
 */
export async function writeStatus(kube: KubeClient, worker: Worker, status: WorkerStatus, pruned?: PrunedFields): Promise<Worker> {
  try {
    // Merge patch: fields we dropped (an empty message) are removed with null; arrays are replaced whole.
    return await patchStatus(kube, worker, { ...status, message: status.message ?? null }, pruned)
  } catch (cause) {
    throw new StatusError(`update status of Worker ${workerKey(worker)}: ${(cause as Error).message}`, { cause })
  }
}

/**
 * Records `status.backendRuntime = runtime` alone, with the resourceVersion precondition, before
 * any runtime object is created there (docs/backend-runtime.md race closure). Returns the stored Worker.
 * On a CRD known to prune `status.backendRuntime` there is nothing to record (the write would
 * change nothing the server keeps), so `worker` is returned as it is and nothing is written.
 */
export async function recordBackendRuntime(kube: KubeClient, worker: Worker, runtime: string, pruned?: PrunedFields): Promise<Worker> {
  if (pruned?.has('backendRuntime')) return worker
  try {
    return await patchStatus(kube, worker, { backendRuntime: runtime }, pruned)
  } catch (cause) {
    throw new StatusError(`record backendRuntime ${runtime} of Worker ${workerKey(worker)}: ${(cause as Error).message}`, { cause })
  }
}
