// The token of a running sandbox, pass by pass (unit level: a real filesystem store, a stand-in for
// the rewrite): kept while its refresh time is ahead, rewritten when due, a good stored token kept
// by a process that never delivered one, and a failed rewrite kept as a warning, retried in 30 s.

import t, { type Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import type { KubeObject } from '../../../api/meta.ts'
import type { Worker } from '../../../api/worker.ts'
import { DepsError } from '../../../reconciler/backend/contract.ts'
import { FilesystemDepsStore } from '../../../reconciler/deps/filesystem.ts'
import { TOKEN_RETRY_MS, TokenFreshness } from '../../../reconciler/sandbox/token-freshness.ts'
import { TokenSchedule } from '../../../reconciler/sandbox/token-schedule.ts'
import { FakeClock } from '../fake-clock.ts'

const worker: Worker = { metadata: { name: 'alice', namespace: 'ns', uid: 'u1' } }
const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`

/** A freshness check over a real store; `rewrite` stands in for DepsMaterializer.refreshToken (default: a token good for 48 min). */
async function setup(t: Test, rewrite?: (clock: FakeClock) => Promise<number>) {
  const dir = await mkdtemp(join(tmpdir(), 'sbx-fresh-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const store = new FilesystemDepsStore({ dir })
  const clock = new FakeClock()
  const tokens = new TokenSchedule()
  const accounts = new Map<string, KubeObject>([['ns/agentteams-worker-alice', { metadata: { uid: 'sa-1' } }]])
  const rewrites: string[] = []
  const freshness = new TokenFreshness({
    controllerName: 'wrc', resourcePrefix: 'agentteams-', tokenAudience: 'hiclaw-controller', tokenExpirationSeconds: 3600,
    tokens, store, clock, log: pino({ level: 'silent' }),
    serviceAccounts: { get: (name, namespace) => accounts.get(`${namespace}/${name}`) },
    refresh: async (w) => (rewrites.push(w.metadata?.name ?? ''), rewrite ? rewrite(clock) : clock.now() + 2880_000),
  })
  const iat = Math.floor(clock.now() / 1000)
  const good = { aud: ['hiclaw-controller'], iat, exp: iat + 3600, 'kubernetes.io': { namespace: 'ns', serviceaccount: { name: 'agentteams-worker-alice', uid: 'sa-1' } } }
  const stored = (token: string) => store.put('workers-deps/alice/token/token', Buffer.from(token))
  return { freshness, tokens, clock, rewrites, accounts, good, stored }
}

t.test('a scheduled token is kept until its time, then rewritten', async (t) => {
  const s = await setup(t)
  s.tokens.set(worker, s.clock.now() + 60_000)
  t.same(await s.freshness.keep(worker), { refreshAt: s.clock.now() + 60_000 })
  t.same(s.rewrites, [], 'not due: no rewrite')
  await s.clock.advance(60_000)
  t.same(await s.freshness.keep(worker), { refreshAt: s.clock.now() + 2880_000 })
  t.same(s.rewrites, ['alice'], 'due: rewritten')
})

t.test('a process that never delivered the token keeps a good stored one, and remembers it', async (t) => {
  const s = await setup(t)
  await s.stored(jwt(s.good))
  t.same(await s.freshness.keep(worker), { refreshAt: s.clock.now() + 2880_000 })
  t.same(s.rewrites, [], 'kept: no TokenRequest, no write')
  t.equal(s.tokens.get(worker), s.clock.now() + 2880_000, 'and remembered')
})

t.test('nothing stored, a bad stored token, or an account not in the cache: rewritten', async (t) => {
  const s = await setup(t)
  await s.freshness.keep(worker)
  t.same(s.rewrites, ['alice'], 'nothing stored')
  s.tokens.forget(worker)
  await s.stored(jwt({ ...s.good, aud: 'someone-else' }))
  await s.freshness.keep(worker)
  t.same(s.rewrites, ['alice', 'alice'], 'another audience')
  s.tokens.forget(worker)
  await s.stored(jwt(s.good))
  s.accounts.clear()
  await s.freshness.keep(worker)
  t.same(s.rewrites, ['alice', 'alice', 'alice'], 'the ServiceAccount is not in the cache (the rewrite creates it)')
})

t.test('forget drops the schedule: the next pass decides afresh', async (t) => {
  const s = await setup(t)
  s.tokens.set(worker, s.clock.now() + 60_000)
  s.freshness.forget(worker)
  t.equal(s.tokens.get(worker), undefined)
  await s.freshness.keep(worker)
  t.same(s.rewrites, ['alice'], 'nothing scheduled and nothing stored: rewritten')
})

t.test('a failed rewrite keeps the runtime with a warning and tries again in 30 s; other errors are thrown', async (t) => {
  const s = await setup(t, async () => {
    throw new DepsError('materialize deps of Worker ns/alice: write deps object workers-deps/alice/token/token in s3: connect ECONNREFUSED', 'StoreUnavailable')
  })
  const result = await s.freshness.keep(worker)
  t.equal(result.refreshAt, s.clock.now() + TOKEN_RETRY_MS)
  t.match(result.warning, /^could not refresh the auth token \(StoreUnavailable\): materialize deps of Worker ns\/alice/)
  const broken = await setup(t, async () => {
    throw new TypeError('a bug')
  })
  await t.rejects(broken.freshness.keep(worker), TypeError)
})
