// One runtime per Worker in the cluster this product is for (docs/runtime-objects.md), on a real API server
// with the real webhooks and kubectl: runtime objects in the shape the upstream controller leaves
// them (its Pod, its #988 SandboxClaim and Sandbox, its ServiceAccount and credential Secret) exist
// before the controller starts. They are adopted as they are, never duplicated; Stopped deletes them
// and only then reports Stopped; the switch then works; upstream's other objects stay. Real watches
// record every runtime object's lifetime (runtime-monitor.ts), so "never two at once" is exact.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { installCrds } from '../../localcluster/crds.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { startWebhookSuite } from '../harness/webhook-suite.ts'
import { createWorker, patchWorkerStatus } from '../../localcluster/workers.ts'
import { workerPath, type Worker } from '../../api/worker.ts'
import { WEBHOOK_DENIAL_PREFIX } from '../../localcluster/admission-probes.ts'
import { depsKeys } from '../../reconciler/deps/store.ts'
import { FilesystemDepsStore } from '../../reconciler/deps/filesystem.ts'
import { LEGACY_TO_SANDBOX } from './expected-messages.ts'
import { condition, eventually, getJson, podPath, saPath, secretPath, startReconcilerChild, waitForPodRunning } from './reconciler-kit.ts'
import { bindSandbox, claimPath, getClaim, LogCapture, SANDBOX_CRD_FILES, sandboxPath, startSandboxController } from './sandbox-kit.ts'
import { LEASE } from './reconciler-lease.ts'
import { RuntimeMonitor } from './runtime-monitor.ts'
import {
  createUpstreamClaim, createUpstreamCredentials, createUpstreamPod, createUpstreamSandbox, createUpstreamServiceAccount, upstreamStatus,
} from './upstream-objects.ts'

const { cp } = await startWebhookSuite(t)
await installCrds(cp.api, SANDBOX_CRD_FILES)
const depsDir = await mkdtemp(join(tmpdir(), 'wrc-legacy-deps-'))
t.teardown(() => rm(depsDir, { recursive: true, force: true }))
const store = new FilesystemDepsStore({ dir: depsDir })
const logs = new LogCapture()

const worker = (ns: string, name: string) => getJson(cp.api, workerPath(ns, name)) as Promise<Worker | undefined>
const kubectlPatch = (ns: string, name: string, spec: Record<string, unknown>) => cp.kubectl(['patch', 'worker', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec })])
const waitFor = (ns: string, name: string, what: string, test: (w: Worker) => boolean) =>
  eventually(`Worker ${ns}/${name}: ${what}`, async () => {
    const w = await worker(ns, name)
    return w && test(w) ? w : undefined
  }, 90_000)
const phase = (ns: string, name: string, wanted: string) => waitFor(ns, name, `phase ${wanted}`, (w) => w.status?.phase === wanted)
const adopted = (ns: string, name: string, reason = 'LegacyRuntimeAdopted') =>
  waitFor(ns, name, `RuntimeAdopted ${reason}`, (w) => condition(w, 'RuntimeAdopted')?.status === 'True' && condition(w, 'RuntimeAdopted')?.reason === reason)
const eventsOf = async (ns: string, name: string): Promise<Array<{ reason: string; message: string }>> =>
  (await getJson(cp.api, `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name=${name}`))?.items ?? []

/** uid and resourceVersion: an object nobody touched keeps both. */
const identity = async (path: string) => {
  const o = await getJson(cp.api, path)
  return o ? `${o.metadata.uid}@${o.metadata.resourceVersion}` : undefined
}

