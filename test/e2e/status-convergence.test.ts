// Status that converges on any Worker CRD (docs/runtime-objects.md), end to end on the real API server:
// with upstream AgentTeams' HEAD CRD installed (a test fixture: spec.backendRuntime only `pod`, no
// status.conditions), a pod Worker as upstream creates it runs, the server prunes the conditions,
// and over a quiet minute of passes (the Worker touched every 2 s) the controller writes its status
// zero times; the controller says once that sandbox Workers need this project's CRD. The same
// minute on this project's CRD: zero status writes, conditions kept, no such warning.

import t, { type Test } from 'tap'
import { fileURLToPath } from 'node:url'
import { rm } from 'node:fs/promises'
import { pino } from 'pino'
import { installCrds } from '../../localcluster/crds.ts'
import { MANIFESTS } from '../../localcluster/manifests.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { createOwnedTempDir } from '../../localcluster/temp-dirs.ts'
import { createWorker } from '../../localcluster/workers.ts'
import { workerPath } from '../../api/worker.ts'
import { FilesystemDepsStore } from '../../reconciler/deps/filesystem.ts'
import { METRIC_RECONCILE_TOTAL } from '../../reconciler/controller/metrics.ts'
import { sandboxExtension } from '../../reconciler/sandbox/extension.ts'
import { eventually, findWorker, getJson, podPath, runtimeObjectName, startTestReconciler, waitForPhase, waitForPodRunning } from './reconciler-kit.ts'
import { countWrites, QUIET_WINDOW_MS, settled, statusWrites, touchWorker, waitForPublished, type Write } from './quiet-kit.ts'
import { LogCapture, sandboxSettings } from './sandbox-kit.ts'

const HEAD_CRD = fileURLToPath(new URL('../fixtures/crds/workers.agentteams.io-head.yaml', import.meta.url))
const SANDBOX_ENUM_WARNING = 'does not allow spec.backendRuntime: sandbox'
const PRUNED_WARNING = 'the installed Worker CRD does not store these status fields'

const cp = await startSuiteControlPlane(t)
// Two quiet minutes plus two Workers to Running on two shared cores.
t.setTimeout(10 * 60_000)
const depsDir = await createOwnedTempDir('wrc-status-deps-')
t.teardown(() => rm(depsDir, { recursive: true, force: true }))

const backendRuntimeEnum = (doc: any): unknown[] | undefined =>
  doc?.components?.schemas?.['io.agentteams.v1beta1.Worker']?.properties?.spec?.properties?.backendRuntime?.enum

/** A reconciler with the pod and sandbox backends for `ns`, its writes counted and logs captured. */
async function controller(t: Test, ns: string) {
  const writes: Write[] = []
  const logs = new LogCapture()
  const { controllerName: _, resourcePrefix: __, ...settings } = sandboxSettings()
  const handle = await startTestReconciler(cp, ns, {}, {
    log: pino({ level: 'debug' }, logs.stream),
    wrapKube: (kube) => countWrites(kube, writes),
    ...sandboxExtension({ store: new FilesystemDepsStore({ dir: depsDir }), settings, capabilities: ['pool'], probeEveryMs: 1000 }),
  })
  t.teardown(() => handle.close())
  return { handle, writes, logs }
}

/** Creates a pod Worker, plays the kubelet for its Pod, waits for Running and for the writes to settle. */
async function runningWorker(ns: string, name: string, spec: Record<string, unknown>, writes: Write[]) {
  await createWorker(cp.api, ns, name, spec)
  await eventually(`Pod of ${name}`, async () => (await getJson(cp.api, podPath(ns, runtimeObjectName(name)))) ?? undefined)
  await waitForPodRunning(cp.api, ns, runtimeObjectName(name))
  await waitForPhase(cp.api, ns, name, 'Running')
  await settled(writes, statusWrites)
}

