// Every runtime object of a Worker, this controller's own and the upstream controller's (docs/runtime-objects.md):
// the Pods, SandboxClaims and Sandboxes in the Worker's namespace and the configured legacy
// namespaces that are labelled `agentteams.io/worker=<name>` whatever their controller label, or,
// unlabelled, named `<prefix>worker-<name>` for a legacy prefix. The one-runtime-per-Worker invariant
// is checked against this set; the selection is exact, so nothing of another Worker is ever touched.

import type { KubeObject } from '../../api/meta.ts'
import { BackendRuntime, runtimeObjectName, type Worker } from '../../api/worker.ts'
import { isOwnObject, type RuntimeNaming, workerKey, workerKeyOf, workerLabel } from '../backend/contract.ts'
import { isConflict, isNotFound, type KubeClient, type ObjectList, resourcePath } from '../controller/kube.ts'

/** The kinds a Worker's runtime is made of, on either backend. */
export const RuntimeKind = { Pod: 'Pod', SandboxClaim: 'SandboxClaim', Sandbox: 'Sandbox' } as const
export type RuntimeKind = (typeof RuntimeKind)[keyof typeof RuntimeKind]

const REST: Record<RuntimeKind, { group: string; version: string; plural: string; backend: BackendRuntime }> = {
  Pod: { group: '', version: 'v1', plural: 'pods', backend: BackendRuntime.Pod },
  SandboxClaim: { group: 'agents.kruise.io', version: 'v1alpha1', plural: 'sandboxclaims', backend: BackendRuntime.Sandbox },
  Sandbox: { group: 'agents.kruise.io', version: 'v1alpha1', plural: 'sandboxes', backend: BackendRuntime.Sandbox },
}

/** One runtime object of a Worker. */
export interface RuntimeObject {
  kind: RuntimeKind
  /** The backend it runs the Worker on. */
  backend: BackendRuntime
  object: KubeObject
  /** Made by this controller (its `agentteams.io/controller` label). */
  own: boolean
  /**
   * In a legacy namespace, with no owner reference, while several Workers of this name live
   * elsewhere: it counts for each of them (nothing is created beside it) but none deletes it.
   */
  ambiguous: boolean
}

export interface RuntimeObjectsOptions {
  naming: RuntimeNaming
  /** Name prefixes of the upstream controller (AGENTTEAMS_LEGACY_PREFIXES). */
  legacyPrefixes: readonly string[]
  /** Namespaces besides the Worker's own (AGENTTEAMS_LEGACY_NAMESPACES). */
  legacyNamespaces: readonly string[]
  kube: KubeClient
  /** The kinds looked at: Pods always, the sandbox kinds when the sandbox backend is on. */
  kinds: readonly RuntimeKind[]
  /**
   * The informer cache holding the `kind` objects of `namespace` that carry the worker label,
   * indexed by `namespace/<label value>`; undefined when that kind is not watched there.
   */
  cache: (kind: RuntimeKind, namespace: string) => { byOwner(key: string): KubeObject[] } | undefined
  /** The namespaces of the Workers named `name` (from the Worker cache). */
  workerNamespaces: (name: string) => string[]
}

/** Typed failure: `<verb> <Kind> <ns/name>: <cause>`. */
export class RuntimeObjectError extends Error {
  override name = 'RuntimeObjectError'
}

/** `Pod team-a/hiclaw-worker-dave`, for messages. */
export function describeRuntimeObject(o: RuntimeObject): string {
  return `${o.kind} ${o.object.metadata?.namespace}/${o.object.metadata?.name}`
}

/**
 * False when an owner reference gives `obj` to something other than `worker`: a Worker with another
 * uid (a namesake elsewhere, an earlier incarnation), or a controller that is not a Worker (a
 * ReplicaSet; a SandboxSet holding an unclaimed pool Sandbox). A claimed Sandbox is controlled by
 * its SandboxClaim, which is fine: the claim itself is matched on its own.
 */
function ownerAllows(kind: RuntimeKind, obj: KubeObject, worker: Worker): boolean {
  for (const ref of obj.metadata?.ownerReferences ?? []) {
    if (ref.kind === 'Worker') {
      if (ref.uid !== worker.metadata?.uid) return false
      continue
    }
    if (ref.controller !== true) continue
    if (kind === RuntimeKind.Sandbox && ref.kind === 'SandboxClaim') continue
    return false
  }
  return true
}

const ownedByWorker = (obj: KubeObject, worker: Worker): boolean => (obj.metadata?.ownerReferences ?? []).some((r) => r.kind === 'Worker' && r.uid === worker.metadata?.uid)

/** Finds and removes the runtime objects of Workers (see the file header). */
export class RuntimeObjects {
  readonly #o: RuntimeObjectsOptions

  constructor(options: RuntimeObjectsOptions) {
    this.#o = options
  }

