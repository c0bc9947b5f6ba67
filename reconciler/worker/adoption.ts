// Adoption without disruption (docs/runtime-objects.md): a Worker whose runtime is one the upstream
// controller made (a legacy Pod, or a #988 SandboxClaim and its Sandbox) keeps that runtime exactly
// as it is. This module decides what the Worker reports about it — backend, phase from the adopted
// objects, a RuntimeAdopted condition naming them, a spec change that waits for the next
// Stopped → Running — and which adopted objects have finished and may be replaced. Pure.

import { checkBackendSwitch } from '../../api/backend-runtime.ts'
import { BackendRuntime, ConditionType, WorkerPhase, type BackendRuntime as Runtime, type Worker } from '../../api/worker.ts'
import { type BackendStatus, RuntimeState } from '../backend/contract.ts'
import { mapPodStatus, type Pod } from '../pod/status.ts'
import { describeRuntimeObject, type RuntimeObject, RuntimeKind } from './runtime-objects.ts'
import type { Sandbox, SandboxClaim } from '../sandbox/objects.ts'
import { observeSandbox, SANDBOX_RUNTIME_STATE } from '../sandbox/status.ts'
import type { ConditionInput, StatusInput } from './status.ts'
import { runningPhase } from './report.ts'

/** Reasons of the RuntimeAdopted condition. */
export const AdoptionReason = {
  Adopted: 'LegacyRuntimeAdopted',
  SpecChanged: 'SpecChangedSinceAdoption',
  /** The adopted runtime is gone (stopped, or replaced after it finished). */
  Released: 'LegacyRuntimeGone',
  /** Another controller made a runtime beside this controller's own: two runtimes, reported. */
  Beside: 'ForeignRuntimeBeside',
} as const

export interface AdoptionInput {
  worker: Worker
  /** The Worker's runtime objects that another controller made (none of this controller's). */
  foreign: readonly RuntimeObject[]
  defaultBackendRuntime: Runtime
  now: number
  /** The sandbox settings' claim timeout (Go duration), for reading a legacy claim. */
  claimTimeout: string
}

export interface Adoption {
  /** What the Worker reports. */
  status: StatusInput
  /** The adopted runtime's state. */
  state: BackendStatus
  /** Adopted objects whose runtime has ended (a finished Pod, a failed sandbox): to be replaced. */
  finished: RuntimeObject[]
}

const controllerOf = (o: RuntimeObject): string => o.object.metadata?.labels?.['agentteams.io/controller'] || 'an unlabelled controller'

/** The state of adopted Pods: the best of them (a second legacy Pod never hides a running one). */
function podState(pods: readonly RuntimeObject[]): { state: BackendStatus; finished: RuntimeObject[] } {
  const states = pods.map((o) => ({ o, s: mapPodStatus(o.object as Pod) }))
  const rank: BackendStatus['state'][] = [RuntimeState.Running, RuntimeState.Starting, RuntimeState.Unknown, RuntimeState.Stopping, RuntimeState.Failed]
  states.sort((a, b) => rank.indexOf(a.s.state) - rank.indexOf(b.s.state))
  const finished = states.filter((x) => x.s.state === RuntimeState.Failed).map((x) => x.o)
  const best = states[0]?.s ?? { state: RuntimeState.NotFound }
  return { state: { ...best, message: `${describeRuntimeObject(states[0]!.o)}: ${best.message ?? best.reason ?? best.state}` }, finished }
}

/** The state of an adopted #988 claim and its Sandboxes, read as this controller reads its own. */
function sandboxState(objects: readonly RuntimeObject[], now: number, claimTimeout: string): { state: BackendStatus; finished: RuntimeObject[] } {
  const claim = objects.find((o) => o.kind === RuntimeKind.SandboxClaim)?.object as unknown as SandboxClaim | undefined
  const sandboxes = objects.filter((o) => o.kind === RuntimeKind.Sandbox).map((o) => o.object as unknown as Sandbox)
  const seen = observeSandbox({ claim, sandboxes, now, claimTimeout })
  const where = objects.map(describeRuntimeObject).join(', ')
  const state = SANDBOX_RUNTIME_STATE[seen.state]
  return { state: { state, reason: seen.reason, message: `${where}: ${seen.reason}` }, finished: state === RuntimeState.Failed ? [...objects] : [] }
}

