// What a Worker's sandbox runtime looks like right now (docs/sandbox.md): the claim first, then the
// label-matched Sandbox, mapped as in upstream #988 (docs/sandbox.md) with its two fixes — a timed-out claim is
// Failed with the provider's message, and re-claiming waits an exponential, per-Worker backoff
// (carried on the claim, so it survives restarts) instead of looping on every reconcile. Pure.

import { RuntimeState } from '../backend/contract.ts'
import { backoffDelay, type BackoffPolicy } from '../controller/backoff.ts'
import { ANNOTATION_CLAIM_ATTEMPT, ANNOTATION_CLAIM_OWNER, type Condition, type Sandbox, type SandboxClaim } from './objects.ts'

/** The runtime's state as the reconciler needs it. */
export const SandboxState = {
  /** Neither claim nor sandbox: a claim may be created. */
  Absent: 'Absent',
  Starting: 'Starting',
  Running: 'Running',
  /** Hibernated: `spec.paused: true`. */
  Sleeping: 'Sleeping',
  /** Objects are being deleted; wait before creating again (same-name claim, issue #756). */
  Terminating: 'Terminating',
  /** Needs a new claim, not before `retryAt`. */
  Failed: 'Failed',
} as const
export type SandboxState = (typeof SandboxState)[keyof typeof SandboxState]

/** The backend-neutral runtime state of each sandbox state. */
export const SANDBOX_RUNTIME_STATE: Record<SandboxState, RuntimeState> = {
  Absent: RuntimeState.NotFound,
  Starting: RuntimeState.Starting,
  Running: RuntimeState.Running,
  Sleeping: RuntimeState.Sleeping,
  Terminating: RuntimeState.Stopping,
  Failed: RuntimeState.Failed,
}

export interface SandboxObservation {
  state: SandboxState
  /** CamelCase reason for the Worker's Ready condition. */
  reason: string
  /** For the user: names the object and quotes the provider's own message. Never a secret. */
  message: string
  /** The Worker's sandbox when exactly one belongs to it. */
  sandbox: Sandbox | undefined
  /** Label-matched Sandboxes owned by an earlier claim of the same name: to be deleted. */
  stale: Sandbox[]
  /** Failed only: the earliest time (epoch ms) to re-claim, and the attempt number that claim carries. */
  retryAt?: number
  nextAttempt?: number
}

/**
 * Re-claim backoff: 30 s after the first failure, doubling, at most 15 min. No jitter: the delay
 * is recomputed on every reconcile from the failed claim and must come out the same each time.
 * The first claim already waited claimTimeout (5 min), so a short base is fine.
 */
export const RECLAIM_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 30_000, maxMs: 15 * 60_000, factor: 2, jitter: 0 })
/** How long a completed claim may lack its Sandbox before it counts as lost (informer lag). */
export const LOST_SANDBOX_GRACE_MS = 60_000
/** Extra time past claimTimeout before an untouched claim means no provider controller runs. */
export const UNPROCESSED_CLAIM_GRACE_MS = 2 * 60_000

export interface ObserveInput {
  /** The Worker's claim, undefined when there is none (never created, or deleted by its TTL). */
  claim: SandboxClaim | undefined
  /** Sandboxes matching the Worker's labels. */
  sandboxes: readonly Sandbox[]
  now: number
  /** Claim timeout of the settings (Go duration), for the unprocessed-claim check. */
  claimTimeout: string
  backoff?: BackoffPolicy
}

const GO_DURATION_UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 }

/** Milliseconds of a Go duration (`90s`, `1h30m`, `-1s`); undefined when it is not one. */
export function parseGoDuration(text: string): number | undefined {
  const match = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(text)
  if (!match && text !== '0') return undefined
  if (text === '0') return 0
  let total = 0
  for (const part of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (GO_DURATION_UNIT_MS[part[2] as string] as number)
  }
  return match?.[1] === '-' ? -total : total
}

