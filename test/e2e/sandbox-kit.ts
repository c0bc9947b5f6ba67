// Shared pieces of the sandbox end-to-end tests: a Worker controller wired with the pod and sandbox
// backends, the sandbox watches and a real deps store, its logs captured for the secret scan; and
// the OpenKruise controller's part, played by the test (sandbox-provider.ts: pool, claim, pause and
// resume, each Sandbox backed by a Pod that runs on the fake Node).

import { Writable } from 'node:stream'
import { pino } from 'pino'
import type { ApiClient } from '../../localcluster/api-client.ts'
import type { ControlPlane } from '../../localcluster/control-plane.ts'
import { Registry } from 'prom-client'
import { loadConfig } from '../../config/config.ts'
import type { BackoffPolicy } from '../../reconciler/controller/backoff.ts'
import type { DepsStore } from '../../reconciler/deps/store.ts'
import type { KubeClient, KubeRequest } from '../../reconciler/controller/kube.ts'
import { startReconciler } from '../../reconciler/main.ts'
import type { ReconcilerOptions } from '../../reconciler/backend/options.ts'
import type { SandboxClaim, SandboxSettings } from '../../reconciler/sandbox/objects.ts'
import { NAMING, sandboxSettings, WORKER_IMAGE } from './sandbox-settings.ts'
import { getClaim as getClaimNamed } from './sandbox-provider.ts'
import { sandboxExtension } from '../../reconciler/sandbox/extension.ts'
import { kubeconfigFor } from './reconciler-kit.ts'
import { MANIFESTS, OPENKRUISE_CRDS } from '../../localcluster/manifests.ts'
import { installCrds } from '../../localcluster/crds.ts'
import { startS3Server, type S3Server } from '../harness/s3-server.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { S3DepsStore } from '../../reconciler/deps/s3.ts'
import type { Test } from 'tap'

export const SANDBOX_CRD_FILES = OPENKRUISE_CRDS
export { NAMING, sandboxSettings, WORKER_IMAGE } from './sandbox-settings.ts'

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
 * (reconciler/sandbox/extension.ts): Workers, Pods, Secrets, ServiceAccounts, Sandboxes and
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

// The OpenKruise controller's part is sandbox-provider.ts; the sandbox tests import it from here.
export {
  bindSandbox, claimedSandboxes, claimPath, finishBind, markPaused, markResumed, poolSandboxes, sandboxPath, setSandboxStatus, syncPool, timeOutClaim,
} from './sandbox-provider.ts'

/** The claim of Worker `worker` in `ns` (`<prefix>worker-<worker>`), if it exists. */
export const getClaim = (api: ApiClient, ns: string, worker: string): Promise<SandboxClaim | undefined> => getClaimNamed(api, ns, `${NAMING.resourcePrefix}worker-${worker}`)

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
  const { s3, store } = await startS3Store(t)
  return { cp, s3, store, logs: new LogCapture(), secrets: [s3.secretAccessKey] }
}

/** A real MinIO and a deps store on it, both closed with the file's tap instance. */
export async function startS3Store(t: Pick<Test, 'teardown'>): Promise<{ s3: S3Server; store: S3DepsStore }> {
  const s3 = await startS3Server()
  t.teardown(() => s3.close())
  const store = new S3DepsStore({ endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true })
  t.teardown(() => store.close())
  return { s3, store }
}
