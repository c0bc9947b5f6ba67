// The cleanup finalizer `agentteams.io/cleanup` as a small idempotent helper (kube-rs
// kube-runtime/src/finalizer.rs): add it before anything is created, run the cleanup, remove it
// only after the cleanup succeeded. Every patch carries the resourceVersion it was based on.

import { FINALIZER, type Worker, workerPath } from '../../api/worker.ts'
import { isNotFound, type KubeClient, PatchType } from '../controller/kube.ts'
import { workerKey } from '../backend/contract.ts'

/** Typed failure of a finalizer patch: `<verb> finalizer of Worker <ns/name>: <cause>`. */
export class FinalizerError extends Error {
  override name = 'FinalizerError'
}

export function hasFinalizer(worker: Worker): boolean {
  return worker.metadata?.finalizers?.includes(FINALIZER) ?? false
}

async function patchFinalizers(kube: KubeClient, worker: Worker, finalizers: string[], verb: string): Promise<Worker> {
  const path = workerPath(worker.metadata?.namespace, worker.metadata?.name ?? '')
  try {
    // A merge patch replaces the whole list; the resourceVersion makes it fail (409) if the list moved.
    return await kube.request<Worker>({
      method: 'PATCH',
      path,
      contentType: PatchType.Merge,
      body: { metadata: { resourceVersion: worker.metadata?.resourceVersion, finalizers } },
    })
  } catch (cause) {
    throw new FinalizerError(`${verb} finalizer of Worker ${workerKey(worker)}: ${(cause as Error).message}`, { cause })
  }
}

/** Adds the finalizer when missing. Returns the Worker as stored afterwards (or unchanged). */
export async function addFinalizer(kube: KubeClient, worker: Worker): Promise<Worker> {
  if (hasFinalizer(worker)) return worker
  return patchFinalizers(kube, worker, [...(worker.metadata?.finalizers ?? []), FINALIZER], 'add')
}

/** Removes the finalizer (call only after the cleanup succeeded); the API server may then delete the Worker. */
export async function removeFinalizer(kube: KubeClient, worker: Worker): Promise<void> {
  if (!hasFinalizer(worker)) return
  try {
    await patchFinalizers(kube, worker, (worker.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER), 'remove')
  } catch (error) {
    if (!isNotFound(error)) throw error
  }
}
