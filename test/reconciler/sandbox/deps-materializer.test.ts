// The deps materializer's decisions (unit level, a stand-in API client and a real filesystem
// store): the write order, read-back verification, the token lifetime asked for and the refresh
// time, and typed DepsErrors whose messages carry no value.

import t, { type Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DepsError } from '../../../reconciler/backend/contract.ts'
import type { DepsObjectInfo, DepsStore } from '../../../reconciler/deps/store.ts'
import { FilesystemDepsStore } from '../../../reconciler/deps/filesystem.ts'
import type { KubeClient } from '../../../reconciler/controller/kube.ts'
import { DepsMaterializer } from '../../../reconciler/sandbox/deps-materializer.ts'
import { TokenSchedule } from '../../../reconciler/sandbox/token-schedule.ts'
import type { Worker } from '../../../api/worker.ts'
import { FakeClock } from '../fake-clock.ts'
import { notFound, type RecordingKube, recordingKube } from '../fake-kube.ts'

const TOKEN = 'header.payload-SECRET.signature'
const worker: Worker = { metadata: { name: 'alice', namespace: 'ns', uid: 'u1' }, spec: { env: { NOTE: 'env-SECRET' } } }

/**
 * An API client that knows ServiceAccounts, TokenRequests and the Workers in `workers`
 * (`namespace/name` → uid; any other Worker is 404); records every request.
 */
function fakeKube(options: { grantSeconds?: number; failToken?: boolean; workers?: Record<string, string> } = {}): RecordingKube {
  return recordingKube((req) => {
    const found = /\/namespaces\/([^/]+)\/workers\/([^/]+)$/.exec(req.path)
    if (req.method === 'GET' && found) {
      const uid = options.workers?.[`${found[1]}/${found[2]}`]
      if (!uid) throw notFound(`workers.agentteams.io "${found[2]}" not found`)
      return { metadata: { namespace: found[1], name: found[2], uid } }
    }
    if (req.method === 'GET') return {}
    if (req.path.endsWith('/token')) {
      if (options.failToken) throw notFound('serviceaccounts "agentteams-worker-alice" not found')
      const asked = (req.body as any).spec.expirationSeconds as number
      const granted = options.grantSeconds ?? asked
      return { status: { token: TOKEN, expirationTimestamp: new Date(clock.now() + granted * 1000).toISOString() } }
    }
    return {}
  })
}

