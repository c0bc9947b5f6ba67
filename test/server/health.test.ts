// The probe server over plain HTTP: /healthz, /readyz (503 naming the failing checks until they
// pass, e.g. the webhook's "TLS listening" until it starts and after it closes) and no /metrics; the
// plain-HTTP metrics server (AGENTTEAMS_METRICS_SECURE=false) with the admission histogram and
// decision counters after real webhook traffic.

import t from 'tap'
import type { HealthCheck } from '../../server/health.ts'
import { METRIC_DECISIONS, METRIC_IN_FLIGHT, METRIC_LATENCY } from '../../server/metrics.ts'
import { startMetricsServer } from '../../server/metrics-server.ts'
import { startProbeServer } from '../../server/webhook-server.ts'
import { createReview, legacyPodWorker, updateReview, withSpec } from '../fixtures/admission-review.ts'
import { post, startTestWebhook } from '../fixtures/webhook-harness.ts'

async function get(port: number, path: string): Promise<{ status: number; text: string; type: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`)
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' }
}

t.test('probes and metrics', async (t) => {
  const webhook = await startTestWebhook(t)
  const { server, registry, config, logs, certs } = webhook
  let cachesSynced = false
  const checks: HealthCheck[] = [
    { name: 'webhook-tls', check: () => server.isReady() || 'webhook server is not listening' },
    { name: 'caches-synced', check: () => cachesSynced },
  ]
  const probes = await startProbeServer({ config, log: logs.log, checks })
  t.teardown(() => probes.close())
  const metrics = await startMetricsServer({ config: { ...config, metricsSecure: false }, log: logs.log, registry })
  t.teardown(() => metrics.close())
  t.not(probes.port, 0)

  t.test('/healthz answers while the event loop runs', async (t) => {
    const res = await get(probes.port, '/healthz')
    t.equal(res.status, 200)
    t.match(res.text, /\[\+\]ping ok/)
  })

  t.test('/healthz fails with a failing liveness check added later', async (t) => {
    checks.push({ name: 'informer-fresh', kind: 'liveness', check: () => 'no event for 10m' })
    const res = await get(probes.port, '/healthz')
    const ready = await get(probes.port, '/readyz')
    checks.pop()
    t.equal(res.status, 503)
    t.match(res.text, /\[-\]informer-fresh failed: no event for 10m/)
    t.notMatch(ready.text, /informer-fresh/, 'a liveness check is not a readiness check')
  })

  t.test('/readyz is 503 naming the failing check, then 200 once it passes', async (t) => {
    const before = await get(probes.port, '/readyz')
    t.equal(before.status, 503)
    t.match(before.text, /\[\+\]webhook-tls ok/)
    t.match(before.text, /\[-\]caches-synced failed/)
    cachesSynced = true
    const after = await get(probes.port, '/readyz')
    t.equal(after.status, 200)
    t.match(after.text, /readyz check passed/)
  })

  t.test('a check that throws fails readiness instead of crashing the probe', async (t) => {
    checks.push({ name: 'broken', check: () => { throw new Error('boom') } })
    const res = await get(probes.port, '/readyz')
    checks.pop()
    t.equal(res.status, 503)
    t.match(res.text, /\[-\]broken failed/)
  })

  t.test('the probe port does not serve /metrics (the metrics server does, secured in a cluster)', async (t) => {
    t.equal((await get(probes.port, '/metrics')).status, 404)
  })

  t.test('/metrics shows latency, decisions and in-flight after traffic', async (t) => {
    const stored = legacyPodWorker()
    const ca = certs.ca.cert
    await post(server.url, '/validate-workers', updateReview(stored, withSpec(stored, { backendRuntime: 'sandbox' })), { ca })
    await post(server.url, '/validate-workers', createReview(stored), { ca })
    await post(server.url, '/mutate-workers', createReview(stored), { ca })
    await post(server.url, '/mutate-workers', '{', { ca })
    t.equal(metrics.url, `http://127.0.0.1:${metrics.port}/metrics`)
    const res = await get(metrics.port, '/metrics')
    t.equal(res.status, 200)
    t.match(res.type, /^text\/plain/)
    t.match(res.text, `${METRIC_DECISIONS}{webhook="validate-workers",result="denied"} 1`)
    t.match(res.text, `${METRIC_DECISIONS}{webhook="validate-workers",result="allowed"} 1`)
    t.match(res.text, `${METRIC_DECISIONS}{webhook="mutate-workers",result="patched"} 1`)
    t.match(res.text, `${METRIC_DECISIONS}{webhook="mutate-workers",result="errored"} 1`)
    t.match(res.text, `${METRIC_LATENCY}_count{webhook="validate-workers"} 2`)
    t.match(res.text, `${METRIC_LATENCY}_bucket{le="0.0005",webhook="mutate-workers"}`)
    t.match(res.text, `${METRIC_LATENCY}_bucket{le="10",webhook="mutate-workers"} 2`)
    t.match(res.text, `${METRIC_IN_FLIGHT}{webhook="mutate-workers"} 0`)
  })

  t.test('/readyz fails once the webhook server closes', async (t) => {
    await server.close()
    const res = await get(probes.port, '/readyz')
    t.equal(res.status, 503)
    t.match(res.text, /\[-\]webhook-tls failed: webhook server is not listening/)
  })
})