t.test('exact selection: a namesake Worker\'s Pod in another namespace and a look-alike name are never touched', async (t) => {
  const a = await createNamespace(cp.api, 'legacy-a')
  const b = await createNamespace(cp.api, 'legacy-b')
  const hankB = await createWorker(cp.api, b, 'hank', { runtime: 'openclaw' })
  await patchWorkerStatus(cp.api, b, 'hank', upstreamStatus('hank'))
  await createUpstreamPod(cp.api, b, 'hank', { owner: hankB })
  await waitForPodRunning(cp.api, b, 'hiclaw-worker-hank')
  // In the Worker's own namespace: a Pod whose name merely starts with the legacy name, without the worker label.
  await createUpstreamPod(cp.api, a, 'hank', { name: 'hiclaw-worker-hank-old', labels: { app: 'hiclaw-worker' } })
  // Pods: kwok keeps writing their status, so "untouched" is the same uid, never deleting.
  const podIdentity = async (path: string) => {
    const o = await getJson(cp.api, path)
    return o ? `${o.metadata.uid}${o.metadata.deletionTimestamp ? ' deleting' : ''}` : undefined
  }
  const before = { namesake: await podIdentity(podPath(b, 'hiclaw-worker-hank')), lookalike: await podIdentity(podPath(a, 'hiclaw-worker-hank-old')) }

  // Cluster-wide, with b as a legacy namespace: the Pod there is looked at for a/hank and must be refused.
  const c = await startSandboxController(cp, '', { store, logs, env: { AGENTTEAMS_LEGACY_NAMESPACES: b } })
  t.teardown(() => c.close())
  await createWorker(cp.api, a, 'hank', { runtime: 'openclaw' })
  const own = await eventually('a/hank gets a Pod of its own', () => getJson(cp.api, podPath(a, 'agentteams-worker-hank')))
  t.equal(own.metadata.labels['agentteams.io/controller'], 'worker-runtime-controller')
  await adopted(b, 'hank')
  t.notOk(condition(await worker(a, 'hank'), 'RuntimeAdopted'), 'a/hank adopted nothing')

  t.equal((await kubectlPatch(a, 'hank', { state: 'Stopped' })).code, 0)
  await phase(a, 'hank', 'Stopped')
  t.equal(await getJson(cp.api, podPath(a, 'agentteams-worker-hank')), undefined, "a/hank's own Pod is gone")
  t.same({ namesake: await podIdentity(podPath(b, 'hiclaw-worker-hank')), lookalike: await podIdentity(podPath(a, 'hiclaw-worker-hank-old')) }, before, 'the other two Pods are still there, never deleted')
  t.equal((await worker(b, 'hank'))?.status?.phase, 'Running', 'b/hank still runs on its adopted Pod')
})

t.test('a legacy Pod made by the upstream controller: adopted, never duplicated, stopped, then the switch to sandbox', async (t) => {
  const ns = await createNamespace(cp.api, 'legacy-pod')
  const dave = await createWorker(cp.api, ns, 'dave', { runtime: 'openclaw', env: { TEAM: 'blue' } })
  await patchWorkerStatus(cp.api, ns, 'dave', upstreamStatus('dave'))
  await createUpstreamServiceAccount(cp.api, ns, 'dave', { owner: dave })
  await createUpstreamCredentials(cp.api, ns, 'dave')
  await createUpstreamPod(cp.api, ns, 'dave', { owner: dave })
  await waitForPodRunning(cp.api, ns, 'hiclaw-worker-dave')
  const upstream = { sa: await identity(saPath(ns, 'hiclaw-worker-dave')), creds: await identity(secretPath(ns, 'agentteams-creds-dave')) }
  const refused = await kubectlPatch(ns, 'dave', { backendRuntime: 'sandbox' })
  t.match(refused.stderr, `Error from server (Forbidden): ${WEBHOOK_DENIAL_PREFIX}${LEGACY_TO_SANDBOX}`, 'before the controller ever ran, the webhook already guards it')

  const monitor = await RuntimeMonitor.start(cp, 'dave', [ns])
  t.teardown(() => monitor.stop())
  const c = await startSandboxController(cp, ns, { store, logs })
  t.teardown(() => c.close())
  const w = await adopted(ns, 'dave')
  t.equal(w.status?.backendRuntime, 'pod', 'recorded as running on the pod backend')
  t.equal(w.status?.phase, 'Running', 'its phase comes from the adopted Pod')
  t.match(condition(w, 'RuntimeAdopted')?.message, `adopted Pod ${ns}/hiclaw-worker-dave (made by hiclaw-controller)`)
  t.ok((await eventsOf(ns, 'dave')).some((e) => e.reason === 'RuntimeAdopted' && e.message.includes('hiclaw-worker-dave')), 'an Event names the adopted Pod')

  // A spec change: reported, the running Pod kept, nothing created beside it.
  t.equal((await kubectlPatch(ns, 'dave', { env: { TEAM: 'green' } })).code, 0)
  const changed = await adopted(ns, 'dave', 'SpecChangedSinceAdoption')
  t.match(changed.status?.message, /spec changed after the runtime was adopted .* set spec.state=Stopped/)
  t.equal(await getJson(cp.api, podPath(ns, 'agentteams-worker-dave')), undefined, 'no second Pod')
  t.ok(await getJson(cp.api, podPath(ns, 'hiclaw-worker-dave')), 'the legacy Pod runs on')

  t.equal((await kubectlPatch(ns, 'dave', { state: 'Stopped' })).code, 0)
  await phase(ns, 'dave', 'Stopped')
  t.equal(await getJson(cp.api, podPath(ns, 'hiclaw-worker-dave')), undefined, 'the legacy Pod is gone')
  t.same(monitor.aliveWhen('Stopped'), [], `nothing of dave existed when Stopped was reported (${monitor.describe()})`)

  t.equal((await kubectlPatch(ns, 'dave', { backendRuntime: 'sandbox', state: 'Running' })).code, 0, 'the switch is accepted once Stopped')
  const claim = await eventually('the SandboxClaim', () => getClaim(cp.api, ns, 'dave'))
  await bindSandbox(cp.api, claim)
  const running = await phase(ns, 'dave', 'Running')
  t.equal(running.status?.backendRuntime, 'sandbox')
  t.equal(condition(running, 'RuntimeAdopted')?.status, 'False', 'the adoption is over')
  const most = monitor.mostAtOnce()
  t.equal(most.count, 1, `one runtime at every moment (${monitor.describe()})`)
  t.same({ sa: await identity(saPath(ns, 'hiclaw-worker-dave')), creds: await identity(secretPath(ns, 'agentteams-creds-dave')) }, upstream, "upstream's ServiceAccount and credential Secret are untouched")
})

