// The metadata every Kubernetes object carries, as this project reads it: client-node's
// V1ObjectMeta (a type only; nothing of client-node is loaded) with its two timestamps as the RFC
// 3339 strings the API server sends. client-node types them as Date because its generated clients
// convert them; this project reads the JSON as it comes, where a Date would be a lie.

import type { V1ObjectMeta } from '@kubernetes/client-node'

/** Object metadata (metav1.ObjectMeta) as JSON: client-node's type, timestamps as strings. */
export type ObjectMeta = Omit<V1ObjectMeta, 'creationTimestamp' | 'deletionTimestamp'> & {
  creationTimestamp?: string
  deletionTimestamp?: string
}

/** Any Kubernetes object, as far as code that does not know its kind reads it. */
export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata?: ObjectMeta
}

/** metav1.Time of epoch milliseconds `ms`: RFC 3339 in UTC, whole seconds (`2026-11-29T10:00:00Z`). */
export function metaTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}
