// The OpenKruise Agents controller as the e2e tests play it (docs/sandbox.md, observed; details in
// docs/sandbox.md), one step per call so a test decides what the provider
// does and when: the SandboxSet keeps its pool of unclaimed Sandboxes; a claim takes one from the
// pool (or creates one when the pool is empty) and is Completed; pause and resume. Every Sandbox
// is backed by a real Pod (its name, a controller owner reference to it) that kube-scheduler binds
// to the fake Node and kwok runs; the Sandbox's status is read from that Pod. Test code only.

import { createHash, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { ApiClient } from '../../localcluster/api-client.ts'
import { waitForDefaultServiceAccount } from '../harness/namespaces.ts'
import { pollUntil } from '../../localcluster/polling.ts'
import type { Condition, Sandbox, SandboxClaim, SandboxMeta, SandboxSet } from '../../reconciler/sandbox/objects.ts'
import { metaTime } from '../../api/meta.ts'

const API_VERSION = 'agents.kruise.io/v1alpha1'
const GROUP = `/apis/${API_VERSION}`
/** The provider's labels and annotations (docs/sandbox.md). */
export const PROVIDER_LABEL = {
  pool: 'agents.kruise.io/sandbox-pool',
  template: 'agents.kruise.io/sandbox-template',
  templateHash: 'agents.kruise.io/template-hash',
  claimed: 'agents.kruise.io/sandbox-claimed',
  claimName: 'agents.kruise.io/claim-name',
} as const
export const PROVIDER_ANNOTATION = {
  owner: 'agents.kruise.io/owner',
  claimTimestamp: 'agents.kruise.io/claim-timestamp',
  lock: 'agents.kruise.io/lock',
  priority: 'agents.kruise.io/sandbox-priority',
} as const
/** How long a Sandbox's Pod may take to run (bound by kube-scheduler, reported by kwok). */
const POD_RUNNING_MS = 60_000

export const claimPath = (ns: string, name?: string) => `${GROUP}/namespaces/${ns}/sandboxclaims${name ? `/${name}` : ''}`
export const sandboxPath = (ns: string, name?: string) => `${GROUP}/namespaces/${ns}/sandboxes${name ? `/${name}` : ''}`
const poolPath = (ns: string, name: string) => `${GROUP}/namespaces/${ns}/sandboxsets/${name}`
const podPath = (ns: string, name?: string) => `/api/v1/namespaces/${ns}/pods${name ? `/${name}` : ''}`
const now = () => metaTime(Date.now())
const clone = <T>(value: T): T => structuredClone(value)

const MERGE = 'application/merge-patch+json'
/** Merges list items by key (a Pod's containers by name), as `kubectl patch` does by default. */
const STRATEGIC = 'application/strategic-merge-patch+json'

/** Attempts of a request the API server answers 429 (a CRD's storage still initializing), as client-go retries them. */
const THROTTLED_ATTEMPTS = 10

async function ok(api: ApiClient, method: string, path: string, body?: unknown, contentType?: string): Promise<any> {
  let r = await api.request(method, path, body, contentType ? { contentType } : {})
  for (let attempt = 1; r.status === 429 && attempt < THROTTLED_ATTEMPTS; attempt++) {
    await sleep(1000 * (Number(r.body?.details?.retryAfterSeconds) || 1))
    r = await api.request(method, path, body, contentType ? { contentType } : {})
  }
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path}: HTTP ${r.status} ${r.text.slice(0, 300)}`)
  return r.body
}

async function list<T>(api: ApiClient, path: string, selector: Record<string, string>): Promise<T[]> {
  const query = encodeURIComponent(Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(','))
  return (await ok(api, 'GET', `${path}?labelSelector=${query}`)).items
}

export async function getClaim(api: ApiClient, ns: string, claimName: string): Promise<SandboxClaim | undefined> {
  const r = await api.request('GET', claimPath(ns, claimName))
  return r.status === 200 ? r.body : undefined
}

/** The claimed Sandboxes of `ns` (what Workers hold; the pool's stock is not among them). */
export const claimedSandboxes = (api: ApiClient, ns: string): Promise<Sandbox[]> => list(api, sandboxPath(ns), { [PROVIDER_LABEL.claimed]: 'true' })
/** The unclaimed Sandboxes of pool `pool` in `ns`. */
export const poolSandboxes = (api: ApiClient, ns: string, pool: string): Promise<Sandbox[]> =>
  list(api, sandboxPath(ns), { [PROVIDER_LABEL.pool]: pool, [PROVIDER_LABEL.claimed]: 'false' })

const ownerReference = (kind: string, obj: { metadata: SandboxMeta }) => ({
  apiVersion: kind === 'Sandbox' || kind === 'SandboxSet' ? API_VERSION : 'v1', kind, name: obj.metadata.name, uid: obj.metadata.uid, controller: true, blockOwnerDeletion: true,
})
const condition = (type: string, status: boolean, reason: string, message = ''): Condition => ({ type, status: status ? 'True' : 'False', reason, message, lastTransitionTime: now() })

/** A new Sandbox from the pool's template: pool stock (owned by the SandboxSet) or made for a claim. */
function sandboxFromPool(pool: SandboxSet, stock: boolean): Sandbox {
  const spec = pool.spec as { template?: any; runtimes?: unknown }
  const hash = createHash('sha256').update(JSON.stringify(spec.template ?? {})).digest('hex').slice(0, 8)
  return {
    apiVersion: API_VERSION,
    kind: 'Sandbox',
    metadata: {
      generateName: `${pool.metadata.name}-`,
      namespace: pool.metadata.namespace,
      labels: { [PROVIDER_LABEL.pool]: pool.metadata.name, [PROVIDER_LABEL.template]: pool.metadata.name, [PROVIDER_LABEL.templateHash]: hash, [PROVIDER_LABEL.claimed]: 'false' },
      ownerReferences: stock ? [ownerReference('SandboxSet', pool)] : [],
    } as unknown as Sandbox['metadata'],
    spec: { template: clone(spec.template ?? { spec: { containers: [] } }), ...(spec.runtimes ? { runtimes: spec.runtimes } : {}) },
  }
}

/** True when the Pod runs and is Ready (what kwok reports once it is bound to the fake Node). */
const podReady = (pod: any): boolean => pod?.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True')

/** Creates the Sandbox's Pod from its template (Pod name = Sandbox name) and waits until it runs. */
async function startPod(api: ApiClient, sandbox: Sandbox): Promise<any> {
  const ns = sandbox.metadata.namespace
  const template = (sandbox.spec as { template?: any }).template ?? {}
  await waitForDefaultServiceAccount(api, ns)
  const created = await api.request('POST', podPath(ns), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: sandbox.metadata.name, labels: template.metadata?.labels, annotations: template.metadata?.annotations, ownerReferences: [ownerReference('Sandbox', sandbox)] },
    spec: template.spec,
  })
  // 409: an earlier attempt (cut short by an outage) created it already.
  if (created.status !== 201 && created.status !== 409) throw new Error(`create Pod ${ns}/${sandbox.metadata.name}: HTTP ${created.status} ${created.text.slice(0, 300)}`)
  return pollUntil(`Pod ${ns}/${sandbox.metadata.name} of the Sandbox to run`, async () => {
    const pod = await api.request('GET', podPath(ns, sandbox.metadata.name))
    return podReady(pod.body) ? pod.body : undefined
  }, { timeoutMs: POD_RUNNING_MS, intervalMs: 100 })
}

/** A running Sandbox's status, read from its Pod, with `conditions` after Ready. */
function runningStatus(sandbox: Sandbox, pod: any, ready: Condition, more: Condition[] = []): Record<string, unknown> {
  return {
    observedGeneration: sandbox.metadata.generation,
    phase: 'Running',
    sandboxIp: pod.status.podIP,
    nodeName: pod.spec.nodeName,
    podInfo: { podIP: pod.status.podIP, nodeName: pod.spec.nodeName, podUID: pod.metadata.uid },
    conditions: [ready, ...more],
  }
}

/** Writes a Sandbox's status through the status subresource. */
export async function setSandboxStatus(api: ApiClient, ns: string, name: string, status: Record<string, unknown>): Promise<Sandbox> {
  return ok(api, 'PATCH', `${sandboxPath(ns, name)}/status`, { status }, MERGE)
}

/** Starts the Pod of a pool Sandbox (when it has none yet) and reports the Sandbox Running and Ready. */
async function runPoolSandbox(api: ApiClient, sandbox: Sandbox): Promise<Sandbox> {
  const pod = await startPod(api, sandbox)
  return setSandboxStatus(api, sandbox.metadata.namespace, sandbox.metadata.name, runningStatus(sandbox, pod, condition('Ready', true, 'PodReady')))
}

/**
 * The SandboxSet controller's part: keeps `spec.replicas` unclaimed Sandboxes in pool `name`, each
 * Running with its Pod; surplus ones are deleted (their Pods go with them: garbage collection).
 */
export async function syncPool(api: ApiClient, ns: string, name: string): Promise<void> {
  const pool: SandboxSet = await ok(api, 'GET', poolPath(ns, name))
  const stock = (await poolSandboxes(api, ns, name)).filter((s) => !s.metadata.deletionTimestamp)
  const missing = pool.spec.replicas - stock.length
  const created: Sandbox[] = await Promise.all(Array.from({ length: Math.max(0, missing) }, () => ok(api, 'POST', sandboxPath(ns), sandboxFromPool(pool, true))))
  const surplus = stock.slice(0, Math.max(0, -missing))
  for (const extra of surplus) await ok(api, 'DELETE', sandboxPath(ns, extra.metadata.name))
  // New ones, and any an earlier round (cut short by an outage) left without a running Pod.
  const starting = [...created, ...stock.filter((s) => !surplus.includes(s) && s.status?.phase !== 'Running')]
  await Promise.all(starting.map((sandbox) => runPoolSandbox(api, sandbox)))
}

/** The claim's changes to a Sandbox it takes (docs/sandbox.md step 4b–c): labels, annotations, image, owner. */
function claimSandbox(sandbox: Sandbox, claim: SandboxClaim): Sandbox {
  const claimed = clone(sandbox)
  const template = ((claimed.spec ??= {}) as { template?: any }).template ?? {}
  claimed.metadata.ownerReferences = []
  claimed.metadata.labels = { ...claimed.metadata.labels, ...claim.spec.labels, [PROVIDER_LABEL.claimed]: 'true', [PROVIDER_LABEL.claimName]: claim.metadata.name }
  claimed.metadata.annotations = {
    ...claimed.metadata.annotations,
    ...claim.spec.annotations,
    [PROVIDER_ANNOTATION.owner]: claim.metadata.uid ?? '',
    [PROVIDER_ANNOTATION.lock]: randomUUID(),
    [PROVIDER_ANNOTATION.claimTimestamp]: now(),
  }
  template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...claim.spec.labels, [PROVIDER_ANNOTATION.owner]: claim.metadata.uid ?? '' } }
  const image = claim.spec.inplaceUpdate?.image
  if (image && template.spec?.containers?.[0]) template.spec.containers[0].image = image
  return claimed
}

export interface BindOptions {
  /** Ready=False with reason StartContainerFailed and `message` (the in-place image did not start). Default ready. */
  ready?: boolean
  message?: string
}

/**
 * Fulfils `claim` as the provider does: takes a Ready Sandbox from the claim's pool (creating one
 * when the pool is empty), strips the pool's owner reference, stamps the claim's labels and
 * annotations (locking it), then finishBind. Returns the claimed Sandbox.
 */
export async function bindSandbox(api: ApiClient, claim: SandboxClaim, options: BindOptions = {}): Promise<Sandbox> {
  const ns = claim.metadata.namespace
  const poolName = claim.spec.templateName
  await syncPool(api, ns, poolName)
  const available = (await poolSandboxes(api, ns, poolName)).find((s) => !s.metadata.deletionTimestamp && s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
  let sandbox: Sandbox
  if (available) {
    sandbox = await ok(api, 'PUT', sandboxPath(ns, available.metadata.name), claimSandbox(available, claim))
  } else {
    // No stock: a Sandbox made for this claim (createOnNoStock), not owned by the pool.
    const pool: SandboxSet = await ok(api, 'GET', poolPath(ns, poolName))
    const made = claimSandbox(sandboxFromPool(pool, false), claim)
    made.metadata.annotations = { ...made.metadata.annotations, [PROVIDER_ANNOTATION.priority]: '100' }
    sandbox = await ok(api, 'POST', sandboxPath(ns), made)
  }
  return finishBind(api, claim, sandbox, options)
}

/**
 * The rest of a bind, for a Sandbox already locked to `claim` (also after a bind cut short): its
 * Pod runs with the claim's image (swapped in place on a pool Pod, or a new Pod from the template),
 * the Sandbox is reported Running from that Pod with Ready and InplaceUpdate, the claim is
 * Completed and the pool refilled.
 */
export async function finishBind(api: ApiClient, claim: SandboxClaim, sandbox: Sandbox, options: BindOptions = {}): Promise<Sandbox> {
  const ns = claim.metadata.namespace
  const found = await api.request('GET', podPath(ns, sandbox.metadata.name))
  let pod = found.status === 200 ? found.body : await startPod(api, sandbox)
  const image = claim.spec.inplaceUpdate?.image
  if (image && pod.spec.containers[0].image !== image) {
    pod = await ok(api, 'PATCH', podPath(ns, sandbox.metadata.name), { spec: { containers: [{ name: pod.spec.containers[0].name, image }] } }, STRATEGIC)
  }
  if (!podReady(pod)) pod = await pollUntil(`Pod ${ns}/${sandbox.metadata.name} to run`, async () => {
    const got = await api.request('GET', podPath(ns, sandbox.metadata.name))
    return podReady(got.body) ? got.body : undefined
  }, { timeoutMs: POD_RUNNING_MS, intervalMs: 100 })
  const ready = options.ready ?? true
  const readiness = ready ? condition('Ready', true, 'PodReady') : condition('Ready', false, 'StartContainerFailed', options.message ?? '')
  const inplace = condition('InplaceUpdate', ready, ready ? 'Succeeded' : 'Failed', ready ? '' : options.message ?? '')
  const bound = await setSandboxStatus(api, ns, sandbox.metadata.name, runningStatus(sandbox, pod, readiness, [inplace]))
  await ok(api, 'PATCH', `${claimPath(ns, claim.metadata.name)}/status`, {
    status: {
      observedGeneration: claim.metadata.generation ?? 1, phase: 'Completed', claimedReplicas: 1, message: 'Successfully claimed 1/1 sandboxes', claimStartTime: now(), completionTime: now(),
      conditions: [{ type: 'Completed', status: 'True', reason: 'AllReplicasClaimed', message: 'Successfully claimed all 1 sandboxes', lastTransitionTime: now() }],
    },
  }, MERGE)
  await syncPool(api, ns, claim.spec.templateName)
  return bound
}

/** Ends `claim` the way a claimTimeout does: Completed, 0 claimed, TimedOut. */
export async function timeOutClaim(api: ApiClient, claim: SandboxClaim, message = 'Timeout reached after 5m0.5s, claimed 0/1 sandboxes'): Promise<void> {
  await ok(api, 'PATCH', `${claimPath(claim.metadata.namespace, claim.metadata.name)}/status`, {
    status: {
      phase: 'Completed', claimedReplicas: 0, message, claimStartTime: now(), completionTime: now(),
      conditions: [
        condition('TimedOut', true, 'ClaimTimeoutReached', 'claim timed out'),
        condition('Completed', true, 'TimeoutReached', 'claim completed by timeout'),
      ],
    },
  }, MERGE)
}

/** The provider's pause (Stop strategy): the Pod is deleted; Paused with SandboxPaused=True once it is gone. */
export async function markPaused(api: ApiClient, ns: string, name: string): Promise<void> {
  const r = await api.request('DELETE', podPath(ns, name))
  if (r.status !== 200 && r.status !== 404) throw new Error(`delete Pod ${ns}/${name}: HTTP ${r.status} ${r.text.slice(0, 300)}`)
  await pollUntil(`Pod ${ns}/${name} to be gone`, async () => ((await api.request('GET', podPath(ns, name))).status === 404 ? true : undefined), { timeoutMs: POD_RUNNING_MS })
  const sandbox: Sandbox = await ok(api, 'GET', sandboxPath(ns, name))
  const kept = (sandbox.status?.conditions ?? []).filter((c) => c.type === 'InplaceUpdate')
  await setSandboxStatus(api, ns, name, {
    phase: 'Paused',
    conditions: [condition('Ready', false, 'PodReady', 'the Pod is deleted while paused'), ...kept, condition('SandboxPaused', true, 'StopPauseSucceed')],
  })
}

/** The provider's resume: a new Pod from the Sandbox's template; Running and Ready once it runs. */
export async function markResumed(api: ApiClient, ns: string, name: string): Promise<void> {
  const sandbox: Sandbox = await ok(api, 'GET', sandboxPath(ns, name))
  const pod = await startPod(api, sandbox)
  const kept = (sandbox.status?.conditions ?? []).filter((c) => c.type === 'InplaceUpdate')
  await setSandboxStatus(api, ns, name, runningStatus(sandbox, pod, condition('Ready', true, 'PodReady'), [...kept, condition('SandboxResumed', true, 'ResumePod')]))
}
