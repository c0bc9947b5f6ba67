// Who a Worker's deps (env + token in the store) belong to, end to end on a real API server and a
// real MinIO: Workers of one name in two namespaces never overwrite or delete each other's deps
// (the layout is keyed by name alone), and a Worker that moved from sandbox to pod still has them
// removed when it is deleted; a restarted controller keeps each stored token that is still good for
// the Worker's ServiceAccount as it exists; a namespace deleted with a sandbox Worker in it goes,
// and takes the Worker's deps with it. The tests play the OpenKruise controller; kwok runs the Pods.

import t, { type Test } from 'tap'
import { createNamespace } from '../harness/namespaces.ts'
import { createWorker } from '../../localcluster/workers.ts'
import type { KubeObject } from '../../api/meta.ts'
import { workerPath, type Worker } from '../../api/worker.ts'
import { depsKeys } from '../../reconciler/deps/store.ts'
import { condition, eventually, getJson, waitForPodRunning, patchWorkerSpec, podPath, saPath, findWorker, waitForPhase } from './reconciler-kit.ts'
import {
  startSandboxSuite, bindSandbox, getClaim, claimedSandboxes, startSandboxController,
} from './sandbox-kit.ts'

const { cp, s3, store, logs, secrets } = await startSandboxSuite(t)

/** A controller for `ns`, or for every namespace when `ns` is '' (as one deployed controller runs). */
async function controller(t: Test, ns: string) {
  const c = await startSandboxController(cp, ns, { store, logs })
  t.teardown(() => c.close())
  return c
}

const worker = (ns: string, name: string) => findWorker(cp.api, ns, name)
const phase = (ns: string, name: string, wanted: string) => waitForPhase(cp.api, ns, name, wanted)
const gone = (ns: string, name: string) => eventually(`Worker ${ns}/${name} to be gone`, async () => ((await worker(ns, name)) === undefined ? true : undefined))
const text = async (key: string) => (await s3.getObject(key))?.toString('utf8')

t.test('a Worker that moved from sandbox to pod leaves no deps in the store when it is deleted', async (t) => {
  const ns = await createNamespace(cp.api, 'deps-moved')
  await controller(t, ns)
  const secret = `moved-secret-${Math.random().toString(36).slice(2)}`
  secrets.push(secret)
  await createWorker(cp.api, ns, 'max', { backendRuntime: 'sandbox', env: { API_KEY: secret } })
  await bindSandbox(cp.api, await eventually('the claim', () => getClaim(cp.api, ns, 'max')))
  await phase(ns, 'max', 'Running')
  const keys = depsKeys('max')
  secrets.push((await text(keys.token)) ?? '')

  await patchWorkerSpec(cp.api, ns, 'max', { state: 'Stopped' })
  await phase(ns, 'max', 'Stopped')
  t.match(await text(keys.env), secret, 'a Stopped Worker keeps its deps (for its restart)')
  await patchWorkerSpec(cp.api, ns, 'max', { backendRuntime: 'pod', state: 'Running' })
  await waitForPodRunning(cp.api, ns, 'agentteams-worker-max')
  const running = await phase(ns, 'max', 'Running')
  t.equal(running.status?.backendRuntime, 'pod', 'the Worker now runs on the pod backend')
  t.ok(await text(keys.token), 'its old token is still in the bucket while it runs on pod')

  t.equal((await cp.api.request('DELETE', workerPath(ns, 'max'))).status, 200)
  await gone(ns, 'max')
  t.same(await s3.listKeys('workers-deps/max/'), [], 'no env, token or anything else of the Worker is left in the bucket')
  t.equal(await getClaim(cp.api, ns, 'max'), undefined, 'no claim')
  t.same(await claimedSandboxes(cp.api, ns), [], 'no Sandbox')
  t.equal(await getJson(cp.api, saPath(ns, 'agentteams-worker-max')), undefined, 'no ServiceAccount')
})