const condition = (conditions: Condition[] | undefined, type: string): Condition | undefined => conditions?.find((c) => c.type === type)
const time = (value: string | undefined): number | undefined => {
  const ms = value === undefined ? NaN : Date.parse(value)
  return Number.isNaN(ms) ? undefined : ms
}

/** The attempt number a claim carries (1 when unset or unreadable). */
export function claimAttempt(claim: SandboxClaim | undefined): number {
  const n = Number(claim?.metadata.annotations?.[ANNOTATION_CLAIM_ATTEMPT])
  return Number.isInteger(n) && n >= 1 ? n : 1
}

function failed(reason: string, message: string, at: number, attempt: number, input: ObserveInput, extra: Partial<SandboxObservation> = {}): SandboxObservation {
  const retryAt = at + backoffDelay(input.backoff ?? RECLAIM_BACKOFF, attempt, () => 0)
  const next = `next claim not before ${new Date(retryAt).toISOString()} (attempt ${attempt + 1})`
  return { state: SandboxState.Failed, reason, message: `${message}; ${next}`, sandbox: undefined, stale: [], retryAt, nextAttempt: attempt + 1, ...extra }
}

/** Step A of the mapping: the claim alone. Returns undefined when step B (the Sandbox) decides. */
function observeClaim(claim: SandboxClaim, input: ObserveInput): SandboxObservation | undefined {
  const name = `SandboxClaim ${claim.metadata.namespace}/${claim.metadata.name}`
  const status = claim.status ?? {}
  const base = { sandbox: undefined, stale: [] }
  if (claim.metadata.deletionTimestamp) return { state: SandboxState.Terminating, reason: 'ClaimDeleting', message: `${name} is being deleted`, ...base }
  if (status.phase !== 'Completed') {
    const created = time(claim.metadata.creationTimestamp)
    const timeout = parseGoDuration(input.claimTimeout) ?? 0
    if (!status.phase && created !== undefined && input.now > created + timeout + UNPROCESSED_CLAIM_GRACE_MS) {
      const waited = Math.round((input.now - created) / 1000)
      return failed('ClaimNotProcessed', `${name} has had no status for ${waited}s; is the OpenKruise Agents sandbox controller running?`, input.now, claimAttempt(claim), input)
    }
    const detail = status.message ? `: ${status.message}` : ''
    return { state: SandboxState.Starting, reason: 'ClaimPending', message: `waiting for ${name} to be claimed${detail}`, ...base }
  }
  const completed = condition(status.conditions, 'Completed')
  const timedOut = condition(status.conditions, 'TimedOut')
  const claimed = status.claimedReplicas ?? 0
  const desired = claim.spec.replicas ?? 1
  const failedAt = time(timedOut?.lastTransitionTime) ?? time(status.completionTime) ?? input.now
  const provider = status.message || timedOut?.message || completed?.message || 'no message'
  if (timedOut?.status === 'True') {
    return failed('ClaimTimedOut', `${name} timed out: ${provider}`, failedAt, claimAttempt(claim), input)
  }
  if (claimed < desired) {
    const reason = completed?.reason === 'SandboxSetNotFound' ? 'SandboxSetNotFound' : 'ClaimNotSatisfied'
    return failed(reason, `${name} completed with ${claimed}/${desired} sandboxes claimed: ${provider}`, failedAt, claimAttempt(claim), input)
  }
  return undefined
}