  /** `<prefix>worker-<name>` for this controller's prefix and every legacy one. */
  names(worker: Worker): Set<string> {
    const name = worker.metadata?.name ?? ''
    return new Set([this.#o.naming.resourcePrefix, ...this.#o.legacyPrefixes].map((p) => runtimeObjectName(p, name)))
  }

  /** The Worker's namespace first, then the legacy namespaces. */
  #namespaces(worker: Worker): string[] {
    const own = worker.metadata?.namespace ?? ''
    return [own, ...this.#o.legacyNamespaces.filter((n) => n !== own)]
  }

  /**
   * Classifies `obj` (found in `namespace`) for `worker`: undefined when it is not the Worker's.
   * An object in another namespace than the Worker's belongs to the namesake Worker of that
   * namespace when there is one; otherwise it is the Worker's, ambiguous when other Workers of the
   * name exist too and no owner reference settles it.
   */
  classify(kind: RuntimeKind, obj: KubeObject, worker: Worker, names: Set<string>): RuntimeObject | undefined {
    const name = worker.metadata?.name ?? ''
    const label = workerLabel(obj)
    if (label !== undefined ? label !== name : !names.has(obj.metadata?.name ?? '')) return undefined
    if (!ownerAllows(kind, obj, worker)) return undefined
    const namespace = obj.metadata?.namespace ?? ''
    let ambiguous = false
    if (namespace !== worker.metadata?.namespace && !ownedByWorker(obj, worker)) {
      const namesakes = this.#o.workerNamespaces(name)
      if (namesakes.includes(namespace)) return undefined
      ambiguous = namesakes.filter((n) => n !== worker.metadata?.namespace).length > 0
    }
    return { kind, backend: REST[kind].backend, object: obj, own: isOwnObject(obj, this.#o.naming), ambiguous }
  }

  /** The Worker's labelled runtime objects, from the informer caches: no request. */
  cached(worker: Worker): RuntimeObject[] {
    const found: RuntimeObject[] = []
    const names = this.names(worker)
    for (const namespace of this.#namespaces(worker)) {
      for (const kind of this.#o.kinds) {
        for (const obj of this.#o.cache(kind, namespace)?.byOwner(workerKeyOf(namespace, worker.metadata?.name ?? '')) ?? []) {
          const o = this.classify(kind, obj, worker, names)
          if (o) found.push(o)
        }
      }
    }
    return found
  }

  /**
   * Every runtime object of the Worker: the cached ones plus, asked of the API server by name, the
   * unlabelled ones named `<prefix>worker-<name>` (one request per kind, name and namespace). For
   * the moments that must not miss anything: before creating a runtime, before reporting Stopped.
   */
  async all(worker: Worker): Promise<RuntimeObject[]> {
    const found = this.cached(worker)
    const seen = new Set(found.map((o) => o.object.metadata?.uid))
    const names = this.names(worker)
    for (const namespace of this.#namespaces(worker)) {
      for (const kind of this.#o.kinds) {
        for (const name of names) {
          for (const obj of await this.#listByName(kind, namespace, name)) {
            if (seen.has(obj.metadata?.uid)) continue
            const o = this.classify(kind, obj, worker, names)
            if (o) found.push(o)
          }
        }
      }
    }
    return found
  }

  /**
   * Deletes each of `objects` that is not ambiguous and not already being deleted, with a uid
   * precondition (never a replacement that took the name). Gone already is fine.
   */
  async remove(worker: Worker, objects: readonly RuntimeObject[]): Promise<RuntimeObject[]> {
    const removed: RuntimeObject[] = []
    for (const o of objects) {
      const meta = o.object.metadata ?? {}
      if (o.ambiguous || meta.deletionTimestamp) continue
      const rest = REST[o.kind]
      const path = resourcePath({ ...rest, namespace: meta.namespace, name: meta.name })
      const body = { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: meta.uid } }
      try {
        await this.#o.kube.request({ method: 'DELETE', path, body })
        removed.push(o)
      } catch (cause) {
        // 404: gone; 409: the uid precondition failed, so the object looked at is gone too.
        if (!isNotFound(cause) && !isConflict(cause)) {
          throw new RuntimeObjectError(`delete ${o.kind} ${meta.namespace}/${meta.name} of Worker ${workerKey(worker)}: ${(cause as Error).message}`, { cause })
        }
      }
    }
    return removed
  }

  /** The `kind` objects named `name` in `namespace` (a list with a field selector: list rights suffice). */
  async #listByName(kind: RuntimeKind, namespace: string, name: string): Promise<KubeObject[]> {
    const path = resourcePath({ ...REST[kind], namespace })
    try {
      const list = await this.#o.kube.request<ObjectList<KubeObject>>({ method: 'GET', path, query: { fieldSelector: `metadata.name=${name}` } })
      return list?.items ?? []
    } catch (cause) {
      // A 404 on a collection: the kind is not served (the OpenKruise CRDs are not installed).
      if (isNotFound(cause)) return []
      throw new RuntimeObjectError(`list ${kind} ${namespace}/${name}: ${(cause as Error).message}`, { cause })
    }
  }
}