t.test('a #988 sandbox Worker: its claim and Sandbox are adopted, stopped, and the switch to pod works', async (t) => {
  const ns = await createNamespace(cp.api, 'legacy-sbx')
  const erin = await createWorker(cp.api, ns, 'erin', { runtime: 'openclaw', backendRuntime: 'sandbox' })
  await patchWorkerStatus(cp.api, ns, 'erin', upstreamStatus('erin', { backendRuntime: 'sandbox' }))
  const claim = await createUpstreamClaim(cp.api, ns, 'erin', { owner: erin })
  const sandbox = await createUpstreamSandbox(cp.api, claim)

  const monitor = await RuntimeMonitor.start(cp, 'erin', [ns])
  t.teardown(() => monitor.stop())
  const c = await startSandboxController(cp, ns, { store, logs })
  t.teardown(() => c.close())
  const w = await adopted(ns, 'erin')
  t.equal(w.status?.backendRuntime, 'sandbox')
  t.equal(w.status?.phase, 'Running')
  t.match(condition(w, 'RuntimeAdopted')?.message, `SandboxClaim ${ns}/hiclaw-worker-erin (made by hiclaw-controller)`)
  t.equal(await getClaim(cp.api, ns, 'erin'), undefined, 'no claim of its own beside it')
  t.equal(await store.get(depsKeys('erin').token), undefined, "the adopted sandbox's deps are not rewritten")

  t.equal((await kubectlPatch(ns, 'erin', { state: 'Stopped' })).code, 0)
  await phase(ns, 'erin', 'Stopped')
  t.equal(await getJson(cp.api, claimPath(ns, 'hiclaw-worker-erin')), undefined, 'the legacy claim is gone')
  t.equal(await getJson(cp.api, sandboxPath(ns, sandbox.metadata.name)), undefined, 'and its Sandbox')
  t.same(monitor.aliveWhen('Stopped'), [], `nothing of erin existed when Stopped was reported (${monitor.describe()})`)

  t.equal((await kubectlPatch(ns, 'erin', { backendRuntime: 'pod', state: 'Running' })).code, 0)
  const pod = await eventually('its own Pod', () => getJson(cp.api, podPath(ns, 'agentteams-worker-erin')))
  await waitForPodRunning(cp.api, ns, pod.metadata.name)
  t.equal((await phase(ns, 'erin', 'Running')).status?.backendRuntime, 'pod')
  t.equal(monitor.mostAtOnce().count, 1, `one runtime at every moment (${monitor.describe()})`)
})

