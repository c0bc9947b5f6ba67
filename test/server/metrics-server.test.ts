// The metrics server over real sockets: secure mode serves HTTPS with the serving certificate (TLS
// 1.2+, HTTP/1.1) and asks its judge about every request, answering 401 (with a Bearer challenge),
// 403 or 500 in controller-runtime's words and the registry only on 200; it refuses to start
// without a judge or a loadable certificate; plain mode serves anyone over HTTP. The judge here is
// scripted (a unit test); test/e2e/metrics-auth.test.ts proves it against the real API server.

import t from 'tap'
import { request } from 'node:https'
import type { TLSSocket } from 'node:tls'
import { Counter, Registry } from 'prom-client'
import type { AccessResult, MetricsAuth } from '../../server/metrics-auth.ts'
import { startMetricsServer } from '../../server/metrics-server.ts'
import { captureLog, certDir, testConfig } from '../fixtures/webhook-harness.ts'

/** GET over TLS trusting `ca`, with an optional Authorization header. */
function get(url: string, ca: string, authorization?: string): Promise<{ status: number; text: string; headers: Record<string, unknown>; protocol: string | false }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: authorization ? { authorization } : {} }, (res) => {
      let text = ''
      const protocol = (res.socket as TLSSocket).getProtocol() ?? false
      res.on('data', (c: Buffer) => (text += c.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers, protocol }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Allows `Bearer good`, names `Bearer other` but forbids it, fails on `Bearer broken`, 401 otherwise. */
const scriptedAuth = (seen: string[]): MetricsAuth => ({
  async check(authorization, verb, path): Promise<AccessResult> {
    seen.push(`${verb} ${path}`)
    if (authorization === 'Bearer good') return { status: 200, user: 'prometheus', reason: 'allowed' }
    if (authorization === 'Bearer other') return { status: 403, user: 'nobody', reason: 'authorization denied for user nobody' }
    if (authorization === 'Bearer broken') return { status: 500, reason: 'authentication failed: tokenreviews is forbidden' }
    return { status: 401, reason: 'no bearer token' }
  },
})

function registryWithSample(): Registry {
  const registry = new Registry()
  new Counter({ name: 'sample_total', help: 'a sample', registers: [registry] }).inc(3)
  return registry
}

t.test('secure: HTTPS, every request judged, the registry only for an allowed caller', async (t) => {
  const { dir, certs } = await certDir(t)
  const logs = captureLog()
  const seen: string[] = []
  const server = await startMetricsServer({ config: testConfig(dir), log: logs.log, registry: registryWithSample(), auth: scriptedAuth(seen) })
  t.teardown(() => server.close())
  t.equal(server.secure, true)
  t.equal(server.url, `https://127.0.0.1:${server.port}/metrics`)
  const ca = certs.ca.cert

  const allowed = await get(server.url, ca, 'Bearer good')
  t.equal(allowed.status, 200)
  t.match(allowed.text, 'sample_total 3')
  t.match(String(allowed.headers['content-type']), /^text\/plain; version=0.0.4/)
  t.match(String(allowed.protocol), /^TLSv1\.[23]$/)

  const none = await get(server.url, ca)
  t.same([none.status, none.text, none.headers['www-authenticate']], [401, 'Unauthorized\n', 'Bearer'])
  const forbidden = await get(server.url, ca, 'Bearer other')
  t.same([forbidden.status, forbidden.text], [403, 'Authorization denied for user nobody\n'])
  t.notMatch(forbidden.text, 'sample_total')
  const broken = await get(server.url, ca, 'Bearer broken')
  t.equal(broken.status, 500)
  const warning = await logs.waitFor((l) => l['msg'] === 'metrics request could not be authorized')
  t.equal(warning['reason'], 'authentication failed: tokenreviews is forbidden')
  const elsewhere = await get(`https://127.0.0.1:${server.port}/debug/pprof?x=1`, ca)
  t.equal(elsewhere.status, 401, 'other paths are judged too (then 404 for an allowed caller)')
  t.equal((await get(`https://127.0.0.1:${server.port}/nothing`, ca, 'Bearer good')).status, 404)
  t.same(seen.slice(-2), ['get /debug/pprof', 'get /nothing'], 'the judge gets the method as the verb and the path without the query')
  t.notOk(logs.lines.some((l) => /Bearer (good|other|broken)/.test(l)), 'no Authorization header reaches a log line')
})

t.test('secure: refuses to start without a judge or without a loadable certificate', async (t) => {
  const { dir } = await certDir(t)
  const logs = captureLog()
  await t.rejects(startMetricsServer({ config: testConfig(dir), log: logs.log, registry: new Registry() }), /no authorizer given/)
  await t.rejects(
    startMetricsServer({ config: testConfig('/nonexistent'), log: logs.log, registry: new Registry(), auth: scriptedAuth([]) }),
    /load metrics serving certificate \/nonexistent\/tls.crt/,
  )
})

t.test('plain (local mode): HTTP, anyone', async (t) => {
  const { dir } = await certDir(t)
  const server = await startMetricsServer({ config: testConfig(dir, { metricsSecure: false }), log: captureLog().log, registry: registryWithSample() })
  t.teardown(() => server.close())
  t.equal(server.url, `http://127.0.0.1:${server.port}/metrics`)
  const res = await fetch(server.url)
  t.equal(res.status, 200)
  t.match(await res.text(), 'sample_total 3')
})
