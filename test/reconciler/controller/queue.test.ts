// Work queue semantics a user relies on: one reconcile per key at a time, collapsed triggers,
// a trigger during a reconcile is not lost, and failing keys back off (and recover) per key.

import t from 'tap'
import { WorkQueue } from '../../../reconciler/controller/queue.ts'
import { backoffDelay, DEFAULT_BACKOFF } from '../../../reconciler/controller/backoff.ts'
import { FakeClock, flush } from '../fake-clock.ts'

const noJitter = () => 0

t.test('adds of the same key collapse into one item', async (t) => {
  const q = new WorkQueue()
  q.add('ns/a')
  q.add('ns/a')
  q.add('ns/b')
  q.add('ns/a')
  t.equal(q.depth(), 2)
  t.equal(await q.get(), 'ns/a')
  t.equal(await q.get(), 'ns/b')
  t.equal(q.depth(), 0)
})

t.test('a key is never handed to two workers at once; a re-add while processing runs once more', async (t) => {
  const q = new WorkQueue()
  q.add('ns/a')
  t.equal(await q.get(), 'ns/a')
  q.add('ns/a')
  q.add('ns/a')
  let second: string | undefined = 'pending'
  const waiting = q.get().then((k) => (second = k))
  await flush()
  t.equal(second, 'pending', 'the dirty key is held back while it is processed')
  q.done('ns/a')
  await waiting
  t.equal(second, 'ns/a', 'released exactly once after done')
  q.done('ns/a')
  t.equal(q.depth(), 0, 'not queued a third time')
})

t.test('done without a re-add does not requeue', async (t) => {
  const q = new WorkQueue()
  q.add('ns/a')
  await q.get()
  q.done('ns/a')
  t.equal(q.depth(), 0)
  t.equal(q.inFlight(), 0)
})

t.test('a waiting worker gets a key as soon as it is added', async (t) => {
  const q = new WorkQueue()
  const got = q.get()
  q.add('ns/x')
  t.equal(await got, 'ns/x')
  t.equal(q.inFlight(), 1)
})

t.test('addAfter delays a key, and the earliest pending time wins', async (t) => {
  const clock = new FakeClock()
  const q = new WorkQueue({ clock })
  q.addAfter('ns/a', 5000)
  q.addAfter('ns/a', 1000)
  q.addAfter('ns/a', 9000)
  t.same(clock.pending(), [1000], 'one timer, the earliest')
  await clock.advance(999)
  t.equal(q.depth(), 0)
  await clock.advance(1)
  t.equal(q.depth(), 1)
})

t.test('backoff grows per failure up to the cap and resets after forget', async (t) => {
  const clock = new FakeClock()
  const q = new WorkQueue({ clock, random: noJitter })
  const delays = Array.from({ length: 8 }, () => {
    const d = q.addRateLimited('ns/bad')
    return d
  })
  t.same(delays, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000])
  t.equal(q.addRateLimited('ns/other'), 800, 'backoff is per key')
  q.forget('ns/bad')
  t.equal(q.addRateLimited('ns/bad'), 800, 'reset after success')
})

t.test('jitter only shortens the delay and never exceeds the cap', async (t) => {
  for (const r of [0, 0.3, 0.999]) {
    for (let n = 1; n < 12; n++) {
      const d = backoffDelay(DEFAULT_BACKOFF, n, () => r)
      const raw = Math.min(30000, 800 * 2 ** (n - 1))
      t.ok(d <= raw && d >= raw / 2, `n=${n} r=${r}: ${d} within [${raw / 2}, ${raw}]`)
    }
  }
})

t.test('a Retry-After longer than the backoff wins', async (t) => {
  const q = new WorkQueue({ clock: new FakeClock(), random: noJitter })
  t.equal(q.addRateLimited('ns/a', 7000), 7000)
  t.equal(q.addRateLimited('ns/a', 100), 1600, 'the backoff when it is longer')
})

t.test('a rate-limited key becomes ready only after its delay', async (t) => {
  const clock = new FakeClock()
  const q = new WorkQueue({ clock, random: noJitter })
  q.addRateLimited('ns/a')
  await clock.advance(799)
  t.equal(q.depth(), 0)
  await clock.advance(1)
  t.equal(await q.get(), 'ns/a')
})

t.test('shutDown releases waiting workers and ignores later adds', async (t) => {
  const clock = new FakeClock()
  const q = new WorkQueue({ clock })
  const waiting = q.get()
  q.addAfter('ns/later', 1000)
  q.shutDown()
  t.equal(await waiting, undefined)
  q.add('ns/a')
  t.equal(await q.get(), undefined)
  t.same(clock.pending(), [], 'delayed adds are dropped')
})

t.test('oldestInFlight reports the longest-running key', async (t) => {
  const clock = new FakeClock()
  const q = new WorkQueue({ clock })
  q.add('ns/a')
  await q.get()
  await clock.advance(1000)
  q.add('ns/b')
  await q.get()
  await clock.advance(500)
  t.same(q.oldestInFlight(), { key: 'ns/a', ms: 1500 })
  q.done('ns/a')
  t.same(q.oldestInFlight(), { key: 'ns/b', ms: 500 })
})