/** The quiet window: the Worker touched every 2 s for a minute; the status writes and passes in it. */
async function quietMinute(handle: Awaited<ReturnType<typeof controller>>['handle'], writes: Write[], ns: string, name: string) {
  const before = statusWrites(writes).length
  const passesBefore = await handle.metric(METRIC_RECONCILE_TOTAL)
  const touches = await touchWorker(cp.api, workerPath(ns, name), QUIET_WINDOW_MS)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const passes = (await handle.metric(METRIC_RECONCILE_TOTAL)) - passesBefore
  return { touches, passes, statusWrites: statusWrites(writes).slice(before) }
}

t.test("upstream's HEAD Worker CRD: a pod Worker runs, its status stops changing, zero status writes in a quiet minute", async (t) => {
  await installCrds(cp.api, [HEAD_CRD])
  await waitForPublished(cp.api, 'agentteams.io', 'v1beta1', 'backendRuntime enum [pod]', (doc) => JSON.stringify(backendRuntimeEnum(doc)) === '["pod"]')
  const ns = await createNamespace(cp.api, 'head-crd')
  const { handle, writes, logs } = await controller(t, ns)
  // A Worker as upstream's CLI writes it: spec.model (required there), no backendRuntime, no state.
  await runningWorker(ns, 'ada', { model: 'qwen3.6-plus', runtime: 'openclaw' }, writes)
  const running = await findWorker(cp.api, ns, 'ada')
  t.equal(running?.status?.phase, 'Running')
  t.equal(running?.status?.backendRuntime, 'pod', 'status.backendRuntime is in HEAD\'s status schema: kept')
  t.equal(running?.status?.conditions, undefined, 'the API server pruned the conditions this controller wrote')
  t.ok(statusWrites(writes).length >= 1, `the controller wrote the status to get there (${statusWrites(writes).length} writes)`)

  const window = await quietMinute(handle, writes, ns, 'ada')
  t.ok(window.passes >= window.touches / 2, `passes ran during the window (${window.passes} passes for ${window.touches} touches)`)
  t.same(window.statusWrites, [], `zero status writes in ${QUIET_WINDOW_MS / 1000} s of passes`)
  t.equal((await findWorker(cp.api, ns, 'ada'))?.status?.phase, 'Running')

  await eventually('the start-up warning about the Worker CRD', async () => (logs.lines.some((l) => l.includes(SANDBOX_ENUM_WARNING)) ? true : undefined))
  t.equal(logs.lines.filter((l) => l.includes(SANDBOX_ENUM_WARNING)).length, 1, 'said once, at start')
  const pruned = logs.lines.filter((l) => l.includes(PRUNED_WARNING))
  t.equal(pruned.length, 1, 'the pruned status field is reported once')
  t.match(pruned[0], '"status.conditions"')
})

t.test("this project's Worker CRD: conditions kept, zero status writes in a quiet minute, no CRD warning", async (t) => {
  await installCrds(cp.api, [MANIFESTS.workerCrd])
  await waitForPublished(cp.api, 'agentteams.io', 'v1beta1', 'backendRuntime enum with sandbox', (doc) => (backendRuntimeEnum(doc) ?? []).includes('sandbox'))
  const ns = await createNamespace(cp.api, 'own-crd')
  const { handle, writes, logs } = await controller(t, ns)
  await runningWorker(ns, 'bea', {}, writes)
  const running = await findWorker(cp.api, ns, 'bea')
  t.equal(running?.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True', 'conditions are stored')

  const window = await quietMinute(handle, writes, ns, 'bea')
  t.ok(window.passes >= window.touches / 2, `passes ran during the window (${window.passes} passes for ${window.touches} touches)`)
  t.same(window.statusWrites, [], `zero status writes in ${QUIET_WINDOW_MS / 1000} s of passes`)
  t.notOk(logs.lines.some((l) => l.includes(SANDBOX_ENUM_WARNING)), 'no warning about the Worker CRD')
  t.notOk(logs.lines.some((l) => l.includes(PRUNED_WARNING)), 'nothing pruned')
})