t.test('deleting a namespace with a running sandbox Worker in it completes, and its deps leave the store', async (t) => {
  const ns = await createNamespace(cp.api, 'deps-ns-delete')
  await controller(t, ns)
  await createWorker(cp.api, ns, 'nina', { backendRuntime: 'sandbox', env: { API_KEY: 'ns-delete-secret-31f7' } })
  secrets.push('ns-delete-secret-31f7')
  const sandbox = await bindSandbox(cp.api, await eventually('the claim', () => getClaim(cp.api, ns, 'nina')))
  await phase(ns, 'nina', 'Running')
  secrets.push((await text(depsKeys('nina').token)) ?? '')
  t.equal((await getJson(cp.api, podPath(ns, sandbox.metadata.name)))?.status?.phase, 'Running', "the Sandbox's Pod runs")

  const deleted = await cp.kubectl(['delete', 'namespace', ns, '--wait=false'])
  t.equal(deleted.code, 0, deleted.stderr)
  await eventually(`namespace ${ns} to be gone`, async () => ((await cp.api.request('GET', `/api/v1/namespaces/${ns}`)).status === 404 ? true : undefined), 120_000)
  t.same(await s3.listKeys('workers-deps/nina/'), [], 'the finalizer removed the env, token and owner record from the bucket before it released the Worker')
})

t.test('Workers named alice in two namespaces: the second is refused, neither overwrites or deletes the other\'s deps', async (t) => {
  const [a, b] = [await createNamespace(cp.api, 'tenant-a'), await createNamespace(cp.api, 'tenant-b')]
  await controller(t, '')
  const keys = depsKeys('alice')
  const [secretA, secretB] = [`tenant-a-${Math.random().toString(36).slice(2)}`, `tenant-b-${Math.random().toString(36).slice(2)}`]
  secrets.push(secretA, secretB)

  const aliceA = await createWorker(cp.api, a, 'alice', { backendRuntime: 'sandbox', env: { API_KEY: secretA } })
  await bindSandbox(cp.api, await eventually('the claim in tenant A', () => getClaim(cp.api, a, 'alice')))
  await phase(a, 'alice', 'Running')
  const tokenA = (await text(keys.token)) as string
  secrets.push(tokenA)

  await createWorker(cp.api, b, 'alice', { backendRuntime: 'sandbox', env: { API_KEY: secretB } })
  const refused = await eventually('DepsMaterialized=False on the second alice', async () => {
    const w = await worker(b, 'alice')
    return condition(w, 'DepsMaterialized')?.status === 'False' ? w : undefined
  })
  const deps = condition(refused, 'DepsMaterialized')
  t.equal(deps?.reason, 'DepsOwnedByAnotherWorker')
  t.match(deps?.message, `belongs to Worker alice in namespace ${a}`, 'the message names the other namespace')
  t.equal(refused.status?.phase, 'Pending')
  t.equal(await getClaim(cp.api, b, 'alice'), undefined, 'no claim for the refused Worker')
  t.match(await text(keys.env), secretA, "tenant A's env is untouched")
  t.notMatch(await text(keys.env), secretB, "tenant B's value never reached the shared folder")
  t.equal(await text(keys.token), tokenA, "tenant A's token is untouched")
  t.match(JSON.parse((await text(keys.owner)) ?? '{}'), { namespace: a, name: 'alice', uid: aliceA.metadata?.uid })

  t.equal((await cp.api.request('DELETE', workerPath(b, 'alice'))).status, 200)
  await gone(b, 'alice')
  t.match(await text(keys.env), secretA, "deleting tenant B's alice left tenant A's env")
  t.equal(await text(keys.token), tokenA, 'and its token')
  t.equal((await worker(a, 'alice'))?.status?.phase, 'Running')

  await createWorker(cp.api, b, 'alice', { backendRuntime: 'sandbox', env: { API_KEY: secretB } })
  await eventually('the second alice refused again', async () => (condition(await worker(b, 'alice'), 'DepsMaterialized')?.reason === 'DepsOwnedByAnotherWorker' ? true : undefined))
  t.equal((await cp.api.request('DELETE', workerPath(a, 'alice'))).status, 200)
  await gone(a, 'alice')
  const claimB = await eventually("tenant B's claim once tenant A's alice is gone", () => getClaim(cp.api, b, 'alice'), 120_000)
  t.match(await text(keys.env), secretB, "the folder now holds tenant B's env")
  t.notMatch(await text(keys.env), secretA, "and nothing of tenant A's")
  t.not(await text(keys.token), tokenA)
  secrets.push((await text(keys.token)) ?? '')
  t.match(JSON.parse((await text(keys.owner)) ?? '{}'), { namespace: b, name: 'alice' })
  await bindSandbox(cp.api, claimB)
  const running = await phase(b, 'alice', 'Running')
  t.equal(condition(running, 'DepsMaterialized')?.status, 'True')
})

