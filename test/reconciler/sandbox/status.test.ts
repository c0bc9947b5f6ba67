// The claim-first, then sandbox status mapping (docs/sandbox.md, after upstream #988's) and its two fixes: a timed-out
// claim is Failed with the provider's message; re-claiming backs off exponentially, the attempt
// carried on the claim, so repeated reconciles agree on when.

import t from 'tap'
import { observeSandbox, parseGoDuration, RECLAIM_BACKOFF, SandboxState, type ObserveInput } from '../../../reconciler/sandbox/status.ts'
import type { Sandbox, SandboxClaim } from '../../../reconciler/sandbox/objects.ts'

const T0 = Date.parse('2026-08-22T10:00:00Z')
const iso = (ms: number): string => new Date(ms).toISOString()

function claim(status: SandboxClaim['status'], extra: { attempt?: number; created?: number; deleting?: boolean } = {}): SandboxClaim {
  return {
    apiVersion: 'agents.kruise.io/v1alpha1',
    kind: 'SandboxClaim',
    metadata: {
      name: 'agentteams-worker-alice',
      namespace: 'ns',
      uid: 'claim-uid',
      creationTimestamp: iso(extra.created ?? T0),
      ...(extra.attempt ? { annotations: { 'agentteams.io/claim-attempt': String(extra.attempt) } } : {}),
      ...(extra.deleting ? { deletionTimestamp: iso(T0) } : {}),
    },
    spec: { templateName: 'agentteams-builtin', replicas: 1 },
    ...(status ? { status } : {}),
  }
}

const completed = (claimed = 1): SandboxClaim['status'] => ({
  phase: 'Completed',
  claimedReplicas: claimed,
  completionTime: iso(T0 + 1000),
  message: `Successfully claimed ${claimed}/1 sandboxes`,
  conditions: [{ type: 'Completed', status: 'True', reason: 'AllReplicasClaimed', message: '', lastTransitionTime: iso(T0 + 1000) }],
})

function sandbox(name: string, status: Sandbox['status'], extra: { paused?: boolean; owner?: string; deleting?: boolean } = {}): Sandbox {
  return {
    apiVersion: 'agents.kruise.io/v1alpha1',
    kind: 'Sandbox',
    metadata: {
      name,
      namespace: 'ns',
      creationTimestamp: iso(T0),
      annotations: { 'agents.kruise.io/owner': extra.owner ?? 'claim-uid' },
      ...(extra.deleting ? { deletionTimestamp: iso(T0) } : {}),
    },
    spec: extra.paused === undefined ? {} : { paused: extra.paused },
    ...(status ? { status } : {}),
  }
}

const ready = (status: 'True' | 'False', message = '', at = T0 + 2000) => [{ type: 'Ready', status, reason: status === 'True' ? 'PodReady' : 'StartContainerFailed', message, lastTransitionTime: iso(at) }]
const observe = (input: Partial<ObserveInput>) => observeSandbox({ claim: undefined, sandboxes: [], now: T0 + 5000, claimTimeout: '5m', ...input })

t.test('nothing exists → Absent', async (t) => {
  t.match(observe({}), { state: SandboxState.Absent })
})

t.test('a claim not Completed yet → Starting with the provider message', async (t) => {
  t.match(observe({ claim: claim(undefined) }), { state: 'Starting', reason: 'ClaimPending' })
  t.match(observe({ claim: claim({ phase: 'Claiming', message: 'Claiming sandboxes: 0/1 claimed' }) }), { state: 'Starting', message: /Claiming sandboxes: 0\/1 claimed/ })
  t.match(observe({ claim: claim(undefined, { deleting: true }) }), { state: 'Terminating' })
})

t.test('fix 1: a timed-out claim → Failed with the provider message and a retry time', async (t) => {
  const timedOut = claim({
    phase: 'Completed',
    claimedReplicas: 0,
    completionTime: iso(T0 + 300_000),
    message: 'Timeout reached after 5m0.5s, claimed 0/1 sandboxes',
    conditions: [
      { type: 'TimedOut', status: 'True', reason: 'ClaimTimeoutReached', message: 'claim timed out', lastTransitionTime: iso(T0 + 300_000) },
      { type: 'Completed', status: 'True', reason: 'TimeoutReached', message: 'done', lastTransitionTime: iso(T0 + 300_000) },
    ],
  })
  const o = observe({ claim: timedOut, now: T0 + 301_000 })
  t.equal(o.state, 'Failed')
  t.equal(o.reason, 'ClaimTimedOut')
  t.match(o.message, 'SandboxClaim ns/agentteams-worker-alice timed out: Timeout reached after 5m0.5s, claimed 0/1 sandboxes')
  t.equal(o.retryAt, T0 + 300_000 + RECLAIM_BACKOFF.baseMs, 'first re-claim 30 s after the failure')
  t.equal(o.nextAttempt, 2)
  t.same(observe({ claim: timedOut, now: T0 + 320_000 }), o, 'the same answer on every reconcile: no drift, no hot loop')
})

t.test('fix 1: Completed with fewer claimed than desired → Failed, even without TimedOut', async (t) => {
  const o = observe({ claim: claim({ ...completed(0), message: 'SandboxSet agentteams-builtin not found', conditions: [{ type: 'Completed', status: 'True', reason: 'SandboxSetNotFound', message: 'x', lastTransitionTime: iso(T0) }] }) })
  t.match(o, { state: 'Failed', reason: 'SandboxSetNotFound', message: /0\/1 sandboxes claimed: SandboxSet agentteams-builtin not found/ })
})

