// Defaults of a Worker's spec (docs/admission.md): what an unset field means, and the copy the
// mutating webhook writes back. Pure functions; the webhook turns the difference into a JSON Patch.

import { type BackendRuntime, type Worker, type WorkerState, WorkerState as State, isOneOf, WORKER_STATES } from './worker.ts'

export interface DefaultsOptions {
  /** The configured default for `spec.backendRuntime` (docs/operations.md; `pod` unless configured). */
  defaultBackendRuntime: BackendRuntime
}

/**
 * Returns a copy of `worker` with the spec defaults filled in: `spec.backendRuntime` ← the
 * configured default and `spec.state` ← `Running`. Fields that already have a value, and
 * everything outside `spec`, are left exactly as they are, so applying it twice changes nothing.
 */
export function defaultWorker(worker: Worker, options: DefaultsOptions): Worker {
  // Only spec's own fields change, so only spec is copied, and shallowly: what the fields hold
  // (however large or deep) is shared with the input, never walked.
  const copy: Worker = { ...worker }
  const spec = { ...(worker.spec ?? {}) }
  if (spec.backendRuntime === undefined || spec.backendRuntime === '') spec.backendRuntime = options.defaultBackendRuntime
  if (spec.state === undefined || spec.state === '') spec.state = State.Running
  copy.spec = spec
  return copy
}

/** The desired lifecycle: `spec.state`, or `Running` when unset or not a known state. */
export function desiredState(worker: Worker): WorkerState {
  const state = worker.spec?.state
  return isOneOf(WORKER_STATES, state) ? state : State.Running
}

/** The runtime identity: `spec.workerName`, or `metadata.name` when unset. */
export function workerName(worker: Worker): string {
  return worker.spec?.workerName || worker.metadata?.name || ''
}
