// Level-based reconcile of one Worker key (docs/backend-runtime.md, docs/reconcile.md, docs/runtime-objects.md): re-read the Worker from the
// cache, finalizer first, then drive spec.state on the right backend. The transition rule is enforced
// against reality with api/backend-runtime.ts; "empty status.backendRuntime ⇒ pod" holds on every
// path; and one runtime per Worker, ever: nothing is created while any runtime object of the Worker
// exists (the upstream controller's included, which are adopted as they are), and Stopped is
// reported only once none is left.

import type { Logger } from 'pino'
import { desiredState } from '../../api/defaults.ts'
import { runsElsewhere } from '../../api/placement.ts'
import { appliedBackendRuntime, checkBackendSwitch, desiredBackendRuntime, type Verdict } from '../../api/backend-runtime.ts'
import { BackendRuntime, ConditionType, WorkerPhase, WorkerState, type BackendRuntime as Runtime, type Worker } from '../../api/worker.ts'
import { type Backend, type BackendRegistry, type BackendStatus, DepsError, RuntimeState, type RuntimeNaming, workerKey } from '../backend/contract.ts'
import type { Clock } from '../controller/clock.ts'
import { type Result, TerminalError } from '../controller/controller.ts'
import { EventReason, type EventRecorder } from '../backend/events.ts'
import { besideCondition, releasedCondition } from './adoption.ts'
import { addFinalizer, hasFinalizer, removeFinalizer } from './finalizer.ts'
import { creationBlocked, leftMessage, removeForeign, runAdopted } from './foreign-runtimes.ts'
import { parseObjectKey } from '../controller/informer.ts'
import { isInvalid, type KubeClient } from '../controller/kube.ts'
import type { RuntimeObjects } from './runtime-objects.ts'
import { deleteServiceAccount, type ServiceAccountCache } from '../backend/service-account.ts'
import { type ConditionInput, recordBackendRuntime } from './status.ts'
import type { PrunedFields } from './status-pruning.ts'
import { optional, ready, report, requeue, runningPhase, SETTLE_RECHECK_MS, TRANSITION_RECHECK_MS } from './report.ts'

export interface WorkerReconcilerDeps {
  kube: KubeClient
  /** The Worker cache (never mutated). */
  workers: { get(name: string, namespace?: string): Worker | undefined }
  backends: BackendRegistry
  naming: RuntimeNaming
  defaultBackendRuntime: Runtime
  /** Every runtime object of a Worker, this controller's and the upstream controller's. */
  runtimes: RuntimeObjects
  /** The sandbox claim timeout (Go duration), for reading an adopted #988 claim. */
  claimTimeout: string
  /** This controller's ServiceAccounts (the informer cache): only those are deleted. */
  serviceAccounts?: ServiceAccountCache | undefined
  events: EventRecorder
  clock: Clock
  log: Logger
  /** The status fields the installed Worker CRD prunes (worker/status-pruning.ts), learned from writes. */
  prunedStatus?: PrunedFields | undefined
}

export { SETTLE_RECHECK_MS, TRANSITION_RECHECK_MS } from './report.ts'
/** Look again for a backend that was not available (it may be registered after a restart). */
export const UNAVAILABLE_RECHECK_MS = 60_000

const NOTHING: BackendStatus = { state: RuntimeState.NotFound }

/** Builds the reconcile function of the Worker controller. */
export function createWorkerReconciler(deps: WorkerReconcilerDeps): (key: string) => Promise<Result> {
  return (key) => reconcileWorker(key, deps)
}