let clock = new FakeClock()
async function setup(t: Test, kube: KubeClient, lifetime = 3600, wrap?: (s: DepsStore) => DepsStore) {
  clock = new FakeClock()
  const dir = await mkdtemp(join(tmpdir(), 'sbx-deps-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const fs = new FilesystemDepsStore({ dir })
  const store = wrap ? wrap(fs) : fs
  const tokens = new TokenSchedule()
  const m = new DepsMaterializer({ controllerName: 'wrc', resourcePrefix: 'agentteams-', kube, store, env: {}, tokenAudience: 'hiclaw-controller', tokenExpirationSeconds: lifetime, clock, tokens })
  return { m, fs, tokens }
}

t.test('env is written, then the token, then both are read back', async (t) => {
  const ops: string[] = []
  const { m, fs } = await setup(t, fakeKube(), 3600, (s) => ({
    location: s.location,
    put: (k, b) => (ops.push(`put ${k}`), s.put(k, b)),
    get: (k) => (ops.push(`get ${k}`), s.get(k)),
    delete: (k) => s.delete(k),
  }))
  await m.materialize(worker)
  t.same(ops, [
    'get workers-deps/alice/owner',
    'put workers-deps/alice/owner',
    'put workers-deps/alice/env/env',
    'put workers-deps/alice/token/token',
    'get workers-deps/alice/env/env',
    'get workers-deps/alice/token/token',
  ], 'the owner is recorded first')
  t.equal(Buffer.from((await fs.get('workers-deps/alice/token/token')) as Uint8Array).toString(), TOKEN)
  t.match(Buffer.from((await fs.get('workers-deps/alice/env/env')) as Uint8Array).toString(), "export NOTE='env-SECRET'\n")
})

t.test('the two read-backs are in flight at once, and the claim waits for both', async (t) => {
  let inFlight = 0
  let most = 0
  const { m } = await setup(t, fakeKube(), 3600, (s) => ({
    location: s.location,
    put: (k, b) => s.put(k, b),
    get: async (k) => {
      if (!k.endsWith('/owner')) most = Math.max(most, ++inFlight)
      await new Promise((resolve) => setTimeout(resolve, 20))
      if (!k.endsWith('/owner')) inFlight--
      return s.get(k)
    },
    delete: (k) => s.delete(k),
  }))
  await m.materialize(worker)
  t.equal(most, 2, 'env and token were read back concurrently')
  t.equal(inFlight, 0, 'materialize returned only after both reads finished')
})

t.test('the token: audience, one hour asked, refresh at 80 %', async (t) => {
  const kube = fakeKube()
  const { m, tokens } = await setup(t, kube)
  const { refreshAt } = await m.materialize(worker)
  const req = kube.requests.find((r) => r.path.endsWith('/token'))
  t.equal(req?.path, '/api/v1/namespaces/ns/serviceaccounts/agentteams-worker-alice/token')
  t.same((req?.body as any).spec, { audiences: ['hiclaw-controller'], expirationSeconds: 3600 })
  t.equal(refreshAt - clock.now(), 2880_000, '48 min of 60')
  t.equal(tokens.get(worker), refreshAt, 'the refresh is scheduled')
})

t.test('a lifetime under the API server minimum asks for 600 s but refreshes on the configured schedule', async (t) => {
  const kube = fakeKube()
  const { m } = await setup(t, kube, 10)
  const { refreshAt } = await m.materialize(worker)
  t.equal((kube.requests.find((r) => r.path.endsWith('/token'))?.body as any).spec.expirationSeconds, 600)
  t.equal(refreshAt - clock.now(), 8000)
})

t.test('a server granting less than asked: refresh at 80 % of what was granted', async (t) => {
  const { m } = await setup(t, fakeKube({ grantSeconds: 1000 }))
  const { refreshAt } = await m.materialize(worker)
  t.equal(refreshAt - clock.now(), 800_000)
})

t.test('a read-back that differs is VerifyFailed, naming sizes, never contents', async (t) => {
  const { m, tokens } = await setup(t, fakeKube(), 3600, (s) => ({
    location: s.location,
    put: (k, b) => s.put(k, b),
    get: async (k) => (k.endsWith('token') ? Buffer.from('truncated') : s.get(k)),
    delete: (k) => s.delete(k),
  }))
  const error = (await m.materialize(worker).catch((e: unknown) => e)) as DepsError
  t.type(error, DepsError)
  t.equal(error.reason, 'VerifyFailed')
  t.match(error.message, /materialize deps of Worker ns\/alice: read back deps object workers-deps\/alice\/token\/token in directory .*: 9 bytes read, 31 written/)
  t.notMatch(error.message, 'SECRET')
  t.equal(tokens.get(worker), undefined, 'nothing scheduled for a failed delivery')
})

t.test('a failed TokenRequest is TokenRequestFailed, and nothing is written', async (t) => {
  const { m, fs } = await setup(t, fakeKube({ failToken: true }))
  const error = (await m.materialize(worker).catch((e: unknown) => e)) as DepsError
  t.equal(error.reason, 'TokenRequestFailed')
  t.match(error.message, 'request a token for ServiceAccount ns/agentteams-worker-alice: serviceaccounts "agentteams-worker-alice" not found')
  t.equal(await fs.get('workers-deps/alice/env/env'), undefined, 'no env written without a token')
})

t.test('a store failure carries the store reason', async (t) => {
  const { m } = await setup(t, fakeKube(), 3600, (s) => ({
    location: s.location,
    put: async (k): Promise<DepsObjectInfo> => {
      const { DepsStoreError } = await import('../../../reconciler/deps/store.ts')
      throw DepsStoreError.of('put', k, s.location, 'Unavailable', new Error('connect ECONNREFUSED'))
    },
    get: (k) => s.get(k),
    delete: (k) => s.delete(k),
  }))
  const error = (await m.materialize(worker).catch((e: unknown) => e)) as DepsError
  t.equal(error.reason, 'StoreUnavailable')
  t.match(error.message, 'write deps object workers-deps/alice/owner in directory', 'the first write, the owner record, fails')
})

t.test('refreshToken rewrites only the token, and schedules the next rewrite', async (t) => {
  const { m, fs, tokens } = await setup(t, fakeKube())
  await m.materialize(worker)
  await fs.delete('workers-deps/alice/env/env')
  await clock.advance(1000)
  const next = await m.refreshToken(worker)
  t.equal(await fs.get('workers-deps/alice/env/env'), undefined, 'env untouched')
  t.ok(await fs.get('workers-deps/alice/token/token'))
  t.equal(tokens.get(worker), next)
})

t.test('a Worker name that is not a safe key is InvalidWorkerName', async (t) => {
  const { m } = await setup(t, fakeKube())
  const error = (await m.materialize({ metadata: { name: '../x', namespace: 'ns', uid: 'u' } }).catch((e: unknown) => e)) as DepsError
  t.equal(error.reason, 'InvalidWorkerName')
})

// ---- ownership: workers-deps/<worker>/ is shared by same-named Workers of every namespace ----

const other: Worker = { metadata: { name: 'alice', namespace: 'team-b', uid: 'u-other' }, spec: { env: { NOTE: 'other-SECRET' } } }
const text = async (fs: DepsStore, key: string) => {
  const body = await fs.get(key)
  return body === undefined ? undefined : Buffer.from(body).toString('utf8')
}

t.test("another live Worker's folder: DepsOwnedByAnotherWorker naming its namespace, nothing written, no token issued", async (t) => {
  const kube = fakeKube({ workers: { 'team-b/alice': 'u-other' } })
  const { m, fs } = await setup(t, kube)
  await m.materialize(other)
  const before = { env: await text(fs, 'workers-deps/alice/env/env'), token: await text(fs, 'workers-deps/alice/token/token') }
  const issued = kube.requests.filter((r) => r.path.endsWith('/token')).length
  const error = (await m.materialize(worker).catch((e: unknown) => e)) as DepsError
  t.type(error, DepsError)
  t.equal(error.reason, 'DepsOwnedByAnotherWorker')
  t.match(error.message, 'materialize deps of Worker ns/alice: deps folder workers-deps/alice/ in directory')
  t.match(error.message, 'belongs to Worker alice in namespace team-b')
  t.match(error.message, 'rename this Worker, or delete the one in namespace team-b')
  t.notMatch(error.message, 'SECRET')
  t.same({ env: await text(fs, 'workers-deps/alice/env/env'), token: await text(fs, 'workers-deps/alice/token/token') }, before, "the other Worker's env and token are untouched")
  t.match(before.env, 'other-SECRET')
  t.equal(kube.requests.filter((r) => r.path.endsWith('/token')).length, issued, 'no token was requested for the refused Worker')
  t.match(JSON.parse((await text(fs, 'workers-deps/alice/owner')) as string), { namespace: 'team-b', name: 'alice', uid: 'u-other' })
  const refused = (await m.refreshToken(worker).catch((e: unknown) => e)) as DepsError
  t.equal(refused.reason, 'DepsOwnedByAnotherWorker', 'a token refresh is refused too')
})

t.test('a folder whose recorded owner is gone, or was re-created under a new uid, is taken over', async (t) => {
  for (const [what, workers] of [['deleted', {}], ['re-created', { 'team-b/alice': 'u-new' }]] as const) {
    const { m, fs } = await setup(t, fakeKube({ workers: { ...workers } }))
    await m.materialize(other)
    await m.materialize(worker)
    t.match(JSON.parse((await text(fs, 'workers-deps/alice/owner')) as string), { namespace: 'ns', name: 'alice', uid: 'u1' }, `owner ${what}: the folder is now this Worker's`)
    t.match(await text(fs, 'workers-deps/alice/env/env'), "export NOTE='env-SECRET'", `owner ${what}: this Worker's env`)
  }
})

t.test('the owner record holds the identity, never a value', async (t) => {
  const { m, fs } = await setup(t, fakeKube())
  await m.materialize(worker)
  const record = (await text(fs, 'workers-deps/alice/owner')) as string
  t.same(JSON.parse(record), { apiVersion: 'agentteams.io/v1beta1', kind: 'Worker', namespace: 'ns', name: 'alice', uid: 'u1' })
  t.notMatch(record, 'SECRET')
  t.notMatch(record, TOKEN)
})

t.test("removeDeps deletes the Worker's own folder, leaves another Worker's alone, and removes an unowned (older) one", async (t) => {
  const { m, fs } = await setup(t, fakeKube({ workers: { 'team-b/alice': 'u-other' } }))
  await m.materialize(other)
  t.same(await m.removeDeps(worker), { removed: 0, ownedBy: { namespace: 'team-b', name: 'alice', uid: 'u-other' } })
  t.ok(await fs.get('workers-deps/alice/env/env'), "the other Worker's env is still there")
  t.same(await m.removeDeps(other), { removed: 3 }, 'its owner removes env, token and the record')
  t.equal(await fs.get('workers-deps/alice/owner'), undefined)
  await fs.put('workers-deps/alice/env/env', Buffer.from('old'))
  t.same(await m.removeDeps(worker), { removed: 1 }, 'deps written before owners were recorded are removed')
})

t.test('two same-named Workers materialized at once: one gets the folder, the other is refused', async (t) => {
  const kube = fakeKube({ workers: { 'ns/alice': 'u1', 'team-b/alice': 'u-other' } })
  // A slow store widens the window between reading the owner record and writing it.
  const { m, fs } = await setup(t, kube, 3600, (s) => ({
    location: s.location,
    put: async (k, b) => (await new Promise((r) => setTimeout(r, 20)), s.put(k, b)),
    get: async (k) => (await new Promise((r) => setTimeout(r, 20)), s.get(k)),
    delete: (k) => s.delete(k),
  }))
  const results = await Promise.allSettled([m.materialize(worker), m.materialize(other)])
  t.same(results.map((r) => r.status), ['fulfilled', 'rejected'])
  t.equal(((results[1] as PromiseRejectedResult).reason as DepsError).reason, 'DepsOwnedByAnotherWorker')
  t.match(await text(fs, 'workers-deps/alice/env/env'), "export NOTE='env-SECRET'", "only the first Worker's env was written")
  t.notMatch(await text(fs, 'workers-deps/alice/env/env'), 'other-SECRET')
})
