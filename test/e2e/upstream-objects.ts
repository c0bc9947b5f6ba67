// Objects in the shape the upstream AgentTeams controller (HiClaw #988 era and HEAD) leaves in a
// cluster (docs/runtime-objects.md, docs/credentials.md): its worker Pod `<prefix>worker-<name>` labelled with the worker,
// its own controller name and `app=<prefix>worker`, owned by the Worker; the Worker's ServiceAccount;
// the provisioner's credential Secret; #988's SandboxClaim and its claimed Sandbox; and a Worker
// status as upstream writes it (a phase, no backendRuntime for a pod Worker). Test fixtures only.

import { expectSuccess, type ApiClient } from '../../localcluster/api-client.ts'
import { pollUntil } from '../../localcluster/polling.ts'
import type { Worker } from '../../api/worker.ts'
import { metaTime } from '../../api/meta.ts'

export const UPSTREAM_CONTROLLER = 'hiclaw-controller'
export const UPSTREAM_PREFIX = 'hiclaw-'

const now = () => metaTime(Date.now())

export interface UpstreamOptions {
  prefix?: string
  controller?: string
  /** The Worker that owns the object (same namespace only); none for an object elsewhere. */
  owner?: Worker | undefined
  /** Extra finalizers (a test that holds a deletion open). */
  finalizers?: string[]
}

function ownerRefs(owner: Worker | undefined) {
  if (!owner) return []
  return [{ apiVersion: 'agentteams.io/v1beta1', kind: 'Worker', name: owner.metadata?.name, uid: owner.metadata?.uid, controller: true, blockOwnerDeletion: true }]
}

function labels(worker: string, o: UpstreamOptions): Record<string, string> {
  const prefix = o.prefix ?? UPSTREAM_PREFIX
  return { 'agentteams.io/worker': worker, 'agentteams.io/controller': o.controller ?? UPSTREAM_CONTROLLER, app: `${prefix}worker` }
}

async function create(api: ApiClient, path: string, body: Record<string, any>): Promise<any> {
  const r = await api.request('POST', path, body)
  expectSuccess(r, `create ${body.kind} ${body.metadata.namespace}/${body.metadata.name}`)
  return r.body
}

