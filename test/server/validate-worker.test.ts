// The validating webhook over a real TLS socket: the legacy pod → sandbox denial with the exact
// message of docs/backend-runtime.md, enum and name-length denials (the sandbox backend's shorter one on CREATE
// and on a switch), ratcheting on UPDATE, dryRun, and requests for
// other kinds, subresources and operations allowed untouched.

import t from 'tap'
import { legacyPodWorker, review, updateReview, createReview, withSpec, withStatus } from '../fixtures/admission-review.ts'
import { post, startTestWebhook } from '../fixtures/webhook-harness.ts'

const LEGACY_DENIAL =
  'spec.backendRuntime cannot be changed until the Worker is Stopped; current=pod, desired=sandbox (status.phase=Running; ' +
  'status.backendRuntime is unset, so the Worker counts as a legacy pod). Set spec.state=Stopped, wait until status.phase is Stopped, then change spec.backendRuntime.'

t.test('validate-workers', async (t) => {
  const { server, certs } = await startTestWebhook(t)
  const send = (body: unknown) => post(server.url, '/validate-workers', body, { ca: certs.ca.cert })
  const stored = legacyPodWorker()

  t.test('denies switching a running legacy pod Worker to sandbox, echoing the uid', async (t) => {
    const res = await send(updateReview(stored, withSpec(stored, { backendRuntime: 'sandbox' }), { uid: 'uid-legacy-1' }))
    t.equal(res.status, 200)
    t.match(res.headers['content-type'], /^application\/json/)
    const answer = res.answer()
    t.equal(answer.apiVersion, 'admission.k8s.io/v1')
    t.equal(answer.kind, 'AdmissionReview')
    t.same(answer.response, { uid: 'uid-legacy-1', allowed: false, status: { code: 403, reason: 'Forbidden', message: LEGACY_DENIAL } })
  })

  t.test('denies the same on a dry run', async (t) => {
    const res = await send(updateReview(stored, withSpec(stored, { backendRuntime: 'sandbox' }), { dryRun: true, uid: 'uid-dry' }))
    t.same(res.answer().response, { uid: 'uid-dry', allowed: false, status: { code: 403, reason: 'Forbidden', message: LEGACY_DENIAL } })
  })

  t.test('allows the switch once the Worker is Stopped, and before its first reconcile', async (t) => {
    const stopped = withStatus(stored, { phase: 'Stopped' })
    const neverRun = withStatus(stored, undefined)
    for (const old of [stopped, neverRun]) {
      const res = await send(updateReview(old, withSpec(old, { backendRuntime: 'sandbox' }), { uid: 'uid-ok' }))
      t.same(res.answer().response, { uid: 'uid-ok', allowed: true })
    }
  })

  t.test('allows unrelated updates to a Worker that already has a mismatch', async (t) => {
    const mismatched = withSpec(stored, { backendRuntime: 'sandbox' })
    const relabelled = structuredClone(mismatched)
    relabelled.metadata = { ...relabelled.metadata, labels: { tier: 'gold' } }
    const res = await send(updateReview(mismatched, relabelled))
    t.equal(res.answer().response.allowed, true)
  })

  t.test('denies unknown enum values on CREATE, every field in one message', async (t) => {
    const bad = withStatus(withSpec(stored, { backendRuntime: 'vm', state: 'Paused' }), undefined)
    const res = await send(createReview(bad, { uid: 'uid-enum' }))
    t.same(res.answer().response, {
      uid: 'uid-enum',
      allowed: false,
      status: {
        code: 403,
        reason: 'Forbidden',
        message: 'spec.backendRuntime: Unsupported value: "vm": supported values: "pod", "sandbox"; spec.state: Unsupported value: "Paused": supported values: "Running", "Sleeping", "Stopped"',
      },
    })
  })

  t.test('denies a CREATE whose name is longer than a label value, naming metadata.name, the limit and why', async (t) => {
    const long = withStatus(stored, undefined)
    long.metadata = { ...long.metadata, name: 'n'.repeat(64) }
    const res = await send(createReview(long, { uid: 'uid-long' }))
    const response = res.answer().response
    t.equal(response.allowed, false)
    t.same(response.status?.code, 403)
    t.match(response.status?.message, /^metadata\.name: Too long: "n{64}" has 64 characters, at most 63 are allowed: the name becomes the value of the agentteams\.io\/worker label/)
    const fits = withStatus(stored, undefined)
    fits.metadata = { ...fits.metadata, name: 'n'.repeat(63) }
    t.equal((await send(createReview(fits))).answer().response.allowed, true, '63 characters are fine')
  })

  t.test('never blocks an UPDATE of a Worker whose long name is already stored (a finalizer removal)', async (t) => {
    const old = structuredClone(stored)
    old.metadata = { ...old.metadata, name: 'n'.repeat(70), finalizers: ['agentteams.io/cleanup'] }
    const released = structuredClone(old)
    released.metadata = { ...released.metadata, finalizers: [] }
    t.equal((await send(updateReview(old, released))).answer().response.allowed, true)
  })

  t.test('denies a sandbox Worker whose SandboxClaim name would pass 63 characters, on CREATE and on a switch to sandbox', async (t) => {
    const named = (name: string, spec: Record<string, unknown>) => {
      const w = withSpec(withStatus(stored, undefined), spec)
      w.metadata = { ...w.metadata, name }
      return w
    }
    // The claim is agentteams-worker-<name>: 18 characters of prefix leave 45 for the name.
    const res = await send(createReview(named('s'.repeat(46), { backendRuntime: 'sandbox' }), { uid: 'uid-sbx' }))
    t.same(res.answer().response.status?.code, 403)
    t.equal(
      res.answer().response.status?.message,
      `metadata.name: Too long for the sandbox backend: "${'s'.repeat(46)}" has 46 characters, at most 45 are allowed: its SandboxClaim would be named "agentteams-worker-${'s'.repeat(46)}" (64 characters, resource prefix "agentteams-"), and the sandbox API takes at most 63. Use a Worker name of at most 45 characters, or spec.backendRuntime: pod`,
    )
    t.equal((await send(createReview(named('s'.repeat(45), { backendRuntime: 'sandbox' })))).answer().response.allowed, true, '45 characters fit')
    t.equal((await send(createReview(named('p'.repeat(63), { backendRuntime: 'pod' })))).answer().response.allowed, true, 'the pod backend keeps the 63-character limit')

    const stopped = withStatus(named('p'.repeat(50), { backendRuntime: 'pod', state: 'Stopped' }), { phase: 'Stopped', backendRuntime: 'pod' })
    const moved = await send(updateReview(stopped, withSpec(stopped, { backendRuntime: 'sandbox' })))
    t.equal(moved.answer().response.allowed, false, 'a stopped pod Worker with a 50-character name cannot move to sandbox')
    t.match(moved.answer().response.status?.message, /^metadata\.name: Too long for the sandbox backend: "p{50}" has 50 characters, at most 45/)
    const already = named('q'.repeat(50), { backendRuntime: 'sandbox' })
    t.equal((await send(updateReview(already, withSpec(already, { state: 'Stopped' })))).answer().response.allowed, true, 'a sandbox Worker stored before this check can still be stopped or deleted')
  })

  t.test('allows a valid CREATE', async (t) => {
    const res = await send(createReview(withStatus(stored, undefined)))
    t.equal(res.answer().response.allowed, true)
  })

  t.test('on UPDATE, denies a new bad enum value but not one the stored Worker already had', async (t) => {
    const oldBad = withSpec(stored, { runtime: 'legacy-runtime' })
    const finalizerRemoved = structuredClone(oldBad)
    finalizerRemoved.metadata = { ...finalizerRemoved.metadata, finalizers: [] }
    t.equal((await send(updateReview(oldBad, finalizerRemoved))).answer().response.allowed, true)
    const res = await send(updateReview(stored, withSpec(stored, { state: 'Asleep' })))
    t.equal(res.answer().response.allowed, false)
    t.match(res.answer().response.status?.message, /^spec\.state: Unsupported value: "Asleep"/)
  })

  t.test('allows other kinds, subresources and operations untouched', async (t) => {
    const switched = withSpec(stored, { backendRuntime: 'sandbox' })
    const cases = {
      'status subresource': updateReview(stored, switched, { subResource: 'status' }),
      'another kind': updateReview(stored, switched, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }),
      DELETE: review({ operation: 'DELETE', oldObject: stored }),
      CONNECT: review({ operation: 'CONNECT', object: { kind: 'PodAttachOptions' } }),
    }
    for (const [name, body] of Object.entries(cases)) {
      const res = await send(body)
      t.same(res.answer().response, { uid: body.request.uid, allowed: true }, name)
    }
  })
})