t.test('a legacy Pod in a configured legacy namespace is the Worker\'s runtime too', async (t) => {
  const ns = await createNamespace(cp.api, 'legacy-home')
  const legacyNs = await createNamespace(cp.api, 'hiclaw-system')
  await createWorker(cp.api, ns, 'gina', { runtime: 'openclaw' })
  await patchWorkerStatus(cp.api, ns, 'gina', upstreamStatus('gina'))
  // In the controller's namespace: no owner reference (they cannot cross namespaces).
  await createUpstreamPod(cp.api, legacyNs, 'gina')
  await waitForPodRunning(cp.api, legacyNs, 'hiclaw-worker-gina')

  const monitor = await RuntimeMonitor.start(cp, 'gina', [ns, legacyNs])
  t.teardown(() => monitor.stop())
  // One watched namespace: the legacy namespace gets informers of its own.
  const c = await startSandboxController(cp, ns, { store, logs, env: { AGENTTEAMS_LEGACY_NAMESPACES: legacyNs } })
  t.teardown(() => c.close())
  const w = await adopted(ns, 'gina')
  t.match(condition(w, 'RuntimeAdopted')?.message, `Pod ${legacyNs}/hiclaw-worker-gina`)
  t.equal(await getJson(cp.api, podPath(ns, 'agentteams-worker-gina')), undefined, 'no Pod of its own')

  t.equal((await kubectlPatch(ns, 'gina', { state: 'Stopped' })).code, 0)
  await phase(ns, 'gina', 'Stopped')
  t.equal(await getJson(cp.api, podPath(legacyNs, 'hiclaw-worker-gina')), undefined)
  t.same(monitor.aliveWhen('Stopped'), [])
  t.equal((await kubectlPatch(ns, 'gina', { state: 'Running' })).code, 0)
  await eventually('its own Pod, in its own namespace', () => getJson(cp.api, podPath(ns, 'agentteams-worker-gina')))
  t.equal(monitor.mostAtOnce().count, 1, `one runtime at every moment (${monitor.describe()})`)
})

t.test('a restart in the middle of a legacy stop: still one runtime, Stopped only once it is gone', async (t) => {
  const ns = await createNamespace(cp.api, 'legacy-restart')
  const ivy = await createWorker(cp.api, ns, 'ivy', { runtime: 'openclaw' })
  await patchWorkerStatus(cp.api, ns, 'ivy', upstreamStatus('ivy'))
  // A finalizer holds the Pod's deletion open, as a slow container shutdown would.
  const hold = 'test.agentteams.io/hold'
  await createUpstreamPod(cp.api, ns, 'ivy', { owner: ivy, finalizers: [hold] })
  await waitForPodRunning(cp.api, ns, 'hiclaw-worker-ivy')
  const monitor = await RuntimeMonitor.start(cp, 'ivy', [ns])
  t.teardown(() => monitor.stop())

  const first = await startSandboxController(cp, ns, { store, logs })
  await adopted(ns, 'ivy')
  t.equal((await kubectlPatch(ns, 'ivy', { state: 'Stopped' })).code, 0)
  await eventually('the legacy Pod to be deleting', async () => ((await getJson(cp.api, podPath(ns, 'hiclaw-worker-ivy')))?.metadata?.deletionTimestamp ? true : undefined))
  await phase(ns, 'ivy', 'Stopping')
  await first.close()

  const second = await startSandboxController(cp, ns, { store, logs })
  t.teardown(() => second.close())
  // The new controller sees the same Pod still there and goes on waiting.
  t.equal((await kubectlPatch(ns, 'ivy', { env: { NUDGE: '1' } })).code, 0, 'a spec change makes it look again')
  const waiting = await waitFor(ns, 'ivy', 'a pass on the new generation', (w) => w.status?.observedGeneration === w.metadata?.generation)
  t.equal(waiting.status?.phase, 'Stopping')
  t.match(waiting.status?.message, `waiting for Pod ${ns}/hiclaw-worker-ivy to be deleted`)
  const r = await cp.api.request('PATCH', podPath(ns, 'hiclaw-worker-ivy'), { metadata: { finalizers: null } }, { contentType: 'application/merge-patch+json' })
  t.equal(r.status, 200)
  await phase(ns, 'ivy', 'Stopped')
  t.same(monitor.aliveWhen('Stopped'), [], `nothing existed when Stopped was reported (${monitor.describe()})`)
  t.equal((await kubectlPatch(ns, 'ivy', { state: 'Running' })).code, 0)
  await eventually('its own Pod after the restart', () => getJson(cp.api, podPath(ns, 'agentteams-worker-ivy')))
  t.equal(monitor.mostAtOnce().count, 1, `one runtime at every moment (${monitor.describe()})`)
})

