// The reconciler process part: wires the API client, informers (Workers, the Worker-labelled Pods
// of any controller, this controller's ServiceAccounts), the Worker reconcile, the backends and
// leader election;
// answers readiness and liveness; shuts down by draining in-flight reconciles and releasing the lease.

import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import type { KubeConfig } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Config } from '../config/config.ts'
import { GROUP, KIND, PLURAL, VERSION, type Worker, workerPath } from '../api/worker.ts'
import { type Backend, ownedSelector, type RuntimeNaming, WORKER_LABEL_SELECTOR, workerKey } from './backend/contract.ts'
import type { KubeObject } from '../api/meta.ts'
import { PodBackend } from './pod/backend.ts'
import { systemClock, type Clock } from './controller/clock.ts'
import { type CacheReader, Controller, type WatchSource } from './controller/controller.ts'
import type { BackendContext } from './backend/context.ts'
import { createEventRecorder } from './backend/events.ts'
import { type ObjectWithMeta, parseObjectKey } from './controller/informer.ts'
import { createKubeClient, type KubeClient, resourcePath } from './controller/kube.ts'
import { type Collection, createListWatch, listCollection } from './controller/list-watch.ts'
import { observeApiRequests } from './controller/kube-metrics.ts'
import { LeaderElector } from './controller/leader.ts'
import { createReconcilerMetrics } from './controller/metrics.ts'
import { clusterUrls, credentialSettings, type ReconcilerOptions, resolveOptions, workerImages } from './backend/options.ts'
import { OwnWrites, trackOwnWrites } from './controller/own-writes.ts'
import { createWorkerReconciler } from './worker/reconcile.ts'
import { PrunedFields } from './worker/status-pruning.ts'
import { RuntimeKind, RuntimeObjects } from './worker/runtime-objects.ts'
import { extraKind, extraNamespaces, runtimeEnqueueKeys, runtimeIndexKeys, type RuntimeWatchScope, scopedKind } from './backend/runtime-watch.ts'

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
  /** Runs once at start, in the background (an extension's start-up checks). */
  onStart?: (context: BackendContext) => Promise<unknown>
  /** Wraps the API client (instrumentation, fault injection in tests). */
  wrapKube?: (kube: KubeClient) => KubeClient
  /** Lease holder identity; default `<hostname>_<uuid>`. */
  identity?: string
  clock?: Clock
}

/** A running reconciler. */
export interface ReconcilerHandle {
  /** Caches synced and leader state known (docs/operations.md /readyz). */
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
    create: () => createListWatch<T>(kubeconfig, kube, collection),
    list: () => listCollection(kube, collection),
    keys,
  }
}

/** A Worker's own key. */
const workerKeys = (w: Worker): string[] => [workerKey(w)]

/** The Worker key an owned object maps to, from its `agentteams.io/worker` label. */
const ownerKey = runtimeIndexKeys

