// The OpenKruise Agents objects of the sandbox backend (docs/sandbox.md), as plain data: their types,
// and one SandboxClaim per Worker that swaps in the worker image and mounts its deps, stamped with
// a digest of what it was built from (the warm pool is pool.ts's). Pure: no I/O, so every field is
// unit-tested.

import { createHash } from 'node:crypto'
import type { ObjectMeta } from '../../api/meta.ts'
import { validateSandboxName } from '../../api/validation.ts'
import { LABEL_CONTROLLER, LABEL_WORKER, type Worker } from '../../api/worker.ts'
import { ownerReference, runtimeName } from '../backend/contract.ts'
import { depsKeys } from '../deps/store.ts'
import { TOKEN_DIR } from '../backend/env.ts'

/** OpenKruise Agents API (docs/sandbox.md). */
export const SANDBOX_GROUP = 'agents.kruise.io'
export const SANDBOX_VERSION = 'v1alpha1'
export const SANDBOX_API_VERSION = `${SANDBOX_GROUP}/${SANDBOX_VERSION}`
export const SandboxPlural = { Sandbox: 'sandboxes', SandboxClaim: 'sandboxclaims', SandboxSet: 'sandboxsets' } as const

/** Labels the provider stamps on a claimed Sandbox (docs/sandbox.md). */
export const LABEL_CLAIM_NAME = 'agents.kruise.io/claim-name'
export const ANNOTATION_CLAIM_OWNER = 'agents.kruise.io/owner'
/** Our label beyond worker/controller (upstream #988's). */
export const LABEL_RUNTIME = 'agentteams.io/runtime'
/** Re-claim attempt number, carried from a failed claim to its replacement (re-claim backoff). */
export const ANNOTATION_CLAIM_ATTEMPT = 'agentteams.io/claim-attempt'
/**
 * Digest of what the provider applies only at claim time (image, labels, env); the same key the
 * pod backend stamps on its Pod. Set on the claim and, through the claim's `spec.annotations`,
 * copied by the provider onto the Sandbox, so it outlives a claim removed by `ttlAfterCompleted`.
 */
export const ANNOTATION_SPEC_HASH = 'agentteams.io/spec-hash'
/** User label prefixes never copied: the provider's own keys break claiming (docs/sandbox.md, issue #311). */
const RESERVED_LABEL_PREFIXES = ['agents.kruise.io/', 'agentteams.io/']

/** Where the env folder is mounted (upstream #998 `AGENTTEAMS_WORKER_ENV_MOUNT_DIR`). */
export const ENV_MOUNT_DIR = '/mnt/agentteams/env'

/** Settings of the sandbox backend (config rows; defaults from docs/sandbox.md, docs/deps.md). */
export interface SandboxSettings {
  controllerName: string
  resourcePrefix: string
  /** SandboxSet name, default `agentteams-builtin`. */
  poolName: string
  prewarmSize: number
  /** Pool template image; empty → DEFAULT_AGENT_RUNTIME_IMAGE. */
  agentRuntimeImage: string
  /** Go durations: default `5m`, `2m`, `15m`. */
  claimTimeout: string
  waitReadyTimeout: string
  ttlAfterCompleted: string
  /** PersistentVolume holding the deps, default `agentteams`. */
  depsPvName: string
  /** Attribute of the token mount, default `agentteams-token`. */
  credentialProviderName: string
}

/** The metadata of an OpenKruise object this backend reads or writes: named, and namespaced. */
export type SandboxMeta = ObjectMeta & { name: string; namespace: string }
export interface Condition { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }
export interface CsiMount { pvName: string; mountPath: string; subPath?: string; readOnly?: boolean; attributes?: Record<string, string> }

export interface SandboxSet {
  apiVersion: string
  kind: 'SandboxSet'
  metadata: SandboxMeta
  spec: { replicas: number; [field: string]: unknown }
  status?: Record<string, unknown>
}
export interface SandboxClaim {
  apiVersion: string
  kind: 'SandboxClaim'
  metadata: SandboxMeta
  spec: {
    templateName: string
    replicas?: number
    claimTimeout?: string
    waitReadyTimeout?: string
    ttlAfterCompleted?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
    inplaceUpdate?: { image?: string }
    dynamicVolumesMount?: CsiMount[]
    [field: string]: unknown
  }
  status?: { phase?: string; message?: string; claimedReplicas?: number; completionTime?: string; conditions?: Condition[] }
}
export interface Sandbox {
  apiVersion: string
  kind: 'Sandbox'
  metadata: SandboxMeta
  spec?: { paused?: boolean; [field: string]: unknown }
  status?: { phase?: string; message?: string; conditions?: Condition[]; podInfo?: { podIP?: string } }
}

/** `<prefix>worker-<worker>`: the claim's (and the ServiceAccount's) name, as backend.ts names every runtime object. */
export function claimName(settings: Pick<SandboxSettings, 'resourcePrefix'>, worker: string): string {
  return runtimeName({ resourcePrefix: settings.resourcePrefix, controllerName: '' }, { metadata: { name: worker } })
}

/** The labels every runtime object of `worker` carries, and the selector that finds them. */
export function workerSelector(settings: Pick<SandboxSettings, 'controllerName'>, worker: string): Record<string, string> {
  return { [LABEL_WORKER]: worker, [LABEL_CONTROLLER]: settings.controllerName }
}

