// What a Worker's sandbox is built from (docs/sandbox.md, docs/deps.md): its env file — the system keys, the
// credentials and `spec.env` — and the digest over image, labels and env file that the claim
// carries, so a changed spec is told from an unchanged one. Pure; the env file is a secret.

import type { Worker } from '../../api/worker.ts'
import { type EnvOptions, renderEnvFile, unusedEnvWarnings, workerEnv } from '../backend/env.ts'
import { claimLabels, claimSpecHash, type SandboxSettings } from './objects.ts'

/** Cluster URLs for the env (empty ones are left out). */
export type SandboxEnvOptions = Omit<EnvOptions, 'backendRuntime' | 'credentials'>

/**
 * The env file written for `worker` now, with the extra system keys `system` (the credentials),
 * and the warnings for the `spec.env` entries it leaves out. A secret: never log it.
 */
export function sandboxEnv(worker: Worker, options: SandboxEnvOptions, system: Record<string, string> = {}): { file: string; warnings: string[] } {
  const { env, skipped } = workerEnv(worker, { ...options, backendRuntime: 'sandbox', credentials: system })
  return { file: renderEnvFile(env), warnings: unusedEnvWarnings(skipped) }
}

/**
 * The spec digest a claim for `worker` carries (objects.ts ANNOTATION_SPEC_HASH): over its image,
 * its claim labels and its env file. The env file holds the credentials, so a changed credential
 * Secret replaces the sandbox like a changed `spec.env`.
 */
export function sandboxSpecHash(settings: SandboxSettings, worker: Worker, image: string, envFile: string): string {
  return claimSpecHash({ uid: worker.metadata?.uid ?? '', image, labels: claimLabels(settings, worker), envFile })
}
