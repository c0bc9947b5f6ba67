// The mutating webhook over a real TLS socket: the defaults of docs/admission.md as a base64 JSON
// Patch that applies cleanly, no patch on a second pass, status never touched, the warnings of docs/admission.md,
// dryRun handled the same, and other kinds/operations untouched.

import jsonpatch from 'fast-json-patch'
import t from 'tap'
import type { Worker } from '../../api/worker.ts'
import { WARNING_RESOURCES_IGNORED, WARNING_SANDBOX_DISABLED } from '../../server/mutate-worker.ts'
import { createReview, legacyPodWorker, review, updateReview, withSpec, withStatus } from '../fixtures/admission-review.ts'
import { decodePatch, post, startTestWebhook } from '../fixtures/webhook-harness.ts'

function apply(worker: Worker, patch: string | undefined): Worker {
  return jsonpatch.applyPatch(structuredClone(worker), decodePatch(patch) as jsonpatch.Operation[], true, false).newDocument
}

t.test('mutate-workers', async (t) => {
  const { server, certs } = await startTestWebhook(t)
  const send = (body: unknown) => post(server.url, '/mutate-workers', body, { ca: certs.ca.cert })
  const fresh = withStatus(withSpec(legacyPodWorker(), { resources: undefined }), undefined)

  t.test('defaults spec.backendRuntime and spec.state with a JSON Patch, and nothing else', async (t) => {
    const res = await send(createReview(fresh, { uid: 'uid-create' }))
    const response = res.answer().response
    t.equal(response.uid, 'uid-create')
    t.equal(response.allowed, true)
    t.equal(response.patchType, 'JSONPatch')
    const defaulted = apply(fresh, response.patch)
    t.equal(defaulted.spec?.backendRuntime, 'pod')
    t.equal(defaulted.spec?.state, 'Running')
    t.same(withSpec(defaulted, { backendRuntime: undefined, state: undefined }), fresh, 'only the two defaults changed')
    t.notOk(response.warnings, 'no warnings for a pod Worker')

    t.test('a second pass over the defaulted Worker yields no patch', async (t) => {
      const again = (await send(createReview(defaulted, { uid: 'uid-again' }))).answer().response
      t.same(again, { uid: 'uid-again', allowed: true })
    })
  })

  t.test('keeps values the user set, and never patches status (also on UPDATE of a legacy Worker)', async (t) => {
    const stored = legacyPodWorker()
    const next = withSpec(stored, { image: 'ghcr.io/agentteams/openclaw:1.9.0' })
    const response = (await send(updateReview(stored, next))).answer().response
    const ops = decodePatch(response.patch)
    t.same(ops.map((o) => o.path).sort(), ['/spec/backendRuntime', '/spec/state'])
    t.ok(ops.every((o) => !o.path.startsWith('/status')))
    const sleeping = withSpec(fresh, { backendRuntime: 'sandbox', state: 'Sleeping' })
    t.same((await send(createReview(sleeping, { uid: 'u-set' }))).answer().response, { uid: 'u-set', allowed: true })
  })

  t.test('dryRun gets the same patch', async (t) => {
    const wet = (await send(createReview(fresh))).answer().response
    const dry = (await send(createReview(fresh, { dryRun: true }))).answer().response
    t.equal(dry.patch, wet.patch)
    t.equal(dry.patchType, 'JSONPatch')
  })

  t.test('warns when spec.resources is set on a sandbox Worker', async (t) => {
    const sandbox = withSpec(legacyPodWorker(), { backendRuntime: 'sandbox' })
    const response = (await send(createReview(withStatus(sandbox, undefined)))).answer().response
    t.same(response.warnings, [WARNING_RESOURCES_IGNORED])
    for (const warning of response.warnings ?? []) t.ok(warning.length <= 120, 'warning fits kubectl’s 120 characters')
  })

  t.test('does not patch other kinds, subresources or operations', async (t) => {
    const cases = [
      createReview(fresh, { kind: { group: '', version: 'v1', kind: 'Pod' } }),
      updateReview(fresh, fresh, { subResource: 'status' }),
      review({ operation: 'DELETE', oldObject: fresh }),
    ]
    for (const body of cases) t.same((await send(body)).answer().response, { uid: body.request.uid, allowed: true })
  })

  t.test('leaves a spec that is not an object to the API server schema', async (t) => {
    const odd = { ...fresh, spec: 'not-an-object' } as unknown as Worker
    t.same((await send(createReview(odd, { uid: 'u-odd' }))).answer().response, { uid: 'u-odd', allowed: true })
  })
})

t.test('warns when sandbox is requested while the sandbox backend is disabled', async (t) => {
  const { server, certs } = await startTestWebhook(t, { sandboxEnabled: false })
  const worker = withStatus(withSpec(legacyPodWorker(), { backendRuntime: 'sandbox', resources: undefined }), undefined)
  const response = (await post(server.url, '/mutate-workers', createReview(worker), { ca: certs.ca.cert })).answer().response
  t.same(response.warnings, [WARNING_SANDBOX_DISABLED])
  t.equal(response.allowed, true, 'a warning, not a denial')
})

t.test('defaults to the configured backend', async (t) => {
  const { server, certs } = await startTestWebhook(t, { defaultBackendRuntime: 'sandbox' })
  const worker = withStatus(withSpec(legacyPodWorker(), { resources: undefined }), undefined)
  const response = (await post(server.url, '/mutate-workers', createReview(worker), { ca: certs.ca.cert })).answer().response
  t.equal(apply(worker, response.patch).spec?.backendRuntime, 'sandbox')
})

t.test('a spec nested thousands of levels deep still gets its patch, not an error', async (t) => {
  const { server, certs } = await startTestWebhook(t)
  // kube-apiserver forwards JSON nested up to 10,000 levels; a recursive diff overflowed at ~2,000.
  // Built as text: JSON.stringify itself would overflow on such an object.
  const depth = 5_000
  const worker = withStatus(withSpec(legacyPodWorker(), { resources: undefined, backendRuntime: undefined, state: undefined }), undefined)
  worker.spec = { ...worker.spec, extra: 'DEEP' }
  const body = JSON.stringify(createReview(worker, { uid: 'uid-deep' })).replace('"DEEP"', '{"d":'.repeat(depth) + '1' + '}'.repeat(depth))
  const res = await post(server.url, '/mutate-workers', body, { ca: certs.ca.cert })
  const response = res.answer().response
  t.equal(response.uid, 'uid-deep')
  t.equal(response.allowed, true, JSON.stringify(response.status))
  t.same(decodePatch(response.patch), [
    { op: 'add', path: '/spec/backendRuntime', value: 'pod' },
    { op: 'add', path: '/spec/state', value: 'Running' },
  ])
})

t.test('a Worker without a spec gets one with the defaults', async (t) => {
  const { server, certs } = await startTestWebhook(t)
  const worker = withStatus(legacyPodWorker(), undefined)
  delete worker.spec
  const res = await post(server.url, '/mutate-workers', createReview(worker, { uid: 'uid-nospec' }), { ca: certs.ca.cert })
  t.same(apply(worker, res.answer().response.patch).spec, { backendRuntime: 'pod', state: 'Running' })
})
