// Where the runtime objects of Workers are watched (docs/runtime-objects.md): every Pod, SandboxClaim and
// Sandbox carrying the `agentteams.io/worker` label in the reconciler's scope, and in each legacy
// namespace outside that scope (its own informers, kind `Pod@<namespace>`). Each object is indexed
// by `<its namespace>/<label>`; a change enqueues that Worker and, for an object in a legacy
// namespace, every Worker of that name (which one it belongs to is the reconcile's to decide).

import type { KubeObject } from '../../api/meta.ts'
import { workerKeyOf, workerLabel } from './contract.ts'

/** The namespaces runtime objects are watched in. */
export interface RuntimeWatchScope {
  /** The reconciler's watched namespace; undefined: all namespaces. */
  namespace: string | undefined
  /** AGENTTEAMS_LEGACY_NAMESPACES. */
  legacyNamespaces: readonly string[]
}

/** The legacy namespaces that need informers of their own (outside a single watched namespace). */
export function extraNamespaces(scope: RuntimeWatchScope): string[] {
  if (scope.namespace === undefined) return []
  return [...new Set(scope.legacyNamespaces)].filter((n) => n !== scope.namespace)
}

/** The source kind name of `kind` for one extra namespace. */
export function extraKind(kind: string, namespace: string): string {
  return `${kind}@${namespace}`
}

/** The source kind whose cache covers `kind` objects of `namespace`; undefined when none is watched there. */
export function scopedKind(kind: string, namespace: string, scope: RuntimeWatchScope): string | undefined {
  if (scope.namespace === undefined || scope.namespace === namespace) return kind
  return extraNamespaces(scope).includes(namespace) ? extraKind(kind, namespace) : undefined
}

/** The owner-index key of a runtime object: `<its namespace>/<worker label>`. */
export function runtimeIndexKeys(obj: KubeObject): string[] {
  const worker = workerLabel(obj)
  return worker ? [workerKeyOf(obj.metadata?.namespace ?? '', worker)] : []
}

/**
 * The Worker keys a change of a runtime object enqueues: its index key, plus, in a legacy
 * namespace, the keys `workerKeysNamed` gives for the label's name.
 */
export function runtimeEnqueueKeys(scope: RuntimeWatchScope, workerKeysNamed: (name: string) => string[]): (obj: KubeObject) => string[] {
  const legacy = new Set(scope.legacyNamespaces)
  return (obj) => {
    const keys = runtimeIndexKeys(obj)
    const worker = workerLabel(obj)
    if (!worker || !legacy.has(obj.metadata?.namespace ?? '')) return keys
    return [...new Set([...keys, ...workerKeysNamed(worker)])]
  }
}
