// A hung API server: kube-apiserver frozen with SIGSTOP for several times the informer staleness
// limit (set to 3 s here; 300 s by default). Connections stay open, nothing answers, no watch event
// flows. The reconciler must notice (last-event age above the limit, a verification relist sent),
// stay live, and pick the work up again once the API server thaws: a Worker a user applied during
// the hang gets its Pod and reaches Running.

import t from 'tap'
import { installCrds } from '../../localcluster/crds.ts'
import { MANIFESTS } from '../../localcluster/manifests.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { createWorker } from '../../localcluster/workers.ts'
import { workerPath, type Worker } from '../../api/worker.ts'
import type { KubeClient } from '../../reconciler/controller/kube.ts'
import { METRIC_INFORMER_RESTARTS, METRIC_LAST_EVENT_AGE, METRIC_RECONCILE_TOTAL, METRIC_RELIST_MISSES } from '../../reconciler/controller/metrics.ts'
import { requestKind } from './request-kind.ts'
import { eventually, getJson, podPath, runtimeObjectName, startTestReconciler, waitForPodRunning } from '../e2e/reconciler-kit.ts'

/** The staleness limit under test, and how long the API server stays frozen (four limits). */
const STALE_SECONDS = 3
const PAUSE_MS = 4 * STALE_SECONDS * 1000

const cp = await startSuiteControlPlane(t)
await installCrds(cp.api, [MANIFESTS.workerCrd])

t.test('API server frozen longer than the staleness limit: detected, shown in the metrics, work resumes', async (t) => {
  const ns = await createNamespace(cp.api, 'fault-sigstop')
  // Every list the reconciler sends, by the time it was sent: the verification relists show up here.
  const lists: number[] = []
  const wrapKube = (kube: KubeClient): KubeClient => ({
    close: () => kube.close(),
    request: (r) => {
      if (requestKind(r).startsWith('LIST ')) lists.push(Date.now())
      return kube.request(r)
    },
  })
  const r = await startTestReconciler(cp, ns, { informerStaleSeconds: STALE_SECONDS }, { wrapKube })
  t.teardown(() => r.close())
  await eventually('caches synced', async () => (r.isReady() ? true : undefined))
  await createWorker(cp.api, ns, 'before', { backendRuntime: 'pod' })
  await waitForPodRunning(cp.api, ns, runtimeObjectName('before'))
  const phase = async (name: string) => ((await getJson(cp.api, workerPath(ns, name))) as Worker | undefined)?.status?.phase
  await eventually('the first Worker Running', async () => ((await phase('before')) === 'Running' ? true : undefined))

  const ageOf = async () => Math.max(...((await r.registry.getSingleMetric(METRIC_LAST_EVENT_AGE)?.get())?.values ?? []).map((v) => v.value))
  const reconcilesBefore = await r.metric(METRIC_RECONCILE_TOTAL)
  await cp.pauseApiserver()
  const pausedAt = Date.now()
  t.teardown(() => cp.resumeApiserver())
  // A user applies a Worker while the API server hangs: the request waits with everything else.
  const applied = createWorker(cp.api, ns, 'during', { backendRuntime: 'pod' })
  let maxAge = 0
  while (Date.now() - pausedAt < PAUSE_MS) {
    maxAge = Math.max(maxAge, await ageOf())
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  const relistsDuringPause = lists.filter((at) => at > pausedAt).length
  t.equal(r.isLive(), true, 'the reconciler stays live while the API server hangs')
  await cp.resumeApiserver()
  t.comment(`frozen ${((Date.now() - pausedAt) / 1000).toFixed(1)} s; largest last-event age seen ${maxAge.toFixed(1)} s; ${relistsDuringPause} verification lists sent meanwhile`)
  // The age climbs through the whole hang (an idle but healthy cluster shows this too: the age is
  // what an alert reads, the relists are how the reconciler checks whether it missed anything).
  t.ok(maxAge >= (PAUSE_MS / 1000) * 0.75, `the last-event age metric climbed through the hang, past the ${STALE_SECONDS} s limit (${maxAge.toFixed(1)} s)`)
  t.ok(relistsDuringPause >= 1, 'the staleness watchdog kept probing with verification relists (they hang with the API server)')

  await applied
  const during = runtimeObjectName('during')
  await waitForPodRunning(cp.api, ns, during)
  await eventually('it reaches Running', async () => ((await phase('during')) === 'Running' ? true : undefined))
  t.equal(await phase('before'), 'Running', 'the first Worker is still Running')
  await eventually('watch events to flow again (last-event age back under the limit)', async () => ((await ageOf()) < STALE_SECONDS ? true : undefined))
  t.ok((await r.metric(METRIC_RECONCILE_TOTAL)) > reconcilesBefore, 'reconciles resumed')
  t.equal(r.isLive(), true)
  t.equal(r.isReady(), true)
  const restarts = await r.metric(METRIC_INFORMER_RESTARTS)
  const misses = await r.metric(METRIC_RELIST_MISSES)
  // Restarts happen when the thawed API server answers 429 "storage is (re)initializing"; misses
  // stay 0 because a frozen API server delivers everything late rather than dropping it.
  t.comment(`after the thaw: informer restarts ${restarts}, relist misses ${misses}, last-event age ${(await ageOf()).toFixed(1)} s`)
  t.comment(`RESULT ${JSON.stringify({ test: 'silent-watch', staleSeconds: STALE_SECONDS, pausedMs: PAUSE_MS, maxLastEventAgeS: +maxAge.toFixed(1), relistsDuringPause, informerRestarts: restarts, relistMisses: misses })}`)
})