/** The Sandbox table of the mapping for the one Sandbox of the Worker. */
function observeOne(sandbox: Sandbox, claim: SandboxClaim | undefined, input: ObserveInput): SandboxObservation {
  const name = `Sandbox ${sandbox.metadata.namespace}/${sandbox.metadata.name}`
  const status = sandbox.status ?? {}
  const ok = (state: SandboxState, reason: string, message: string): SandboxObservation => ({ state, reason, message, sandbox, stale: [] })
  if (sandbox.metadata.deletionTimestamp) return ok(SandboxState.Terminating, 'SandboxDeleting', `${name} is being deleted`)
  if (sandbox.spec?.paused === true) {
    const paused = condition(status.conditions, 'SandboxPaused')?.status === 'True'
    return ok(SandboxState.Sleeping, 'Hibernated', `${name} is ${paused ? 'paused' : 'pausing'}`)
  }
  const ready = condition(status.conditions, 'Ready')
  const failedAt = (): number =>
    Math.max(time(ready?.lastTransitionTime) ?? 0, time(claim?.status?.completionTime) ?? 0, time(sandbox.metadata.creationTimestamp) ?? 0) || input.now
  switch (status.phase ?? '') {
    case '':
    case 'Pending':
      return ok(SandboxState.Starting, 'SandboxPending', `${name} is pending${status.message ? `: ${status.message}` : ''}`)
    case 'Running':
      if (ready === undefined || ready.status === 'True') return ok(SandboxState.Running, 'SandboxReady', `${name} is running`)
      if (ready.message) return failed('SandboxNotReady', `${name} is not ready: ${ready.message}`, failedAt(), claimAttempt(claim), input, { sandbox })
      return ok(SandboxState.Starting, 'SandboxNotReady', `${name} is running but not ready yet`)
    case 'Paused':
    case 'Resuming':
      return ok(SandboxState.Starting, 'SandboxResuming', `${name} is resuming`)
    case 'Upgrading':
      return ok(SandboxState.Starting, 'SandboxUpgrading', `${name} is upgrading`)
    default: {
      // Failed and Succeeded are terminal at the provider (Pod loss is never repaired); Recycling
      // returns it to the pool; anything else is a phase this controller does not know.
      const detail = status.message ? `: ${status.message}` : ''
      return failed('SandboxFailed', `${name} is ${status.phase}${detail}`, failedAt(), claimAttempt(claim), input, { sandbox })
    }
  }
}

/**
 * Maps the claim and the label-matched Sandboxes to one observation (see the file header).
 * Sandboxes whose `agents.kruise.io/owner` annotation names another claim UID are leftovers of an
 * earlier claim with the same name (issue #311): they are reported as `stale`, not as the Worker's.
 */
export function observeSandbox(input: ObserveInput): SandboxObservation {
  const { claim } = input
  const uid = claim?.metadata.uid
  const owner = (s: Sandbox): string | undefined => s.metadata.annotations?.[ANNOTATION_CLAIM_OWNER]
  const current = input.sandboxes.filter((s) => !uid || owner(s) === undefined || owner(s) === uid)
  const stale = input.sandboxes.filter((s) => !current.includes(s))
  const withStale = (o: SandboxObservation): SandboxObservation => ({ ...o, stale })
  if (claim) {
    const fromClaim = observeClaim(claim, input)
    if (fromClaim) return withStale(fromClaim)
  }
  if (current.length === 1) return withStale(observeOne(current[0] as Sandbox, claim, input))
  if (current.length > 1) {
    const names = current.map((s) => s.metadata.name).sort().join(', ')
    const at = Math.max(...current.map((s) => time(s.metadata.creationTimestamp) ?? 0)) || input.now
    return failed('MultipleSandboxes', `${current.length} Sandboxes match the Worker: ${names}`, at, claimAttempt(claim), input, { stale: [...current, ...stale] })
  }
  if (!claim) return { state: SandboxState.Absent, reason: 'NoSandbox', message: 'no SandboxClaim and no Sandbox exist', sandbox: undefined, stale: [] }
  const name = `SandboxClaim ${claim.metadata.namespace}/${claim.metadata.name}`
  const completedAt = time(claim.status?.completionTime) ?? time(condition(claim.status?.conditions, 'Completed')?.lastTransitionTime)
  if (completedAt !== undefined && input.now > completedAt + LOST_SANDBOX_GRACE_MS) {
    return withStale(failed('SandboxLost', `${name} completed but its Sandbox no longer exists`, completedAt + LOST_SANDBOX_GRACE_MS, claimAttempt(claim), input))
  }
  return withStale({ state: SandboxState.Starting, reason: 'SandboxNotFound', message: `${name} completed; waiting for its Sandbox to appear`, sandbox: undefined, stale: [] })
}
