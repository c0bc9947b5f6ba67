// The reconciler's view of the configuration: the settings it reads (worker images, token,
// cluster URLs, leader election, concurrency, informer supervision), with test overrides on top.
// Defaults and validation live in config/settings.ts, the one settings table.

import type { Config } from '../../config/config.ts'

/** Every configuration key the reconciler reads beyond the shared ones. */
const KEYS = [
  'workerImage',
  'copawWorkerImage',
  'hermesWorkerImage',
  'openhumanWorkerImage',
  'qwenpawWorkerImage',
  'authAudience',
  'authTokenExpirationSeconds',
  'credentialsSecretName',
  'credentialsNamespace',
  'credentialsRequired',
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

export { type WorkerImages, workerImages } from '../../api/images.ts'

/** The cluster URLs a Worker's env gets (empty ones are left out of it). */
export function clusterUrls(options: ReconcilerOptions): { controllerUrl: string; matrixUrl: string; aiGatewayUrl: string } {
  return { controllerUrl: options.controllerUrl, matrixUrl: options.matrixUrl, aiGatewayUrl: options.aiGatewayUrl }
}

/** The credential Secret settings (AGENTTEAMS_CREDENTIALS_*), as credentials.ts takes them. */
export function credentialSettings(options: ReconcilerOptions): { secretName: string; namespace: string; required: boolean } {
  return { secretName: options.credentialsSecretName, namespace: options.credentialsNamespace, required: options.credentialsRequired }
}
