// kube-apiserver restarted in the middle of a burst of sandbox Worker creations (and a few
// deletions), with the controller in its own process and a real MinIO: every Worker converges,
// no claim is created twice or replaced, deps exist exactly for the Workers that exist, and the
// deleted Workers leave nothing behind.

import t from 'tap'
import { createNamespace } from '../harness/namespaces.ts'
import { eventually } from '../e2e/reconciler-kit.ts'
import { audit, BURST_SECRET, createBurst, deleteWorker, names, waitConverged } from './burst-kit.ts'
import { startBurstController, startBurstSuite } from './burst-suite.ts'

/** Burst size and shape: small enough for 2 shared cores, long enough (≈ 10 s) to straddle the restart. */
const WORKERS = 40
const DELETED = 4
const CREATE_CONCURRENCY = 2
const CREATE_PACE_MS = 500
const RECONCILE_CONCURRENCY = 4
/** The restart begins once this many claims exist. */
const CLAIMS_BEFORE_RESTART = 8

const { cp, s3 } = await startBurstSuite(t)

t.test('API server restart during a burst: all converge, no duplicate claim, no orphaned deps', async (t) => {
  const ns = await createNamespace(cp.api, 'fault-restart')
  const { controller, provider } = await startBurstController(t, cp, s3, ns, RECONCILE_CONCURRENCY)

  const all = names('rs', WORKERS)
  const doomed = all.slice(0, DELETED)
  const live = all.slice(DELETED)
  let restartedAt = 0
  const burst = createBurst(cp.api, ns, all, CREATE_CONCURRENCY, CREATE_PACE_MS)
  // Once some claims exist: delete the first few Workers (their finalizers run across the restart), then restart.
  await eventually(`${CLAIMS_BEFORE_RESTART} claims`, async () => ((await controller.stats()).claims.filter((c) => c.outcome === 'created').length >= CLAIMS_BEFORE_RESTART ? true : undefined))
  await Promise.all(doomed.map((d) => deleteWorker(cp.api, ns, d)))
  restartedAt = Date.now()
  await cp.restartApiserver()
  t.comment(`kube-apiserver restarted in ${((Date.now() - restartedAt) / 1000).toFixed(1)} s`)
  const { retries } = await burst
  t.comment(`${retries} create attempts had to be repeated during the outage`)
  const claimsBefore = (await controller.stats()).claims.filter((c) => c.outcome === 'created' && c.at < restartedAt).length
  await waitConverged(cp.api, ns, live, doomed)
  const stats = await controller.stats()
  await provider.stop()
  const found = await audit(cp.api, s3, ns, live, doomed, provider)
  const created = stats.claims.filter((c) => c.outcome === 'created')
  t.same(found.claimProblems, [], 'every Worker has exactly one claim, never replaced')
  t.same(found.sandboxProblems, [], 'and exactly one Sandbox')
  t.same(found.depsProblems, [], 'deps exist exactly for the Workers that exist (no orphans, none missing)')
  t.same(found.leftovers, [], 'the deleted Workers left no claim, Sandbox or ServiceAccount')
  t.equal(created.length, new Set(created.map((c) => c.name)).size, 'no claim was created twice')
  t.ok(created.some((c) => c.at > restartedAt), `the burst straddled the restart (${claimsBefore} claims before it, ${created.length - claimsBefore} after)`)
  t.same(stats.violations, [], 'no claim create went out without its deps in the bucket')
  t.equal(controller.exit(), undefined, 'the controller process never died')
  t.same(controller.logs.filter((l) => l.includes(BURST_SECRET) || l.includes(s3.secretAccessKey)), [], 'no secret in its logs')
  t.comment(`RESULT ${JSON.stringify({ test: 'apiserver-restart', workers: WORKERS, deleted: DELETED, converged: live.length, claimsCreated: created.length, claimsBeforeRestart: claimsBefore, createRetries: retries, duplicateClaims: created.length - new Set(created.map((c) => c.name)).size, orphanedDeps: found.depsProblems.length })}`)
})
