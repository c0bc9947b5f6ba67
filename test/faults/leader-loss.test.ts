// The leading controller process is SIGKILLed (no lease release, reconciles cut mid-way) during a
// burst of sandbox Worker creations; a standby process with the same settings takes the Lease
// over and finishes the job: every Worker converges, no claim is created twice or replaced, no
// status is lost, deps exist exactly once per Worker.

import t from 'tap'
import { createNamespace } from '../harness/namespaces.ts'
import { eventually, getJson } from '../e2e/reconciler-kit.ts'
import { LEASE } from '../e2e/reconciler-lease.ts'
import { audit, BURST_SECRET, createBurst, getWorker, names, startProvider, waitConverged } from './burst-kit.ts'
import type { ControllerChildSettings } from './controller-child.ts'
import { startControllerProcess } from './controller-process.ts'
import { s3Settings, startBurstSuite } from './burst-suite.ts'

const WORKERS = 40
const CREATE_CONCURRENCY = 2
const CREATE_PACE_MS = 500
const RECONCILE_CONCURRENCY = 4
const CLAIMS_BEFORE_KILL = 8
const LEASE_NAME = 'wrc-fault-lease'

const { cp, s3 } = await startBurstSuite(t)

t.test('leader killed during a burst: the standby takes over; no duplicate claim, no lost status', async (t) => {
  const ns = await createNamespace(cp.api, 'fault-leader')
  const settings = (identity: string): ControllerChildSettings => ({
    kubeconfigPath: cp.kubeconfigPath,
    namespace: ns,
    s3: s3Settings(s3),
    concurrency: RECONCILE_CONCURRENCY,
    checkDepsAtClaim: true,
    leader: { leaseName: LEASE_NAME, identity, ...LEASE },
    logs: 'collect',
  })
  const holder = async () => (await getJson(cp.api, `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${LEASE_NAME}`))?.spec?.holderIdentity
  const a = await startControllerProcess(settings('replica-a'))
  t.teardown(() => a.kill())
  await eventually('replica-a to lead', async () => ((await holder()) === 'replica-a' && (await a.stats()).leader ? true : undefined))
  const b = await startControllerProcess(settings('replica-b'))
  t.teardown(() => b.stop())
  await eventually('replica-b ready as a standby', async () => ((await b.stats()).ready ? true : undefined))
  const provider = startProvider(cp.api, ns)
  t.teardown(() => provider.stop())

  const all = names('ld', WORKERS)
  const burst = createBurst(cp.api, ns, all, CREATE_CONCURRENCY, CREATE_PACE_MS)
  await eventually(`${CLAIMS_BEFORE_KILL} claims`, async () => (a.claims.filter((c) => c.outcome === 'created').length >= CLAIMS_BEFORE_KILL ? true : undefined))
  const standby = await b.stats()
  t.equal(standby.leader, false, 'replica-b does not lead before the kill')
  t.equal(standby.claims.length, 0, 'and created no claim')
  const killedAt = Date.now()
  await a.kill()
  await eventually('replica-b to take the Lease over', async () => ((await holder()) === 'replica-b' && (await b.stats()).leader ? true : undefined))
  const tookMs = Date.now() - killedAt
  t.comment(`leader SIGKILLed with ${a.claims.filter((c) => c.outcome === 'created').length} claims made; replica-b leads after ${tookMs} ms (lease ${LEASE.leaseDurationSeconds} s)`)

  await burst
  await waitConverged(cp.api, ns, all, [])
  const after = await b.stats()
  await provider.stop()
  const found = await audit(cp.api, s3, ns, all, [], provider)
  const created = [...a.claims, ...after.claims].filter((c) => c.outcome === 'created')
  t.ok(after.claims.some((c) => c.outcome === 'created'), 'replica-b made the remaining claims')
  t.same(found.claimProblems, [], 'every Worker has exactly one claim, never replaced')
  t.same(found.sandboxProblems, [], 'and exactly one Sandbox')
  t.same(found.depsProblems, [], 'deps exist for every Worker, and only for them')
  t.equal(created.length, new Set(created.map((c) => c.name)).size, 'no claim was created twice (by the two replicas together)')
  t.same(after.violations, [], 'no claim without its deps')
  const lost: string[] = []
  for (const name of all) {
    const w = await getWorker(cp.api, ns, name)
    if (w?.status?.observedGeneration !== w?.metadata?.generation) lost.push(`${name}: observedGeneration ${w?.status?.observedGeneration} of ${w?.metadata?.generation}`)
  }
  t.same(lost, [], 'every status is current (observedGeneration = generation)')
  t.same([...a.logs, ...b.logs].filter((l) => l.includes(BURST_SECRET) || l.includes(s3.secretAccessKey)), [], 'no secret in either log')
  t.comment(`RESULT ${JSON.stringify({ test: 'leader-loss', workers: WORKERS, claimsByKilledLeader: a.claims.filter((c) => c.outcome === 'created').length, claimsByStandby: after.claims.filter((c) => c.outcome === 'created').length, takeoverMs: tookMs, converged: WORKERS, duplicateClaims: created.length - new Set(created.map((c) => c.name)).size })}`)
})
