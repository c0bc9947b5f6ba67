// The object store (real MinIO) goes down in the middle of a burst of sandbox Worker creations:
// the controller process checks the bucket at every claim create — not one claim may go out
// without its env and token; Workers caught by the outage say why (DepsMaterialized=False,
// StoreUnavailable); after the store comes back every Worker converges with nothing doubled.

import t from 'tap'
import { createNamespace } from '../harness/namespaces.ts'
import { condition, eventually } from '../e2e/reconciler-kit.ts'
import { audit, BURST_SECRET, createBurst, getWorker, names, waitConverged } from './burst-kit.ts'
import { startBurstController, startBurstSuite } from './burst-suite.ts'

const WORKERS = 40
const CREATE_CONCURRENCY = 2
const CREATE_PACE_MS = 500
const RECONCILE_CONCURRENCY = 4
const CLAIMS_BEFORE_OUTAGE = 8
/** Long enough for several retries of the Workers it catches (backoff 0.8 s, 1.6 s, 3.2 s, ...). */
const OUTAGE_MS = 10_000

const { cp, s3 } = await startBurstSuite(t)

t.test('object store outage during a burst: no claim without its deps; all converge after recovery', async (t) => {
  const ns = await createNamespace(cp.api, 'fault-store')
  const { controller, provider } = await startBurstController(t, cp, s3, ns, RECONCILE_CONCURRENCY)

  const all = names('st', WORKERS)
  const burst = createBurst(cp.api, ns, all, CREATE_CONCURRENCY, CREATE_PACE_MS)
  await eventually(`${CLAIMS_BEFORE_OUTAGE} claims`, async () => ((await controller.stats()).claims.filter((c) => c.outcome === 'created').length >= CLAIMS_BEFORE_OUTAGE ? true : undefined))
  await s3.stop()
  let restarted = false
  t.teardown(async () => {
    if (!restarted) await s3.start()
  })
  const stoppedAt = Date.now()
  // While it is down, Workers created meanwhile must wait and say why.
  const blocked = new Set<string>()
  while (Date.now() - stoppedAt < OUTAGE_MS) {
    for (const name of all) {
      const deps = condition(await getWorker(cp.api, ns, name), 'DepsMaterialized')
      if (deps?.status === 'False' && deps.reason === 'StoreUnavailable') blocked.add(name)
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  await s3.start()
  restarted = true
  const outage = await controller.stats()
  t.comment(`store down ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s; ${blocked.size} Workers showed DepsMaterialized=False StoreUnavailable; ${outage.unverifiable} claim creates held back because the bucket could not be read`)
  t.ok(blocked.size >= 1, 'the outage caught Workers mid-burst, and they said why')

  await burst
  await waitConverged(cp.api, ns, all, [])
  const stats = await controller.stats()
  await provider.stop()
  const found = await audit(cp.api, s3, ns, all, [], provider)
  const created = stats.claims.filter((c) => c.outcome === 'created')
  t.same(stats.violations, [], 'every claim create found env and token in the bucket')
  t.same(found.claimProblems, [], 'every Worker has exactly one claim, never replaced')
  t.same(found.sandboxProblems, [], 'and exactly one Sandbox')
  t.same(found.depsProblems, [], 'deps exist for every Worker, and only for them')
  t.equal(created.length, WORKERS, 'one claim create per Worker')
  const stuck: string[] = []
  for (const name of blocked) if (condition(await getWorker(cp.api, ns, name), 'DepsMaterialized')?.status !== 'True') stuck.push(name)
  t.same(stuck, [], `the ${blocked.size} Workers the outage caught recovered without intervention`)
  t.equal(controller.exit(), undefined, 'the controller process never died')
  t.same(controller.logs.filter((l) => l.includes(BURST_SECRET) || l.includes(s3.secretAccessKey)), [], 'no secret in its logs')
  t.comment(`RESULT ${JSON.stringify({ test: 'storage-outage', workers: WORKERS, outageMs: OUTAGE_MS, blocked: blocked.size, converged: WORKERS, claimsWithoutDeps: stats.violations.length, duplicateClaims: created.length - new Set(created.map((c) => c.name)).size })}`)
})
