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
