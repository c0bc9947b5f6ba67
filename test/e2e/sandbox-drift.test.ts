// A sandbox Worker whose spec changes under a running runtime, end to end on a real API server and
// a real MinIO: the env, image or labels a claim was built from are applied by a new claim, with the
// new deps in the bucket before it — also for a hibernated sandbox (replaced, not resumed) and for
// a sandbox whose claim the provider already removed. The tests play the OpenKruise controller.

import t, { type Test } from 'tap'
import { createNamespace } from '../harness/namespaces.ts'
import { createWorker } from '../../localcluster/workers.ts'
import type { Worker } from '../../api/worker.ts'
import { depsKeys } from '../../reconciler/deps/store.ts'
import type { SandboxClaim } from '../../reconciler/sandbox/objects.ts'
import { condition, eventually, getJson, patchWorkerSpec, findWorker, waitForPhase } from './reconciler-kit.ts'
import {
  startSandboxSuite, bindSandbox, claimPath, getClaim, claimedSandboxes, markPaused, sandboxPath, type SandboxControllerOptions, startSandboxController,
} from './sandbox-kit.ts'

const { cp, s3, store, logs, secrets } = await startSandboxSuite(t)
const secret = (label: string) => {
  const value = `${label}-${Math.random().toString(36).slice(2)}-never-log-me`
  secrets.push(value)
  return value
}

/** Starts a controller; `claims` lists, per claim create, the env object in the bucket at that moment. */
async function controller(t: Test, ns: string, options: Partial<SandboxControllerOptions> = {}) {
  const claims: Array<{ claim: SandboxClaim; env: string | undefined }> = []
  const c = await startSandboxController(cp, ns, {
    store,
    logs,
    ...options,
    beforeClaimCreate: async (claim) => {
      const name = claim.metadata.labels?.['agentteams.io/worker'] ?? ''
      claims.push({ claim, env: await envOf(name) })
    },
  })
  t.teardown(() => c.close())
  return claims
}

const envOf = async (name: string) => (await s3.getObject(depsKeys(name).env))?.toString('utf8')
const worker = (ns: string, name: string) => findWorker(cp.api, ns, name)
const phase = (ns: string, name: string, wanted: string) => waitForPhase(cp.api, ns, name, wanted)
const claimOf = (ns: string, name: string, notUid?: string) =>
  eventually(`a SandboxClaim for ${name}${notUid ? ' (a new one)' : ''}`, async () => {
    const c = await getClaim(cp.api, ns, name)
    return c && c.metadata.uid !== notUid && !c.metadata.deletionTimestamp ? c : undefined
  })
const hashOf = (claim: SandboxClaim) => claim.metadata.annotations?.['agentteams.io/spec-hash']

t.test('spec.env of a Running sandbox Worker changes → the new env is in the bucket, then a new claim replaces the old one', async (t) => {
  const ns = await createNamespace(cp.api, 'drift-env')
  const claims = await controller(t, ns)
  const [one, two] = [secret('one'), secret('two')]
  await createWorker(cp.api, ns, 'nora', { backendRuntime: 'sandbox', env: { API_KEY: one } })
  const first = await claimOf(ns, 'nora')
  const oldSandbox = await bindSandbox(cp.api, first)
  await phase(ns, 'nora', 'Running')
  t.ok(hashOf(first), 'the claim carries the spec digest')
  t.match(await envOf('nora'), `export API_KEY='${one}'`)
  secrets.push((await s3.getObject(depsKeys('nora').token))?.toString() ?? '')

  await patchWorkerSpec(cp.api, ns, 'nora', { env: { API_KEY: two } })
  const second = await claimOf(ns, 'nora', first.metadata.uid)
  t.match(await envOf('nora'), `export API_KEY='${two}'`, 'the env object in the bucket has the new value')
  t.notMatch(await envOf('nora'), one, 'and not the old one')
  t.equal(claims.length, 2, 'one new claim, no more')
  t.match(claims[1]?.env, `export API_KEY='${two}'`, 'the new env was in the bucket before the new claim was sent')
  t.not(hashOf(second), hashOf(first), 'the new claim records the new digest')
  t.notOk((await claimedSandboxes(cp.api, ns)).some((s) => s.metadata.name === oldSandbox.metadata.name), 'the old Sandbox was deleted')
  secrets.push((await s3.getObject(depsKeys('nora').token))?.toString() ?? '')

  await bindSandbox(cp.api, second)
  const running = await phase(ns, 'nora', 'Running')
  t.equal(condition(running, 'Ready')?.status, 'True')
  t.equal(condition(running, 'DepsMaterialized')?.status, 'True')
  t.equal(claims.length, 2, 'a settled Worker is not re-claimed again')
})