/** One pass over Worker `key` (`namespace/name`). */
export async function reconcileWorker(key: string, d: WorkerReconcilerDeps): Promise<Result> {
  const { namespace, name } = parseObjectKey(key)
  const cached = d.workers.get(name, namespace)
  if (!cached) return {}
  if (cached.metadata?.deletionTimestamp) return finalize(cached, d)
  const worker = await addFinalizer(d.kube, cached)
  const elsewhere = runsElsewhere(worker)
  if (elsewhere) {
    // Upstream skips such a Worker's container entirely; so does this controller (docs/runtime-objects.md).
    await report(worker, d, { message: elsewhere, conditions: [{ type: ConditionType.Ready, status: 'Unknown', reason: 'RunsElsewhere', message: elsewhere }] })
    return {}
  }
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

function message(status: BackendStatus): string {
  return [status.message, ...(status.warnings ?? [])].filter(Boolean).join('; ')
}

function unavailableMessage(runtime: string): string {
  return `the ${runtime} backend is not available in this controller (disabled, or its API is not installed); the Worker cannot be driven on it`
}

/** Desired Running: create or keep the runtime on the desired backend, unless the switch is blocked. */
async function run(worker: Worker, d: WorkerReconcilerDeps): Promise<Result> {
  const found = d.runtimes.cached(worker)
  const foreign = found.filter((o) => !o.own)
  // Another controller's runtime is adopted, unless this controller's own already runs: then it is
  // a second runtime someone else made beside it, reported (never deleted unasked) instead.
  const ownRuns = found.some((o) => o.own && !o.object.metadata?.deletionTimestamp)
  if (foreign.length > 0 && !ownRuns) return runAdopted(worker, d, foreign)
  const beside = foreign.length > 0 ? besideCondition(foreign) : undefined
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
  const before = target === applied ? current : await backend.status(worker)
  if (before.state === RuntimeState.NotFound) {
    const held = await creationBlocked(worker, d, target)
    if (held) return held
  }
  // Race closure (docs/backend-runtime.md): record the backend before any runtime object exists on it.
  const recorded = worker.status?.backendRuntime === target ? worker : await recordBackendRuntime(d.kube, worker, target, d.prunedStatus)
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
    ...optional(beside ?? releasedCondition(recorded, `the adopted runtime is gone; the Worker runs on its own ${target} runtime`)),
  ]
  // Only the backend knows whether the deps reached the runtime; otherwise the condition keeps its value.
  if (after.depsDelivered) conditions.push({ type: ConditionType.DepsMaterialized, status: 'True', reason: 'Delivered', message: `env and token delivered by the ${target} backend` })
  await report(recorded, d, { phase, backendRuntime: target, message: [message(after), beside?.message ?? ''].filter(Boolean).join('; '), conditions })
  return requeue(phase === WorkerPhase.Running ? undefined : TRANSITION_RECHECK_MS, after)
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
  // Never Stopped while another controller's runtime object of the Worker exists: it goes too.
  const left = await removeForeign(worker, d, worker.status?.phase !== done)
  const ownSettled = after.state === RuntimeState.NotFound || (state === WorkerState.Sleeping && after.state === RuntimeState.Sleeping)
  const settled = ownSettled && left.length === 0
  const phase = settled ? done : WorkerPhase.Stopping
  const exists = after.state !== RuntimeState.NotFound || left.length > 0
  const verdict = checkBackendSwitch(worker, { defaultBackendRuntime: d.defaultBackendRuntime, appliedRuntimeExists: exists })
  const text = settled ? '' : [ownSettled ? '' : message(after), left.length > 0 ? leftMessage(left) : ''].filter(Boolean).join('; ')
  const conditions = [ready('False', phase), switchCondition(worker, verdict, d), ...optional(settled ? releasedCondition(worker, `the adopted runtime was removed (spec.state=${state})`) : undefined)]
  await report(worker, d, { phase, message: text, conditions })
  if (left.length > 0) return { requeueAfterMs: SETTLE_RECHECK_MS }
  return requeue(settled ? undefined : TRANSITION_RECHECK_MS, after)
}

async function unavailable(worker: Worker, d: WorkerReconcilerDeps, runtime: string): Promise<Result> {
  const text = unavailableMessage(runtime)
  await report(worker, d, { phase: worker.status?.phase || WorkerPhase.Pending, message: text, conditions: [ready('False', 'BackendUnavailable', text)] })
  return { requeueAfterMs: UNAVAILABLE_RECHECK_MS }
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
  if ((await removeForeign(worker, d, true)).length > 0) return { requeueAfterMs: SETTLE_RECHECK_MS }
  await deleteServiceAccount(d.kube, d.naming, worker, d.serviceAccounts)
  d.events.record(worker, 'Normal', EventReason.CleanedUp, `removed the Worker's runtime from the ${applied} backend and its ServiceAccount`)
  await removeFinalizer(d.kube, worker)
  d.log.info({ worker: workerKey(worker) }, 'cleaned up; finalizer removed')
  return {}
}
