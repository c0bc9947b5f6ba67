// Level-based reconcile of one Worker key (product.md §3, §8): re-read the Worker from the cache,
// finalizer first, then drive spec.state on the right backend. The transition rule is enforced
// against reality with api/backend-runtime.ts; "empty status.backendRuntime ⇒ pod" holds on every path.

import type { Logger } from 'pino'
import { desiredState } from '../api/defaults.ts'
import { appliedBackendRuntime, checkBackendSwitch, desiredBackendRuntime, type Verdict } from '../api/backend-runtime.ts'
import { BackendRuntime, ConditionType, WorkerPhase, WorkerState, type BackendRuntime as Runtime, type Worker } from '../api/worker.ts'
import { type Backend, type BackendRegistry, type BackendStatus, DepsError, RuntimeState, type RuntimeNaming, workerKey } from './backend.ts'
import type { Clock } from './clock.ts'
import { type Result, TerminalError } from './controller.ts'
import { EventReason, type EventRecorder } from './events.ts'
import { addFinalizer, hasFinalizer, removeFinalizer } from './finalizer.ts'
import { isInvalid } from './kube.ts'
import type { KubeClient } from './kube.ts'
import { deleteServiceAccount } from './service-account.ts'
import { type ConditionInput, nextStatus, recordBackendRuntime, statusChanged, type StatusInput, writeStatus } from './status.ts'

export interface WorkerReconcilerDeps {
  kube: KubeClient
  /** The Worker cache (never mutated). */
  workers: { get(name: string, namespace?: string): Worker | undefined }
  backends: BackendRegistry
  naming: RuntimeNaming
  defaultBackendRuntime: Runtime
  events: EventRecorder
  clock: Clock
  log: Logger
}

/** Re-check transitional states this often even without a watch event (a safety net, not the trigger). */
export const TRANSITION_RECHECK_MS = 30_000
/** Look again for a backend that was not available (it may be registered after a restart). */
export const UNAVAILABLE_RECHECK_MS = 60_000

const NOTHING: BackendStatus = { state: RuntimeState.NotFound }

/** Builds the reconcile function of the Worker controller. */
export function createWorkerReconciler(deps: WorkerReconcilerDeps): (key: string) => Promise<Result> {
  return (key) => reconcileWorker(key, deps)
}

/** One pass over Worker `key` (`namespace/name`). */
export async function reconcileWorker(key: string, d: WorkerReconcilerDeps): Promise<Result> {
  const slash = key.indexOf('/')
  const cached = d.workers.get(key.slice(slash + 1), key.slice(0, slash) || undefined)
  if (!cached) return {}
  if (cached.metadata?.deletionTimestamp) return finalize(cached, d)
  const worker = await addFinalizer(d.kube, cached)
  switch (desiredState(worker)) {
    case WorkerState.Sleeping:
      return putAway(worker, d, WorkerState.Sleeping)
    case WorkerState.Stopped:
      return putAway(worker, d, WorkerState.Stopped)
    default:
      return run(worker, d)
  }
}

function switchCondition(worker: Worker, verdict: Verdict, d: WorkerReconcilerDeps): ConditionInput {
  if (!verdict.allowed) return { type: ConditionType.BackendSwitchBlocked, status: 'True', reason: 'RuntimeStillExists', message: verdict.message }
  const applied = appliedBackendRuntime(worker)
  const desired = desiredBackendRuntime(worker, d.defaultBackendRuntime)
  if (applied === undefined || applied === desired) return { type: ConditionType.BackendSwitchBlocked, status: 'False', reason: 'NoSwitchPending', message: '' }
  return { type: ConditionType.BackendSwitchBlocked, status: 'False', reason: 'SwitchAllowed', message: `nothing of the Worker exists on the ${applied} backend any more; it moves to ${desired} when it runs` }
}

function ready(status: 'True' | 'False', reason: string, message = ''): ConditionInput {
  return { type: ConditionType.Ready, status, reason, message }
}

