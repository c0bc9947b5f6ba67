// The backend contract: what the reconciler needs from a runtime (pod, sandbox) to drive a Worker,
// plus the naming, labels and owner reference every backend's objects share (docs/backends.md).
// A backend only touches its own objects; the transition rule stays in api/backend-runtime.ts.

import type { V1OwnerReference } from '@kubernetes/client-node'
import type { KubeObject } from '../../api/meta.ts'
import { API_VERSION, KIND, LABEL_CONTROLLER, LABEL_WORKER, runtimeObjectName, type Worker } from '../../api/worker.ts'

/** What exists of a Worker's runtime on one backend, normalized. */
export const RuntimeState = {
  /** Nothing of the runtime exists on this backend. */
  NotFound: 'NotFound',
  Starting: 'Starting',
  Running: 'Running',
  /** Exists but paused (a hibernated sandbox). */
  Sleeping: 'Sleeping',
  /** Being removed (a Pod with a deletionTimestamp). */
  Stopping: 'Stopping',
  Failed: 'Failed',
  Unknown: 'Unknown',
} as const
export type RuntimeState = (typeof RuntimeState)[keyof typeof RuntimeState]

export interface BackendStatus {
  state: RuntimeState
  /** Detail for `status.message` (a container's waiting reason, a provider message). */
  message?: string | undefined
  /**
   * Why the runtime is in this state, in CamelCase (`PodPending`, `ClaimTimedOut`,
   * `SandboxNotReady`, `SandboxApiMissing`, ...): the reason of the Worker's `Ready` condition.
   */
  reason?: string | undefined
  /**
   * True when the Worker's env and token are in place for this runtime (written, and verified
   * where the backend can). Only the backend knows: unset means it cannot tell on this pass (its
   * API is missing, the runtime is being removed), and `DepsMaterialized` keeps its last value.
   * A failed delivery is a thrown DepsError, never a status.
   */
  depsDelivered?: boolean | undefined
  /** Things the user should fix that do not stop the runtime (unused spec.env keys, ignored fields). */
  warnings?: string[] | undefined
  /**
   * Look at this Worker again after this long even without a watch event (token refresh, claim
   * polling, re-claim backoff). The reconcile returns the earliest of all requeue requests.
   */
  requeueAfterMs?: number | undefined
  /**
   * The backend recorded its own Event for creating the runtime on this pass (the sandbox backend's
   * SandboxClaimCreated, which names the claim), so the reconcile adds no generic RuntimeCreated.
   */
  eventRecorded?: boolean | undefined
}

/**
 * One runtime. Every method is idempotent and level-based: it looks at what exists and moves it
 * one step towards the goal, returning the state afterwards. Errors are thrown (KubeError,
 * DepsError, ...) and retried with backoff by the controller.
 */
export interface Backend {
  /** The `spec.backendRuntime` value this backend serves (`pod`, `sandbox`). */
  readonly name: string
  /** Reads what exists. Never changes anything. */
  status(worker: Worker): Promise<BackendStatus>
  /** Creates what is missing and replaces what no longer matches the spec. */
  create(worker: Worker): Promise<BackendStatus>
  /** Puts the runtime to sleep: hibernates it, or removes it when the backend cannot hibernate. */
  stop(worker: Worker): Promise<BackendStatus>
  /** Removes every runtime object of the Worker on this backend (not its ServiceAccount). */
  delete(worker: Worker): Promise<BackendStatus>
}

/** The backends this process offers, by name. A missing name means "not available here". */
export type BackendRegistry = ReadonlyMap<string, Backend>

/**
 * The Worker's deps (env, token) could not be delivered before the runtime was created; the
 * reconciler sets `DepsMaterialized=False` with `reason` and retries with backoff.
 */
export class DepsError extends Error {
  override name = 'DepsError'
  readonly reason: string
  constructor(message: string, reason: string, options?: ErrorOptions) {
    super(message, options)
    this.reason = reason
  }
}

/** Names and labels of a controller's runtime objects. */
export interface RuntimeNaming {
  controllerName: string
  resourcePrefix: string
}

/** `<prefix>worker-<metadata.name>`: the Pod, Secret, ServiceAccount and SandboxClaim name. */
export function runtimeName(naming: RuntimeNaming, worker: Worker): string {
  return runtimeObjectName(naming.resourcePrefix, worker.metadata?.name ?? '')
}

/**
 * Labels of every runtime object: `spec.labels`, then the system labels, which win.
 * `agentteams.io/worker` holds `metadata.name`, so an owned object maps back to its Worker key.
 */
export function runtimeLabels(naming: RuntimeNaming, worker: Worker): Record<string, string> {
  return { ...(worker.spec?.labels ?? {}), [LABEL_WORKER]: worker.metadata?.name ?? '', [LABEL_CONTROLLER]: naming.controllerName }
}

/** True when `obj` carries this controller's `agentteams.io/controller` label: made by this controller. */
export function isOwnObject(obj: KubeObject | undefined, naming: Pick<RuntimeNaming, 'controllerName'>): boolean {
  return obj?.metadata?.labels?.[LABEL_CONTROLLER] === naming.controllerName
}

/**
 * The label selector of every runtime object of any Worker, whatever controller made it: this
 * controller's and the upstream controller's (docs/runtime-objects.md), which must be seen to be kept.
 */
export const WORKER_LABEL_SELECTOR = LABEL_WORKER

/** The label selector of every object this controller created for any Worker. */
export function ownedSelector(naming: RuntimeNaming): string {
  return `${LABEL_CONTROLLER}=${naming.controllerName},${LABEL_WORKER}`
}

/** The controller owner reference to `worker` (so garbage collection removes its objects too). */
export function ownerReference(worker: Worker): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: worker.metadata?.name ?? '',
    uid: worker.metadata?.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  }
}

/**
 * `namespace/name`: the key of Worker `name` in `namespace` — its queue key, and the owner key its
 * runtime objects in that namespace are indexed by (runtime-watch.ts).
 */
export function workerKeyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`
}

/** `namespace/name` of a Worker, for messages and queue keys. */
export function workerKey(worker: Worker): string {
  return workerKeyOf(worker.metadata?.namespace ?? '', worker.metadata?.name ?? '')
}

/** The Worker an object is labelled for (`agentteams.io/worker`), if any. */
export function workerLabel(obj: KubeObject | undefined): string | undefined {
  return obj?.metadata?.labels?.[LABEL_WORKER]
}
