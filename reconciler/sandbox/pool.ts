// The warm pool of the sandbox backend (product.md §5): one SandboxSet per Worker namespace,
// created when missing and updated only when its spec drifted from the desired one (upstream #988
// overwrote it on every create).

import type { Logger } from 'pino'
import { isAlreadyExists, type KubeClient } from '../controller/kube.ts'
import { sandboxApiError, sandboxApiPath } from './api.ts'
import { desiredSandboxSet, SandboxPlural, type SandboxSet, sandboxSetUpdate, type SandboxSettings } from './objects.ts'

/** The pools this controller already sees, from its SandboxSet informer (sandbox/watch.ts). */
export interface SandboxPoolCache {
  get(name: string, namespace?: string): SandboxSet | undefined
}

/**
 * Creates the pool in `namespace` when missing, or updates it when it drifted; otherwise no write.
 * The pool is read from the informer cache, so one that is there and as desired costs no request: this runs
 * before every claim, so a burst of new Workers must not read the pool once each. A create that
 * finds the pool already there (the cache has not seen it yet, or someone removed our labels) is
 * left alone: the claim can go ahead, and the drift check runs on a later pass from the cache.
 */
export async function ensureSandboxPool(o: { kube: KubeClient; settings: SandboxSettings; log: Logger; pools: SandboxPoolCache }, namespace: string): Promise<void> {
  const desired = desiredSandboxSet(o.settings, namespace)
  const ref = `${namespace}/${desired.metadata.name}`
  const collection = sandboxApiPath(SandboxPlural.SandboxSet, namespace)
  const actual = o.pools.get(desired.metadata.name, namespace)
  if (!actual) {
    const created = await o.kube.request({ method: 'POST', path: collection, body: desired }).then(
      () => true,
      (cause) => {
        if (isAlreadyExists(cause)) return false
        throw sandboxApiError('create', 'SandboxSet', ref, cause)
      },
    )
    if (created) o.log.info({ sandboxSet: ref, replicas: desired.spec.replicas }, 'created the warm pool')
    return
  }
  const update = sandboxSetUpdate(actual, desired)
  if (!update) return
  await o.kube.request({ method: 'PUT', path: `${collection}/${desired.metadata.name}`, body: update }).catch((cause) => {
    throw sandboxApiError('update', 'SandboxSet', ref, cause)
  })
  o.log.info({ sandboxSet: ref, replicas: desired.spec.replicas }, 'updated the drifted warm pool')
}
