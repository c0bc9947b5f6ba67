// Calls to the OpenKruise Agents API (agents.kruise.io/v1alpha1) share two things: the REST path
// of a resource, and how a failure is reported — `<verb> <Kind> <ns/name>: <cause>`, where an API
// error stays a KubeError so the controller keeps its code, reason and Retry-After.

import { KubeError, resourcePath } from '../controller/kube.ts'
import { SANDBOX_GROUP, SANDBOX_VERSION } from './objects.ts'

/** Typed failure of a sandbox API call whose cause is not an API error (a network failure): `<verb> <Kind> <ns/name>: <cause>`. */
export class SandboxBackendError extends Error {
  override name = 'SandboxBackendError'
}

/** The REST path of a collection (`name` unset) or of one object of `plural` in `namespace`. */
export function sandboxApiPath(plural: string, namespace: string | undefined, name?: string): string {
  return resourcePath({ group: SANDBOX_GROUP, version: SANDBOX_VERSION, plural, namespace, name })
}

/** `<verb> <Kind> <ref>: <cause>`; an API error stays a KubeError (code, reason, Retry-After kept for the controller). */
export function sandboxApiError(verb: string, kind: string, ref: string, cause: unknown): Error {
  const message = `${verb} ${kind} ${ref}: ${(cause as Error).message}`
  if (cause instanceof KubeError) return new KubeError(message, { code: cause.code, reason: cause.reason, retryAfterMs: cause.retryAfterMs }, { cause })
  return new SandboxBackendError(message, { cause })
}
