// The RBAC proof's set-up and scenarios. One control plane; the chart's RBAC objects applied for
// real; the controller (the real startReconciler with the pod and sandbox backends, leader
// election on, and the secure metrics server) authenticated as the chart's ServiceAccount through
// a TokenRequest token in a kubeconfig, talking to the audited API server (rbac-audit.ts). A run
// drives a pod Worker and a sandbox Worker through their lifecycles in parallel, plus the Lease, a
// scrape by a ServiceAccount the chart binds to metrics-reader, and a legacy Worker whose upstream
// Pod is adopted and then stopped (in a legacy namespace when the run names one); it fails at the
// first step not reached, or at once when the API server refused any request of the controller.

import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KubeConfig } from '@kubernetes/client-node'
import { stringify } from 'yaml'
import type { ApiClient } from '../../localcluster/api-client.ts'
import type { ControlPlane } from '../../localcluster/control-plane.ts'
import { installCrds } from '../../localcluster/crds.ts'
import { MANIFESTS, OPENKRUISE_CRDS, type Manifest } from '../../localcluster/manifests.ts'
import { ensureNamespace } from '../../localcluster/namespaces.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { pollUntil } from '../../localcluster/polling.ts'
import { startSuiteControlPlane, type SuiteTest } from '../harness/suite.ts'
import { createOwnedTempDir } from '../../localcluster/temp-dirs.ts'
import { createWorker, patchWorkerStatus } from '../../localcluster/workers.ts'
import { workerPath } from '../../api/worker.ts'
import { loadConfig } from '../../config/config.ts'
import { FilesystemDepsStore } from '../../reconciler/deps/filesystem.ts'
import { sandboxExtension } from '../../reconciler/sandbox/extension.ts'
import { NAMESPACE, RELEASE, render } from '../chart/helm.ts'
import { createServingCertificates, writeServingCertificates } from '../../certs/certs.ts'
import { createServiceAccount, scrape, serviceAccountToken, startSecureMetrics } from './metrics-kit.ts'
import { startAuditedApiserver, type AuditedApiserver, type Refusal } from './rbac-audit.ts'
import { getJson, patchWorkerSpec, podPath, podRunning, runtimeObjectName, saPath, secretPath, startTestReconciler, WAIT_MS, waitForPodRunning } from './reconciler-kit.ts'
import { bindSandbox, claimedSandboxes, claimPath, getClaim, markPaused, sandboxSettings, WORKER_IMAGE } from './sandbox-kit.ts'
import { createUpstreamClaim, createUpstreamPod, createUpstreamSandbox, upstreamStatus } from './upstream-objects.ts'

/** The chart's ServiceAccount (release RELEASE in NAMESPACE) as the API server names it. */
export const CONTROLLER_USER = `system:serviceaccount:${NAMESPACE}:${RELEASE}`
/** The Lease the chart's leader-election Role names (<controllerName>-reconciler). */
export const LEASE = 'worker-runtime-controller-reconciler'
const LEASE_PATH = `/apis/coordination.k8s.io/v1/namespaces/${NAMESPACE}/leases/${LEASE}`
const RBAC_KINDS = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']
/** The ServiceAccount that scrapes /metrics, bound to metrics-reader through the chart's value. */
export const SCRAPER = 'scraper'

export interface RbacEnv {
  cp: ControlPlane
  server: AuditedApiserver
  /** The controller's kubeconfig: the audited server, its CA, the ServiceAccount's token. */
  kubeconfig: string
  kubeconfigPath: string
  /** The chart's RBAC objects as rendered with the defaults (SA, roles, bindings) and the scraper bound to metrics-reader. */
  rbac: Manifest[]
  /** Holds tls.crt and tls.key of the metrics server, and ca.crt that signed them. */
  certDir: string
  caPem: string
  /** A token of SCRAPER. */
  scraperToken: string
}

