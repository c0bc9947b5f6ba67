// Shared pieces of the sandbox end-to-end tests: a Worker controller wired with the pod and sandbox
// backends, the sandbox watches and a real deps store, its logs captured for the secret scan; and
// the OpenKruise controller's part, played by the test (bind a Sandbox to a claim, write claim and
// sandbox status through the status subresource, time a claim out).

import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import type { ApiClient } from '../harness/api-client.ts'
import type { ControlPlane } from '../harness/control-plane.ts'
import { Registry } from 'prom-client'
import { loadConfig } from '../../config/config.ts'
import type { BackoffPolicy } from '../../reconciler/backoff.ts'
import type { DepsStore } from '../../reconciler/deps.ts'
import type { KubeClient, KubeRequest } from '../../reconciler/kube.ts'
import { startReconciler } from '../../reconciler/main.ts'
import type { ReconcilerOptions } from '../../reconciler/options.ts'
import type { Sandbox, SandboxClaim, SandboxSettings } from '../../reconciler/sandbox-objects.ts'
import { NAMING, sandboxSettings, WORKER_IMAGE } from './sandbox-settings.ts'
import { sandboxExtension } from '../../reconciler/sandbox-setup.ts'
import { kubeconfigFor } from './reconciler-kit.ts'
import { MANIFESTS, OPENKRUISE_CRDS } from '../harness/manifests.ts'
import { installCrds } from '../harness/crds.ts'
import { startS3Server, type S3Server } from '../harness/s3-server.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { S3DepsStore } from '../../reconciler/deps-s3.ts'
import type { Test } from 'tap'

export const SANDBOX_CRD_FILES = OPENKRUISE_CRDS
export { NAMING, sandboxSettings, WORKER_IMAGE } from './sandbox-settings.ts'
const GROUP = '/apis/agents.kruise.io/v1alpha1'

/** Every log line of the controllers a test file starts, for the secret scan. */
export class LogCapture {
  readonly lines: string[] = []
  readonly stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') this.lines.push(line)
      if (process.env['WRC_TEST_LOG']) process.stderr.write(chunk)
      done()
    },
  })

  /** Lines that contain any of `secrets` (empty strings ignored). */
  leaks(secrets: readonly string[]): string[] {
    const wanted = secrets.filter((s) => s.length >= 6)
    return this.lines.filter((line) => wanted.some((s) => line.includes(s)))
  }
}

export interface SandboxControllerOptions {
  store: DepsStore
  logs: LogCapture
  hibernate?: boolean
  tokenExpirationSeconds?: number
  reclaimBackoff?: BackoffPolicy
  settings?: Partial<SandboxSettings>
  /** Called before every SandboxClaim create reaches the API server (order checks). */
  beforeClaimCreate?: (claim: SandboxClaim) => Promise<void>
  /** More configuration, as environment variables (e.g. AGENTTEAMS_LEGACY_NAMESPACES). */
  env?: Record<string, string>
  /** Reconciler settings on top of the test defaults (e.g. leader election on). */
  overrides?: Partial<ReconcilerOptions>
  /** Wraps the controller's API client (e.g. to count its writes). */
  wrapKube?: (kube: KubeClient) => KubeClient
}

export interface TestController {
  close(): Promise<void>
  isLeader(): boolean
}

/** Wraps the API client so `beforeClaimCreate` sees each claim before the API server does. */
function watchClaimCreates(kube: KubeClient, hook: SandboxControllerOptions['beforeClaimCreate']): KubeClient {
  if (!hook) return kube
  return {
    close: () => kube.close(),
    async request<T>(request: KubeRequest): Promise<T> {
      if (request.method === 'POST' && request.path.endsWith('/sandboxclaims')) await hook(request.body as SandboxClaim)
      return kube.request<T>(request)
    },
  }
}

/**
 * Starts the real reconciler (reconciler/main.ts) for `namespace` with the sandbox extension
 * (reconciler/sandbox-setup.ts): Workers, Pods, Secrets, ServiceAccounts, Sandboxes and
 * SandboxClaims watched, the pod and sandbox backends, no leader election, logs to `o.logs`.
 */
