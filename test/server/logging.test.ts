// Secrets never reach a log line: a Worker carrying a secret env value goes through every path
// (denied, allowed, patched, malformed) at log level trace, and no captured line holds the value,
// the env key or any other piece of the object body. A denial is one line with its identifiers.

import t from 'tap'
import { SECRET_ENV_VALUE, createReview, legacyPodWorker, updateReview, withSpec } from '../fixtures/admission-review.ts'
import { post, startTestWebhook } from '../fixtures/webhook-harness.ts'

t.test('no log line holds an env value or an object body', async (t) => {
  const { server, certs, logs } = await startTestWebhook(t)
  const ca = certs.ca.cert
  const stored = legacyPodWorker()
  const denied = updateReview(stored, withSpec(stored, { backendRuntime: 'sandbox' }), { uid: 'uid-denied' })
  const badEnum = createReview(withSpec(stored, { state: 'Paused' }), { uid: 'uid-enum' })
  const malformedJson = JSON.stringify(createReview(stored)).slice(0, -20)
  const secretInEnvelope = { ...createReview(stored), apiVersion: SECRET_ENV_VALUE }
  const secretAsName = { ...createReview(stored), request: { ...createReview(stored).request, name: { secret: SECRET_ENV_VALUE }, object: SECRET_ENV_VALUE } }

  for (const path of ['/validate-workers', '/mutate-workers']) {
    for (const body of [denied, badEnum, createReview(stored), malformedJson, secretInEnvelope, secretAsName]) {
      const res = await post(server.url, path, body, { ca })
      t.equal(res.status, 200)
    }
  }
  await post(server.url, '/validate-workers', JSON.stringify(denied), { ca, contentType: 'text/plain' })

  t.ok(logs.lines.length > 0, 'something was logged')
  for (const needle of [SECRET_ENV_VALUE, 'OPENAI_API_KEY', 'last-applied-configuration', 'managedFields', 'ghcr.io/agentteams']) {
    t.notOk(logs.lines.some((line) => line.includes(needle)), `no line contains ${needle}`)
  }

  const denials = logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'admission request denied' && l['uid'] === 'uid-denied')
  t.equal(denials.length, 1, 'one line for the denial')
  t.match(denials[0], { webhook: 'validate-workers', uid: 'uid-denied', namespace: 'team-a', name: 'alice', operation: 'UPDATE', code: 403, reason: /^spec\.backendRuntime cannot be changed/ })
})