/** Applies objects as admin with the real kubectl (create or update). */
export async function kubectlApply(cp: ControlPlane, objects: readonly Manifest[]): Promise<void> {
  const r = await cp.kubectl(['apply', '-f', '-'], { stdin: objects.map((o) => JSON.stringify(o)).join('\n---\n') })
  if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`)
}

/** Starts everything (see the file header) and registers its teardown on `t`. */
export async function startRbacEnv(t: SuiteTest): Promise<RbacEnv> {
  const cp = await startSuiteControlPlane(t)
  await installCrds(cp.api, [MANIFESTS.workerCrd, ...OPENKRUISE_CRDS])
  await ensureNamespace(cp.api, NAMESPACE)
  const rbac = (await render({ 'monitoring.metricsReaderSubjects': [{ kind: 'ServiceAccount', name: SCRAPER, namespace: NAMESPACE }] })).filter((o) => RBAC_KINDS.includes(o.kind))
  await kubectlApply(cp, rbac)
  await createServiceAccount(cp.api, NAMESPACE, SCRAPER)
  const scraperToken = await serviceAccountToken(cp.api, NAMESPACE, SCRAPER, 4 * 3600)
  const dir = await createOwnedTempDir('wrc-rbac-')
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const certs = await createServingCertificates()
  await writeServingCertificates(dir, certs)
  const server = await startAuditedApiserver(cp, dir, CONTROLLER_USER)
  t.teardown(() => server.stop())
  const request = await cp.api.request('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${RELEASE}/token`, {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 4 * 3600 },
  })
  const token = request.body?.status?.token
  if (!token) throw new Error(`TokenRequest for ${CONTROLLER_USER}: HTTP ${request.status} ${request.text}`)
  const kubeconfig = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'audited', cluster: { server: server.url, 'certificate-authority-data': Buffer.from(cp.caPem).toString('base64') } }],
    users: [{ name: RELEASE, user: { token } }],
    contexts: [{ name: RELEASE, context: { cluster: 'audited', user: RELEASE, namespace: NAMESPACE } }],
    'current-context': RELEASE,
  })
  const kubeconfigPath = join(dir, 'controller.kubeconfig')
  await writeFile(kubeconfigPath, kubeconfig, { mode: 0o600 })
  return { cp, server, kubeconfig, kubeconfigPath, rbac, certDir: dir, caPem: certs.ca.cert, scraperToken }
}

/** What a SubjectAccessReview asks about. */
export interface Access {
  verb: string
  group: string
  /** `resource` or `resource/subresource`. */
  resource: string
  namespace: string
  name?: string | undefined
}

