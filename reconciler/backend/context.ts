// What an extension of the reconciler gets to build its backends, watches and start-up checks
// from (the sandbox backend plugs in here, reconciler/sandbox/extension.ts): the API client, the
// naming, the settings, the informer caches, the Event recorder, the clock and the log.

import type { KubeConfig } from '@kubernetes/client-node'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { KubeObject } from '../../api/meta.ts'
import type { Clock } from '../controller/clock.ts'
import type { CacheReader } from '../controller/controller.ts'
import type { ObjectWithMeta } from '../controller/informer.ts'
import type { KubeClient } from '../controller/kube.ts'
import type { RuntimeNaming } from './contract.ts'
import type { EventRecorder } from './events.ts'
import type { ReconcilerOptions } from './options.ts'
import type { RuntimeWatchScope } from './runtime-watch.ts'

/** What an extension gets to build extra backends and watches (the sandbox backend plugs in here). */
export interface BackendContext {
  kube: KubeClient
  kubeconfig: KubeConfig
  naming: RuntimeNaming
  options: ReconcilerOptions
  /** The watched namespace; undefined: all namespaces. */
  namespace: string | undefined
  /** Where the Worker-labelled runtime objects are watched (the namespace, plus legacy namespaces). */
  scope: RuntimeWatchScope
  /** The Worker keys a change of a runtime object enqueues (runtime-watch.ts). */
  runtimeKeys: (obj: KubeObject) => string[]
  events: EventRecorder
  clock: Clock
  log: Logger
  /**
   * The informer cache of a watched kind (the Worker controller's sources, extensions' included),
   * indexed by owner: backends read what they own from it instead of asking the API server.
   */
  cache: <T extends ObjectWithMeta>(kind: string) => CacheReader<T>
  /** The metrics registry (an extension's own gauges). */
  registry: Registry
  /** Aborted when the reconciler closes (an extension's background work stops). */
  signal: AbortSignal
}