export async function startSandboxController(cp: ControlPlane, namespace: string, o: SandboxControllerOptions): Promise<TestController> {
  const log = pino({ level: 'debug', base: { name: 'worker-runtime-controller' } }, o.logs.stream)
  const { controllerName, resourcePrefix, ...settings } = sandboxSettings(o.settings)
  const extension = sandboxExtension({
    store: o.store,
    settings,
    capabilities: o.hibernate ? ['hibernate', 'pool'] : ['pool'],
    reclaimBackoff: o.reclaimBackoff,
    probeEveryMs: 1000,
  })
  const handle = await startReconciler({
    config: loadConfig({ AGENTTEAMS_CONTROLLER_NAME: controllerName, AGENTTEAMS_RESOURCE_PREFIX: resourcePrefix, ...o.env }),
    log,
    registry: new Registry(),
    kubeconfig: kubeconfigFor(cp),
    overrides: {
      watchNamespace: namespace,
      leaderElection: false,
      workerImage: WORKER_IMAGE,
      controllerUrl: 'http://controller.agentteams.svc:8090',
      maxConcurrentReconciles: 2,
      ...(o.tokenExpirationSeconds ? { authTokenExpirationSeconds: o.tokenExpirationSeconds } : {}),
      ...o.overrides,
    },
    wrapKube: (kube) => watchClaimCreates(o.wrapKube ? o.wrapKube(kube) : kube, o.beforeClaimCreate),
    ...extension,
  })
  return { close: () => handle.close(), isLeader: () => handle.isLeader() }
}

// ---- The OpenKruise controller's part -------------------------------------------------------

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
export const claimPath = (ns: string, name?: string) => `${GROUP}/namespaces/${ns}/sandboxclaims${name ? `/${name}` : ''}`
export const sandboxPath = (ns: string, name?: string) => `${GROUP}/namespaces/${ns}/sandboxes${name ? `/${name}` : ''}`

