// The reconciler's settings beyond config/ (worker images, token, cluster URLs, leader election,
// concurrency, informer supervision): one table of defaults, read from Config when config/ has a
// key of the same name, else from the caller's overrides, else the default.

import type { Config } from '../config/config.ts'

/** Every reconciler setting. Keys are the config keys they are meant to have. */
export interface ReconcilerOptions {
  /** Image for `spec.runtime` openclaw or unset (upstream HICLAW_WORKER_IMAGE). */
  workerImage: string
  /** Per-runtime images; empty falls back to `workerImage`. */
  copawWorkerImage: string
  hermesWorkerImage: string
  openhumanWorkerImage: string
  /** Audience of the Worker's token (upstream HICLAW_AUTH_AUDIENCE). */
  authAudience: string
  /** Token lifetime; the API server requires ≥ 600 s for projected tokens. */
  authTokenExpirationSeconds: number
  controllerUrl: string
  matrixUrl: string
  aiGatewayUrl: string
  /** Namespace to watch; empty: all namespaces. */
  watchNamespace: string
  leaderElection: boolean
  /** Namespace of the Lease; empty: this pod's namespace, else `default`. */
  leaderElectionNamespace: string
  /** Lease name; empty: `<controllerName>-reconciler`. */
  leaderElectionId: string
  leaseDurationSeconds: number
  renewDeadlineSeconds: number
  retryPeriodSeconds: number
  maxConcurrentReconciles: number
  informerStaleSeconds: number
  informerRelistSeconds: number
}

/** Defaults, each with its source. */
export const RECONCILER_DEFAULTS: Readonly<ReconcilerOptions> = Object.freeze({
  workerImage: 'hiclaw/worker-agent:latest', // upstream HICLAW_WORKER_IMAGE default
  copawWorkerImage: '',
  hermesWorkerImage: '',
  openhumanWorkerImage: '',
  authAudience: 'hiclaw-controller', // upstream HICLAW_AUTH_AUDIENCE default (product.md §6)
  authTokenExpirationSeconds: 3600, // product.md §6: bounded, 1 h
  controllerUrl: '',
  matrixUrl: '',
  aiGatewayUrl: '',
  watchNamespace: '',
  leaderElection: true,
  leaderElectionNamespace: '',
  leaderElectionId: '',
  leaseDurationSeconds: 15, // controller-runtime pkg/manager/internal.go
  renewDeadlineSeconds: 10,
  retryPeriodSeconds: 2,
  maxConcurrentReconciles: 1, // controller-runtime default (field-anchors.md §B1)
  informerStaleSeconds: 300, // Pepr staleness bar, ≤ 5 min (field-anchors.md §G)
  informerRelistSeconds: 600, // KFC relist, 10 min (field-anchors.md §A3)
})

/** Resolves each setting: override, then a Config key of the same name, then the default. */
export function resolveOptions(config: Config, overrides: Partial<ReconcilerOptions> = {}): ReconcilerOptions {
  const fromConfig = config as unknown as Partial<Record<keyof ReconcilerOptions, unknown>>
  const out = { ...RECONCILER_DEFAULTS } as Record<keyof ReconcilerOptions, unknown>
  for (const key of Object.keys(RECONCILER_DEFAULTS) as (keyof ReconcilerOptions)[]) {
    const value = overrides[key] ?? fromConfig[key]
    if (value !== undefined && typeof value === typeof RECONCILER_DEFAULTS[key]) out[key] = value
  }
  return out as unknown as ReconcilerOptions
}
