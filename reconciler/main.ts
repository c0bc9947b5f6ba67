// The reconciler process part: wires the API client, informers (Workers and the Pods and
// ServiceAccounts this controller owns), the Worker reconcile, the backends and leader election;
// answers readiness and liveness; shuts down by draining in-flight reconciles and releasing the lease.

import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import type { KubeConfig } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Config } from '../config/config.ts'
import { GROUP, LABEL_WORKER, PLURAL, VERSION, type Worker } from '../api/worker.ts'
import { type Backend, ownedSelector, type RuntimeNaming } from './backend.ts'
import { PodBackend } from './backend-pod.ts'
import { systemClock, type Clock } from './clock.ts'
import { type CacheReader, Controller, type WatchSource } from './controller.ts'
import { createEventRecorder, type EventRecorder } from './events.ts'
import type { ObjectWithMeta } from './informer.ts'
import { type Collection, createKubeClient, createListWatch, type KubeClient, listCollection, resourcePath } from './kube.ts'
import { observeApiRequests } from './kube-metrics.ts'
import { LeaderElector } from './leader.ts'
import { createReconcilerMetrics } from './metrics.ts'
import { type ReconcilerOptions, resolveOptions, workerImages } from './options.ts'
import { OwnWrites, trackOwnWrites } from './own-writes.ts'
import { createWorkerReconciler } from './reconcile-worker.ts'

/** What an extension gets to build extra backends and watches (the sandbox backend plugs in here). */
export interface BackendContext {
  kube: KubeClient
  kubeconfig: KubeConfig
  naming: RuntimeNaming
  options: ReconcilerOptions
  /** The watched namespace; undefined: all namespaces. */
  namespace: string | undefined
  events: EventRecorder
  clock: Clock
  log: Logger
  /**
   * The informer cache of a watched kind (the Worker controller's sources, extensions' included),
   * indexed by owner: backends read what they own from it instead of asking the API server.
   */
  cache: <T extends ObjectWithMeta>(kind: string) => CacheReader<T>
}

export interface StartReconcilerOptions {
  config: Config
  log: Logger
  registry: Registry
  kubeconfig: KubeConfig
  /** Settings config/ does not have yet (see options.ts), or test overrides. */
  overrides?: Partial<ReconcilerOptions>
  /** Extra backends besides `pod`, e.g. the sandbox backend. */
  backends?: (context: BackendContext) => Backend[]
  /** Extra watched kinds whose changes enqueue Workers (e.g. Sandboxes, SandboxClaims). */
  sources?: (context: BackendContext) => WatchSource<any>[]
  /** Wraps the API client (instrumentation, fault injection in tests). */
  wrapKube?: (kube: KubeClient) => KubeClient
  /** Lease holder identity; default `<hostname>_<uuid>`. */
  identity?: string
  clock?: Clock
}

/** A running reconciler. */
export interface ReconcilerHandle {
  /** Caches synced and leader state known (product.md §10 /readyz). */
  isReady(): boolean
  /** true, or what is stuck (a reconcile, the queue, an informer). */
  isLive(): boolean | string
  isLeader(): boolean
  /** Stops taking work, finishes in-flight reconciles, releases the lease, stops the informers. */
  close(): Promise<void>
}

/** In a pod, the namespace it runs in (the service account mount), else `default`. */
async function podNamespace(): Promise<string> {
  try {
    return (await readFile('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8')).trim() || 'default'
  } catch {
    return 'default'
  }
}

function source<T extends ObjectWithMeta>(kind: string, kubeconfig: KubeConfig, kube: KubeClient, collection: Collection, keys: (o: T) => string[]): WatchSource<T> {
  return {
    kind,
    create: () => createListWatch(kubeconfig, kube, collection) as never,
    list: () => listCollection(kube, collection),
    keys,
  }
}

/** A Worker's own key. */
const workerKey = (w: Worker): string[] => [`${w.metadata?.namespace ?? ''}/${w.metadata?.name ?? ''}`]

/** The Worker key an owned object maps to, from its `agentteams.io/worker` label. */
function ownerKey(obj: ObjectWithMeta & { metadata?: { labels?: Record<string, string> } }): string[] {
  const worker = obj.metadata?.labels?.[LABEL_WORKER]
  return worker ? [`${obj.metadata?.namespace ?? ''}/${worker}`] : []
}