async function ok(api: ApiClient, method: string, path: string, body?: unknown, merge = false): Promise<any> {
  const r = await api.request(method, path, body, merge ? { contentType: 'application/merge-patch+json' } : {})
  if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path}: HTTP ${r.status} ${r.text.slice(0, 300)}`)
  return r.body
}

export async function getClaim(api: ApiClient, ns: string, worker: string): Promise<SandboxClaim | undefined> {
  const r = await api.request('GET', claimPath(ns, `${NAMING.resourcePrefix}worker-${worker}`))
  return r.status === 200 ? r.body : undefined
}

export async function listSandboxes(api: ApiClient, ns: string): Promise<Sandbox[]> {
  return (await ok(api, 'GET', sandboxPath(ns))).items
}

const readyCondition = (ready: boolean, message: string) => ({
  type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'PodReady' : 'StartContainerFailed', message, lastTransitionTime: now(),
})

/**
 * Fulfils `claim` as the provider does: a Sandbox from the pool with the claim's labels and
 * annotations, the claim-name label and owner annotation, Running (Ready or not), then the claim Completed.
 */
export async function bindSandbox(api: ApiClient, claim: SandboxClaim, options: { ready?: boolean; message?: string } = {}): Promise<Sandbox> {
  const ns = claim.metadata.namespace
  const name = `${claim.spec.templateName}-${randomBytes(3).toString('hex')}`
  await ok(api, 'POST', sandboxPath(ns), {
    apiVersion: 'agents.kruise.io/v1alpha1',
    kind: 'Sandbox',
    metadata: {
      name,
      labels: {
        ...claim.spec.labels,
        'agents.kruise.io/sandbox-pool': claim.spec.templateName,
        'agents.kruise.io/sandbox-claimed': 'true',
        'agents.kruise.io/claim-name': claim.metadata.name,
      },
      // The provider copies the claim's spec.annotations onto the Sandbox (…-api.md §2.1).
      annotations: { ...claim.spec.annotations, 'agents.kruise.io/owner': claim.metadata.uid, 'agents.kruise.io/claim-timestamp': now() },
    },
    spec: { template: { spec: { containers: [{ name: 'worker', image: claim.spec.inplaceUpdate?.image }] } } },
  })
  const sandbox = await setSandboxStatus(api, ns, name, {
    phase: 'Running', sandboxIp: '10.0.0.12', nodeName: 'node-1', podInfo: { podIP: '10.0.0.12', nodeName: 'node-1', podUID: randomBytes(8).toString('hex') },
    conditions: [readyCondition(options.ready ?? true, options.message ?? '')],
  })
  await ok(api, 'PATCH', `${claimPath(ns, claim.metadata.name)}/status`, {
    status: {
      observedGeneration: 1, phase: 'Completed', claimedReplicas: 1, message: 'Successfully claimed 1/1 sandboxes', claimStartTime: now(), completionTime: now(),
      conditions: [{ type: 'Completed', status: 'True', reason: 'AllReplicasClaimed', message: 'Successfully claimed all 1 sandboxes', lastTransitionTime: now() }],
    },
  }, true)
  return sandbox
}

/** Ends `claim` the way a claimTimeout does: Completed, 0 claimed, TimedOut. */
export async function timeOutClaim(api: ApiClient, claim: SandboxClaim, message = 'Timeout reached after 5m0.5s, claimed 0/1 sandboxes'): Promise<void> {
  await ok(api, 'PATCH', `${claimPath(claim.metadata.namespace, claim.metadata.name)}/status`, {
    status: {
      phase: 'Completed', claimedReplicas: 0, message, claimStartTime: now(), completionTime: now(),
      conditions: [
        { type: 'TimedOut', status: 'True', reason: 'ClaimTimeoutReached', message: 'claim timed out', lastTransitionTime: now() },
        { type: 'Completed', status: 'True', reason: 'TimeoutReached', message: 'claim completed by timeout', lastTransitionTime: now() },
      ],
    },
  }, true)
}

/** Writes a Sandbox's status through the status subresource. */
export async function setSandboxStatus(api: ApiClient, ns: string, name: string, status: Record<string, unknown>): Promise<Sandbox> {
  return ok(api, 'PATCH', `${sandboxPath(ns, name)}/status`, { status }, true)
}

/** The provider's pause: phase Paused and SandboxPaused=True once `spec.paused` is set. */
export async function markPaused(api: ApiClient, ns: string, name: string): Promise<void> {
  await setSandboxStatus(api, ns, name, {
    phase: 'Paused',
    conditions: [
      readyCondition(false, ''),
      { type: 'SandboxPaused', status: 'True', reason: 'StopPauseSucceed', message: '', lastTransitionTime: now() },
    ],
  })
}

/** The provider's resume: Running and Ready again. */
export async function markResumed(api: ApiClient, ns: string, name: string): Promise<void> {
  await setSandboxStatus(api, ns, name, {
    phase: 'Running',
    conditions: [readyCondition(true, ''), { type: 'SandboxResumed', status: 'True', reason: 'ResumePod', message: '', lastTransitionTime: now() }],
  })
}

/** What a sandbox end-to-end file runs on: see startSandboxSuite. */
export interface SandboxSuite {
  cp: ControlPlane
  s3: S3Server
  store: S3DepsStore
  logs: LogCapture
  /** Every secret value the file uses or sees (the S3 secret key to start); none may reach a log line. */
  secrets: string[]
}

/**
 * One control plane with the Worker and OpenKruise CRDs, a real MinIO with a store on it, and a
 * log capture, all torn down with the file's tap instance.
 */
export async function startSandboxSuite(t: Test): Promise<SandboxSuite> {
  const cp = await startSuiteControlPlane(t)
  await installCrds(cp.api, [MANIFESTS.workerCrd, ...SANDBOX_CRD_FILES])
  const s3 = await startS3Server()
  t.teardown(() => s3.close())
  const store = new S3DepsStore({ endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true })
  t.teardown(() => store.close())
  return { cp, s3, store, logs: new LogCapture(), secrets: [s3.secretAccessKey] }
}
