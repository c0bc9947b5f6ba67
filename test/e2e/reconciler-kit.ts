// Shared pieces of the reconciler's end-to-end tests on the real control plane: start a reconciler
// scoped to a test namespace, wait for the fake Node's kubelet (kwok) to run a Pod or hold Pods
// back by cordoning the Node, read what a user would see, and wait for conditions by polling.
// (Restarting kube-apiserver: ControlPlane.restartApiserver.)

import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { KubeConfig } from '@kubernetes/client-node'
import { pino, type Logger } from 'pino'
import { Registry } from 'prom-client'
import type { ApiClient } from '../../localcluster/api-client.ts'
import type { ControlPlane } from '../../localcluster/control-plane.ts'
import { pollUntil } from '../../localcluster/polling.ts'
import { workerPath, type Worker } from '../../api/worker.ts'
import { loadConfig } from '../../config/config.ts'
import { startReconciler, type ReconcilerHandle, type StartReconcilerOptions } from '../../reconciler/main.ts'
import type { ReconcilerOptions } from '../../reconciler/backend/options.ts'

/** Waits are generous: two shared cores, other engineers' builds running. */
export const WAIT_MS = 60_000
export const PREFIX = 'agentteams-'

export interface TestReconciler extends ReconcilerHandle {
  registry: Registry
  /** Sum of a metric's values matching `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>
}

/** Loads the control plane's admin kubeconfig, pointing at `server` when given (a proxy). */
export function kubeconfigFor(cp: ControlPlane, server?: string): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromString(server ? cp.kubeconfig.replace(cp.url, server) : cp.kubeconfig)
  return kc
}

/** A logger for the reconciler under test: silent unless WRC_TEST_LOG=debug|info|... */
export function testLogger(): Logger {
  return pino({ level: process.env['WRC_TEST_LOG'] ?? 'silent' })
}

/** Starts a reconciler watching only `namespace`, leader election off unless overridden. */
export async function startTestReconciler(
  cp: ControlPlane,
  namespace: string,
  overrides: Partial<ReconcilerOptions> = {},
  extra: Partial<StartReconcilerOptions> = {},
): Promise<TestReconciler> {
  const registry = new Registry()
  const handle = await startReconciler({
    config: loadConfig({}),
    log: testLogger(),
    registry,
    kubeconfig: kubeconfigFor(cp),
    overrides: { watchNamespace: namespace, leaderElection: false, ...overrides },
    ...extra,
  })
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const m = registry.getSingleMetric(name)
    if (!m) return 0
    return (await m.get()).values
      .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
      .reduce((sum, v) => sum + v.value, 0)
  }
  return Object.assign(handle, { registry, metric })
}

/** Polls until `attempt` yields a value; the message names what a user would be waiting for. */
export function eventually<T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs = WAIT_MS): Promise<T> {
  return pollUntil(what, attempt, { timeoutMs, intervalMs: 250 })
}

export async function getJson(api: ApiClient, path: string): Promise<any | undefined> {
  const r = await api.request('GET', path)
  if (r.status === 404) return undefined
  if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status} ${r.text}`)
  return r.body
}

/** The Worker as stored, or undefined when it does not exist (other errors throw). */
export const findWorker = (api: ApiClient, ns: string, name: string) => getJson(api, workerPath(ns, name)) as Promise<Worker | undefined>

/** Waits until the Worker reports `wanted` as its phase; resolves with the Worker. */
export const waitForPhase = (api: ApiClient, ns: string, name: string, wanted: string) =>
  eventually(`Worker ${ns}/${name} phase ${wanted}`, async () => {
    const w = await findWorker(api, ns, name)
    return w?.status?.phase === wanted ? w : undefined
  })

export const podPath = (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}`
export const secretPath = (ns: string, name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`
export const saPath = (ns: string, name: string) => `/api/v1/namespaces/${ns}/serviceaccounts/${name}`
export const runtimeObjectName = (worker: string) => `${PREFIX}worker-${worker}`

/** The Worker's condition of `type`, if any. */
export function condition(worker: Worker | undefined, type: string) {
  return worker?.status?.conditions?.find((c) => c.type === type)
}

/** True when the Pod is Running with Ready=True (what kwok writes once the Pod is bound to its Node). */
export function podRunning(pod: any): boolean {
  return pod?.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True')
}

/**
 * Waits until the Pod runs: bound to the fake Node by kube-scheduler and reported Running and
 * Ready by kwok, the kubelet of that Node (no test writes Pod status). Resolves with the Pod.
 */
export function waitForPodRunning(api: ApiClient, ns: string, name: string, timeoutMs = WAIT_MS): Promise<any> {
  return eventually(`Pod ${ns}/${name} Running and Ready on the fake Node`, async () => {
    const pod = await getJson(api, podPath(ns, name))
    return pod?.spec?.nodeName && podRunning(pod) ? pod : undefined
  }, timeoutMs)
}

/**
 * Cordons (true) or uncordons (false) the control plane's fake Node, as `kubectl cordon` does: while
 * cordoned, new Pods stay Pending (unschedulable) and their Workers `Starting`. Pods already bound
 * keep running.
 */
export async function cordonNode(cp: ControlPlane, unschedulable: boolean): Promise<void> {
  if (!cp.nodeName) throw new Error('cordon the fake Node: this control plane runs no nodes')
  const r = await cp.api.request('PATCH', `/api/v1/nodes/${cp.nodeName}`, { spec: { unschedulable } }, { contentType: 'application/merge-patch+json' })
  if (r.status !== 200) throw new Error(`cordon Node ${cp.nodeName}: HTTP ${r.status} ${r.text}`)
}

/** Merge-patches a Worker's spec (as a user's `kubectl patch --type=merge` would). */
export async function patchWorkerSpec(api: ApiClient, ns: string, name: string, spec: Record<string, unknown>): Promise<Worker> {
  const r = await api.request('PATCH', workerPath(ns, name), { spec }, { contentType: 'application/merge-patch+json' })
  if (r.status !== 200) throw new Error(`patch Worker ${ns}/${name}: HTTP ${r.status} ${r.text}`)
  return r.body
}

const CHILD = fileURLToPath(new URL('./reconciler-child.ts', import.meta.url))

/**
 * A reconciler in its own process (reconciler-child.ts: pod backend, leader election on Lease
 * `lease` in `ns`), so that it can be SIGKILLed like a crashed replica; resolves once it runs and is
 * killed when the test ends.
 */
export async function startReconcilerChild(t: { teardown(fn: () => unknown): void }, cp: ControlPlane, ns: string, lease: string, identity: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CHILD, cp.kubeconfigPath, ns, lease, identity], { stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', () => resolve())
    child.once('exit', (code) => reject(new Error(`reconciler ${identity} exited early (${code})`)))
  })
  return child
}
