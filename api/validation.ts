// Field validation of a Worker: the enums of the fields this project owns (repeated from the CRD
// schema so the webhook can guard an upstream-installed CRD and name the field; never stricter than
// the installed CRD on fields it does not own, such as spec.runtime), and the name limits no schema
// states (the sandbox backend's depends on the configured resource prefix). Pure; returns messages.

import { desiredBackendRuntime } from './backend-runtime.ts'
import { BACKEND_RUNTIMES, BackendRuntime, LABEL_WORKER, runtimeObjectName, WORKER_STATES, type Worker } from './worker.ts'

/**
 * The longest Worker name: a label value has at most 63 characters (Kubernetes
 * `validation.LabelValueMaxLength`), and every runtime object carries the name as `agentteams.io/worker`.
 */
export const MAX_WORKER_NAME_LENGTH = 63

function checkEnum(path: string, value: unknown, allowed: readonly string[]): string | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value === 'string' && allowed.includes(value)) return undefined
  return `${path}: Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((v) => `"${v}"`).join(', ')}`
}

/**
 * Every enum violation in the fields this project owns (`spec.backendRuntime`, `spec.state`), one
 * message each naming the field; empty when valid. `spec.runtime` is upstream's: whatever the
 * installed CRD admits is admitted here (a runtime with no image of its own gets a warning from
 * the mutating webhook instead, api/images.ts).
 */
export function validateWorkerFields(worker: Worker): string[] {
  const spec = worker.spec ?? {}
  return [
    checkEnum('spec.backendRuntime', spec.backendRuntime, BACKEND_RUNTIMES),
    checkEnum('spec.state', spec.state, WORKER_STATES),
  ].filter((m): m is string => m !== undefined)
}

/**
 * Why a new Worker's `metadata.name` cannot work, one message; empty when it can. The API server
 * accepts names up to 253 characters, but every backend labels the Worker's runtime objects with
 * it, so a longer one would fail only later, on the backend. Names are immutable: check on CREATE.
 */
export function validateWorkerName(worker: Worker): string[] {
  const name = worker.metadata?.name
  if (typeof name !== 'string' || name.length <= MAX_WORKER_NAME_LENGTH) return []
  return [
    `metadata.name: Too long: ${JSON.stringify(name)} has ${name.length} characters, at most ${MAX_WORKER_NAME_LENGTH} are allowed: ` +
      `the name becomes the value of the ${LABEL_WORKER} label on the Worker's runtime objects (Pod, SandboxClaim, ...), and label values are limited to ${MAX_WORKER_NAME_LENGTH} characters`,
  ]
}

/**
 * The longest SandboxClaim name the sandbox backend can use: the OpenKruise Agents controller
 * writes the claim's name into a label on the Sandboxes it claims, and label values are limited
 * to 63 characters.
 */
export const MAX_CLAIM_NAME_LENGTH = 63

/**
 * Why a Worker of this name cannot run on the sandbox backend, one message; empty when it can.
 * Its SandboxClaim is named `<resourcePrefix>worker-<name>`, so with the default prefix
 * (`agentteams-`) a sandbox Worker's name has at most 45 characters. The webhook checks it when a
 * Worker is created for, or switched to, the sandbox backend; the backend checks it before claiming.
 */
export function validateSandboxName(worker: Worker, resourcePrefix: string): string[] {
  const name = worker.metadata?.name
  if (typeof name !== 'string') return []
  const claim = runtimeObjectName(resourcePrefix, name)
  if (claim.length <= MAX_CLAIM_NAME_LENGTH) return []
  const most = MAX_CLAIM_NAME_LENGTH - (claim.length - name.length)
  return [
    `metadata.name: Too long for the sandbox backend: ${JSON.stringify(name)} has ${name.length} characters, at most ${most} are allowed: ` +
      `its SandboxClaim would be named ${JSON.stringify(claim)} (${claim.length} characters, resource prefix ${JSON.stringify(resourcePrefix)}), ` +
      `and the sandbox API takes at most ${MAX_CLAIM_NAME_LENGTH}. Use a Worker name of at most ${most} characters, or spec.backendRuntime: pod`,
  ]
}

/**
 * The sandbox name limit at admission: judged when a Worker is created for the sandbox backend
 * (`stored` undefined) or moved to it from another backend. Names are immutable, so a Worker
 * already on sandbox is not judged again (a stop or a finalizer removal is never blocked).
 */
export function validateSandboxWorkerName(worker: Worker, stored: Worker | undefined, options: { defaultBackendRuntime: BackendRuntime; resourcePrefix: string }): string[] {
  const onSandbox = (w: Worker) => desiredBackendRuntime(w, options.defaultBackendRuntime) === BackendRuntime.Sandbox
  if (!onSandbox(worker) || (stored !== undefined && onSandbox(stored))) return []
  return validateSandboxName(worker, options.resourcePrefix)
}