/** The Worker's ServiceAccount as upstream makes it. */
export function createUpstreamServiceAccount(api: ApiClient, ns: string, worker: string, o: UpstreamOptions = {}): Promise<any> {
  const name = `${o.prefix ?? UPSTREAM_PREFIX}worker-${worker}`
  return create(api, `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns, labels: labels(worker, o), ownerReferences: ownerRefs(o.owner) } })
}

/** The provisioner's credential Secret `agentteams-creds-<worker>` (docs/credentials.md). */
export function createUpstreamCredentials(api: ApiClient, ns: string, worker: string): Promise<any> {
  const data = Object.fromEntries(
    [['WORKER_MATRIX_TOKEN', `syt_${worker}_matrix`], ['WORKER_GATEWAY_KEY', `gk-${worker}-gateway`], ['WORKER_MINIO_PASSWORD', `minio-${worker}-pw`], ['WORKER_PASSWORD', `pw-${worker}`]]
      .map(([k, v]) => [k, Buffer.from(v as string).toString('base64')]),
  )
  return create(api, `/api/v1/namespaces/${ns}/secrets`, { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: `agentteams-creds-${worker}`, namespace: ns }, data })
}

/**
 * The worker Pod upstream's k8s backend creates, and its ServiceAccount when it does not exist yet.
 * The API server's ServiceAccount admission looks the account up in its own cache, which may not
 * have a brand-new one yet: that refusal is retried briefly.
 */
export async function createUpstreamPod(api: ApiClient, ns: string, worker: string, o: UpstreamOptions & { name?: string; labels?: Record<string, string> } = {}): Promise<any> {
  const prefix = o.prefix ?? UPSTREAM_PREFIX
  const name = o.name ?? `${prefix}worker-${worker}`
  const account = `${prefix}worker-${worker}`
  if ((await api.request('GET', `/api/v1/namespaces/${ns}/serviceaccounts/${account}`)).status === 404) await createUpstreamServiceAccount(api, ns, worker, o)
  const creds = (key: string, from: string) => ({ name: key, valueFrom: { secretKeyRef: { name: `agentteams-creds-${worker}`, key: from, optional: true } } })
  const body = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: o.labels ?? labels(worker, o), ownerReferences: ownerRefs(o.owner), ...(o.finalizers ? { finalizers: o.finalizers } : {}) },
    spec: {
      serviceAccountName: account,
      containers: [{
        name: 'worker',
        image: 'hiclaw/worker-agent:latest',
        env: [{ name: 'HICLAW_WORKER_NAME', value: worker }, creds('HICLAW_WORKER_MATRIX_TOKEN', 'WORKER_MATRIX_TOKEN'), creds('HICLAW_WORKER_GATEWAY_KEY', 'WORKER_GATEWAY_KEY')],
        resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '1', memory: '2Gi' } },
      }],
    },
  }
  return pollUntil(`create Pod ${ns}/${name}`, async () => {
    const r = await api.request('POST', `/api/v1/namespaces/${ns}/pods`, body)
    if (r.status === 403 && String(r.body?.message).includes('error looking up service account')) return undefined
    return expectSuccess(r, `create Pod ${ns}/${name}`)
  }, { timeoutMs: 30_000, intervalMs: 100 })
}

/** #988's SandboxClaim `<prefix>worker-<worker>`, Completed as the provider leaves it. */
export async function createUpstreamClaim(api: ApiClient, ns: string, worker: string, o: UpstreamOptions = {}): Promise<any> {
  const name = `${o.prefix ?? UPSTREAM_PREFIX}worker-${worker}`
  const l = labels(worker, o)
  const path = `/apis/agents.kruise.io/v1alpha1/namespaces/${ns}/sandboxclaims`
  await create(api, path, {
    apiVersion: 'agents.kruise.io/v1alpha1',
    kind: 'SandboxClaim',
    metadata: { name, namespace: ns, labels: l, ownerReferences: ownerRefs(o.owner), ...(o.finalizers ? { finalizers: o.finalizers } : {}) },
    spec: { templateName: 'agentteams-builtin', replicas: 1, claimTimeout: '5m', waitReadyTimeout: '2m', ttlAfterCompleted: '15m', labels: l, inplaceUpdate: { image: 'hiclaw/worker-agent:latest' } },
  })
  const status = {
    phase: 'Completed', claimedReplicas: 1, message: 'Successfully claimed 1/1 sandboxes', completionTime: now(),
    conditions: [{ type: 'Completed', status: 'True', reason: 'AllReplicasClaimed', message: 'Successfully claimed all 1 sandboxes', lastTransitionTime: now() }],
  }
  const r = await api.request('PATCH', `${path}/${name}/status`, { status }, { contentType: 'application/merge-patch+json' })
  expectSuccess(r, `complete SandboxClaim ${ns}/${name}`)
  return r.body
}

/** The Sandbox the provider claimed for an upstream claim, Running and Ready. */
export async function createUpstreamSandbox(api: ApiClient, claim: any, o: { finalizers?: string[] } = {}): Promise<any> {
  const ns = claim.metadata.namespace
  const name = `agentteams-builtin-${claim.metadata.uid.slice(0, 5)}`
  const path = `/apis/agents.kruise.io/v1alpha1/namespaces/${ns}/sandboxes`
  await create(api, path, {
    apiVersion: 'agents.kruise.io/v1alpha1',
    kind: 'Sandbox',
    metadata: {
      name,
      namespace: ns,
      labels: { ...claim.spec.labels, 'agents.kruise.io/sandbox-claimed': 'true', 'agents.kruise.io/claim-name': claim.metadata.name },
      annotations: { 'agents.kruise.io/owner': claim.metadata.uid, 'agents.kruise.io/claim-timestamp': now() },
      ownerReferences: [{ apiVersion: 'agents.kruise.io/v1alpha1', kind: 'SandboxClaim', name: claim.metadata.name, uid: claim.metadata.uid, controller: true }],
      ...(o.finalizers ? { finalizers: o.finalizers } : {}),
    },
    spec: { template: { spec: { containers: [{ name: 'worker', image: 'hiclaw/worker-agent:latest' }] } } },
  })
  const status = {
    phase: 'Running', sandboxIp: '10.244.0.7', podInfo: { nodeName: 'node-1', podIP: '10.244.0.7', podUID: 'f3a9c1d2' },
    conditions: [
      { type: 'Ready', status: 'True', reason: 'PodReady', message: 'the sandbox pod is ready', lastTransitionTime: now() },
      { type: 'InplaceUpdate', status: 'True', reason: 'Succeeded', message: 'in-place update finished', lastTransitionTime: now() },
    ],
  }
  const r = await api.request('PATCH', `${path}/${name}/status`, { status }, { contentType: 'application/merge-patch+json' })
  expectSuccess(r, `run Sandbox ${ns}/${name}`)
  return r.body
}

/** A Worker status as upstream writes it: a phase and its own fields, no backendRuntime for a pod Worker. */
export function upstreamStatus(worker: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { phase: 'Running', containerState: 'running', matrixUserID: `@${worker}:matrix.local`, roomID: `!room-${worker}:matrix.local`, ...extra }
}
