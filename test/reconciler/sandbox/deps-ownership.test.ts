// Claiming a deps folder for a Worker (unit level: a real filesystem store, a stand-in API server
// that knows which Workers exist): the folder's owner record is written once, a live owner in
// another namespace refuses the claim, a gone owner is taken over, a failed lookup is its own reason.

import t, { type Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Worker } from '../../../api/worker.ts'
import { DepsError } from '../../../reconciler/backend/contract.ts'
import { KubeError } from '../../../reconciler/controller/kube.ts'
import { notFound, type RecordingKube, recordingKube } from '../fake-kube.ts'
import { FilesystemDepsStore } from '../../../reconciler/deps/filesystem.ts'
import { encodeOwner } from '../../../reconciler/deps/owner.ts'
import { depsKeys } from '../../../reconciler/deps/store.ts'
import { claimFolder, recordedOwner } from '../../../reconciler/sandbox/deps-ownership.ts'

const alice: Worker = { metadata: { name: 'alice', namespace: 'ns', uid: 'u1' } }
const keys = depsKeys('alice')

/** Answers GET of a Worker from `workers` (`namespace/name` → uid), 404 otherwise; `down` fails every call. */
function apiServer(workers: Record<string, string>, down = false): RecordingKube {
  return recordingKube((req) => {
    if (down) throw new KubeError('etcdserver: request timed out', { code: 500, reason: 'InternalError' })
    const [, namespace, name] = /\/namespaces\/([^/]+)\/workers\/([^/]+)$/.exec(req.path) ?? []
    const uid = workers[`${namespace}/${name}`]
    if (!uid) throw notFound()
    return { metadata: { namespace, name, uid } }
  })
}

async function store(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'deps-owner-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return new FilesystemDepsStore({ dir })
}

t.test('an unowned folder is claimed; the owner record is read back as the Worker', async (t) => {
  const s = await store(t)
  const kube = apiServer({})
  await claimFolder({ kube, store: s }, alice, keys)
  t.same(await recordedOwner({ kube, store: s }, alice, keys), { namespace: 'ns', name: 'alice', uid: 'u1' })
  await claimFolder({ kube, store: s }, alice, keys)
  t.equal(kube.requests.length, 0, 'its own folder: no owner lookup')
})

t.test("a live owner in another namespace refuses the claim; a gone or re-created one is taken over", async (t) => {
  const s = await store(t)
  await s.put(keys.owner, encodeOwner({ namespace: 'team-b', name: 'alice', uid: 'u-other' }))
  const refused = (await claimFolder({ kube: apiServer({ 'team-b/alice': 'u-other' }), store: s }, alice, keys).catch((e: unknown) => e)) as DepsError
  t.type(refused, DepsError)
  t.equal(refused.reason, 'DepsOwnedByAnotherWorker')
  t.match(refused.message, 'belongs to Worker alice in namespace team-b')
  t.same(await recordedOwner({ kube: apiServer({}), store: s }, alice, keys), { namespace: 'team-b', name: 'alice', uid: 'u-other' }, 'the record is untouched')
  await claimFolder({ kube: apiServer({ 'team-b/alice': 'u-new' }), store: s }, alice, keys)
  t.same(await recordedOwner({ kube: apiServer({}), store: s }, alice, keys), { namespace: 'ns', name: 'alice', uid: 'u1' }, 're-created under a new uid: taken over')
})

t.test('a failed owner lookup is OwnerCheckFailed; a record this controller did not write counts as none', async (t) => {
  const s = await store(t)
  await s.put(keys.owner, encodeOwner({ namespace: 'team-b', name: 'alice', uid: 'u-other' }))
  const failed = (await claimFolder({ kube: apiServer({}, true), store: s }, alice, keys).catch((e: unknown) => e)) as DepsError
  t.equal(failed.reason, 'OwnerCheckFailed')
  t.match(failed.message, 'look up Worker team-b/alice, the recorded owner of its deps folder: etcdserver: request timed out')
  await s.put(keys.owner, Buffer.from('not json'))
  t.equal(await recordedOwner({ kube: apiServer({}), store: s }, alice, keys), undefined)
})
