// The reconciler recovers on its own: from a kube-apiserver restart (same etcd) mid-run, and from a
// watch that goes silent without closing (client-node #596), which the staleness relist catches.

import t from 'tap'
import { installCrds } from '../../localcluster/crds.ts'
import { MANIFESTS } from '../../localcluster/manifests.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { createWorker } from '../../localcluster/workers.ts'
import { workerPath, type Worker } from '../../api/worker.ts'
import { METRIC_INFORMER_RESTARTS, METRIC_RECONCILE_TOTAL, METRIC_RELIST_MISSES } from '../../reconciler/controller/metrics.ts'
import { cordonNode, eventually, getJson, kubeconfigFor, patchWorkerSpec, podPath, runtimeObjectName, startTestReconciler, waitForPodRunning } from './reconciler-kit.ts'
import { startFaultProxy } from './reconciler-proxy.ts'

const cp = await startSuiteControlPlane(t)
await installCrds(cp.api, [MANIFESTS.workerCrd])

/** Resolves once no reconcile has run for 1.5 s. */
async function settled(r: Awaited<ReturnType<typeof startTestReconciler>>): Promise<void> {
  let last = -1
  let since = Date.now()
  await eventually('the reconciler to be idle', async () => {
    const n = await r.metric(METRIC_RECONCILE_TOTAL)
    if (n !== last) {
      last = n
      since = Date.now()
      return undefined
    }
    return Date.now() - since >= 1500 ? true : undefined
  })
}

const phase = async (ns: string, name: string) => ((await getJson(cp.api, workerPath(ns, name))) as Worker | undefined)?.status?.phase

t.test('a watch that goes silent is detected by the staleness relist, and what it missed is acted on', async (t) => {
  const ns = await createNamespace(cp.api, 'wk-silent')
  const proxy = await startFaultProxy(cp.url)
  t.teardown(() => proxy.close())
  // Relist after 3 s without events; client-node's own watch timeout (30 s) would take ten times longer.
  const r = await startTestReconciler(cp, ns, { informerStaleSeconds: 3 }, { kubeconfig: kubeconfigFor(cp, proxy.url) })
  t.teardown(() => r.close())
  await eventually('caches synced', async () => (r.isReady() ? true : undefined))
  // The Pod waits, unschedulable, until the watch has gone silent; then the Node takes it.
  await cordonNode(cp, true)
  t.teardown(() => cordonNode(cp, false))
  await createWorker(cp.api, ns, 'hank', { backendRuntime: 'pod' })
  const name = runtimeObjectName('hank')
  await eventually('the Pod', () => getJson(cp.api, podPath(ns, name)))
  await eventually('phase Starting', async () => ((await phase(ns, 'hank')) === 'Starting' ? true : undefined))
  // Let the reconciles our own writes trigger settle first: after this, only a watch event (or the
  // relist) can make the reconciler look at the Pod again before its 30 s safety recheck.
  await settled(r)

  proxy.silenceStreams()
  await cordonNode(cp, false)
  await waitForPodRunning(cp.api, ns, name)
  await eventually('phase Running although the Pod watch went silent', async () => ((await phase(ns, 'hank')) === 'Running' ? true : undefined))
  t.ok(proxy.silentStreams() >= 1, 'a watch stream really went silent (it lost data)')
  t.ok((await r.metric(METRIC_RELIST_MISSES, { kind: 'Pod' })) >= 1, 'the relist counted the missed Pod change')
  t.ok((await r.metric(METRIC_INFORMER_RESTARTS, { kind: 'Pod', reason: 'relist_miss' })) >= 1, 'and restarted the Pod informer')
  t.equal(r.isLive(), true)
})

t.test('after a kube-apiserver restart the reconciler recovers by itself and converges', async (t) => {
  const ns = await createNamespace(cp.api, 'wk-restart')
  const r = await startTestReconciler(cp, ns)
  t.teardown(() => r.close())
  await eventually('caches synced', async () => (r.isReady() ? true : undefined))
  await createWorker(cp.api, ns, 'ivy', { backendRuntime: 'pod' })
  const ivy = runtimeObjectName('ivy')
  await waitForPodRunning(cp.api, ns, ivy)
  await eventually('phase Running', async () => ((await phase(ns, 'ivy')) === 'Running' ? true : undefined))

  const before = cp.pids[1]
  await cp.restartApiserver()
  t.not(cp.pids[1], before, 'a new kube-apiserver process serves on the same URL and etcd')
  t.comment('kube-apiserver restarted')

  await patchWorkerSpec(cp.api, ns, 'ivy', { state: 'Sleeping' })
  await createWorker(cp.api, ns, 'jack', { backendRuntime: 'pod' })
  await eventually('ivy to sleep (its Pod deleted)', async () => ((await phase(ns, 'ivy')) === 'Sleeping' && !(await getJson(cp.api, podPath(ns, ivy))) ? true : undefined), 120_000)
  await eventually("jack's Pod", () => getJson(cp.api, podPath(ns, runtimeObjectName('jack'))), 120_000)
  t.ok((await r.metric(METRIC_INFORMER_RESTARTS, { reason: 'error' })) >= 1, 'the informers were restarted after the outage')
  t.equal(r.isReady(), true)
  t.equal(r.isLive(), true)
})