/** Starts the reconciler: caches at once, workers when this instance leads. */
export async function startReconciler(options: StartReconcilerOptions): Promise<ReconcilerHandle> {
  const { config, kubeconfig } = options
  const clock = options.clock ?? systemClock
  const settings = resolveOptions(config, options.overrides)
  const log = options.log.child({ component: 'reconciler' })
  const base = createKubeClient(kubeconfig, { fieldManager: config.controllerName, observe: observeApiRequests(options.registry) })
  const kube = options.wrapKube ? options.wrapKube(base) : base
  const metrics = createReconcilerMetrics(options.registry)
  const identity = options.identity ?? `${hostname()}_${randomUUID()}`
  const naming: RuntimeNaming = { controllerName: config.controllerName, resourcePrefix: config.resourcePrefix }
  const images = workerImages(settings)
  let controller: Controller | undefined
  // Bound lazily: the backends are built before the controller that owns the caches.
  const cache = <T extends ObjectWithMeta>(kind: string): CacheReader<T> => ({
    get: (name, namespace) => controller?.cache<T>(kind).get(name, namespace),
    list: (namespace) => controller?.cache<T>(kind).list(namespace) ?? [],
    byOwner: (key) => controller?.cache<T>(kind).byOwner(key) ?? [],
  })
  const pod = new PodBackend({
    ...naming,
    kube,
    images,
    tokenAudience: settings.authAudience,
    tokenExpirationSeconds: settings.authTokenExpirationSeconds,
    env: { controllerUrl: settings.controllerUrl, matrixUrl: settings.matrixUrl, aiGatewayUrl: settings.aiGatewayUrl },
    serviceAccounts: cache('ServiceAccount'),
  })
  const ns = settings.watchNamespace || undefined
  const events = createEventRecorder({ kube, component: config.controllerName, instance: identity, clock, log })
  const context: BackendContext = { kube, kubeconfig, naming, options: settings, namespace: ns, events, clock, log, cache }
  const backends = new Map<string, Backend>([[pod.name, pod]])
  for (const b of options.backends?.(context) ?? []) backends.set(b.name, b)

  // The Worker reconciler's own finalizer and status writes: their watch echoes queue nothing, and a
  // pass reads its own writes even before the informer has them.
  const ownWrites = new OwnWrites({
    clock,
    cachedVersion: (key) => {
      const slash = key.indexOf('/')
      return controller?.cache<Worker>('Worker').get(key.slice(slash + 1), key.slice(0, slash) || undefined)?.metadata?.resourceVersion
    },
  })
  const owned = ownedSelector(naming)
  const core = (plural: string): Collection => ({ path: resourcePath({ group: '', version: 'v1', plural, namespace: ns }), labelSelector: owned })
  const workerCollection: Collection = { path: resourcePath({ group: GROUP, version: VERSION, plural: PLURAL, namespace: ns }) }
  const sources: WatchSource<any>[] = [
    {
      ...source<Worker>('Worker', kubeconfig, kube, workerCollection, workerKey),
      primary: true,
      isEcho: (w: Worker) => ownWrites.isEcho(workerKey(w)[0]!, w.metadata?.resourceVersion),
    },
    source('Pod', kubeconfig, kube, core('pods'), ownerKey),
    source('ServiceAccount', kubeconfig, kube, core('serviceaccounts'), ownerKey),
    ...(options.sources?.(context) ?? []),
  ]
  const reconcile = createWorkerReconciler({
    kube: trackOwnWrites(kube, ownWrites),
    // The cached Worker, unless this controller has since written a newer version of it.
    workers: { get: (name, namespace) => ownWrites.freshest(`${namespace ?? ''}/${name}`, controller?.cache<Worker>('Worker').get(name, namespace)) },
    backends,
    naming,
    defaultBackendRuntime: config.defaultBackendRuntime,
    events,
    clock,
    log,
  })
  controller = new Controller({
    name: 'worker',
    sources,
    reconcile,
    log,
    clock,
    metrics,
    concurrency: settings.maxConcurrentReconciles,
    staleAfterMs: settings.informerStaleSeconds * 1000,
    relistEveryMs: settings.informerRelistSeconds * 1000,
  })
  const ctl = controller
  ctl.startCaches()

  let term: AbortController | undefined
  const lead = () => {
    term = new AbortController()
    void ctl.startWorkers(term.signal).catch((error) => log.error({ err: String(error) }, 'could not start the workers'))
  }
  const unlead = async () => {
    term?.abort()
    await ctl.stopWorkers()
  }
  let elector: LeaderElector | undefined
  if (settings.leaderElection) {
    elector = new LeaderElector({
      kube,
      namespace: settings.leaderElectionNamespace || (await podNamespace()),
      name: settings.leaderElectionId || `${config.controllerName}-reconciler`,
      identity,
      leaseDurationMs: settings.leaseDurationSeconds * 1000,
      renewDeadlineMs: settings.renewDeadlineSeconds * 1000,
      retryPeriodMs: settings.retryPeriodSeconds * 1000,
      log,
      clock,
      metrics,
      onStartedLeading: lead,
      onStoppedLeading: unlead,
    })
    elector.start()
  } else {
    metrics.setLeader(true)
    lead()
  }
  log.info({ identity, namespace: ns ?? '(all)', backends: [...backends.keys()], leaderElection: settings.leaderElection }, 'reconciler started')

  let closing: Promise<void> | undefined
  return {
    isReady: () => !closing && ctl.hasSynced() && (elector ? elector.stateKnown() : true),
    isLive: () => ctl.health(),
    isLeader: () => (elector ? elector.isLeader() : true),
    close() {
      closing ??= (async () => {
        if (elector) await elector.stop()
        else await unlead()
        await ctl.stop()
        await kube.close()
        log.info({ identity }, 'reconciler stopped')
      })()
      return closing
    },
  }
}