/** Starts the reconciler: caches at once, workers when this instance leads. */
export async function startReconciler(options: StartReconcilerOptions): Promise<ReconcilerHandle> {
  const { config, kubeconfig } = options
  const clock = options.clock ?? systemClock
  const settings = resolveOptions(config, options.overrides)
  const log = options.log.child({ component: 'reconciler' })
  const base = createKubeClient(kubeconfig, { fieldManager: config.controllerName, observe: observeApiRequests(options.registry) })
  const kube = options.wrapKube ? options.wrapKube(base) : base
  const metrics = createReconcilerMetrics(options.registry, KIND)
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
    env: clusterUrls(settings),
    serviceAccounts: cache('ServiceAccount'),
    credentials: credentialSettings(settings),
  })
  const ns = settings.watchNamespace || undefined
  const scope: RuntimeWatchScope = { namespace: ns, legacyNamespaces: config.legacyNamespaces }
  const workerKeysNamed = (name: string): string[] =>
    (controller?.cache<Worker>('Worker').list() ?? []).filter((w) => w.metadata?.name === name).map(workerKey)
  const runtimeKeys = runtimeEnqueueKeys(scope, workerKeysNamed)
  const events = createEventRecorder({ kube, component: config.controllerName, instance: identity, clock, log })
  const lifetime = new AbortController()
  const context: BackendContext = { kube, kubeconfig, naming, options: settings, namespace: ns, scope, runtimeKeys, events, clock, log, cache, registry: options.registry, signal: lifetime.signal }
  const backends = new Map<string, Backend>([[pod.name, pod]])
  for (const b of options.backends?.(context) ?? []) backends.set(b.name, b)

  // The Worker reconciler's own finalizer and status writes: their watch echoes queue nothing, and a
  // pass reads its own writes even before the informer has them.
  const ownWrites = new OwnWrites({
    clock,
    cachedVersion: (key) => {
      const { namespace, name } = parseObjectKey(key)
      return controller?.cache<Worker>('Worker').get(name, namespace)?.metadata?.resourceVersion
    },
  })
  const owned = ownedSelector(naming)
  const core = (plural: string, labelSelector: string, namespace = ns): Collection => ({ path: resourcePath({ group: '', version: 'v1', plural, namespace }), labelSelector })
  const workerCollection: Collection = { path: workerPath(ns) }
  const sources: WatchSource<any>[] = [
    {
      ...source<Worker>('Worker', kubeconfig, kube, workerCollection, workerKeys),
      primary: true,
      isEcho: (w: Worker) => ownWrites.isEcho(workerKey(w), w.metadata?.resourceVersion),
    },
    // Every Worker-labelled Pod, whatever controller made it: the upstream controller's are the
    // Worker's runtime too (docs/runtime-objects.md), in the scope and in each legacy namespace outside it.
    { ...source('Pod', kubeconfig, kube, core('pods', WORKER_LABEL_SELECTOR), runtimeKeys), index: runtimeIndexKeys },
    ...extraNamespaces(scope).map((n) => ({ ...source(extraKind('Pod', n), kubeconfig, kube, core('pods', WORKER_LABEL_SELECTOR, n), runtimeKeys), index: runtimeIndexKeys })),
    source('ServiceAccount', kubeconfig, kube, core('serviceaccounts', owned), ownerKey),
    ...(options.sources?.(context) ?? []),
  ]
  const kinds = backends.has('sandbox') ? [RuntimeKind.Pod, RuntimeKind.SandboxClaim, RuntimeKind.Sandbox] : [RuntimeKind.Pod]
  const watched = new Set(sources.map((s) => s.kind))
  const runtimes = new RuntimeObjects({
    naming,
    legacyPrefixes: config.legacyPrefixes,
    legacyNamespaces: config.legacyNamespaces,
    kube,
    kinds,
    cache: (kind, namespace) => {
      const name = scopedKind(kind, namespace, scope)
      return name !== undefined && watched.has(name) ? cache<KubeObject & ObjectWithMeta>(name) : undefined
    },
    workerNamespaces: (name) => workerKeysNamed(name).map((key) => parseObjectKey(key).namespace ?? ''),
  })
  // What the installed Worker CRD prunes of the status (upstream's has no conditions), learned from
  // the status writes' responses so that an unchanged status is never written again.
  const prunedStatus = new PrunedFields({
    onChange: ({ pruned, kept }) => {
      if (pruned.length > 0) log.warn({ fields: pruned.map((f) => `status.${f}`) }, 'the installed Worker CRD does not store these status fields; they are not compared any more, and kubectl will not show them (install this project\'s Worker CRD to keep them)')
      if (kept.length > 0) log.info({ fields: kept.map((f) => `status.${f}`) }, 'the installed Worker CRD stores these status fields again')
    },
  })
  const reconcile = createWorkerReconciler({
    kube: trackOwnWrites(kube, ownWrites, { group: GROUP, version: VERSION, plural: PLURAL }),
    // The cached Worker, unless this controller has since written a newer version of it.
    workers: { get: (name, namespace) => ownWrites.freshest(`${namespace ?? ''}/${name}`, controller?.cache<Worker>('Worker').get(name, namespace)) },
    backends,
    naming,
    defaultBackendRuntime: config.defaultBackendRuntime,
    runtimes,
    claimTimeout: config.sandboxClaimTimeout,
    serviceAccounts: cache('ServiceAccount'),
    events,
    clock,
    log,
    prunedStatus,
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
  void options.onStart?.(context).catch((error) => log.warn({ err: String(error) }, 'a start-up check failed'))

  let closing: Promise<void> | undefined
  return {
    isReady: () => !closing && ctl.hasSynced() && (elector ? elector.stateKnown() : true),
    isLive: () => ctl.health(),
    isLeader: () => (elector ? elector.isLeader() : true),
    close() {
      closing ??= (async () => {
        lifetime.abort()
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