t.test('spec.image of a hibernated Worker changes → on wake it gets a new claim with the new image instead of a resume', async (t) => {
  const ns = await createNamespace(cp.api, 'drift-image')
  const claims = await controller(t, ns, { hibernate: true })
  await createWorker(cp.api, ns, 'olga', { backendRuntime: 'sandbox', image: 'example.com/olga:1' })
  const first = await claimOf(ns, 'olga')
  const sandbox = await bindSandbox(cp.api, first)
  await phase(ns, 'olga', 'Running')
  await patchWorkerSpec(cp.api, ns, 'olga', { state: 'Sleeping' })
  await eventually('spec.paused true', async () => ((await getJson(cp.api, sandboxPath(ns, sandbox.metadata.name)))?.spec?.paused === true ? true : undefined))
  await markPaused(cp.api, ns, sandbox.metadata.name)
  await phase(ns, 'olga', 'Sleeping')
  t.equal(claims.length, 1, 'sleeping kept the claim')

  await patchWorkerSpec(cp.api, ns, 'olga', { state: 'Running', image: 'example.com/olga:2' })
  const second = await claimOf(ns, 'olga', first.metadata.uid)
  t.equal(second.spec.inplaceUpdate?.image, 'example.com/olga:2', 'the new claim swaps in the new image')
  await eventually('the hibernated Sandbox to be gone', async () => ((await getJson(cp.api, sandboxPath(ns, sandbox.metadata.name))) === undefined ? true : undefined))
  secrets.push((await s3.getObject(depsKeys('olga').token))?.toString() ?? '')
  await bindSandbox(cp.api, second)
  await phase(ns, 'olga', 'Running')
})

t.test('spec.labels change after the provider removed the completed claim → the Sandbox\'s copy of the digest shows the drift', async (t) => {
  const ns = await createNamespace(cp.api, 'drift-ttl')
  const claims = await controller(t, ns)
  await createWorker(cp.api, ns, 'pia', { backendRuntime: 'sandbox', labels: { team: 'blue' } })
  const first = await claimOf(ns, 'pia')
  const sandbox = await bindSandbox(cp.api, first)
  await phase(ns, 'pia', 'Running')
  t.equal(sandbox.metadata.annotations?.['agentteams.io/spec-hash'], hashOf(first), 'the provider copied the digest onto the Sandbox')
  // What ttlAfterCompleted does: the claim object goes, the Sandbox stays (docs/sandbox.md).
  t.equal((await cp.api.request('DELETE', claimPath(ns, first.metadata.name))).status, 200)
  await eventually('the claim to be gone', async () => ((await getClaim(cp.api, ns, 'pia')) === undefined ? true : undefined))
  t.equal((await worker(ns, 'pia'))?.status?.phase, 'Running', 'a Sandbox without its claim keeps running')
  t.equal(claims.length, 1)

  await patchWorkerSpec(cp.api, ns, 'pia', { labels: { team: 'red' } })
  const second = await claimOf(ns, 'pia', first.metadata.uid)
  t.equal(second.spec.labels?.['team'], 'red')
  await eventually('the old Sandbox to be gone', async () => ((await getJson(cp.api, sandboxPath(ns, sandbox.metadata.name))) === undefined ? true : undefined))
  secrets.push((await s3.getObject(depsKeys('pia').token))?.toString() ?? '')
})

t.test('the store is down when spec.env changes → the running sandbox is left alone until the new env can be written', async (t) => {
  const ns = await createNamespace(cp.api, 'drift-outage')
  const claims = await controller(t, ns)
  await createWorker(cp.api, ns, 'rita', { backendRuntime: 'sandbox', env: { API_KEY: secret('before') } })
  const first = await claimOf(ns, 'rita')
  const sandbox = await bindSandbox(cp.api, first)
  await phase(ns, 'rita', 'Running')
  secrets.push((await s3.getObject(depsKeys('rita').token))?.toString() ?? '')

  await s3.stop()
  t.teardown(() => s3.start())
  const after = secret('after')
  await patchWorkerSpec(cp.api, ns, 'rita', { env: { API_KEY: after } })
  const waiting = await eventually('DepsMaterialized=False while the store is down', async () => {
    const w = await worker(ns, 'rita')
    return condition(w, 'DepsMaterialized')?.status === 'False' ? w : undefined
  })
  t.equal(condition(waiting, 'DepsMaterialized')?.reason, 'StoreUnavailable')
  t.equal((await getClaim(cp.api, ns, 'rita'))?.metadata.uid, first.metadata.uid, 'the claim is still the old one')
  t.ok(await getJson(cp.api, sandboxPath(ns, sandbox.metadata.name)), 'and its Sandbox still runs')
  t.equal(claims.length, 1, 'no claim was attempted')

  await s3.start()
  const second = await claimOf(ns, 'rita', first.metadata.uid)
  t.match(await envOf('rita'), `export API_KEY='${after}'`, 'once the store is back: the new env, then the new claim')
  t.match(claims[1]?.env, after)
  t.ok(second)
  secrets.push((await s3.getObject(depsKeys('rita').token))?.toString() ?? '')
})

t.test('no secret value appears in any log line of this file', async (t) => {
  t.ok(logs.lines.length > 20, `the controllers logged (${logs.lines.length} lines at debug level)`)
  t.same(logs.leaks(secrets), [], 'no log line holds a token, an env value or the S3 secret key')
})
