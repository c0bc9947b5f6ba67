// Deps storage failures end to end, on a real API server and a real MinIO: while the store is down
// (or refuses the credentials) no SandboxClaim is ever created and the Worker says why in
// DepsMaterialized=False; when the store comes back the Worker converges on its own.

import t, { type Test } from 'tap'
import { installCrds } from '../../localcluster/crds.ts'
import { MANIFESTS } from '../../localcluster/manifests.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { startS3Server } from '../harness/s3-server.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { createWorker } from '../../localcluster/workers.ts'
import type { Worker } from '../../api/worker.ts'
import { depsKeys } from '../../reconciler/deps/store.ts'
import { S3DepsStore, type S3DepsStoreOptions } from '../../reconciler/deps/s3.ts'
import { condition, eventually, getJson, findWorker } from './reconciler-kit.ts'
import { bindSandbox, claimPath, getClaim, LogCapture, SANDBOX_CRD_FILES, startSandboxController } from './sandbox-kit.ts'

const cp = await startSuiteControlPlane(t)
await installCrds(cp.api, [MANIFESTS.workerCrd, ...SANDBOX_CRD_FILES])
const s3 = await startS3Server()
t.teardown(() => s3.close())
const logs = new LogCapture()
const WRONG_SECRET = 'wrong-secret-key-do-not-log'
const secrets: string[] = [s3.secretAccessKey, WRONG_SECRET]

function storeWith(t: Test, overrides: Partial<S3DepsStoreOptions> = {}): S3DepsStore {
  const store = new S3DepsStore({
    endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true, requestTimeoutMs: 5_000, ...overrides,
  })
  t.teardown(() => store.close())
  return store
}

const worker = (ns: string, name: string) => findWorker(cp.api, ns, name)
const claimsIn = async (ns: string) => ((await getJson(cp.api, claimPath(ns)))?.items ?? []).length

t.test('store down: no claim, DepsMaterialized=False with the reason; store back: the Worker converges', async (t) => {
  const ns = await createNamespace(cp.api, 'sbx-outage')
  let creates = 0
  const c = await startSandboxController(cp, ns, { store: storeWith(t), logs, beforeClaimCreate: async () => void creates++ })
  t.teardown(() => c.close())
  await s3.stop()
  let restarted = false
  t.teardown(async () => {
    if (!restarted) await s3.start()
  })
  await createWorker(cp.api, ns, 'olga', { backendRuntime: 'sandbox', env: { TOKEN_LIKE: 'env-secret-value-123' } })
  secrets.push('env-secret-value-123')
  const blocked = await eventually('DepsMaterialized=False', async () => {
    const w = await worker(ns, 'olga')
    return condition(w, 'DepsMaterialized')?.status === 'False' ? w : undefined
  })
  const deps = condition(blocked, 'DepsMaterialized')
  t.equal(deps?.reason, 'StoreUnavailable')
  // The first store call of a delivery reads the folder's owner record.
  t.match(deps?.message, `materialize deps of Worker ${ns}/olga: read deps object workers-deps/olga/owner in s3 bucket ${s3.bucket} at ${s3.endpoint}: `)
  t.match(deps?.message, /ECONNREFUSED/, 'names the cause')
  t.equal(condition(blocked, 'Ready')?.status, 'False')
  t.not(blocked.status?.phase, 'Running')

  // Several retries pass (controller backoff 0.8 s, 1.6 s, 3.2 s ...): still no claim at all.
  await new Promise((resolve) => setTimeout(resolve, 6_000))
  t.equal(await claimsIn(ns), 0, 'no SandboxClaim while the deps cannot be written')
  t.equal(creates, 0, 'no claim create was even attempted')
  t.equal(condition(await worker(ns, 'olga'), 'DepsMaterialized')?.status, 'False')

  await s3.start()
  restarted = true
  const claim = await eventually('the claim once the store is back', () => getClaim(cp.api, ns, 'olga'), 90_000)
  t.same(await s3.listKeys('workers-deps/olga/'), [depsKeys('olga').env, depsKeys('olga').owner, depsKeys('olga').token], 'env, owner record and token written')
  secrets.push((await s3.getObject(depsKeys('olga').token))?.toString() ?? '')
  t.equal(creates, 1, 'exactly one claim')
  await bindSandbox(cp.api, claim)
  const running = await eventually('phase Running', async () => {
    const w = await worker(ns, 'olga')
    return w?.status?.phase === 'Running' ? w : undefined
  })
  t.equal(condition(running, 'DepsMaterialized')?.status, 'True', 'DepsMaterialized recovers without intervention')
})

t.test('store refuses the credentials: no claim, DepsMaterialized=False StoreRefused', async (t) => {
  const ns = await createNamespace(cp.api, 'sbx-refused')
  const c = await startSandboxController(cp, ns, { store: storeWith(t, { secretAccessKey: WRONG_SECRET }), logs })
  t.teardown(() => c.close())
  await createWorker(cp.api, ns, 'paul', { backendRuntime: 'sandbox' })
  const blocked = await eventually('DepsMaterialized=False', async () => {
    const w = await worker(ns, 'paul')
    return condition(w, 'DepsMaterialized')?.status === 'False' ? w : undefined
  })
  t.equal(condition(blocked, 'DepsMaterialized')?.reason, 'StoreRefused')
  t.match(condition(blocked, 'DepsMaterialized')?.message, /signature/i, "the store's own reason")
  t.equal(await claimsIn(ns), 0)
  t.same(await s3.listKeys('workers-deps/paul/'), [], 'nothing written')
})

t.test('no secret value appears in any log line of this file', async (t) => {
  t.ok(logs.lines.length > 5, `the controllers logged (${logs.lines.length} lines)`)
  t.same(logs.leaks(secrets), [])
})
