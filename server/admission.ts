// AdmissionReview admission.k8s.io/v1 as a webhook's logic speaks it: the types and the response
// helpers, each built from the request so the uid cannot be forgotten (controller-runtime's
// pkg/webhook/admission/response.go is the model). Generic: it knows no Worker. The HTTP side (the
// envelope schema, the route plugin) is admission-route.ts.

import type { Operation as PatchOperation } from 'fast-json-patch'
import { type AdmissionResult, AdmissionResult as Result } from './metrics.ts'

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1'
export const ADMISSION_KIND = 'AdmissionReview'

/** `request.operation` values (k8s.io/api/admission/v1 Operation). */
export const Operation = { Create: 'CREATE', Update: 'UPDATE', Delete: 'DELETE', Connect: 'CONNECT' } as const
export type Operation = (typeof Operation)[keyof typeof Operation]

export interface GroupVersionKind { group: string; version: string; kind: string }
export interface GroupVersionResource { group: string; version: string; resource: string }

/** The request half of an AdmissionReview. `object`/`oldObject` are passed on exactly as sent. */
export interface AdmissionRequest<T = Record<string, unknown>> {
  uid: string
  kind: GroupVersionKind
  resource?: GroupVersionResource
  subResource?: string
  name?: string
  namespace?: string
  /** CREATE, UPDATE, DELETE or CONNECT; other strings are passed to the handler as they are. */
  operation: string
  userInfo?: Record<string, unknown>
  object?: T | null
  oldObject?: T | null
  dryRun?: boolean
  options?: unknown
  [field: string]: unknown
}

/** The metav1.Status subset the API server reads from a refusal. */
export interface ResultStatus { code: number; reason?: string; message: string }

/** The response half of an AdmissionReview. Build it only with the helpers below. */
export interface AdmissionResponse {
  uid: string
  allowed: boolean
  status?: ResultStatus
  patchType?: 'JSONPatch'
  /** base64 of an RFC 6902 JSON Patch array. */
  patch?: string
  warnings?: string[]
}

export interface AdmissionReview<T = Record<string, unknown>> {
  apiVersion: typeof ADMISSION_API_VERSION
  kind: typeof ADMISSION_KIND
  request: AdmissionRequest<T>
}

export interface AdmissionReviewAnswer {
  apiVersion: typeof ADMISSION_API_VERSION
  kind: typeof ADMISSION_KIND
  response: AdmissionResponse
}

// ---- response helpers: built from the request, so the uid cannot be forgotten ----

/** Allows the request unchanged. */
export function allowed(request: { uid: string }): AdmissionResponse {
  return { uid: request.uid, allowed: true }
}

/** Denies by a rule: code 403, reason Forbidden (controller-runtime `Denied`). */
export function denied(request: { uid: string }, message: string): AdmissionResponse {
  return { uid: request.uid, allowed: false, status: { code: 403, reason: 'Forbidden', message } }
}

/** Allows with a JSON Patch; with no operations it is `allowed` (no empty patch is ever sent). */
export function patched(request: { uid: string }, operations: readonly PatchOperation[]): AdmissionResponse {
  if (operations.length === 0) return allowed(request)
  const patch = Buffer.from(JSON.stringify(operations)).toString('base64')
  return { uid: request.uid, allowed: true, patchType: 'JSONPatch', patch }
}

/** metav1.StatusReason for the codes this server answers with (k8s.io/apimachinery metav1 types). */
const REASON_BY_CODE: Readonly<Record<number, string>> = { 400: 'BadRequest', 500: 'InternalError' }

/**
 * Refuses a request that could not be judged: 400 for a body that is not a valid review, 500 for
 * an unexpected failure. `request` is undefined when no uid could be read (the uid is then empty).
 */
export function errored(request: { uid?: unknown } | undefined, code: number, message: string): AdmissionResponse {
  const uid = typeof request?.uid === 'string' ? request.uid : ''
  const reason = REASON_BY_CODE[code]
  return { uid, allowed: false, status: reason ? { code, reason, message } : { code, message } }
}

/** Adds warnings (kubectl prints each as `Warning: ...`); none leaves the response as it is. */
export function withWarnings(response: AdmissionResponse, warnings: readonly string[]): AdmissionResponse {
  return warnings.length === 0 ? response : { ...response, warnings: [...(response.warnings ?? []), ...warnings] }
}

/** The metrics result of a response: errored for 400 and 5xx refusals, denied for any other. */
export function resultOf(response: AdmissionResponse): AdmissionResult {
  if (response.allowed) return response.patch ? Result.Patched : Result.Allowed
  const code = response.status?.code ?? 403
  return code === 400 || code >= 500 ? Result.Errored : Result.Denied
}

/** True when the request is about `group`/`kind` itself (not a subresource such as `status`). */
export function isMainResourceOf(request: AdmissionRequest, group: string, kind: string): boolean {
  return request.kind.group === group && request.kind.kind === kind && !request.subResource
}
