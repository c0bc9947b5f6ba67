// The validating webhook for Workers: name length and enum checks on CREATE, enum checks plus the
// spec.backendRuntime transition rule (api/backend-runtime.ts, docs/backend-runtime.md) on UPDATE, and the
// sandbox backend's shorter name limit whenever a Worker is created for it or switched to it.
// Anything else — another kind, a subresource such as status, DELETE, CONNECT — is allowed untouched.

import { checkBackendRuntimeChange } from '../api/backend-runtime.ts'
import { validateSandboxWorkerName, validateWorkerFields, validateWorkerName } from '../api/validation.ts'
import { GROUP, KIND, type BackendRuntime, type Worker } from '../api/worker.ts'
import { type AdmissionRequest, type AdmissionResponse, Operation, allowed, denied, isMainResourceOf } from './admission.ts'

export interface ValidateWorkerOptions {
  /** The configured default of `spec.backendRuntime` (Config.defaultBackendRuntime). */
  defaultBackendRuntime: BackendRuntime
  /** The prefix of runtime object names (Config.resourcePrefix): the sandbox name limit depends on it. */
  resourcePrefix: string
}


/**
 * Judges one admission request. Denials are 403 Forbidden with the domain module's message
 * (several messages joined with "; "). On UPDATE an enum error that the stored Worker already had
 * is not repeated (ratcheting, as the API server does for CRD schemas since 1.30), so a finalizer
 * removal or a stop is never blocked by a value stored before this webhook existed.
 */
export function validateWorker(request: AdmissionRequest, options: ValidateWorkerOptions): AdmissionResponse {
  if (!isMainResourceOf(request, GROUP, KIND)) return allowed(request)
  const worker = request.object as Worker
  if (request.operation === Operation.Create) {
    const name = validateWorkerName(worker)
    // The sandbox limit is the shorter one; a name over both gets the general message only.
    if (name.length === 0) name.push(...validateSandboxWorkerName(worker, undefined, options))
    const messages = [...name, ...validateWorkerFields(worker)]
    return messages.length === 0 ? allowed(request) : denied(request, messages.join('; '))
  }
  if (request.operation !== Operation.Update) return allowed(request)
  const stored = request.oldObject as Worker
  const storedErrors = new Set(validateWorkerFields(stored))
  const messages = validateWorkerFields(worker).filter((m) => !storedErrors.has(m))
  const verdict = checkBackendRuntimeChange(stored, worker, options.defaultBackendRuntime)
  if (!verdict.allowed) messages.push(verdict.message)
  messages.push(...validateSandboxWorkerName(worker, stored, options))
  return messages.length === 0 ? allowed(request) : denied(request, messages.join('; '))
}
