// What one pass over a Worker tells (docs/overview.md, docs/reconcile.md): its status, written only when it changed,
// with the Kubernetes Events for the transitions a user cares about; and when to look again.

import { appliedBackendRuntime } from '../../api/backend-runtime.ts'
import { metaTime } from '../../api/meta.ts'
import { BackendRuntime, ConditionType, WorkerPhase, type Worker } from '../../api/worker.ts'
import { type BackendStatus, RuntimeState } from '../backend/contract.ts'
import type { Clock } from '../controller/clock.ts'
import type { Result } from '../controller/controller.ts'
import { EventReason, type EventRecorder } from '../backend/events.ts'
import type { KubeClient } from '../controller/kube.ts'
import { type ConditionInput, nextStatus, statusChanged, type StatusInput, writeStatus } from './status.ts'
import type { PrunedFields } from './status-pruning.ts'

/** Re-check transitional states this often even without a watch event (a safety net, not the trigger). */
export const TRANSITION_RECHECK_MS = 30_000
/** Look again this soon while runtime objects are being deleted (unlabelled ones send no watch event). */
export const SETTLE_RECHECK_MS = 5_000

/** What reporting needs. */
export interface ReportDeps {
  kube: KubeClient
  events: EventRecorder
  clock: Clock
  /** The status fields the installed Worker CRD prunes: not compared, so never written in vain. */
  prunedStatus?: PrunedFields | undefined
}

/** The Ready condition. */
export function ready(status: 'True' | 'False', reason: string, message = ''): ConditionInput {
  return { type: ConditionType.Ready, status, reason, message }
}

/** The phase of a Worker that should run, from its runtime's state. */
export function runningPhase(state: BackendStatus['state']): string {
  switch (state) {
    case RuntimeState.Running:
      return WorkerPhase.Running
    case RuntimeState.Failed:
      return WorkerPhase.Failed
    case RuntimeState.Unknown:
      return WorkerPhase.Pending
    default:
      return WorkerPhase.Starting
  }
}

/** `[value]`, or `[]` for undefined: for optional list entries. */
export const optional = <T>(value: T | undefined): T[] => (value === undefined ? [] : [value])

/** The earlier of our own recheck and the backend's request (none: wait for the next change). */
export function requeue(own: number | undefined, status: BackendStatus): Result {
  const wanted = [own, status.requeueAfterMs].filter((v): v is number => v !== undefined && v >= 0)
  return wanted.length === 0 ? {} : { requeueAfterMs: Math.min(...wanted) }
}

/** Writes the status when it changed and records Events for the transitions a user cares about. */
export async function report(worker: Worker, d: ReportDeps, input: StatusInput): Promise<void> {
  const next = nextStatus(worker, input, metaTime(d.clock.now()))
  if (!statusChanged(worker, next, d.prunedStatus)) return
  await writeStatus(d.kube, worker, next, d.prunedStatus)
  const before = worker.status ?? {}
  const cond = (s: typeof before, type: string) => s.conditions?.find((c) => c.type === type)
  const blocked = cond(next, ConditionType.BackendSwitchBlocked)
  if (blocked?.status === 'True' && cond(before, ConditionType.BackendSwitchBlocked)?.status !== 'True') d.events.record(worker, 'Warning', EventReason.BackendSwitchBlocked, blocked.message)
  const adopted = cond(next, ConditionType.RuntimeAdopted)
  if (adopted?.status === 'True' && cond(before, ConditionType.RuntimeAdopted)?.status !== 'True') d.events.record(worker, 'Normal', EventReason.RuntimeAdopted, adopted.message)
  if (adopted?.reason === 'ForeignRuntimeBeside' && cond(before, ConditionType.RuntimeAdopted)?.reason !== 'ForeignRuntimeBeside') d.events.record(worker, 'Warning', EventReason.ForeignRuntimeBeside, adopted.message)
  const readyNow = cond(next, ConditionType.Ready)
  if (readyNow?.reason === 'BackendUnavailable' && cond(before, ConditionType.Ready)?.reason !== 'BackendUnavailable') d.events.record(worker, 'Warning', EventReason.BackendUnavailable, readyNow.message)
  if (next.phase === before.phase) return
  const runtime = next.backendRuntime ?? appliedBackendRuntime(worker) ?? BackendRuntime.Pod
  if (next.phase === WorkerPhase.Running) d.events.record(worker, 'Normal', EventReason.Running, `the Worker is running on the ${runtime} backend`)
  if (next.phase === WorkerPhase.Sleeping) d.events.record(worker, 'Normal', EventReason.Sleeping, 'the Worker is sleeping')
  if (next.phase === WorkerPhase.Stopped) d.events.record(worker, 'Normal', EventReason.Stopped, 'the Worker is stopped; its runtime is gone')
  if (next.phase === WorkerPhase.Failed) d.events.record(worker, 'Warning', EventReason.Failed, next.message ?? 'the Worker failed')
}
