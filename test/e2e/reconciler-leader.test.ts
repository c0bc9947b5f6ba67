// Leader election on a real Lease: of two reconciler processes exactly one reconciles; when it is
// killed (no release) the other takes over within the lease duration; a graceful close releases
// the Lease so the next candidate takes over at once.

import t from 'tap'
import { installCrds } from '../../localcluster/crds.ts'
import { MANIFESTS } from '../../localcluster/manifests.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { startSuiteControlPlane } from '../harness/suite.ts'
import { createWorker } from '../../localcluster/workers.ts'
import { METRIC_RECONCILE_TOTAL } from '../../reconciler/controller/metrics.ts'
import { eventually, getJson, podPath, runtimeObjectName, startReconcilerChild, startTestReconciler } from './reconciler-kit.ts'
import { LEASE } from './reconciler-lease.ts'

const cp = await startSuiteControlPlane(t)
await installCrds(cp.api, [MANIFESTS.workerCrd])

const holder = async (ns: string, lease: string): Promise<string | undefined> =>
  (await getJson(cp.api, `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${lease}`))?.spec?.holderIdentity ?? undefined

t.test('two reconcilers: exactly one reconciles; kill it and the other takes over within the lease duration', async (t) => {
  const ns = await createNamespace(cp.api, 'wk-leader')
  const lease = 'wrc-test-lease'
  const a = await startReconcilerChild(t, cp, ns, lease, 'replica-a')
  await eventually('replica-a to hold the Lease', async () => ((await holder(ns, lease)) === 'replica-a' ? true : undefined))
  const b = await startTestReconciler(cp, ns, { leaderElection: true, leaderElectionNamespace: ns, leaderElectionId: lease, ...LEASE }, { identity: 'replica-b' })
  t.teardown(() => b.close())
  await eventually('replica-b ready (caches synced, leader known)', async () => (b.isReady() ? true : undefined))

  await createWorker(cp.api, ns, 'kate', { backendRuntime: 'pod' })
  await eventually("kate's Pod (made by the leader)", () => getJson(cp.api, podPath(ns, runtimeObjectName('kate'))))
  t.equal(b.isLeader(), false, 'replica-b does not lead')
  t.equal(await b.metric(METRIC_RECONCILE_TOTAL), 0, 'replica-b reconciled nothing')
  t.equal(await holder(ns, lease), 'replica-a')

  const killedAt = Date.now()
  a.kill('SIGKILL')
  await eventually('replica-b to take the Lease over', async () => ((await holder(ns, lease)) === 'replica-b' && b.isLeader() ? true : undefined))
  const tookMs = Date.now() - killedAt
  t.comment(`takeover after ${tookMs} ms (lease ${LEASE.leaseDurationSeconds} s, retry ${LEASE.retryPeriodSeconds} s)`)
  // The Lease must expire first (by replica-b's own clock) and then be acquired at the next retry;
  // the margin covers API latency on a loaded 2-core machine.
  t.ok(tookMs < (LEASE.leaseDurationSeconds + 2 * LEASE.retryPeriodSeconds + 5) * 1000, 'within the lease duration plus one retry (and a margin)')
  t.ok(tookMs >= LEASE.leaseDurationSeconds * 1000 - 1000, 'not before the lease could have expired')

  await createWorker(cp.api, ns, 'leo', { backendRuntime: 'pod' })
  await eventually("leo's Pod (made by the new leader)", () => getJson(cp.api, podPath(ns, runtimeObjectName('leo'))))
  t.ok((await b.metric(METRIC_RECONCILE_TOTAL)) > 0, 'replica-b reconciles now')
})

t.test('a leader that shuts down releases the Lease and the next one takes over at once', async (t) => {
  const ns = await createNamespace(cp.api, 'wk-release')
  const lease = 'wrc-test-lease'
  const first = await startTestReconciler(cp, ns, { leaderElection: true, leaderElectionNamespace: ns, leaderElectionId: lease, ...LEASE }, { identity: 'first' })
  await eventually('first to lead', async () => (first.isLeader() ? true : undefined))
  const second = await startReconcilerChild(t, cp, ns, lease, 'second')
  await first.close()
  const released = await holder(ns, lease)
  t.not(released, 'first', 'the Lease no longer names the closed instance')
  await eventually('second to take over', async () => ((await holder(ns, lease)) === 'second' ? true : undefined), 10_000)
  await createWorker(cp.api, ns, 'mia', { backendRuntime: 'pod' })
  await eventually("mia's Pod", () => getJson(cp.api, podPath(ns, runtimeObjectName('mia'))))
  second.kill('SIGTERM')
  t.equal(await new Promise((resolve) => second.once('exit', (code) => resolve(code))), 0, 'the second reconciler exits cleanly on SIGTERM')
  t.not(await holder(ns, lease), 'second', 'and releases the Lease too')
})
