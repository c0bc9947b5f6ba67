// The Worker controller with the sandbox backend and a real S3 deps store, in its own process (as
// `serve` wires it: reconciler/main.ts + reconciler/sandbox/extension.ts), for the fault tests and
// bench/reconcile.ts: a process can be SIGKILLed, and its RSS is its own. It counts every API
// request and store operation, records each SandboxClaim create, and — when asked — reads the
// bucket just before a claim create goes out: a claim whose deps are missing is a violation.
// Settings (credentials included) arrive over IPC, never on the command line. Answers `stats`.

import { readFileSync } from 'node:fs'
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { loadConfig } from '../../config/config.ts'
import { KubeConfig } from '../../reconciler/controller/client-node.ts'
import { depsKeys, type DepsStore } from '../../reconciler/deps/store.ts'
import { S3DepsStore, type S3DepsStoreOptions } from '../../reconciler/deps/s3.ts'
import { findKubeError, isAlreadyExists, type KubeClient, type KubeRequest } from '../../reconciler/controller/kube.ts'
import { METRIC_QUEUE_DEPTH, METRIC_RECONCILE_TOTAL } from '../../reconciler/controller/metrics.ts'
import { startReconciler } from '../../reconciler/main.ts'
import { requestKind } from './request-kind.ts'
import type { SandboxClaim } from '../../reconciler/sandbox/objects.ts'
import { sandboxExtension } from '../../reconciler/sandbox/extension.ts'
import { sandboxSettings, WORKER_IMAGE } from '../e2e/sandbox-settings.ts'

/** The first IPC message: what to run. */
export interface ControllerChildSettings {
  kubeconfigPath: string
  namespace: string
  s3: S3DepsStoreOptions
  /** AGENTTEAMS_MAX_CONCURRENT_RECONCILES for this run. */
  concurrency: number
  /** Read the bucket before every claim create (a failed read blocks the create). */
  checkDepsAtClaim?: boolean
  leader?: { leaseName: string; identity: string; leaseDurationSeconds: number; renewDeadlineSeconds: number; retryPeriodSeconds: number }
  informerStaleSeconds?: number
  /** Log lines go to stdout (`collect`) or nowhere (`discard`); level info either way. */
  logs: 'collect' | 'discard'
}

/** One SandboxClaim create as the API server answered it. */
export interface ClaimCreate { name: string; at: number; outcome: 'created' | 'exists' | 'failed' }

/** The answer to `{ type: 'stats' }`. */
export interface ControllerStats {
  rss: number
  /** Peak RSS of the process so far (getrusage). */
  maxRss: number
  heapUsed: number
  heapTotal: number
  /** Memory of C++ objects bound to JS (buffers, TLS), and of ArrayBuffers among it. */
  external: number
  arrayBuffers: number
  /** V8's heap limit: Node sizes it from a memory cgroup's limit when it runs in one. */
  heapLimit: number
  /** V8 heap spaces: committed (physical) and used bytes each. */
  spaces: Record<string, { committed: number; used: number }>
  /** API requests by `<METHOD> <resource>[/<subresource>]` (lists are `LIST <resource>`; watches are streams, not counted). */
  requests: Record<string, number>
  /** Failed API requests by `<kind> <HTTP status>` (0: no response). */
  failures: Record<string, number>
  /** Reconciles finished (any result), and Worker keys waiting in the queue. */
  reconciles: number
  queueDepth: number
  /** Deps store operations by name. */
  store: Record<string, number>
  claims: ClaimCreate[]
  /** Claims whose env or token object was missing from the bucket when the create went out. */
  violations: string[]
  /** Claim creates held back because the bucket could not be read at that moment. */
  unverifiable: number
  ready: boolean
  leader: boolean
}

const requests: Record<string, number> = {}
const failures: Record<string, number> = {}
const storeOps: Record<string, number> = {}
const claims: ClaimCreate[] = []
const violations: string[] = []
let unverifiable = 0

function countingStore(store: DepsStore): DepsStore {
  const count = (op: string) => (storeOps[op] = (storeOps[op] ?? 0) + 1)
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function' || prop === 'constructor') return value
      return (...args: unknown[]) => {
        count(String(prop))
        return value.apply(target, args)
      }
    },
  })
}

