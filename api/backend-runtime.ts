// The spec.backendRuntime transition rule (docs/backend-runtime.md). It lives here and only here: the
// validating webhook checks it against the stored Worker, the reconciler checks it against what
// the applied backend reports, and both produce the same verdict and the same message.

import { type BackendRuntime, type Worker, BackendRuntime as Runtime, WorkerPhase } from './worker.ts'

/** Explicit result of a rule check: allowed, or denied with the message a user reads. */
export type Verdict = { allowed: true } | { allowed: false; message: string }

const ALLOWED: Verdict = Object.freeze({ allowed: true })

/** `spec.backendRuntime`, or the configured default when unset. */
export function desiredBackendRuntime(worker: Worker, defaultBackendRuntime: BackendRuntime): string {
  const value = worker.spec?.backendRuntime
  return value === undefined || value === '' ? defaultBackendRuntime : value
}

/**
 * The backend that holds (or is about to hold) the Worker's runtime resources:
 * `status.backendRuntime` when set; otherwise `pod` when the Worker has any `status.phase` (a
 * legacy Worker that a controller already ran as a pod); otherwise `undefined` (never run).
 */
export function appliedBackendRuntime(worker: Worker): string | undefined {
  const recorded = worker.status?.backendRuntime
  if (recorded !== undefined && recorded !== '') return recorded
  const phase = worker.status?.phase
  if (phase !== undefined && phase !== '') return Runtime.Pod
  return undefined
}

/** The runtime is gone only when `status.phase` is `Stopped`. */
export function isStopped(worker: Worker): boolean {
  return worker.status?.phase === WorkerPhase.Stopped
}

/** The facts the denial message is built from. */
export interface SwitchFacts {
  current: string
  desired: string
  /** `status.phase` of the stored Worker, or undefined when unset. */
  phase: string | undefined
  /** `status.backendRuntime` of the stored Worker, or undefined when unset (legacy). */
  recordedBackendRuntime: string | undefined
}

/**
 * The message for a blocked switch. The first clause keeps upstream's wording (HiClaw #988);
 * the rest tells the user exactly what to do.
 */
export function backendSwitchBlockedMessage(facts: SwitchFacts): string {
  const recorded = facts.recordedBackendRuntime
    ? `status.backendRuntime=${facts.recordedBackendRuntime}`
    : 'status.backendRuntime is unset, so the Worker counts as a legacy pod'
  return (
    `spec.backendRuntime cannot be changed until the Worker is Stopped; current=${facts.current}, desired=${facts.desired} ` +
    `(status.phase=${facts.phase || 'unset'}; ${recorded}). ` +
    'Set spec.state=Stopped, wait until status.phase is Stopped, then change spec.backendRuntime.'
  )
}

/**
 * The admission rule for an UPDATE from `oldWorker` (as stored) to `newWorker`. Denied when all
 * hold: the request changes the desired backend; the new desired backend differs from the applied
 * one; the Worker has an applied backend; and it is not Stopped. Everything else is allowed:
 * unrelated updates to a Worker that already has a mismatch, switching back to the applied
 * backend, any change while Stopped, any change before the first reconcile.
 */
export function checkBackendRuntimeChange(
  oldWorker: Worker,
  newWorker: Worker,
  defaultBackendRuntime: BackendRuntime,
): Verdict {
  const before = desiredBackendRuntime(oldWorker, defaultBackendRuntime)
  const after = desiredBackendRuntime(newWorker, defaultBackendRuntime)
  if (before === after) return ALLOWED
  const applied = appliedBackendRuntime(oldWorker)
  if (applied === undefined || applied === after) return ALLOWED
  if (isStopped(oldWorker)) return ALLOWED
  return {
    allowed: false,
    message: backendSwitchBlockedMessage({
      current: applied,
      desired: after,
      phase: oldWorker.status?.phase,
      recordedBackendRuntime: oldWorker.status?.backendRuntime || undefined,
    }),
  }
}

/**
 * The same rule against reality, for the reconciler (a webhook can be bypassed): a Worker whose
 * desired backend differs from its applied one may move only when the applied backend reports that
 * nothing of the Worker's runtime exists any more. `applied` is `appliedBackendRuntime(worker)`.
 */
export function checkBackendSwitch(worker: Worker, options: {
  defaultBackendRuntime: BackendRuntime
  /** Whether the applied backend still holds any runtime object of this Worker. */
  appliedRuntimeExists: boolean
}): Verdict {
  const desired = desiredBackendRuntime(worker, options.defaultBackendRuntime)
  const applied = appliedBackendRuntime(worker)
  if (applied === undefined || applied === desired || !options.appliedRuntimeExists) return ALLOWED
  return {
    allowed: false,
    message: backendSwitchBlockedMessage({
      current: applied,
      desired,
      phase: worker.status?.phase,
      recordedBackendRuntime: worker.status?.backendRuntime || undefined,
    }),
  }
}
