// The mutating webhook for Workers: fills the spec defaults of docs/admission.md (api/defaults.ts) on
// a copy, diffs original → defaulted into a JSON Patch, and adds the warnings of docs/admission.md. Idempotent:
// a defaulted Worker yields no patch. Status is never touched; dryRun is handled the same.

import jsonpatch from 'fast-json-patch'
import { defaultWorker } from '../api/defaults.ts'
import { runtimeImageWarning, type WorkerImages } from '../api/images.ts'
import { BackendRuntime, GROUP, KIND, type Worker } from '../api/worker.ts'
import { type AdmissionRequest, type AdmissionResponse, Operation, allowed, isMainResourceOf, patched, withWarnings } from './admission.ts'

export interface MutateWorkerOptions {
  /** The configured default of `spec.backendRuntime` (Config.defaultBackendRuntime). */
  defaultBackendRuntime: BackendRuntime
  /** Whether this controller offers the sandbox backend (Config.sandboxEnabled). */
  sandboxEnabled: boolean
  /** The worker images by runtime (api/images.ts), to warn about a runtime with none of its own. */
  images: WorkerImages
}

/** Warning texts; kept under the 120 characters the AdmissionResponse docs ask for. */
export const WARNING_RESOURCES_IGNORED = 'spec.resources is ignored on the sandbox backend: the sandbox pool template sets the resources'
export const WARNING_SANDBOX_DISABLED = 'spec.backendRuntime is sandbox, but this controller has the sandbox backend disabled: the Worker will not run'

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The part of a Worker the defaulter may change: spec's own scalar fields. Diffing this instead of
 * the whole object keeps the JSON-patch library from walking (recursively) into a deep spec: a
 * spec nested thousands of levels deep — which kube-apiserver forwards — must get a patch, not a
 * stack overflow.
 */
function defaultable(worker: Worker): Record<string, unknown> {
  if (worker.spec === undefined) return {}
  if (worker.spec === null) return { spec: null }
  return { spec: Object.fromEntries(Object.entries(worker.spec).filter(([, value]) => typeof value !== 'object' || value === null)) }
}

/** The warnings of docs/admission.md, docs/runtime-objects.md for a defaulted Worker. */
export function workerWarnings(worker: Worker, options: MutateWorkerOptions): string[] {
  const warnings: string[] = []
  const image = runtimeImageWarning(worker, options.images)
  if (image) warnings.push(image)
  if (worker.spec?.backendRuntime !== BackendRuntime.Sandbox) return warnings
  if (worker.spec.resources !== undefined && worker.spec.resources !== null) warnings.push(WARNING_RESOURCES_IGNORED)
  if (!options.sandboxEnabled) warnings.push(WARNING_SANDBOX_DISABLED)
  return warnings
}

/**
 * Defaults a Worker on CREATE and UPDATE. A `spec` that is present but not an object is left for
 * the API server's schema validation (which runs after mutation) to reject with its own message.
 * Other kinds, subresources and operations are allowed untouched.
 */
export function mutateWorker(request: AdmissionRequest, options: MutateWorkerOptions): AdmissionResponse {
  if (!isMainResourceOf(request, GROUP, KIND)) return allowed(request)
  if (request.operation !== Operation.Create && request.operation !== Operation.Update) return allowed(request)
  const worker = request.object as Worker
  if (worker.spec !== undefined && worker.spec !== null && !isPlainObject(worker.spec)) return allowed(request)
  const defaulted = defaultWorker(worker, { defaultBackendRuntime: options.defaultBackendRuntime })
  const operations = jsonpatch.compare(defaultable(worker), defaultable(defaulted))
  return withWarnings(patched(request, operations), workerWarnings(defaulted, options))
}
