// The sandbox backend's state machine (unit level: a stand-in OpenKruise API and caches, stand-ins
// for the deps delivery and the token freshness, a fake clock): what each observed state leads to,
// and in which order — deps before every claim and every resume, removal before a re-claim.

import t, { type Test } from 'tap'
import { pino } from 'pino'
import type { Worker } from '../../../api/worker.ts'
import { DepsError, RuntimeState } from '../../../reconciler/backend/contract.ts'
import { SandboxBackend } from '../../../reconciler/sandbox/backend.ts'
import { claimName, type SandboxClaim } from '../../../reconciler/sandbox/objects.ts'
import { claimedSandbox, completedClaim } from '../../fixtures/openkruise.ts'
import { sandboxSettings, WORKER_IMAGE } from '../../e2e/sandbox-settings.ts'
import { FakeClock } from '../fake-clock.ts'
import { FakeKruise } from './fake-kruise.ts'

const REFRESH_MS = 2880_000
const alice: Worker = { metadata: { name: 'alice', namespace: 'ns', uid: 'u1', generation: 1 }, spec: { backendRuntime: 'sandbox', runtime: 'openclaw', env: { NOTE: 'x' } } }
const CLAIM = claimName(sandboxSettings(), 'alice')

interface Options {
  hibernate?: boolean
  /** Fails every delivery with this DepsError. */
  depsFail?: DepsError
  /** Claims the informer cache has not shown yet. */
  hidden?: Set<string>
}

function setup(t: Test, o: Options = {}) {
  const clock = new FakeClock()
  const api = new FakeKruise(clock)
  const events: string[] = []
  const backend = new SandboxBackend({
    kube: api,
    caches: api.caches(o.hidden),
    settings: sandboxSettings(),
    hibernate: o.hibernate ?? false,
    images: { default: WORKER_IMAGE },
    env: {},
    materializer: {
      materialize: async (worker) => {
        api.journal.push(`deps ${worker.metadata?.name}`)
        if (o.depsFail) throw o.depsFail
        return { warnings: [], refreshAt: clock.now() + REFRESH_MS }
      },
      removeDeps: async (worker) => (api.journal.push(`remove deps ${worker.metadata?.name}`), { removed: 3 }),
    },
    freshness: {
      keep: async () => (api.journal.push('token checked'), { refreshAt: clock.now() + 60_000 }),
      forget: (worker) => void api.journal.push(`token forgotten ${worker.metadata?.name}`),
    },
    clock,
    log: pino({ level: 'silent' }),
    events: { record: (_w, type, reason) => void events.push(`${type} ${reason}`) },
  })
  t.teardown(() => api.close())
  /** Plays the provider: the claim completed, its Sandbox running (or as `patch` says). */
  const provide = (sandbox: Partial<ReturnType<typeof claimedSandbox>> = {}) => {
    const claim = completedClaim(api.claim('ns', CLAIM) as SandboxClaim)
    api.put('sandboxclaims', claim)
    api.put('sandboxes', { ...claimedSandbox(claim), ...sandbox })
  }
  return { clock, api, backend, events, provide }
}

t.test('absent: the pool, then the deps, then the claim', async (t) => {
  const { api, backend, events } = setup(t)
  const status = await backend.create(alice)
  t.same(api.journal, ['POST sandboxsets ns/agentteams-builtin', 'deps alice', `POST sandboxclaims ns/${CLAIM}`])
  t.match(status, { state: RuntimeState.Starting, reason: 'ClaimPending', depsDelivered: true, eventRecorded: true, requeueAfterMs: REFRESH_MS })
  t.equal(api.claim('ns', CLAIM)?.metadata.annotations?.['agentteams.io/claim-attempt'], '1')
  t.match(api.claim('ns', CLAIM)?.metadata.annotations?.['agentteams.io/spec-hash'], /^[0-9a-f]{32}$/)
  t.same(events, ['Normal SandboxClaimCreated'])
})

t.test('a failed delivery throws its DepsError and creates no claim', async (t) => {
  const { api, backend } = setup(t, { depsFail: new DepsError('materialize deps of Worker ns/alice: connect ECONNREFUSED', 'StoreUnavailable') })
  await t.rejects(backend.create(alice), { name: 'DepsError', reason: 'StoreUnavailable' })
  t.notOk(api.journal.some((w) => w.startsWith('POST sandboxclaims')), 'no claim without deps')
})

t.test('a claim created moments ago counts before the cache shows it: no second claim', async (t) => {
  const { api, backend } = setup(t, { hidden: new Set([CLAIM]) })
  await backend.create(alice)
  const second = await backend.create(alice)
  t.equal(api.journal.filter((w) => w.startsWith('POST sandboxclaims')).length, 1)
  t.match(second, { state: RuntimeState.Starting, reason: 'ClaimPending' })
})

t.test('running: only the token is looked after; the cache is the only read', async (t) => {
  const { api, backend, provide } = setup(t)
  await backend.create(alice)
  provide()
  api.journal.length = 0
  const status = await backend.create(alice)
  t.same(api.journal, ['token checked'])
  t.match(status, { state: RuntimeState.Running, reason: 'SandboxReady', depsDelivered: true, requeueAfterMs: 60_000 })
  t.match(await backend.status(alice), { state: RuntimeState.Running })
})

