// How a worker Pod's status reads as a runtime state (docs/backends.md): Pending / ContainerCreating
// → Starting, Running + Ready → Running, Failed → Failed; a Pod being deleted → Stopping; each with
// the CamelCase reason the Worker's Ready condition shows. Pure: unit-tested without an API server.

import type { KubeObject } from '../../api/meta.ts'
import { RuntimeState, type BackendStatus } from '../backend/contract.ts'

interface ContainerState {
  waiting?: { reason?: string; message?: string }
  terminated?: { reason?: string; message?: string; exitCode?: number }
}

/** The Pod fields this mapping reads. */
export interface Pod extends KubeObject {
  status?: {
    phase?: string
    reason?: string
    message?: string
    conditions?: Array<{ type: string; status: string }>
    containerStatuses?: Array<{ name: string; ready?: boolean; state?: ContainerState; lastState?: ContainerState }>
  }
}

/** Why the worker container is not running, in one line (`ImagePullBackOff: Back-off pulling ...`). */
function containerDetail(pod: Pod): string | undefined {
  const c = pod.status?.containerStatuses?.find((s) => s.name === 'worker') ?? pod.status?.containerStatuses?.[0]
  const waiting = c?.state?.waiting
  if (waiting?.reason) return waiting.message ? `${waiting.reason}: ${waiting.message}` : waiting.reason
  const term = c?.state?.terminated ?? c?.lastState?.terminated
  if (term?.reason) return `${term.reason}${term.exitCode !== undefined ? ` (exit code ${term.exitCode})` : ''}${term.message ? `: ${term.message}` : ''}`
  return undefined
}

/** The runtime state of a Worker whose Pod is `pod` (undefined: no Pod). */
export function mapPodStatus(pod: Pod | undefined): BackendStatus {
  if (!pod) return { state: RuntimeState.NotFound }
  if (pod.metadata?.deletionTimestamp) return { state: RuntimeState.Stopping, reason: 'PodDeleting', message: 'the Pod is being deleted' }
  const phase = pod.status?.phase
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false
  const detail = containerDetail(pod)
  switch (phase) {
    case 'Running':
      return ready ? { state: RuntimeState.Running, reason: 'PodReady' } : { state: RuntimeState.Starting, reason: 'PodNotReady', message: detail ?? 'the worker container is not ready yet' }
    case 'Failed':
      return { state: RuntimeState.Failed, reason: 'PodFailed', message: pod.status?.message || pod.status?.reason || detail || 'the Pod failed' }
    case 'Succeeded':
      return { state: RuntimeState.Failed, reason: 'PodSucceeded', message: detail ? `the worker container exited: ${detail}` : 'the worker container exited' }
    case 'Pending':
    case undefined:
      return { state: RuntimeState.Starting, reason: 'PodPending', message: detail ?? 'the Pod is pending' }
    default:
      return { state: RuntimeState.Unknown, reason: 'PodPhaseUnknown', message: `the Pod is in phase ${phase}` }
  }
}
