// The watches the sandbox backend needs (docs/reconcile.md, docs/runtime-objects.md): Sandboxes and SandboxClaims that
// carry the `agentteams.io/worker` label, whatever controller made them (the upstream controller's
// belong to the Worker too), each change enqueuing the Worker named by that label, and
// the SandboxSets (warm pools) the backend reads from the cache instead of the API server.
// The OpenKruise API is optional: while it is not served, these caches count as synced and empty
// (so pod Workers are never held up) and look again periodically; once it is served the informer
// asks its supervisor for a restart, and the real watch starts — no controller restart needed.

import type { KubeConfig } from '@kubernetes/client-node'
import type { KubeObject } from '../../api/meta.ts'
import { WORKER_LABEL_SELECTOR } from '../backend/contract.ts'
import { extraKind, extraNamespaces, runtimeIndexKeys, type RuntimeWatchScope } from '../backend/runtime-watch.ts'
import { systemClock, type Clock, type TimerHandle } from '../controller/clock.ts'
import type { WatchSource } from '../controller/controller.ts'
import type { CacheInformer } from '../controller/informer.ts'
import { isNotFound, type KubeClient, resourcePath } from '../controller/kube.ts'
import { type Collection, createListWatch, listCollection } from '../controller/list-watch.ts'
import { sandboxApiServed } from './api-discovery.ts'
import { SANDBOX_GROUP, SANDBOX_VERSION, SandboxPlural } from './objects.ts'

/** How often a cache without its API checks whether the CRDs were installed. */
export const API_PROBE_EVERY_MS = 15_000

export interface SandboxWatchOptions {
  kubeconfig: KubeConfig
  kube: KubeClient
  /** Where runtime objects are watched (the reconciler's namespace, legacy namespaces). */
  scope: RuntimeWatchScope
  /** The Worker keys a change of a Sandbox or SandboxClaim enqueues (backend/runtime-watch.ts). */
  keys: (obj: KubeObject) => string[]
  clock?: Clock
  probeEveryMs?: number
}

/** Raised (as an informer `error`) when the API appears, so the supervisor starts the real watch. */
export class SandboxApiAppeared extends Error {
  override name = 'SandboxApiAppeared'
}

type Handler = (arg?: any) => void

/** A CacheInformer that is an empty, synced cache while its API is missing (see the file header). */
class ApiOptionalInformer<T> implements CacheInformer<T> {
  readonly #served: () => Promise<boolean>
  readonly #make: () => CacheInformer<T>
  readonly #clock: Clock
  readonly #everyMs: number
  readonly #handlers: Array<[string, Handler]> = []
  #inner: CacheInformer<T> | undefined
  #timer: TimerHandle | undefined
  #stopped = false

  constructor(served: () => Promise<boolean>, make: () => CacheInformer<T>, clock: Clock, everyMs: number) {
    this.#served = served
    this.#make = make
    this.#clock = clock
    this.#everyMs = everyMs
  }

  on(verb: string, cb: Handler): void {
    this.#handlers.push([verb, cb])
    this.#inner?.on(verb as never, cb)
  }

  async start(): Promise<void> {
    if (await this.#served()) {
      const inner = this.#make()
      for (const [verb, cb] of this.#handlers) inner.on(verb as never, cb)
      this.#inner = inner
      return inner.start()
    }
    this.#arm()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) this.#clock.clearTimeout(this.#timer)
    await this.#inner?.stop()
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#inner?.get(name, namespace)
  }

  list(namespace?: string): ReadonlyArray<T> {
    return this.#inner?.list(namespace) ?? []
  }

  #arm(): void {
    this.#timer = this.#clock.setTimeout(() => {
      if (this.#stopped) return
      this.#served().then(
        (served) => {
          if (this.#stopped) return
          if (!served) return this.#arm()
          const appeared = new SandboxApiAppeared('the sandbox API is now served; starting its watch')
          for (const [verb, cb] of this.#handlers) if (verb === 'error') cb(appeared)
        },
        () => this.#arm(),
      )
    }, this.#everyMs)
  }
}

/**
 * Watch sources for Sandboxes and SandboxClaims of any Worker (in the reconciler's scope and in
 * each legacy namespace outside it), and for SandboxSets (the warm pools, read by name from the
 * cache before each claim), to add to the Worker controller's sources. They never block its start
 * when the OpenKruise CRDs are absent.
 */
export function sandboxWatchSources(options: SandboxWatchOptions): WatchSource<KubeObject>[] {
  const clock = options.clock ?? systemClock
  const source = (kind: string, plural: string, namespace: string | undefined, labelSelector: string | undefined, keys: (o: KubeObject) => string[], index?: (o: KubeObject) => string[]): WatchSource<KubeObject> => {
    const collection: Collection = { path: resourcePath({ group: SANDBOX_GROUP, version: SANDBOX_VERSION, plural, namespace }), labelSelector }
    const served = () => sandboxApiServed(options.kube, plural)
    return {
      kind,
      create: () => new ApiOptionalInformer<KubeObject>(served, () => createListWatch<KubeObject>(options.kubeconfig, options.kube, collection), clock, options.probeEveryMs ?? API_PROBE_EVERY_MS),
      // The verification relist of a missing API is an empty list, not an error every 10 min.
      list: () => listCollection(options.kube, collection).catch((error) => {
        if (isNotFound(error)) return { items: [], resourceVersion: undefined }
        throw error
      }),
      keys,
      ...(index ? { index } : {}),
    }
  }
  const runtimeKinds = [['Sandbox', SandboxPlural.Sandbox], ['SandboxClaim', SandboxPlural.SandboxClaim]] as const
  const scoped = [{ suffix: (k: string) => k, namespace: options.scope.namespace }, ...extraNamespaces(options.scope).map((n) => ({ suffix: (k: string) => extraKind(k, n), namespace: n as string | undefined }))]
  return [
    // Found by the Worker they belong to: indexed by their agentteams.io/worker label.
    ...scoped.flatMap(({ suffix, namespace }) => runtimeKinds.map(([kind, plural]) => source(suffix(kind), plural, namespace, WORKER_LABEL_SELECTOR, options.keys, runtimeIndexKeys))),
    // Not selected by label: a pool whose labels someone removed must still be found (and its labels
    // put back); a namespace holds a handful of pools. A pool change enqueues no Worker.
    source('SandboxSet', SandboxPlural.SandboxSet, options.scope.namespace, undefined, () => []),
  ]
}
