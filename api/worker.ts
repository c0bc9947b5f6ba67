// The Worker API (agentteams.io/v1beta1, kind Worker): types and constants shared by the webhook
// server and the reconciler. Pure data: this folder imports nothing outside itself but types.
// Field names and enums follow the upstream CRD so an upstream-installed CRD can be guarded too.

import type { ObjectMeta } from './meta.ts'

/** API group of the Worker custom resource. */
export const GROUP = 'agentteams.io'
/** Served and storage version. */
export const VERSION = 'v1beta1'
export const API_VERSION = `${GROUP}/${VERSION}`
export const KIND = 'Worker'
export const PLURAL = 'workers'

/** The two backend runtimes a Worker can run on. */
export const BackendRuntime = { Pod: 'pod', Sandbox: 'sandbox' } as const
export type BackendRuntime = (typeof BackendRuntime)[keyof typeof BackendRuntime]
export const BACKEND_RUNTIMES: readonly BackendRuntime[] = Object.values(BackendRuntime)

/** Desired lifecycle (`spec.state`); unset means Running. */
export const WorkerState = { Running: 'Running', Sleeping: 'Sleeping', Stopped: 'Stopped' } as const
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState]
export const WORKER_STATES: readonly WorkerState[] = Object.values(WorkerState)

/** Agent runtimes (`spec.runtime`): the union of upstream #988's and HEAD's enums (HEAD added qwenpaw). */
export const AgentRuntime = { OpenClaw: 'openclaw', CoPaw: 'copaw', Hermes: 'hermes', OpenHuman: 'openhuman', QwenPaw: 'qwenpaw' } as const
export type AgentRuntime = (typeof AgentRuntime)[keyof typeof AgentRuntime]
export const AGENT_RUNTIMES: readonly AgentRuntime[] = Object.values(AgentRuntime)

/**
 * Observed phase (`status.phase`). `Updating` is not produced by this controller but is part of
 * the upstream enum, so a stored upstream Worker may carry it.
 */
export const WorkerPhase = {
  Pending: 'Pending',
  Starting: 'Starting',
  Running: 'Running',
  Updating: 'Updating',
  Stopping: 'Stopping',
  Sleeping: 'Sleeping',
  Stopped: 'Stopped',
  Failed: 'Failed',
} as const
export type WorkerPhase = (typeof WorkerPhase)[keyof typeof WorkerPhase]

/** Condition types this controller writes (standard metav1.Condition shape). */
export const ConditionType = {
  Ready: 'Ready',
  DepsMaterialized: 'DepsMaterialized',
  BackendSwitchBlocked: 'BackendSwitchBlocked',
  /** True while the Worker runs on a runtime another controller made (docs/runtime-objects.md adoption). */
  RuntimeAdopted: 'RuntimeAdopted',
} as const
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType]

/** Labels every runtime object created for a Worker carries. */
export const LABEL_WORKER = 'agentteams.io/worker'
export const LABEL_CONTROLLER = 'agentteams.io/controller'
/** Finalizer that guards cleanup of a Worker's runtime, deps and ServiceAccount. */
export const FINALIZER = 'agentteams.io/cleanup'

/**
 * The REST path of the Workers in `namespace` (in every namespace when it is unset or empty), of
 * Worker `name` there, or of that Worker's `status` subresource: the one place the API path is spelled.
 */
export function workerPath(namespace?: string, name?: string, subresource?: 'status'): string {
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''
  const one = name === undefined ? '' : `/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`
  return `/apis/${API_VERSION}${ns}/${PLURAL}${one}`
}

/** `<resourcePrefix>worker-<name>`: the name of a Worker's Pod, Secret, ServiceAccount and SandboxClaim. */
export function runtimeObjectName(resourcePrefix: string, workerName: string): string {
  return `${resourcePrefix}worker-${workerName}`
}

export interface Condition {
  type: string
  status: 'True' | 'False' | 'Unknown'
  reason: string
  message: string
  lastTransitionTime: string
  observedGeneration?: number
}

export interface ResourceList {
  cpu?: string
  memory?: string
}

export interface WorkerSpec {
  backendRuntime?: string
  state?: string
  image?: string
  runtime?: string
  workerName?: string
  env?: Record<string, string>
  resources?: { requests?: ResourceList; limits?: ResourceList }
  labels?: Record<string, string>
  /** Upstream: false means something else runs the Worker's process (default true). */
  containerManaged?: boolean
  /** Upstream: `Local` (default), `Remote` (#988: another cluster), `Edge` (HEAD: a host outside the cluster). */
  deployMode?: string
  [field: string]: unknown
}

export interface WorkerStatus {
  phase?: string
  backendRuntime?: string
  message?: string
  observedGeneration?: number
  conditions?: Condition[]
  /** Upstream's provisioner: the Worker's Matrix room (its runtime gets it as AGENTTEAMS_WORKER_ROOM_ID). */
  roomID?: string
  [field: string]: unknown
}

/** A Worker as stored by the API server. Unknown fields are kept, never dropped. */
export interface Worker {
  apiVersion?: string
  kind?: string
  metadata?: ObjectMeta
  spec?: WorkerSpec
  status?: WorkerStatus
  [field: string]: unknown
}

/** True when `value` is one of `allowed`; narrows the type. */
export function isOneOf<T extends string>(allowed: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value)
}