/** `k=v,k=v` for a list call. */
export function labelSelector(labels: Record<string, string>): string {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',')
}

/**
 * Why `worker` cannot get a claim, or undefined: the rule the validating webhook applies too
 * (api/validation.ts validateSandboxName), for Workers created before it ran or past it.
 */
export function checkClaimable(settings: Pick<SandboxSettings, 'resourcePrefix'>, worker: string): string | undefined {
  return validateSandboxName({ metadata: { name: worker } }, settings.resourcePrefix)[0]
}

/** What a claim needs besides the settings. */
export interface ClaimInput {
  worker: Worker
  /** The worker image (spec.image or the per-runtime default); the provider swaps it in place. */
  image: string
  /** Re-claim attempt (1 for the first claim), see ANNOTATION_CLAIM_ATTEMPT. */
  attempt: number
  /** claimSpecHash of what the claim and the deps are built from (ANNOTATION_SPEC_HASH); the backend always sets it. */
  specHash?: string
}

/** What a running sandbox cannot take over without a new claim. */
export interface ClaimSpecInput {
  /** The Worker's uid: salts the digest, which covers env values (equal envs never show equal digests). */
  uid: string
  image: string
  /** claimLabels of the Worker. */
  labels: Record<string, string>
  /** The rendered env file (system keys and spec.env, spec.runtime among them). */
  envFile: string
}

/**
 * The spec digest of a claim: SHA-256 over the inputs, 32 hex characters (the pod backend's
 * length). A change of spec.image, spec.runtime, spec.env or spec.labels changes it; spec.state
 * does not.
 */
export function claimSpecHash(input: ClaimSpecInput): string {
  const labels = Object.entries(input.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return createHash('sha256').update(JSON.stringify([input.uid, input.image, labels, input.envFile])).digest('hex').slice(0, 32)
}

/**
 * The digest the Worker's runtime was built from: the claim's, else (the claim is gone after its
 * TTL) the Sandbox's copy; undefined when neither carries one, which never counts as drift.
 */
export function recordedSpecHash(claim: SandboxClaim | undefined, sandbox: Sandbox | undefined): string | undefined {
  return claim?.metadata.annotations?.[ANNOTATION_SPEC_HASH] ?? sandbox?.metadata.annotations?.[ANNOTATION_SPEC_HASH]
}

/**
 * The labels of a Worker's claim and, through `spec.labels`, of its Sandbox: the Worker's
 * `spec.labels` (minus the provider's and our reserved prefixes), then the system labels, which win.
 */
export function claimLabels(settings: SandboxSettings, worker: Worker): Record<string, string> {
  const name = worker.metadata?.name ?? ''
  const labels: Record<string, string> = {}
  for (const [k, v] of Object.entries(worker.spec?.labels ?? {})) {
    if (!RESERVED_LABEL_PREFIXES.some((p) => k.startsWith(p))) labels[k] = String(v)
  }
  labels['app'] = `${settings.resourcePrefix}worker`
  if (worker.spec?.runtime) labels[LABEL_RUNTIME] = worker.spec.runtime
  Object.assign(labels, workerSelector(settings, name))
  return labels
}

/** The deps mounts of docs/deps.md: env and token folders, read-only, from the deps PV. */
export function depsMounts(settings: SandboxSettings, worker: string): CsiMount[] {
  const keys = depsKeys(worker)
  return [
    { pvName: settings.depsPvName, mountPath: ENV_MOUNT_DIR, subPath: keys.envDir, readOnly: true },
    {
      pvName: settings.depsPvName,
      mountPath: TOKEN_DIR,
      subPath: keys.tokenDir,
      readOnly: true,
      attributes: { credentialProviderName: settings.credentialProviderName },
    },
  ]
}

/**
 * The SandboxClaim of a Worker (docs/sandbox.md). Never sets `template` (a claim has none) nor
 * `skipInitRuntime` (the deps mounts need the init runtime).
 */
export function desiredSandboxClaim(settings: SandboxSettings, input: ClaimInput): SandboxClaim {
  const meta = input.worker.metadata ?? {}
  const worker = meta.name ?? ''
  const labels = claimLabels(settings, input.worker)
  const stamp: Record<string, string> = input.specHash ? { [ANNOTATION_SPEC_HASH]: input.specHash } : {}
  return {
    apiVersion: SANDBOX_API_VERSION,
    kind: 'SandboxClaim',
    metadata: {
      name: claimName(settings, worker),
      namespace: meta.namespace ?? '',
      labels,
      annotations: { [ANNOTATION_CLAIM_ATTEMPT]: String(input.attempt), ...stamp },
      ownerReferences: [ownerReference(input.worker)],
    },
    spec: {
      templateName: settings.poolName,
      replicas: 1,
      claimTimeout: settings.claimTimeout,
      waitReadyTimeout: settings.waitReadyTimeout,
      ttlAfterCompleted: settings.ttlAfterCompleted,
      labels: { ...labels },
      ...(input.specHash ? { annotations: { ...stamp } } : {}),
      inplaceUpdate: { image: input.image },
      dynamicVolumesMount: depsMounts(settings, worker),
    },
  }
}
