// The process-facing starter: url and port, readiness, and a graceful close that lets an
// in-flight request finish (its keep-alive connection then closed) while refusing new connections.

import { request } from 'node:https'
import { connect } from 'node:net'
import type { Registry } from 'prom-client'
import t from 'tap'
import { METRIC_IN_FLIGHT } from '../../server/metrics.ts'
import { createReview, legacyPodWorker } from '../fixtures/admission-review.ts'
import { startTestWebhook } from '../fixtures/webhook-harness.ts'

/** Resolves when the registry shows `count` requests in flight. */
async function inFlight(registry: Registry, count: number): Promise<void> {
  for (;;) {
    const text = await registry.getSingleMetricAsString(METRIC_IN_FLIGHT)
    if (text.includes(`} ${count}`)) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
}

t.test('listens on a free port and reports itself', async (t) => {
  const { server } = await startTestWebhook(t)
  t.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/)
  t.equal(server.url, `https://127.0.0.1:${server.port}`)
  t.not(server.port, 0)
  t.ok(server.isReady())
})

t.test('close() drains an in-flight request, then refuses new connections', async (t) => {
  const { server, certs, registry } = await startTestWebhook(t)
  const body = JSON.stringify(createReview(legacyPodWorker(), { uid: 'uid-in-flight' }))
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
  const answered = new Promise<{ status: number; connection: string | undefined; text: string }>((resolve, reject) => {
    const req = request(new URL('/validate-workers', server.url), { method: 'POST', ca: certs.ca.cert, headers }, (res) => {
      let text = ''
      res.on('data', (chunk: Buffer) => (text += chunk.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, text }))
    })
    req.on('error', reject)
    req.write(body.slice(0, 200))
    void inFlight(registry, 1).then(async () => {
      closed = server.close()
      t.notOk(server.isReady(), 'not ready once closing')
      await new Promise((resolve) => setTimeout(resolve, 200))
      req.end(body.slice(200))
    })
  })
  let closed: Promise<void> | undefined

  const res = await answered
  t.equal(res.status, 200)
  t.same(JSON.parse(res.text).response, { uid: 'uid-in-flight', allowed: true }, 'the in-flight request got its answer')
  t.equal(res.connection, 'close', 'and its connection is closed after it')
  await closed
  t.notOk(await canConnect(server.port), 'no new connection after close')
})