t.test('a leader killed in the middle of an adoption: the new leader adopts, nothing is duplicated', async (t) => {
  const ns = await createNamespace(cp.api, 'legacy-failover')
  const jack = await createWorker(cp.api, ns, 'jack', { runtime: 'openclaw' })
  await patchWorkerStatus(cp.api, ns, 'jack', upstreamStatus('jack'))
  await createUpstreamPod(cp.api, ns, 'jack', { owner: jack })
  await waitForPodRunning(cp.api, ns, 'hiclaw-worker-jack')
  const monitor = await RuntimeMonitor.start(cp, 'jack', [ns])
  t.teardown(() => monitor.stop())
  const leaseName = 'legacy-failover'
  const a = await startReconcilerChild(t, cp, ns, leaseName, 'replica-a')
  await eventually('replica-a to lead', async () => ((await getJson(cp.api, `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${leaseName}`))?.spec?.holderIdentity === 'replica-a' ? true : undefined))
  // A crash, whatever replica-a had done of the adoption so far: no lease release.
  a.kill('SIGKILL')
  const b = await startSandboxController(cp, ns, { store, logs, overrides: { leaderElection: true, leaderElectionNamespace: ns, leaderElectionId: leaseName, ...LEASE } })
  t.teardown(() => b.close())
  await eventually('replica-b to lead', async () => (b.isLeader() ? true : undefined))
  const w = await adopted(ns, 'jack')
  t.equal(w.status?.backendRuntime, 'pod')
  t.equal((await kubectlPatch(ns, 'jack', { env: { AFTER: 'failover' } })).code, 0)
  await adopted(ns, 'jack', 'SpecChangedSinceAdoption')
  t.equal(await getJson(cp.api, podPath(ns, 'agentteams-worker-jack')), undefined, 'no Pod beside the adopted one')
  t.equal(monitor.mostAtOnce().count, 1, `one runtime at every moment (${monitor.describe()})`)
})

t.test('an upstream Pod made beside the controller\'s own (the upstream controller still running): reported, nothing deleted unasked; Stopped removes both', async (t) => {
  const ns = await createNamespace(cp.api, 'legacy-beside')
  const c = await startSandboxController(cp, ns, { store, logs })
  t.teardown(() => c.close())
  const kim = await createWorker(cp.api, ns, 'kim', { runtime: 'openclaw' })
  await waitForPodRunning(cp.api, ns, 'agentteams-worker-kim')
  const own = (await getJson(cp.api, podPath(ns, 'agentteams-worker-kim'))).metadata.uid
  await createUpstreamPod(cp.api, ns, 'kim', { owner: kim })
  const w = await waitFor(ns, 'kim', 'RuntimeAdopted ForeignRuntimeBeside', (x) => condition(x, 'RuntimeAdopted')?.reason === 'ForeignRuntimeBeside')
  t.match(condition(w, 'RuntimeAdopted')?.message, `a second runtime of this Worker runs beside this controller's own: Pod ${ns}/hiclaw-worker-kim (made by hiclaw-controller); stop the controller that made it`)
  t.equal(condition(w, 'RuntimeAdopted')?.status, 'False', 'not adopted')
  t.ok((await eventsOf(ns, 'kim')).some((e) => e.reason === 'ForeignRuntimeBeside'), 'a Warning Event says so')
  t.equal((await getJson(cp.api, podPath(ns, 'agentteams-worker-kim')))?.metadata?.uid, own, "this controller's Pod runs on")
  t.notOk((await getJson(cp.api, podPath(ns, 'hiclaw-worker-kim')))?.metadata?.deletionTimestamp, 'and the other one is not deleted unasked')
  t.equal((await kubectlPatch(ns, 'kim', { state: 'Stopped' })).code, 0)
  await phase(ns, 'kim', 'Stopped')
  for (const name of ['agentteams-worker-kim', 'hiclaw-worker-kim']) t.equal(await getJson(cp.api, podPath(ns, name)), undefined, `${name} is gone`)
})

t.test('no secret reached a log line', async (t) => {
  const secrets = ['syt_dave_matrix', 'gk-dave-gateway', 'minio-dave-pw', 'pw-dave']
  t.same(logs.leaks(secrets), [])
  t.ok(logs.lines.length > 0, 'the controllers did log')
})
