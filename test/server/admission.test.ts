// The admission envelope over a real TLS socket: each malformed input class gets an AdmissionReview
// with allowed:false, status.code 400 and a message naming the problem (HTTP 200, uid echoed when
// readable); an exception in a handler is errored 500 with the uid; the server keeps serving.

import type { AddressInfo } from 'node:net'
import { fastify } from 'fastify'
import t from 'tap'
import { Registry } from 'prom-client'
import { denied, errored, patched, withWarnings } from '../../server/admission.ts'
import { admissionWebhook } from '../../server/admission-route.ts'
import { createWebhookMetrics } from '../../server/metrics.ts'
import { readServingPair, tlsServerOptions } from '../../server/tls.ts'
import { createReview, legacyPodWorker, review } from '../fixtures/admission-review.ts'
import { captureLog, certDir, post, startTestWebhook, testConfig } from '../fixtures/webhook-harness.ts'

const valid = () => createReview(legacyPodWorker(), { uid: 'uid-valid' })

t.test('malformed requests are answered with a 400 AdmissionReview', async (t) => {
  const { server, certs } = await startTestWebhook(t)
  const ca = certs.ca.cert

  const cases: Array<{ name: string; body: unknown; contentType?: string | null; uid: string; message: RegExp }> = [
    { name: 'invalid JSON', body: '{"apiVersion": "admission.k8s.io/v1", "kind": ', uid: '', message: /not valid JSON/ },
    { name: 'wrong content type', body: JSON.stringify(valid()), contentType: 'application/yaml', uid: '', message: /accepts application\/json only/ },
    { name: 'no content type', body: JSON.stringify(valid()), contentType: null, uid: '', message: /accepts application\/json only/ },
    { name: 'empty body', body: '', uid: '', message: /body is empty/ },
    { name: 'body not an object', body: '[1, 2]', uid: '', message: /the body must be an object/ },
    { name: 'wrong apiVersion', body: { ...valid(), apiVersion: 'admission.k8s.io/v1beta1' }, uid: 'uid-valid', message: /apiVersion must be "admission\.k8s\.io\/v1"/ },
    { name: 'wrong kind', body: { ...valid(), kind: 'TokenReview' }, uid: 'uid-valid', message: /kind must be "AdmissionReview"/ },
    { name: 'request missing', body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, uid: '', message: /request is required/ },
    { name: 'request.uid missing', body: { ...valid(), request: { ...valid().request, uid: undefined } }, uid: '', message: /request\.uid is required/ },
    { name: 'request.uid empty', body: { ...valid(), request: { ...valid().request, uid: '' } }, uid: '', message: /request\.uid must not be empty/ },
    { name: 'oldObject not an object', body: { ...valid(), request: { ...valid().request, operation: 'UPDATE', oldObject: [] } }, uid: 'uid-valid', message: /request\.oldObject must be an object/ },
    { name: 'object not an object', body: { ...valid(), request: { ...valid().request, object: 'a string' } }, uid: 'uid-valid', message: /request\.object must be an object/ },
    { name: 'UPDATE without oldObject', body: { ...valid(), request: { ...valid().request, operation: 'UPDATE', oldObject: undefined } }, uid: 'uid-valid', message: /request\.oldObject is required/ },
  ]
  for (const c of cases) {
    const res = await post(server.url, '/validate-workers', c.body, { ca, contentType: c.contentType })
    t.equal(res.status, 200, `${c.name}: HTTP 200`)
    const { apiVersion, kind, response } = res.answer()
    t.equal(apiVersion, 'admission.k8s.io/v1', `${c.name}: a review`)
    t.equal(kind, 'AdmissionReview')
    t.equal(response.allowed, false)
    t.equal(response.uid, c.uid, `${c.name}: uid`)
    t.equal(response.status?.code, 400, `${c.name}: code 400`)
    t.equal(response.status?.reason, 'BadRequest')
    t.match(response.status?.message, c.message, `${c.name}: message`)
  }

  t.test('a body over 7 MiB', async (t) => {
    const huge = valid()
    huge.request.object = { ...huge.request.object, padding: 'x'.repeat(7 * 1024 * 1024) }
    const res = await post(server.url, '/mutate-workers', huge, { ca })
    t.equal(res.status, 200)
    t.same(res.answer().response, { uid: '', allowed: false, status: { code: 400, reason: 'BadRequest', message: 'request body is larger than the 7 MiB limit' } })
  })

  t.test('the server still answers after all of it', async (t) => {
    const res = await post(server.url, '/validate-workers', valid(), { ca })
    t.same(res.answer().response, { uid: 'uid-valid', allowed: true })
    t.ok(server.isReady())
  })
})

t.test('an exception in a handler is errored 500 with the uid, logged without its message', async (t) => {
  const { dir, certs } = await certDir(t)
  const config = testConfig(dir)
  const logs = captureLog()
  const pair = await readServingPair({ certFile: config.tlsCertFile, keyFile: config.tlsKeyFile })
  const app = fastify({ https: tlsServerOptions(pair), loggerInstance: logs.log })
  const metrics = createWebhookMetrics(new Registry())
  app.register(admissionWebhook, {
    name: 'broken',
    path: '/broken',
    metrics,
    log: logs.log,
    handle: () => {
      throw new TypeError('Cannot read properties of secret-value-in-message')
    },
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  const url = `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const ca = certs.ca.cert
  for (let i = 0; i < 2; i++) {
    const res = await post(url, '/broken', valid(), { ca })
    t.equal(res.status, 200)
    const response = res.answer().response
    t.equal(response.uid, 'uid-valid')
    t.equal(response.allowed, false)
    t.equal(response.status?.code, 500)
    t.equal(response.status?.reason, 'InternalError')
    t.notMatch(response.status?.message, /secret-value-in-message/)
  }
  const line = await logs.waitFor((l) => l['msg'] === 'admission handler failed')
  t.equal(line['uid'], 'uid-valid')
  t.equal(line['errorType'], 'TypeError')
  t.notOk(logs.lines.some((l) => l.includes('secret-value-in-message')), 'the error message is not logged')
})

t.test('response helpers', async (t) => {
  const request = { uid: 'u' }
  t.same(patched(request, []), { uid: 'u', allowed: true }, 'no operations, no patch')
  t.same(withWarnings(denied(request, 'no'), []), denied(request, 'no'), 'no warnings, unchanged')
  t.same(errored({ uid: 42 }, 400, 'bad'), { uid: '', allowed: false, status: { code: 400, reason: 'BadRequest', message: 'bad' } }, 'a uid that is not a string is not echoed')
  t.same(review({ operation: 'CREATE', object: {} }).request.kind.kind, 'Worker')
})