/** The phase of an adopted runtime: a hibernated or terminating one shows as such, else as a running one would. */
function phaseOf(state: BackendStatus['state']): string {
  if (state === RuntimeState.Sleeping) return WorkerPhase.Sleeping
  if (state === RuntimeState.Stopping) return WorkerPhase.Stopping
  return runningPhase(state)
}

/** What a Worker whose runtime another controller made reports, and what of it has finished. */
export function adopt(input: AdoptionInput): Adoption {
  const { worker, foreign } = input
  const pods = foreign.filter((o) => o.kind === RuntimeKind.Pod)
  const backend = pods.length > 0 ? BackendRuntime.Pod : BackendRuntime.Sandbox
  const applied = worker.status?.backendRuntime || backend
  const { state, finished } = pods.length > 0 ? podState(pods) : sandboxState(foreign, input.now, input.claimTimeout)
  const names = foreign.map((o) => `${describeRuntimeObject(o)} (made by ${controllerOf(o)})`).join(', ')
  const generation = worker.metadata?.generation
  const before = worker.status?.conditions?.find((c) => c.type === ConditionType.RuntimeAdopted)
  const since = before?.status === 'True' && before.observedGeneration !== undefined ? before.observedGeneration : generation
  const changed = generation !== undefined && since !== undefined && generation > since
  const adopted: ConditionInput = {
    type: ConditionType.RuntimeAdopted,
    status: 'True',
    reason: changed ? AdoptionReason.SpecChanged : AdoptionReason.Adopted,
    message: `adopted ${names}: it keeps running as it is; spec changes take effect at the next spec.state Stopped → Running`,
    ...(since !== undefined ? { observedGeneration: since } : {}),
  }
  const verdict = checkBackendSwitch({ ...worker, status: { ...worker.status, backendRuntime: applied } }, {
    defaultBackendRuntime: input.defaultBackendRuntime,
    appliedRuntimeExists: true,
  })
  const phase = phaseOf(state.state)
  const ready: ConditionInput = phase === WorkerPhase.Running
    ? { type: ConditionType.Ready, status: 'True', reason: 'Running', message: '' }
    : { type: ConditionType.Ready, status: 'False', reason: state.reason ?? phase, message: state.message ?? '' }
  const blocked: ConditionInput = verdict.allowed
    ? { type: ConditionType.BackendSwitchBlocked, status: 'False', reason: 'NoSwitchPending', message: '' }
    : { type: ConditionType.BackendSwitchBlocked, status: 'True', reason: 'RuntimeStillExists', message: verdict.message }
  const notes = [
    verdict.allowed ? '' : verdict.message,
    changed ? `the spec changed after the runtime was adopted (generation ${since} → ${generation}): set spec.state=Stopped, wait for phase Stopped, then set spec.state=Running to apply it` : '',
    phase === WorkerPhase.Running ? '' : state.message ?? '',
  ]
  return {
    state,
    finished,
    status: { phase, backendRuntime: applied, message: notes.filter(Boolean).join('; '), conditions: [ready, blocked, adopted] },
  }
}

/**
 * RuntimeAdopted=False when another controller made a runtime beside this controller's own (the
 * upstream controller still running, say): nothing is adopted and nothing deleted unasked; the user
 * is told what to do.
 */
export function besideCondition(foreign: readonly RuntimeObject[]): ConditionInput {
  const names = foreign.map((o) => `${describeRuntimeObject(o)} (made by ${controllerOf(o)})`).join(', ')
  return {
    type: ConditionType.RuntimeAdopted,
    status: 'False',
    reason: AdoptionReason.Beside,
    message: `a second runtime of this Worker runs beside this controller's own: ${names}; stop the controller that made it, then delete it (spec.state=Stopped removes both)`,
  }
}

/** The RuntimeAdopted condition once the adopted runtime is gone (only written where it was True). */
export function releasedCondition(worker: Worker, why: string): ConditionInput | undefined {
  const before = worker.status?.conditions?.find((c) => c.type === ConditionType.RuntimeAdopted)
  if (before?.status !== 'True') return undefined
  return { type: ConditionType.RuntimeAdopted, status: 'False', reason: AdoptionReason.Released, message: why }
}