function instrumented(kube: KubeClient, checker: DepsStore | undefined): KubeClient {
  return {
    close: () => kube.close(),
    async request<T>(request: KubeRequest): Promise<T> {
      const kind = requestKind(request)
      requests[kind] = (requests[kind] ?? 0) + 1
      if (kind !== 'POST sandboxclaims') {
        return kube.request<T>(request).catch((error: unknown) => {
          const failed = `${kind} ${findKubeError(error)?.code ?? 0}`
          failures[failed] = (failures[failed] ?? 0) + 1
          throw error
        })
      }
      const claim = request.body as SandboxClaim
      const worker = claim.metadata.labels?.['agentteams.io/worker'] ?? ''
      if (checker) {
        const keys = depsKeys(worker)
        let found: Array<Uint8Array | undefined>
        try {
          found = await Promise.all([checker.get(keys.env), checker.get(keys.token)])
        } catch (cause) {
          unverifiable++
          throw new Error(`check deps of ${worker} before its claim: the bucket cannot be read`, { cause })
        }
        if (found.some((body) => body === undefined || body.length === 0)) violations.push(`${claim.metadata.namespace}/${claim.metadata.name}`)
      }
      const record = (outcome: ClaimCreate['outcome']) => {
        const event: ClaimCreate = { name: claim.metadata.name, at: Date.now(), outcome }
        claims.push(event)
        // Pushed at once too: a SIGKILLed process cannot answer `stats` any more.
        process.send?.({ type: 'claim', claim: event })
      }
      try {
        const created = await kube.request<T>(request)
        record('created')
        return created
      } catch (error) {
        record(isAlreadyExists(error) ? 'exists' : 'failed')
        throw error
      }
    },
  }
}

const settings = await new Promise<ControllerChildSettings>((resolve) => process.once('message', (m) => resolve(m as ControllerChildSettings)))
const kubeconfig = new KubeConfig()
kubeconfig.loadFromString(readFileSync(settings.kubeconfigPath, 'utf8'))
const s3 = new S3DepsStore(settings.s3)
const checker = settings.checkDepsAtClaim ? new S3DepsStore(settings.s3) : undefined
const { controllerName, resourcePrefix, ...sandbox } = sandboxSettings()
const extension = sandboxExtension({ store: countingStore(s3), settings: sandbox, capabilities: ['pool'], probeEveryMs: 1000 })
const log = pino({ level: 'info', base: { name: 'worker-runtime-controller' } }, settings.logs === 'collect' ? pino.destination(1) : pino.destination('/dev/null'))
const registry = new Registry()
const handle = await startReconciler({
  config: loadConfig({ AGENTTEAMS_CONTROLLER_NAME: controllerName, AGENTTEAMS_RESOURCE_PREFIX: resourcePrefix }),
  log,
  registry,
  kubeconfig,
  ...(settings.leader ? { identity: settings.leader.identity } : {}),
  overrides: {
    watchNamespace: settings.namespace,
    workerImage: WORKER_IMAGE,
    controllerUrl: 'http://controller.agentteams.svc:8090',
    maxConcurrentReconciles: settings.concurrency,
    ...(settings.informerStaleSeconds ? { informerStaleSeconds: settings.informerStaleSeconds } : {}),
    ...(settings.leader
      ? { leaderElection: true, leaderElectionNamespace: settings.namespace, leaderElectionId: settings.leader.leaseName, leaseDurationSeconds: settings.leader.leaseDurationSeconds, renewDeadlineSeconds: settings.leader.renewDeadlineSeconds, retryPeriodSeconds: settings.leader.retryPeriodSeconds }
      : { leaderElection: false }),
  },
  wrapKube: (kube) => instrumented(kube, checker),
  ...extension,
})

/** The sum of a metric's values (all label sets), 0 when it has none yet. */
async function metricSum(name: string): Promise<number> {
  const metric = registry.getSingleMetric(name)
  return metric ? (await metric.get()).values.reduce((sum, v) => sum + v.value, 0) : 0
}

process.on('message', async (m: { type?: string; gc?: boolean }) => {
  if (m?.type === 'stats') {
    const [reconciles, queueDepth] = [await metricSum(METRIC_RECONCILE_TOTAL), await metricSum(METRIC_QUEUE_DEPTH)]
    // A full collection first when asked (the process runs with --expose-gc): live data, not garbage.
    if (m.gc) (globalThis as { gc?: () => void }).gc?.()
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage()
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((x) => [x.space_name, { committed: x.physical_space_size, used: x.space_used_size }]))
    const stats: ControllerStats = { rss, maxRss: process.resourceUsage().maxRSS * 1024, heapUsed, heapTotal, external, arrayBuffers, heapLimit: getHeapStatistics().heap_size_limit, spaces, requests, failures, reconciles, queueDepth, store: storeOps, claims, violations, unverifiable, ready: handle.isReady(), leader: handle.isLeader() }
    process.send?.({ type: 'stats', stats })
  } else if (m?.type === 'stop') {
    void handle.close().then(() => {
      s3.close()
      checker?.close()
      process.exit(0)
    })
  }
})
process.send?.({ type: 'started', pid: process.pid })
process.on('disconnect', () => process.exit(0))
