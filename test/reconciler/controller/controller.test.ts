// The controller's retry contract and worker loop: success resets backoff, a throw retries with
// growing delays (or the server's Retry-After), a TerminalError is not retried, requeueAfter re-runs
// on time, one reconcile per key at a time, no work before the caches synced, and stop drains.

import t from 'tap'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { Controller, TerminalError, type Result } from '../../../reconciler/controller/controller.ts'
import { KubeError } from '../../../reconciler/controller/kube.ts'
import { createReconcilerMetrics } from '../../../reconciler/controller/metrics.ts'
import { FakeClock, flush } from '../fake-clock.ts'
import { FakeInformer, FakeServer, type Obj } from '../fake-informer.ts'

function setup(reconcile: (key: string) => Promise<Result | void>, options: { concurrency?: number; failStarts?: number } = {}) {
  const clock = new FakeClock()
  const server = new FakeServer()
  server.failStarts = options.failStarts ?? 0
  const controller = new Controller({
    name: 'test',
    sources: [{
      kind: 'Thing',
      create: () => new FakeInformer(server),
      list: async () => ({ items: [...server.objects.values()] }),
      keys: (o: Obj) => [`${o.metadata.namespace}/${o.metadata.name}`],
    }],
    reconcile,
    log: pino({ level: 'silent' }),
    clock,
    metrics: createReconcilerMetrics(new Registry()),
    random: () => 0,
    concurrency: options.concurrency ?? 1,
  })
  return { clock, server, controller }
}

/** Records when each key was reconciled (fake-clock ms since start). */
function recorder(clock: FakeClock, behave: (key: string, n: number) => Result | void | Promise<Result | void>) {
  const start = clock.now()
  const calls: Array<[string, number]> = []
  const counts = new Map<string, number>()
  const reconcile = async (key: string) => {
    const n = (counts.get(key) ?? 0) + 1
    counts.set(key, n)
    calls.push([key, clock.now() - start])
    return behave(key, n)
  }
  return { calls, reconcile }
}

t.test('a failing key is retried with growing delays; success resets its backoff', async (t) => {
  let rec!: ReturnType<typeof recorder>
  const { clock, server, controller } = setup((k) => rec.reconcile(k))
  rec = recorder(clock, (_key, n) => {
    if (n <= 3 || n === 5) throw new Error('boom')
  })
  server.put('a')
  controller.startCaches()
  await flush()
  await controller.startWorkers()
  await clock.advance(60_000)
  t.same(rec.calls.slice(0, 4).map(([, at]) => at), [0, 800, 2400, 5600], 'retries after 0.8 s, 1.6 s, 3.2 s')
  t.equal(rec.calls.length, 4, 'no more runs after a success')
  server.put('a')
  await clock.advance(60_000)
  const [fifth, sixth] = rec.calls.slice(4)
  t.equal(sixth![1] - fifth![1], 800, 'after a success the next failure starts from the first delay again')
  await controller.stop()
})

t.test("a server's Retry-After is honoured when longer than the backoff", async (t) => {
  let rec!: ReturnType<typeof recorder>
  const { clock, server, controller } = setup((k) => rec.reconcile(k))
  rec = recorder(clock, (_key, n) => {
    if (n === 1) throw new KubeError('too many requests', { code: 429, reason: 'TooManyRequests', retryAfterMs: 7000 })
  })
  server.put('a')
  controller.startCaches()
  await flush()
  await controller.startWorkers()
  await clock.advance(20_000)
  t.same(rec.calls.map(([, at]) => at), [0, 7000])
  await controller.stop()
})

t.test('a TerminalError is not retried until the object changes', async (t) => {
  let rec!: ReturnType<typeof recorder>
  const { clock, server, controller } = setup((k) => rec.reconcile(k))
  rec = recorder(clock, () => {
    throw new TerminalError('invalid spec')
  })
  server.put('a')
  controller.startCaches()
  await flush()
  await controller.startWorkers()
  await clock.advance(120_000)
  t.equal(rec.calls.length, 1)
  server.put('a')
  await clock.advance(1000)
  t.equal(rec.calls.length, 2, 'a change triggers a new attempt')
  await controller.stop()
})

t.test('requeueAfter re-runs the key on time', async (t) => {
  let rec!: ReturnType<typeof recorder>
  const { clock, server, controller } = setup((k) => rec.reconcile(k))
  rec = recorder(clock, (_key, n) => (n < 3 ? { requeueAfterMs: 30_000 } : {}))
  server.put('a')
  controller.startCaches()
  await flush()
  await controller.startWorkers()
  await clock.advance(120_000)
  t.same(rec.calls.map(([, at]) => at), [0, 30_000, 60_000])
  await controller.stop()
})

t.test('one reconcile per key at a time, even with several workers; changes during a run cause one more run', async (t) => {
  const running = new Map<string, number>()
  let overlap = false
  const releases: Array<() => void> = []
  const runs: string[] = []
  const { server, controller } = setup(async (key) => {
    running.set(key, (running.get(key) ?? 0) + 1)
    if (running.get(key)! > 1) overlap = true
    runs.push(key)
    await new Promise<void>((resolve) => releases.push(resolve))
    running.set(key, running.get(key)! - 1)
  }, { concurrency: 4 })
  server.put('a')
  server.put('b')
  controller.startCaches()
  await flush()
  await controller.startWorkers()
  await flush()
  t.same(runs.sort(), ['ns/a', 'ns/b'], 'different keys run in parallel')
  server.put('a')
  server.put('a')
  server.put('a')
  await flush()
  t.equal(runs.length, 2, 'a busy key is not started twice')
  for (const r of releases.splice(0)) r()
  await flush()
  t.same(runs.filter((k) => k === 'ns/a').length, 2, 'three changes during the run collapse into one more run')
  for (const r of releases.splice(0)) r()
  await controller.stop()
  t.notOk(overlap)
})

t.test('no reconcile before the caches synced; stopWorkers waits for the run in flight', async (t) => {
  let finish!: () => void
  let finished = false
  const runs: string[] = []
  const { clock, server, controller } = setup(async (key) => {
    runs.push(key)
    await new Promise<void>((resolve) => (finish = resolve))
    finished = true
  }, { failStarts: 2 })
  server.put('a')
  controller.startCaches()
  const started = controller.startWorkers()
  await clock.advance(1500)
  t.equal(controller.hasSynced(), false)
  t.same(runs, [], 'nothing runs against an empty cache')
  await clock.advance(3000)
  await started
  await flush()
  t.same(runs, ['ns/a'])
  let stopped = false
  const stopping = controller.stopWorkers().then(() => (stopped = true))
  await flush()
  t.equal(stopped, false, 'stop waits for the reconcile in flight')
  finish()
  await stopping
  t.equal(finished, true)
  server.put('a')
  await flush()
  t.same(runs, ['ns/a'], 'no new work after stop')
  await controller.stop()
})

t.test('liveness names a reconcile that is stuck', async (t) => {
  const { clock, server, controller } = setup(() => new Promise(() => {}))
  server.put('a')
  controller.startCaches()
  await flush()
  await controller.startWorkers()
  await flush()
  t.equal(controller.health(), true)
  await clock.advance(11 * 60_000)
  t.match(controller.health(), /reconcile of ns\/a in flight for \d+ s/)
})
