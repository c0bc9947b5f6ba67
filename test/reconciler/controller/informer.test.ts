// The informer supervisor: a stopped informer comes back on its own with growing, capped delays;
// a silent watch is caught by a relist and whatever it missed reaches the handler; a quiet but
// healthy watch is left alone.

import t from 'tap'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { SupervisedInformer } from '../../../reconciler/controller/informer.ts'
import { createReconcilerMetrics, METRIC_INFORMER_RESTARTS, METRIC_RELIST_MISSES } from '../../../reconciler/controller/metrics.ts'
import { FakeClock, flush } from '../fake-clock.ts'
import { FakeInformer, FakeServer, type Obj } from '../fake-informer.ts'

function setup(options: { stale?: number; every?: number } = {}) {
  const clock = new FakeClock()
  const server = new FakeServer()
  const registry = new Registry()
  const metrics = createReconcilerMetrics(registry)
  const changes: string[] = []
  const informer = new SupervisedInformer<Obj>({
    kind: 'Pod',
    create: () => {
      server.created++
      return new FakeInformer(server)
    },
    list: async () => ({ items: [...server.objects.values()], resourceVersion: String(server.rv) }),
    onChange: (o) => changes.push(`${o.metadata.name}@${o.metadata.resourceVersion}`),
    log: pino({ level: 'silent' }),
    clock,
    metrics,
    random: () => 0,
    staleAfterMs: options.stale ?? 60_000,
    relistEveryMs: options.every ?? 600_000,
    missGraceMs: 1000,
  })
  const metric = async (name: string, labels: Record<string, string>) => {
    const m = (await registry.getSingleMetric(name)!.get()).values
    return m.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0)
  }
  return { clock, server, informer, changes, metric }
}

t.test('an informer that stops on an error is restarted with growing, capped backoff', async (t) => {
  const { clock, server, informer, metric } = setup()
  server.put('a')
  server.failStarts = 3
  informer.start()
  await flush()
  t.notOk(informer.hasSynced(), 'not synced while the API server refuses')
  t.same(clock.pending().slice(0, 1), [1000], 'first retry after 1 s')
  await clock.advance(1000)
  t.ok(clock.pending().includes(2000), 'second retry after 2 s')
  await clock.advance(2000)
  t.ok(clock.pending().includes(4000), 'third retry after 4 s')
  await clock.advance(4000)
  t.ok(informer.hasSynced(), 'synced once the API server answers')
  t.equal(informer.get('a')?.metadata.name, 'a')
  t.equal(await metric(METRIC_INFORMER_RESTARTS, { kind: 'Pod', reason: 'error' }), 3)
  t.equal(informer.health(60_000), true)
  await informer.stop()
})

t.test('a running informer that errors keeps its cache readable and comes back', async (t) => {
  const { clock, server, informer, changes } = setup()
  server.put('a')
  informer.start()
  await flush()
  const first = [...server.watchers][0]!
  first.fail(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))
  t.equal(informer.get('a')?.metadata.name, 'a', 'the cache is still served')
  server.put('b')
  await clock.advance(1000)
  t.ok(changes.includes('b@102'), 'the object created while it was down reaches the handler')
  t.equal(server.watchers.size, 1, 'exactly one live watch after the restart')
  await informer.stop()
})

t.test('a silent watch is caught by the staleness relist, and what it missed is delivered', async (t) => {
  const { clock, server, informer, changes, metric } = setup({ stale: 60_000 })
  server.put('a')
  server.put('gone')
  informer.start()
  await flush()
  changes.length = 0
  server.silent = true
  server.put('a')
  server.remove('gone')
  server.silent = false
  t.same(changes, [], 'the watch delivered nothing')
  await clock.advance(60_000 + 15_000 + 1000)
  t.ok(changes.includes('a@103'), 'the missed update reached the handler')
  t.ok(changes.includes('gone@102'), 'the missed delete reached the handler')
  t.equal(informer.get('gone'), undefined, 'the cache no longer holds the deleted object')
  t.equal(await metric(METRIC_RELIST_MISSES, { kind: 'Pod' }), 2)
  t.equal(await metric(METRIC_INFORMER_RESTARTS, { kind: 'Pod', reason: 'relist_miss' }), 1)
  await informer.stop()
})

t.test('a quiet but healthy watch is verified and left running', async (t) => {
  const { clock, server, informer, metric } = setup({ stale: 60_000, every: 120_000 })
  server.put('a')
  informer.start()
  await flush()
  await clock.advance(10 * 60_000)
  t.equal(server.created, 1, 'no restart')
  t.equal(await metric(METRIC_RELIST_MISSES, { kind: 'Pod' }), 0)
  await informer.stop()
})

t.test('an event racing the relist is not counted as a miss', async (t) => {
  const { clock, server, informer, metric } = setup({ stale: 60_000 })
  server.put('a')
  informer.start()
  await flush()
  // The list is served with the new version before the watch delivers it.
  server.silent = true
  server.put('a')
  server.silent = false
  const relisting = informer.relist()
  for (const w of server.watchers) w.deliver('update', server.objects.get('a')!)
  await clock.advance(1000)
  t.equal(await relisting, 0)
  t.equal(server.created, 1, 'no restart')
  t.equal(await metric(METRIC_RELIST_MISSES, { kind: 'Pod' }), 0)
  await informer.stop()
})

t.test('health reports an informer that keeps failing', async (t) => {
  const { clock, server, informer } = setup()
  server.failStarts = 1000
  informer.start()
  await clock.advance(5 * 60_000)
  t.match(informer.health(60_000), /Pod informer failing for \d+ s/)
  await informer.stop()
})
