// The deps materializer's decisions (unit level, a stand-in API client and a real filesystem
// store): the write order, read-back verification, the token lifetime asked for and the refresh
// time, and typed DepsErrors whose messages carry no value.

import t, { type Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DepsError } from '../../reconciler/backend.ts'
import type { DepsObjectInfo, DepsStore } from '../../reconciler/deps.ts'
import { FilesystemDepsStore } from '../../reconciler/deps-fs.ts'
import type { KubeClient, KubeRequest } from '../../reconciler/kube.ts'
import { KubeError } from '../../reconciler/kube.ts'
import { DepsMaterializer } from '../../reconciler/sandbox-deps.ts'
import type { Worker } from '../../api/worker.ts'
import { FakeClock } from './fake-clock.ts'

const TOKEN = 'header.payload-SECRET.signature'
const worker: Worker = { metadata: { name: 'alice', namespace: 'ns', uid: 'u1' }, spec: { env: { NOTE: 'env-SECRET' } } }

/** An API client that knows ServiceAccounts and TokenRequests; records every request. */
function fakeKube(options: { grantSeconds?: number; failToken?: boolean } = {}): KubeClient & { requests: KubeRequest[] } {
  const requests: KubeRequest[] = []
  return {
    requests,
    async close() {},
    async request<T>(req: KubeRequest): Promise<T> {
      requests.push(req)
      if (req.method === 'GET') return {} as T
      if (req.path.endsWith('/token')) {
        if (options.failToken) throw new KubeError('serviceaccounts "agentteams-worker-alice" not found', { code: 404, reason: 'NotFound' })
        const asked = (req.body as any).spec.expirationSeconds as number
        const granted = options.grantSeconds ?? asked
        return { status: { token: TOKEN, expirationTimestamp: new Date(clock.now() + granted * 1000).toISOString() } } as T
      }
      return {} as T
    },
  }
}

let clock = new FakeClock()
async function setup(t: Test, kube: KubeClient, lifetime = 3600, wrap?: (s: DepsStore) => DepsStore) {
  clock = new FakeClock()
  const dir = await mkdtemp(join(tmpdir(), 'sbx-deps-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const fs = new FilesystemDepsStore({ dir })
  const store = wrap ? wrap(fs) : fs
  const m = new DepsMaterializer({ controllerName: 'wrc', resourcePrefix: 'agentteams-', kube, store, env: {}, tokenAudience: 'hiclaw-controller', tokenExpirationSeconds: lifetime, clock })
  return { m, fs }
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
  t.same(ops, ['put workers-deps/alice/env/env', 'put workers-deps/alice/token/token', 'get workers-deps/alice/env/env', 'get workers-deps/alice/token/token'])
  t.equal(Buffer.from((await fs.get('workers-deps/alice/token/token')) as Uint8Array).toString(), TOKEN)
  t.match(Buffer.from((await fs.get('workers-deps/alice/env/env')) as Uint8Array).toString(), "export NOTE='env-SECRET'\n")
})

t.test('the token: audience, one hour asked, refresh at 80 %', async (t) => {
  const kube = fakeKube()
  const { m } = await setup(t, kube)
  const { refreshAt } = await m.materialize(worker)
  const req = kube.requests.find((r) => r.path.endsWith('/token'))
  t.equal(req?.path, '/api/v1/namespaces/ns/serviceaccounts/agentteams-worker-alice/token')
  t.same((req?.body as any).spec, { audiences: ['hiclaw-controller'], expirationSeconds: 3600 })
  t.equal(refreshAt - clock.now(), 2880_000, '48 min of 60')
  t.equal(m.refreshAt(worker), refreshAt)
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
  const { m } = await setup(t, fakeKube(), 3600, (s) => ({
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
  t.equal(m.refreshAt(worker), undefined, 'nothing scheduled for a failed delivery')
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
      const { DepsStoreError } = await import('../../reconciler/deps.ts')
      throw DepsStoreError.of('put', k, s.location, 'Unavailable', new Error('connect ECONNREFUSED'))
    },
    get: (k) => s.get(k),
    delete: (k) => s.delete(k),
  }))
  const error = (await m.materialize(worker).catch((e: unknown) => e)) as DepsError
  t.equal(error.reason, 'StoreUnavailable')
  t.match(error.message, 'write deps object workers-deps/alice/env/env in directory')
})

t.test('refreshToken rewrites only the token; forget drops the schedule', async (t) => {
  const { m, fs } = await setup(t, fakeKube())
  await m.materialize(worker)
  await fs.delete('workers-deps/alice/env/env')
  await clock.advance(1000)
  await m.refreshToken(worker)
  t.equal(await fs.get('workers-deps/alice/env/env'), undefined, 'env untouched')
  t.ok(await fs.get('workers-deps/alice/token/token'))
  m.forget(worker)
  t.equal(m.refreshAt(worker), undefined)
})

t.test('a Worker name that is not a safe key is InvalidWorkerName', async (t) => {
  const { m } = await setup(t, fakeKube())
  const error = (await m.materialize({ metadata: { name: '../x', namespace: 'ns', uid: 'u' } }).catch((e: unknown) => e)) as DepsError
  t.equal(error.reason, 'InvalidWorkerName')
})
