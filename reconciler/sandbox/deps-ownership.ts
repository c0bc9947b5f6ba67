// Whose a deps folder is (docs/deps.md): `workers-deps/<worker>/` is keyed by the Worker's name
// alone, so same-named Workers of two namespaces would share it. Before writing, the folder is
// claimed for the Worker: refused while another live Worker owns it, taken over when its recorded
// owner is gone; before removing, the recorded owner is read. Callers hold the folder's lock.

import { type Worker, workerPath } from '../../api/worker.ts'
import { ignoreNotFound, type KubeClient } from '../controller/kube.ts'
import { decodeOwner, type DepsOwner, encodeOwner, ownerOf } from '../deps/owner.ts'
import type { DepsKeys, DepsStore } from '../deps/store.ts'
import { depsFailure, DepsReason, type DepsVerb, storeReason } from './deps-errors.ts'

/** Where owners are recorded and looked up. */
export interface OwnershipContext {
  kube: KubeClient
  store: DepsStore
}

/** The recorded owner of the folder; undefined when there is none (or none this controller wrote). */
export async function recordedOwner(o: OwnershipContext, worker: Worker, keys: DepsKeys, verb: DepsVerb = 'materialize'): Promise<DepsOwner | undefined> {
  let body: Uint8Array | undefined
  try {
    body = await o.store.get(keys.owner)
  } catch (cause) {
    throw depsFailure(worker, storeReason(cause), cause, undefined, verb)
  }
  return body === undefined ? undefined : decodeOwner(body)
}

/** True while the Worker `owner` names still exists with the recorded uid (being deleted counts: its cleanup is pending). */
async function isLive(o: OwnershipContext, worker: Worker, owner: DepsOwner): Promise<boolean> {
  try {
    const found = await ignoreNotFound(o.kube.request<Worker>({ method: 'GET', path: workerPath(owner.namespace, owner.name) }))
    return found?.metadata?.uid === owner.uid
  } catch (cause) {
    throw depsFailure(worker, DepsReason.OwnerCheckFailed, cause, `look up Worker ${owner.namespace}/${owner.name}, the recorded owner of its deps folder: ${(cause as Error).message}`)
  }
}

/**
 * Makes the folder the Worker's: refuses (DepsError DepsOwnedByAnotherWorker, nothing written)
 * when another live Worker owns it, takes it over when its recorded owner is gone (deleted, or
 * re-created under a new uid), and records the Worker as its owner.
 */
export async function claimFolder(o: OwnershipContext, worker: Worker, keys: DepsKeys): Promise<void> {
  const recorded = await recordedOwner(o, worker, keys)
  const me = ownerOf(worker)
  if (recorded?.uid === me.uid) return
  if (recorded && (await isLive(o, worker, recorded))) {
    const text =
      `deps folder ${keys.prefix} in ${o.store.location} belongs to Worker ${recorded.name} in namespace ${recorded.namespace}; ` +
      `deps are stored by Worker name alone (${keys.prefix}), so two Workers named ${me.name} cannot both run on the sandbox backend: ` +
      `rename this Worker, or delete the one in namespace ${recorded.namespace}`
    throw depsFailure(worker, DepsReason.DepsOwnedByAnotherWorker, undefined, text)
  }
  try {
    await o.store.put(keys.owner, encodeOwner(me))
  } catch (cause) {
    throw depsFailure(worker, storeReason(cause), cause)
  }
}
