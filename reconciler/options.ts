// The reconciler's view of the configuration: the settings it reads (worker images, token,
// cluster URLs, leader election, concurrency, informer supervision), with test overrides on top.
// Defaults and validation live in config/settings.ts, the one settings table.

import type { Config } from '../config/config.ts'

/** Every configuration key the reconciler reads beyond the shared ones. */
const KEYS = [
  'workerImage',
  'copawWorkerImage',
  'hermesWorkerImage',
  'openhumanWorkerImage',
  'authAudience',
  'authTokenExpirationSeconds',
  'controllerUrl',
  'matrixUrl',
  'aiGatewayUrl',
  'watchNamespace',
  'leaderElection',
  'leaderElectionNamespace',
  'leaderElectionId',
  'leaseDurationSeconds',
  'renewDeadlineSeconds',
  'retryPeriodSeconds',
  'maxConcurrentReconciles',
  'informerStaleSeconds',
  'informerRelistSeconds',
] as const satisfies ReadonlyArray<keyof Config>

/** The reconciler's settings (see config/settings.ts for meaning and defaults). */
export type ReconcilerOptions = Pick<Config, (typeof KEYS)[number]>

/** The reconciler's settings from `config`, with `overrides` (tests: short leases) on top. */
export function resolveOptions(config: Config, overrides: Partial<ReconcilerOptions> = {}): ReconcilerOptions {
  const picked = Object.fromEntries(KEYS.map((key) => [key, config[key]])) as ReconcilerOptions
  return { ...picked, ...overrides }
}

/** Worker images by `spec.runtime`, with `default` for an unset or unlisted runtime. */
export type WorkerImages = Record<string, string> & { default: string }

/** The image table of the settings: per-runtime images where set, else the worker image. */
export function workerImages(options: ReconcilerOptions): WorkerImages {
  return {
    default: options.workerImage,
    openclaw: options.workerImage,
    ...(options.copawWorkerImage ? { copaw: options.copawWorkerImage } : {}),
    ...(options.hermesWorkerImage ? { hermes: options.hermesWorkerImage } : {}),
    ...(options.openhumanWorkerImage ? { openhuman: options.openhumanWorkerImage } : {}),
  }
}
