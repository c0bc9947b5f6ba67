// The warm pool of the sandbox backend (product.md §5): one SandboxSet per Worker namespace,
// created when missing and updated only when its spec drifted from the desired one (upstream #988
// overwrote it on every create).

import type { Logger } from 'pino'
import { ignoreNotFound, isAlreadyExists, type KubeClient } from './kube.ts'
import { sandboxApiError, sandboxApiPath } from './sandbox-api.ts'
import { desiredSandboxSet, SandboxPlural, type SandboxSet, sandboxSetUpdate, type SandboxSettings } from './sandbox-objects.ts'

/** Creates the pool in `namespace` when missing, or updates it when it drifted; otherwise no write. */
export async function ensureSandboxPool(o: { kube: KubeClient; settings: SandboxSettings; log: Logger }, namespace: string): Promise<void> {
  const desired = desiredSandboxSet(o.settings, namespace)
  const ref = `${namespace}/${desired.metadata.name}`
  const collection = sandboxApiPath(SandboxPlural.SandboxSet, namespace)
  const actual = await ignoreNotFound(o.kube.request<SandboxSet>({ method: 'GET', path: `${collection}/${desired.metadata.name}` })).catch((cause) => {
    throw sandboxApiError('get', 'SandboxSet', ref, cause)
  })
  if (!actual) {
    await o.kube.request({ method: 'POST', path: collection, body: desired }).catch((cause) => {
      if (!isAlreadyExists(cause)) throw sandboxApiError('create', 'SandboxSet', ref, cause)
    })
    o.log.info({ sandboxSet: ref, replicas: desired.spec.replicas }, 'created the warm pool')
    return
  }
  const update = sandboxSetUpdate(actual, desired)
  if (!update) return
  await o.kube.request({ method: 'PUT', path: `${collection}/${desired.metadata.name}`, body: update }).catch((cause) => {
    throw sandboxApiError('update', 'SandboxSet', ref, cause)
  })
  o.log.info({ sandboxSet: ref, replicas: desired.spec.replicas }, 'updated the drifted warm pool')
}
