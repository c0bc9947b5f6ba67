// The warm pool of the sandbox backend (docs/sandbox.md): one SandboxSet per Worker namespace,
// created when missing and updated only when its spec drifted from the desired one (upstream #988
// overwrote it on every create). Drift is semantic: what the provider's defaulting webhook
// normalizes (`1000m` → `1`, added defaults) is not drift (docs/sandbox.md).

import type { Logger } from 'pino'
import { isAlreadyExists, type KubeClient } from '../controller/kube.ts'
import { sandboxApiError, sandboxApiPath } from './api.ts'
import { LABEL_CONTROLLER } from '../../api/worker.ts'
import { sameQuantity } from '../controller/quantity.ts'
import { ENV_MOUNT_DIR, SANDBOX_API_VERSION, SandboxPlural, type SandboxSet, type SandboxSettings } from './objects.ts'

/** Our labels on the pool beyond the controller's (upstream #988's). */
export const LABEL_MANAGED_BY = 'agentteams.io/managed-by'
export const LABEL_SANDBOXSET = 'agentteams.io/sandboxset'
/** Upstream #988's default agent-runtime image of the pool template (`sandbox.go`). */
export const DEFAULT_AGENT_RUNTIME_IMAGE = 'registry-cn-hangzhou-vpc.ack.aliyuncs.com/acs/agent-runtime:v0.0.9'
/** Pool sandbox size, requests = limits (upstream HICLAW_K8S_WORKER_CPU / _MEMORY defaults). */
const POOL_RESOURCES = { cpu: '1000m', memory: '2Gi' }

/** The warm pool as this controller wants it in `namespace`. */
export function desiredSandboxSet(settings: SandboxSettings, namespace: string): SandboxSet {
  const labels = {
    [LABEL_MANAGED_BY]: settings.controllerName,
    [LABEL_SANDBOXSET]: settings.poolName,
    [LABEL_CONTROLLER]: settings.controllerName,
  }
  return {
    apiVersion: SANDBOX_API_VERSION,
    kind: 'SandboxSet',
    metadata: { name: settings.poolName, namespace, labels },
    spec: {
      replicas: settings.prewarmSize,
      // csi performs the dynamic deps mounts; agent-runtime runs the claim-time init (docs/sandbox.md).
      runtimes: [{ name: 'csi' }, { name: 'agent-runtime' }],
      template: {
        metadata: {
          labels: {
            // Alibaba Cloud ACS scheduling labels of upstream #988; inert elsewhere.
            'alibabacloud.com/acs': 'true',
            'alibabacloud.com/compute-class': 'agent-sandbox',
            'alibabacloud.com/compute-qos': 'default',
            ...labels,
          },
        },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 0,
          containers: [
            {
              name: 'worker',
              image: settings.agentRuntimeImage || DEFAULT_AGENT_RUNTIME_IMAGE,
              imagePullPolicy: 'IfNotPresent',
              env: [
                { name: 'AGENTTEAMS_WORKER_ENV_MOUNT_DIR', value: ENV_MOUNT_DIR },
                { name: 'AGENTTEAMS_WORKER_ENV_MOUNT_REQUIRED', value: '1' },
              ],
              resources: { requests: { ...POOL_RESOURCES }, limits: { ...POOL_RESOURCES } },
            },
          ],
        },
      },
    },
  }
}

/**
 * True when every field of `desired` is present with the same value in `actual` (objects
 * recursively, arrays element by element and of equal length). Fields only `actual` has — server
 * or provider defaults — are not drift. Resource quantities (`resources.requests` / `.limits`)
 * compare by value: the provider's defaulting webhook writes `1000m` back as `1` (docs/sandbox.md).
 */
export function contains(actual: unknown, desired: unknown, path: readonly string[] = []): boolean {
  if (Array.isArray(desired)) {
    return Array.isArray(actual) && actual.length === desired.length && desired.every((d, i) => contains(actual[i], d, [...path, '[]']))
  }
  if (desired !== null && typeof desired === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false
    return Object.entries(desired).every(([k, v]) => contains((actual as Record<string, unknown>)[k], v, [...path, k]))
  }
  const quantity = path.length >= 3 && path[path.length - 3] === 'resources' && ['requests', 'limits'].includes(path[path.length - 2] as string)
  return quantity ? sameQuantity(actual, desired) : actual === desired
}

/**
 * The update that brings `actual` back to `desired`, or undefined when it has not drifted
 * (upstream #988 rewrote the pool on every create). The update replaces `spec` and merges labels;
 * it keeps `actual`'s resourceVersion, so a concurrent change makes it fail with 409.
 */
export function sandboxSetUpdate(actual: SandboxSet, desired: SandboxSet): SandboxSet | undefined {
  if (contains(actual.spec, desired.spec) && contains(actual.metadata.labels ?? {}, desired.metadata.labels ?? {})) return undefined
  return {
    ...actual,
    metadata: { ...actual.metadata, labels: { ...actual.metadata.labels, ...desired.metadata.labels } },
    spec: structuredClone(desired.spec),
  }
}


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