/** Whether the audited API server lets the controller's ServiceAccount do `access` (SubjectAccessReview). */
export async function canI(env: RbacEnv, access: Access): Promise<boolean> {
  const [resource, subresource] = access.resource.split('/')
  const review = await env.server.api.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: CONTROLLER_USER,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${NAMESPACE}`, 'system:authenticated'],
      resourceAttributes: { verb: access.verb, group: access.group, resource, subresource, namespace: access.namespace, name: access.name },
    },
  })
  return review.body?.status?.allowed === true
}

/** Waits until the audited API server's authorizer answers `expected` for `access` (RBAC changes propagate through its informers). */
export function waitForAccess(env: RbacEnv, access: Access, expected: boolean): Promise<true> {
  const what = `the API server to ${expected ? 'allow' : 'deny'} ${access.verb} ${access.resource}${access.group ? `.${access.group}` : ''} in ${access.namespace}`
  return pollUntil(what, async () => ((await canI(env, access)) === expected ? true : undefined))
}

/** How one run went. */
export interface RunResult {
  /** Why it failed: the first refusal, else the first step not reached; undefined: it passed. */
  failure: string | undefined
  /** Every request of the controller the API server answered 403, in order. */
  refusals: Refusal[]
  ms: number
}

export interface RunOptions {
  /** Namespace of the Workers (default: a fresh one). */
  namespace?: string
  /** Watch all namespaces (the chart's default) instead of the Workers' namespace only. */
  watchAll?: boolean
  /** Step deadline (default the kits' WAIT_MS). */
  stepTimeoutMs?: number
  /** Where the legacy Worker's upstream Pod lives, configured as a legacy namespace (default: the Workers' namespace). */
  legacyNamespace?: string
}

/** `verb resource in ns (name): message`, without the user name every message repeats. */
export const describeRefusal = (r: Refusal): string =>
  `${r.verb} ${r.resource}${r.namespace ? ` in ${r.namespace}` : ''}${r.name ? ` (${r.name})` : ''}: ${r.message.replace(`User "${CONTROLLER_USER}" `, '')}`

/** One run of the scenarios with a fresh controller (see the file header). */
export async function runScenarios(env: RbacEnv, options: RunOptions = {}): Promise<RunResult> {
  const { cp, server } = env
  const started = Date.now()
  const ns = options.namespace ?? (await createNamespace(cp.api, 'rbac'))
  await cp.api.request('DELETE', LEASE_PATH) // every run creates the Lease, so `create` is exercised
  server.audit.skipToEnd()
  const refusals: Refusal[] = []
  let failure: string | undefined
  const abortIf = (): string | undefined => {
    refusals.push(...server.audit.refusals())
    return refusals[0] ? 'the API server refused the controller' : failure
  }
  const step = <T>(what: string, attempt: () => Promise<T | undefined>) => pollUntil(what, attempt, { timeoutMs: options.stepTimeoutMs ?? WAIT_MS, intervalMs: 250, abortIf })

  // The upstream controller's leftovers exist before the controller starts, as they would.
  const legacy = await prepareLegacy(cp.api, ns, options.legacyNamespace ?? ns)
  const depsDir = await mkdtemp(join(tmpdir(), 'wrc-rbac-deps-'))
  const { controllerName: _c, resourcePrefix: _p, ...settings } = sandboxSettings()
  const kubeconfig = new KubeConfig()
  kubeconfig.loadFromString(env.kubeconfig)
  const reconciler = await startTestReconciler(cp, options.watchAll ? '' : ns, {
    leaderElection: true,
    leaderElectionNamespace: NAMESPACE,
    maxConcurrentReconciles: 2,
    workerImage: WORKER_IMAGE,
  }, {
    kubeconfig,
    config: loadConfig(options.legacyNamespace ? { AGENTTEAMS_LEGACY_NAMESPACES: options.legacyNamespace } : {}),
    ...sandboxExtension({ store: new FilesystemDepsStore({ dir: depsDir }), settings, capabilities: ['hibernate', 'pool'], probeEveryMs: 1000 }),
  })
  try {
    // In parallel; the first failure stops the others at their next poll (abortIf).
    const record = (error: Error): void => {
      failure ??= error.message
    }
    // Fresh names per run: a run that failed on purpose (rbac-minimality) leaves its Workers behind.
    const suffix = randomBytes(3).toString('hex')
    const scenarios = [leaderScenario(cp.api, step), podScenario(cp.api, ns, `alice-${suffix}`, step), sandboxScenario(cp.api, ns, `bob-${suffix}`, step), metricsScenario(env, step), legacy(step)]
    await Promise.all(scenarios.map((p) => p.catch(record)))
  } finally {
    await reconciler.close()
    await rm(depsDir, { recursive: true, force: true })
  }
  refusals.push(...server.audit.refusals())
  if (refusals[0]) failure = `refused ${describeRefusal(refusals[0])}`
  return { failure, refusals, ms: Date.now() - started }
}

type Step = <T>(what: string, attempt: () => Promise<T | undefined>) => Promise<T>

/** Leader election: the Lease is created, held and renewed (released again by close()). */
async function leaderScenario(api: ApiClient, step: Step): Promise<void> {
  const first = await step('the controller to hold its Lease', async () => {
    const lease = await getJson(api, LEASE_PATH)
    return lease?.spec?.holderIdentity ? lease.spec.renewTime as string : undefined
  })
  await step('the controller to renew its Lease', async () => {
    const lease = await getJson(api, LEASE_PATH)
    return lease?.spec?.renewTime && lease.spec.renewTime !== first ? true : undefined
  })
}

/**
 * Secure /metrics: a fresh metrics server (empty caches) reviews the scraper's token and asks
 * whether it may get /metrics, with the controller's credentials; the scrape must be answered 200.
 */
async function metricsScenario(env: RbacEnv, step: Step): Promise<void> {
  const metrics = await startSecureMetrics(env.kubeconfig, env.certDir)
  try {
    await step('a metrics-reader scrape of the secure /metrics to be answered 200', async () => {
      const r = await scrape(metrics.url, env.caPem, `Bearer ${env.scraperToken}`)
      return r.status === 200 ? true : undefined
    })
  } finally {
    await metrics.stop()
  }
}

/** A pod Worker: created, Running, an Event, env changed (Secret rewritten, Pod replaced), deleted. */
async function podScenario(api: ApiClient, ns: string, alice: string, step: Step): Promise<void> {
  const name = runtimeObjectName(alice)
  await createWorker(api, ns, alice, { runtime: 'openclaw', env: { GREETING: 'hello' } })
  const pod = await step('the pod Worker to get its Pod, run by the fake Node', async () => {
    const got = await getJson(api, podPath(ns, name))
    return podRunning(got) ? got : undefined
  })
  await step('the pod Worker to be Running', async () => ((await getJson(api, workerPath(ns, alice)))?.status?.phase === 'Running' ? true : undefined))
  await step('an Event about the pod Worker', async () => {
    const events = await getJson(api, `/api/v1/namespaces/${ns}/events`)
    return events?.items?.some((e: any) => e.involvedObject?.name === alice) ? true : undefined
  })
  await patchWorkerSpec(api, ns, alice, { env: { GREETING: 'bye' } })
  await step('the env Secret to be rewritten', async () => {
    const secret = await getJson(api, secretPath(ns, name))
    return secret && Buffer.from(secret.data?.GREETING ?? '', 'base64').toString() === 'bye' ? true : undefined
  })
  await step('the Pod to be replaced', async () => {
    const now = await getJson(api, podPath(ns, name))
    return now && now.metadata.uid !== pod.metadata.uid ? true : undefined
  })
  await api.request('DELETE', workerPath(ns, alice))
  await step('the pod Worker, its Pod, Secret and ServiceAccount to be gone', async () => {
    for (const path of [workerPath(ns, alice), podPath(ns, name), secretPath(ns, name), saPath(ns, name)]) if (await getJson(api, path)) return undefined
    return true
  })
}

/** A sandbox Worker: pool and claim, a drifted pool put back, Running, hibernated, deleted. */
async function sandboxScenario(api: ApiClient, ns: string, bob: string, step: Step): Promise<void> {
  const poolPath = `/apis/agents.kruise.io/v1alpha1/namespaces/${ns}/sandboxsets/agentteams-builtin`
  await createWorker(api, ns, bob, { backendRuntime: 'sandbox' })
  const claim = await step('the sandbox Worker to get its SandboxClaim (deps and token first)', () => getClaim(api, ns, bob))
  await step('the warm pool to exist', () => getJson(api, poolPath))
  const drift = await api.request('PATCH', poolPath, { spec: { replicas: 7 } }, { contentType: 'application/merge-patch+json' })
  if (drift.status !== 200) throw new Error(`drift the pool: HTTP ${drift.status} ${drift.text}`)
  const sandbox = await bindSandbox(api, claim)
  await step('the sandbox Worker to be Running', async () => ((await getJson(api, workerPath(ns, bob)))?.status?.phase === 'Running' ? true : undefined))
  await step('the drifted warm pool to be put back', async () => ((await getJson(api, poolPath))?.spec?.replicas === 1 ? true : undefined))
  await patchWorkerSpec(api, ns, bob, { state: 'Sleeping' })
  await step('the Sandbox to be hibernated', async () => ((await getJson(api, `/apis/agents.kruise.io/v1alpha1/namespaces/${ns}/sandboxes/${sandbox.metadata.name}`))?.spec?.paused === true ? true : undefined))
  await markPaused(api, ns, sandbox.metadata.name)
  await step('the sandbox Worker to be Sleeping', async () => ((await getJson(api, workerPath(ns, bob)))?.status?.phase === 'Sleeping' ? true : undefined))
  await api.request('DELETE', workerPath(ns, bob))
  await step('the sandbox Worker, its claim, Sandbox and ServiceAccount to be gone', async () => {
    if (await getJson(api, workerPath(ns, bob))) return undefined
    if (await getJson(api, claimPath(ns, claim.metadata.name))) return undefined
    if ((await claimedSandboxes(api, ns)).length > 0) return undefined
    return (await getJson(api, saPath(ns, runtimeObjectName(bob)))) ? undefined : true
  })
}

/**
 * Two legacy Workers as the upstream controller left them, their runtime objects in `podNs`: carl (a
 * phase, no status.backendRuntime) with its Pod, and dora (#988: status.backendRuntime=sandbox) with
 * its SandboxClaim and Sandbox. The returned scenario sees both adopted, then stopped and deleted.
 */
async function prepareLegacy(api: ApiClient, ns: string, podNs: string): Promise<(step: Step) => Promise<void>> {
  // Fresh names per run: a run that failed on purpose (rbac-minimality) leaves its Workers behind.
  const suffix = randomBytes(3).toString('hex')
  const [carl, dora] = [`carl-${suffix}`, `dora-${suffix}`]
  const carlWorker = await createWorker(api, ns, carl, { runtime: 'openclaw' })
  await patchWorkerStatus(api, ns, carl, upstreamStatus(carl))
  await createUpstreamPod(api, podNs, carl, podNs === ns ? { owner: carlWorker } : {})
  await waitForPodRunning(api, podNs, `hiclaw-worker-${carl}`)
  const doraWorker = await createWorker(api, ns, dora, { runtime: 'openclaw', backendRuntime: 'sandbox' })
  await patchWorkerStatus(api, ns, dora, upstreamStatus(dora, { backendRuntime: 'sandbox' }))
  const claim = await createUpstreamClaim(api, podNs, dora, podNs === ns ? { owner: doraWorker } : {})
  await createUpstreamSandbox(api, claim)
  const status = async (name: string) => (await getJson(api, workerPath(ns, name)))?.status
  const adopted = async (name: string) => ((await status(name))?.conditions?.some((c: { type: string; status: string }) => c.type === 'RuntimeAdopted' && c.status === 'True') ? true : undefined)
  return async (step) => {
    await step('the upstream Pod to be adopted', () => adopted(carl))
    await step('the upstream SandboxClaim to be adopted', () => adopted(dora))
    await patchWorkerSpec(api, ns, carl, { state: 'Stopped' })
    await patchWorkerSpec(api, ns, dora, { state: 'Stopped' })
    await step('the upstream Pod to be deleted, then carl Stopped', async () => ((await status(carl))?.phase === 'Stopped' && !(await getJson(api, podPath(podNs, `hiclaw-worker-${carl}`))) ? true : undefined))
    await step('the upstream claim and Sandbox to be deleted, then dora Stopped', async () =>
      ((await status(dora))?.phase === 'Stopped' && !(await getJson(api, claimPath(podNs, `hiclaw-worker-${dora}`))) && (await claimedSandboxes(api, podNs)).every((s) => s.metadata.labels?.['agentteams.io/worker'] !== dora) ? true : undefined))
  }
}