t.test('a restarted controller keeps a running Worker\'s token while it is good, and replaces it once its ServiceAccount was re-created', async (t) => {
  const ns = await createNamespace(cp.api, 'deps-restart')
  const keys = depsKeys('kim')
  const first = await startSandboxController(cp, ns, { store, logs })
  await createWorker(cp.api, ns, 'kim', { backendRuntime: 'sandbox' })
  await bindSandbox(cp.api, await eventually('the claim', () => getClaim(cp.api, ns, 'kim')))
  await phase(ns, 'kim', 'Running')
  const issued = (await text(keys.token)) ?? ''
  secrets.push(issued)
  await first.close()

  // A new process (a restart, or a standby taking over) has no refresh times in memory.
  const from = logs.lines.length
  const logged = (message: string) => eventually(`the log line "${message}" for ${ns}/kim`, async () => (logs.lines.slice(from).some((l) => l.includes(message) && l.includes(`"${ns}/kim"`)) ? true : undefined))
  const second = await startSandboxController(cp, ns, { store, logs })
  await logged('kept the stored auth token')
  t.equal(await text(keys.token), issued, 'the token in the store is still the one the first controller wrote: no TokenRequest, no write')
  await second.close()

  // Someone deletes the ServiceAccount and creates it again: same name and labels, a new uid.
  const old = await getJson(cp.api, saPath(ns, 'agentteams-worker-kim'))
  t.equal((await cp.api.request('DELETE', saPath(ns, 'agentteams-worker-kim'))).status, 200)
  await eventually('the old ServiceAccount to be gone', async () => ((await getJson(cp.api, saPath(ns, 'agentteams-worker-kim'))) === undefined ? true : undefined))
  const recreated = await cp.api.request('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: old.metadata.name, labels: old.metadata.labels, ownerReferences: old.metadata.ownerReferences } })
  t.equal(recreated.status, 201)
  const uid = (recreated.body as KubeObject).metadata?.uid
  t.not(uid, old.metadata.uid)

  const third = await startSandboxController(cp, ns, { store, logs })
  t.teardown(() => third.close())
  const rewritten = await eventually('a new token in the store', async () => {
    const now = await text(keys.token)
    return now && now !== issued ? now : undefined
  })
  secrets.push(rewritten)
  const payload = JSON.parse(Buffer.from(rewritten.split('.')[1] ?? '', 'base64url').toString('utf8'))
  t.equal(payload['kubernetes.io']?.serviceaccount?.uid, uid, 'the new token is bound to the re-created ServiceAccount')
})

t.test('no secret value appears in any log line of this file', async (t) => {
  t.ok(logs.lines.length > 10, `the controllers logged (${logs.lines.length} lines at debug level)`)
  t.same(logs.leaks(secrets), [], 'no log line holds a token, an env value or the S3 secret key')
})