/** The phase of a Worker that should run, from its runtime's state. */
function runningPhase(state: BackendStatus['state']): string {
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

function message(status: BackendStatus): string {
  return [status.message, ...(status.warnings ?? [])].filter(Boolean).join('; ')
}

function unavailableMessage(runtime: string): string {
  return `the ${runtime} backend is not available in this controller (disabled, or its API is not installed); the Worker cannot be driven on it`
}

/** Desired Running: create or keep the runtime on the desired backend, unless the switch is blocked. */
async function run(worker: Worker, d: WorkerReconcilerDeps): Promise<Result> {
  const applied = appliedBackendRuntime(worker)
  const appliedBackend = applied === undefined ? undefined : d.backends.get(applied)
  if (applied !== undefined && !appliedBackend) return unavailable(worker, d, applied)
  const current = appliedBackend ? await appliedBackend.status(worker) : NOTHING
  const verdict = checkBackendSwitch(worker, { defaultBackendRuntime: d.defaultBackendRuntime, appliedRuntimeExists: current.state !== RuntimeState.NotFound })
  if (!verdict.allowed) {
    // Leave the running runtime exactly as it is; only tell the user.
    const phase = runningPhase(current.state)
    const readiness = phase === WorkerPhase.Running ? ready('True', 'Running') : ready('False', current.reason ?? phase)
    await report(worker, d, { phase, message: verdict.message, conditions: [readiness, switchCondition(worker, verdict, d)] })
    return requeue(undefined, current)
  }
  const target = desiredBackendRuntime(worker, d.defaultBackendRuntime)
  const backend = d.backends.get(target)
  if (!backend) return unavailable(worker, d, target)
  // Race closure (product.md §3): record the backend before any runtime object exists on it.
  const recorded = worker.status?.backendRuntime === target ? worker : await recordBackendRuntime(d.kube, worker, target)
  const before = target === applied ? current : await backend.status(recorded)
  let after: BackendStatus
  try {
    after = await backend.create(recorded)
  } catch (error) {
    return createFailed(recorded, d, target, error)
  }
  if (before.state === RuntimeState.NotFound && after.state !== RuntimeState.NotFound && !after.eventRecorded) {
    d.events.record(recorded, 'Normal', EventReason.RuntimeCreated, `created the Worker's runtime on the ${target} backend`)
  }
  const phase = runningPhase(after.state)
  const conditions = [
    phase === WorkerPhase.Running ? ready('True', 'Running') : ready('False', after.reason ?? phase, after.message ?? ''),
    switchCondition(recorded, { allowed: true }, d),
  ]
  // Only the backend knows whether the deps reached the runtime; otherwise the condition keeps its value.
  if (after.depsDelivered) conditions.push({ type: ConditionType.DepsMaterialized, status: 'True', reason: 'Delivered', message: `env and token delivered by the ${target} backend` })
  await report(recorded, d, { phase, backendRuntime: target, message: message(after), conditions })
  return requeue(phase === WorkerPhase.Running ? undefined : TRANSITION_RECHECK_MS, after)
}

/** The earlier of our own recheck and the backend's request (none: wait for the next change). */
function requeue(own: number | undefined, status: BackendStatus): Result {
  const wanted = [own, status.requeueAfterMs].filter((v): v is number => v !== undefined && v >= 0)
  return wanted.length === 0 ? {} : { requeueAfterMs: Math.min(...wanted) }
}

async function createFailed(worker: Worker, d: WorkerReconcilerDeps, target: string, error: unknown): Promise<Result> {
  if (error instanceof DepsError) {
    await report(worker, d, {
      phase: WorkerPhase.Pending,
      backendRuntime: target,
      message: error.message,
      conditions: [ready('False', 'DepsNotMaterialized', error.message), { type: ConditionType.DepsMaterialized, status: 'False', reason: error.reason, message: error.message }],
    })
    throw error
  }
  if (isInvalid(error)) {
    // The API server rejected what the spec produced: retrying the same spec cannot succeed.
    const text = (error as Error).message
    await report(worker, d, { phase: WorkerPhase.Failed, backendRuntime: target, message: text, conditions: [ready('False', 'InvalidSpec', text)] })
    throw new TerminalError(text, { cause: error })
  }
  throw error
}

/** Desired Sleeping or Stopped: act on the applied backend only (empty ⇒ pod), never stamp the desired one. */
async function putAway(worker: Worker, d: WorkerReconcilerDeps, state: typeof WorkerState.Sleeping | typeof WorkerState.Stopped): Promise<Result> {
  const done = state === WorkerState.Sleeping ? WorkerPhase.Sleeping : WorkerPhase.Stopped
  const applied = appliedBackendRuntime(worker)
  const backend = applied === undefined ? undefined : d.backends.get(applied)
  if (applied !== undefined && !backend) return unavailable(worker, d, applied)
  let after = backend ? await backend.status(worker) : NOTHING
  if (backend && state === WorkerState.Sleeping && after.state !== RuntimeState.NotFound && after.state !== RuntimeState.Sleeping) {
    after = await backend.stop(worker)
  } else if (backend && state === WorkerState.Stopped && (after.state !== RuntimeState.NotFound || worker.status?.phase !== WorkerPhase.Stopped)) {
    after = await backend.delete(worker)
  }
  const settled = after.state === RuntimeState.NotFound || (state === WorkerState.Sleeping && after.state === RuntimeState.Sleeping)
  const phase = settled ? done : WorkerPhase.Stopping
  const verdict = checkBackendSwitch(worker, { defaultBackendRuntime: d.defaultBackendRuntime, appliedRuntimeExists: after.state !== RuntimeState.NotFound })
  await report(worker, d, { phase, message: settled ? '' : message(after), conditions: [ready('False', phase), switchCondition(worker, verdict, d)] })
  return requeue(settled ? undefined : TRANSITION_RECHECK_MS, after)
}

async function unavailable(worker: Worker, d: WorkerReconcilerDeps, runtime: string): Promise<Result> {
  const text = unavailableMessage(runtime)
  await report(worker, d, { phase: worker.status?.phase || WorkerPhase.Pending, message: text, conditions: [ready('False', 'BackendUnavailable', text)] })
  return { requeueAfterMs: UNAVAILABLE_RECHECK_MS }
}

/** Writes the status when it changed and records Events for the transitions a user cares about. */
async function report(worker: Worker, d: WorkerReconcilerDeps, input: StatusInput): Promise<void> {
  const now = new Date(d.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z')
  const next = nextStatus(worker, input, now)
  if (!statusChanged(worker, next)) return
  await writeStatus(d.kube, worker, next)
  const before = worker.status ?? {}
  const cond = (s: typeof before, type: string) => s.conditions?.find((c) => c.type === type)
  const blocked = cond(next, ConditionType.BackendSwitchBlocked)
  if (blocked?.status === 'True' && cond(before, ConditionType.BackendSwitchBlocked)?.status !== 'True') d.events.record(worker, 'Warning', EventReason.BackendSwitchBlocked, blocked.message)
  const readyNow = cond(next, ConditionType.Ready)
  if (readyNow?.reason === 'BackendUnavailable' && cond(before, ConditionType.Ready)?.reason !== 'BackendUnavailable') d.events.record(worker, 'Warning', EventReason.BackendUnavailable, readyNow.message)
  if (next.phase === before.phase) return
  const runtime = next.backendRuntime ?? appliedBackendRuntime(worker) ?? BackendRuntime.Pod
  if (next.phase === WorkerPhase.Running) d.events.record(worker, 'Normal', EventReason.Running, `the Worker is running on the ${runtime} backend`)
  if (next.phase === WorkerPhase.Sleeping) d.events.record(worker, 'Normal', EventReason.Sleeping, 'the Worker is sleeping')
  if (next.phase === WorkerPhase.Stopped) d.events.record(worker, 'Normal', EventReason.Stopped, 'the Worker is stopped; its runtime is gone')
  if (next.phase === WorkerPhase.Failed) d.events.record(worker, 'Warning', EventReason.Failed, next.message ?? 'the Worker failed')
}

/**
 * Deletion: clean up on the applied backend (empty ⇒ pod), then let every other registered backend
 * remove what a Worker that moved between backends left there — its old env Secret on pod; its deps
 * (env and token in the store), claim and Sandboxes on sandbox — then remove the ServiceAccount and
 * release the Worker. Nothing records where a Worker has been, so every backend is asked.
 */
async function finalize(worker: Worker, d: WorkerReconcilerDeps): Promise<Result> {
  if (!hasFinalizer(worker)) return {}
  const applied = appliedBackendRuntime(worker) ?? BackendRuntime.Pod
  const backend: Backend | undefined = d.backends.get(applied)
  if (!backend) throw new Error(`clean up Worker ${workerKey(worker)}: ${unavailableMessage(applied)}; remove the finalizer by hand to delete it anyway`)
  const after = await backend.delete(worker)
  if (after.state !== RuntimeState.NotFound) return { requeueAfterMs: 1000 }
  for (const [name, other] of d.backends) {
    if (name === applied) continue
    const left = await other.delete(worker)
    if (left.state !== RuntimeState.NotFound) return { requeueAfterMs: 1000 }
  }
  await deleteServiceAccount(d.kube, d.naming, worker)
  d.events.record(worker, 'Normal', EventReason.CleanedUp, `removed the Worker's runtime from the ${applied} backend and its ServiceAccount`)
  await removeFinalizer(d.kube, worker)
  d.log.info({ worker: workerKey(worker) }, 'cleaned up; finalizer removed')
  return {}
}