t.test('a changed spec under a running sandbox: deps first, then removal, then a new claim', async (t) => {
  const { api, backend, events, provide } = setup(t)
  await backend.create(alice)
  provide()
  const old = api.claim('ns', CLAIM)
  api.journal.length = 0
  const changed = { ...alice, spec: { ...alice.spec, env: { NOTE: 'changed' } } }
  await backend.create(changed)
  t.same(api.journal, [
    'deps alice',
    `DELETE sandboxclaims ns/${CLAIM} uid=${old?.metadata.uid}`,
    'DELETE sandboxes ns/agentteams-builtin-x7k2p',
    'token forgotten alice',
    `POST sandboxclaims ns/${CLAIM}`,
  ])
  t.not(api.claim('ns', CLAIM)?.metadata.annotations?.['agentteams.io/spec-hash'], old?.metadata.annotations?.['agentteams.io/spec-hash'])
  t.same(events, ['Normal SandboxClaimCreated', 'Normal SandboxReplacing', 'Normal SandboxClaimCreated'])
})

t.test('sleeping: hibernate with the capability, resume with fresh deps first', async (t) => {
  const { api, backend, provide } = setup(t, { hibernate: true })
  await backend.create(alice)
  provide()
  api.journal.length = 0
  t.match(await backend.stop(alice), { state: RuntimeState.Sleeping, reason: 'Hibernated' })
  t.match(api.journal[0], /^PATCH sandboxes ns\/agentteams-builtin-x7k2p \{"metadata":\{"annotations":\{"agentteams.io\/last-paused-time":"[0-9T:-]+Z"\}\},"spec":\{"paused":true\}\}$/)
  t.same(api.journal.slice(1), ['token forgotten alice'])
  api.journal.length = 0
  const woken = await backend.create(alice)
  t.same(api.journal, ['deps alice', 'PATCH sandboxes ns/agentteams-builtin-x7k2p {"spec":{"paused":false}}'])
  t.match(woken, { state: RuntimeState.Starting, reason: 'SandboxResuming', depsDelivered: true })
})

t.test('sleeping without the capability, and stopped: the claim and its Sandbox go; deps stay', async (t) => {
  const { api, backend, provide } = setup(t)
  await backend.create(alice)
  provide()
  api.journal.length = 0
  t.same(await backend.stop(alice), { state: RuntimeState.NotFound })
  t.same(api.journal.map((w) => w.replace(/ uid=.*/, '')), [`DELETE sandboxclaims ns/${CLAIM}`, 'DELETE sandboxes ns/agentteams-builtin-x7k2p', 'token forgotten alice'])
  await backend.create(alice)
  provide()
  api.journal.length = 0
  t.same(await backend.delete(alice), { state: RuntimeState.NotFound })
  t.notOk(api.journal.includes('remove deps alice'), 'a Stopped Worker keeps its deps for its restart')
})

t.test('deleted: the runtime goes, then the deps', async (t) => {
  const { api, backend, provide } = setup(t)
  await backend.create(alice)
  provide()
  api.journal.length = 0
  await backend.delete({ ...alice, metadata: { ...alice.metadata, deletionTimestamp: '2026-12-06T12:00:00Z' } })
  t.equal(api.journal.at(-1), 'remove deps alice')
  t.equal(api.objects.size, 1, 'only the pool is left')
})

t.test('a failed sandbox is replaced only after its backoff, with the next attempt number', async (t) => {
  const { api, backend, clock, provide } = setup(t)
  await backend.create(alice)
  provide({ status: { phase: 'Failed', message: 'pod evicted' } })
  api.journal.length = 0
  const waiting = await backend.create(alice)
  t.match(waiting, { state: RuntimeState.Failed, reason: 'SandboxFailed' })
  t.ok((waiting.requeueAfterMs ?? 0) > 0, 'asks to be looked at when the backoff ends')
  t.same(api.journal, [], 'nothing written during the backoff')
  await clock.advance(waiting.requeueAfterMs ?? 0)
  await backend.create(alice)
  t.same(api.journal.map((w) => w.replace(/ uid=.*/, '')), [`DELETE sandboxclaims ns/${CLAIM}`, 'DELETE sandboxes ns/agentteams-builtin-x7k2p', 'token forgotten alice', 'deps alice', `POST sandboxclaims ns/${CLAIM}`])
  t.equal(api.claim('ns', CLAIM)?.metadata.annotations?.['agentteams.io/claim-attempt'], '2')
})

t.test('without the sandbox API: nothing is written, and the Worker is told how to fix it', async (t) => {
  const { api, backend } = setup(t)
  api.served = false
  const status = await backend.create(alice)
  t.match(status, { state: RuntimeState.Unknown, reason: 'SandboxApiMissing', requeueAfterMs: 30_000 })
  t.match(status.message, 'install its CRDs and the Worker starts without a controller restart')
  t.same(api.journal, [])
  t.match(await backend.status(alice), { state: RuntimeState.NotFound, reason: 'SandboxApiMissing' })
})