t.test('fix 2: the backoff doubles with each attempt and is capped', async (t) => {
  const failedClaim = (attempt: number) =>
    claim({ ...completed(0), conditions: [{ type: 'TimedOut', status: 'True', reason: 'ClaimTimeoutReached', message: 'm', lastTransitionTime: iso(T0) }] }, { attempt })
  const delays = [1, 2, 3, 4, 10].map((a) => (observe({ claim: failedClaim(a) }).retryAt as number) - T0)
  t.same(delays, [30_000, 60_000, 120_000, 240_000, 900_000])
})

t.test('claimed and one ready Sandbox → Running; the Sandbox table', async (t) => {
  const c = claim(completed())
  t.match(observe({ claim: c, sandboxes: [sandbox('sbx', { phase: 'Running', conditions: ready('True') })] }), { state: 'Running', reason: 'SandboxReady', sandbox: { metadata: { name: 'sbx' } } })
  t.match(observe({ claim: c, sandboxes: [sandbox('sbx', { phase: 'Running' })] }), { state: 'Running' }, 'no Ready condition counts as ready (upstream)')
  t.match(observe({ claim: c, sandboxes: [sandbox('sbx', { phase: 'Running', conditions: ready('False', 'Back-off pulling image "x"') })] }), {
    state: 'Failed', reason: 'SandboxNotReady', message: /Sandbox ns\/sbx is not ready: Back-off pulling image "x"/,
  })
  t.match(observe({ claim: c, sandboxes: [sandbox('sbx', { phase: 'Running', conditions: ready('False') })] }), { state: 'Starting' }, 'not ready without a message: still starting')
  t.match(observe({ claim: c, sandboxes: [sandbox('sbx', { phase: 'Pending' })] }), { state: 'Starting' })
  t.match(observe({ claim: c, sandboxes: [sandbox('sbx', undefined)] }), { state: 'Starting' })
  t.match(observe({ claim: c, sandboxes: [sandbox('sbx', { phase: 'Resuming' })] }), { state: 'Starting', reason: 'SandboxResuming' })
  t.match(observe({ claim: c, sandboxes: [sandbox('sbx', { phase: 'Failed', message: 'Pod Not Found' })] }), { state: 'Failed', reason: 'SandboxFailed', message: /is Failed: Pod Not Found/ })
  t.match(observe({ claim: c, sandboxes: [sandbox('sbx', { phase: 'Running' }, { paused: true })] }), { state: 'Sleeping', reason: 'Hibernated' })
  t.match(observe({ claim: c, sandboxes: [sandbox('sbx', { phase: 'Running' }, { deleting: true })] }), { state: 'Terminating' })
})

t.test('no claim (its TTL deleted it) but a Sandbox → mapped from the Sandbox', async (t) => {
  t.match(observe({ sandboxes: [sandbox('sbx', { phase: 'Running' }, { owner: 'old-uid' })] }), { state: 'Running' })
})

t.test('Sandboxes of an earlier same-name claim are stale, not the Worker\'s', async (t) => {
  const o = observe({
    claim: claim(completed()),
    sandboxes: [sandbox('old', { phase: 'Running' }, { owner: 'previous-claim-uid' }), sandbox('new', { phase: 'Running' })],
  })
  t.equal(o.state, 'Running')
  t.equal(o.sandbox?.metadata.name, 'new')
  t.same(o.stale.map((s) => s.metadata.name), ['old'])
})

t.test('several Sandboxes for one claim → Failed, all to be replaced', async (t) => {
  const o = observe({ sandboxes: [sandbox('b', { phase: 'Running' }), sandbox('a', { phase: 'Running' })] })
  t.match(o, { state: 'Failed', reason: 'MultipleSandboxes', message: /2 Sandboxes match the Worker: a, b/ })
  t.equal(o.stale.length, 2)
})

t.test('a completed claim without its Sandbox: Starting for a grace period, then Failed (lost)', async (t) => {
  t.match(observe({ claim: claim(completed()), now: T0 + 10_000 }), { state: 'Starting', reason: 'SandboxNotFound' })
  t.match(observe({ claim: claim(completed()), now: T0 + 120_000 }), { state: 'Failed', reason: 'SandboxLost' })
})

t.test('a claim nobody processes → Failed naming the missing provider controller', async (t) => {
  t.match(observe({ claim: claim(undefined), now: T0 + 4 * 60_000 }), { state: 'Starting' })
  t.match(observe({ claim: claim(undefined), now: T0 + 8 * 60_000 }), { state: 'Failed', reason: 'ClaimNotProcessed', message: /is the OpenKruise Agents sandbox controller running\?/ })
})

t.test('Go durations', async (t) => {
  t.equal(parseGoDuration('5m'), 300_000)
  t.equal(parseGoDuration('1h30m'), 5_400_000)
  t.equal(parseGoDuration('1.5s'), 1500)
  t.equal(parseGoDuration('-1s'), -1000)
  t.equal(parseGoDuration('0'), 0)
  t.equal(parseGoDuration('5 minutes'), undefined)
  t.equal(parseGoDuration('1d'), undefined)
})
