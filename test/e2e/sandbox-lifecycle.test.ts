// The sandbox backend end to end on a real API server and a real MinIO: pool, deps written and
// verified before the claim (the claim create itself is checked against the bucket), status from
// claim and Sandbox, timed-out claims with backoff, hibernate/resume, delete-on-sleep, delete,
// token refresh — and no secret in any log line. The tests play the OpenKruise controller.

import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { createNamespace } from '../harness/namespaces.ts'
import { createWorker } from '../../localcluster/workers.ts'
import { workerPath, type Worker } from '../../api/worker.ts'
import { depsKeys } from '../../reconciler/deps/store.ts'
import type { SandboxClaim } from '../../reconciler/sandbox/objects.ts'
import { condition, eventually, getJson, patchWorkerSpec, saPath, findWorker, waitForPhase } from './reconciler-kit.ts'
import {
  startSandboxSuite, bindSandbox, claimPath, getClaim, claimedSandboxes, markPaused, markResumed, sandboxPath, type SandboxControllerOptions, startSandboxController, timeOutClaim,
} from './sandbox-kit.ts'

const run = promisify(execFile)
const { cp, s3, store, logs, secrets } = await startSandboxSuite(t)
const API_KEY = `sk-${Math.random().toString(36).slice(2)}-never-log-me`
secrets.push(API_KEY)

async function controller(t: Test, ns: string, options: Partial<SandboxControllerOptions> = {}) {
  const c = await startSandboxController(cp, ns, { store, logs, ...options })
  t.teardown(() => c.close())
  return c
}

const worker = (ns: string, name: string) => findWorker(cp.api, ns, name)
const phase = (ns: string, name: string, wanted: string) => waitForPhase(cp.api, ns, name, wanted)
const claimOf = (ns: string, name: string, notUid?: string) =>
  eventually(`a SandboxClaim for ${name}${notUid ? ' (a new one)' : ''}`, async () => {
    const c = await getClaim(cp.api, ns, name)
    return c && c.metadata.uid !== notUid ? c : undefined
  })
const tokenOf = async (name: string) => (await s3.getObject(depsKeys(name).token))?.toString('utf8')

/** The API server's verdict on a token, as a service that checks it would ask. */
async function review(token: string): Promise<{ authenticated?: boolean; user?: { username?: string } }> {
  const r = await cp.api.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: ['agentteams-controller'] },
  })
  return r.body?.status ?? {}
}

function jwtClaims(token: string): { iat: number; exp: number; aud: string[] } {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'))
}

t.test('a sandbox Worker: pool, env and token verified in the bucket before its claim, then Running', async (t) => {
  const ns = await createNamespace(cp.api, 'sbx-create')
  const atClaimCreate: Array<{ env?: string; token?: string }> = []
  await controller(t, ns, {
    beforeClaimCreate: async (claim) => {
      const name = claim.metadata.labels?.['agentteams.io/worker'] ?? ''
      atClaimCreate.push({ env: (await s3.getObject(depsKeys(name).env))?.toString(), token: await tokenOf(name) })
    },
  })
  const env = {
    GREETING: `it's a "quoted" value with  spaces`,
    MULTI: 'line one\nline two\n',
    TRICKY: '$HOME `id` \\ $(echo no) done',
    AGENTTEAMS_WORKER_NAME: 'mallory',
    API_KEY,
  }
  const created = await createWorker(cp.api, ns, 'alice', { backendRuntime: 'sandbox', runtime: 'openclaw', image: 'example.com/alice:2', env, labels: { team: 'blue' } })
  const claim = await claimOf(ns, 'alice')

  const pool = await getJson(cp.api, `/apis/agents.kruise.io/v1alpha1/namespaces/${ns}/sandboxsets/agentteams-builtin`)
  t.ok(pool, 'the warm pool SandboxSet exists in the Worker namespace')
  t.equal(pool.spec.replicas, 1)

  const keys = depsKeys('alice')
  t.same(await s3.listKeys('workers-deps/alice/'), [keys.env, keys.owner, keys.token], 'exactly the env and token objects, and the owner record')
  t.same(JSON.parse((await s3.getObject(keys.owner))?.toString() ?? ''), { apiVersion: 'agentteams.io/v1beta1', kind: 'Worker', namespace: ns, name: 'alice', uid: created.metadata?.uid }, 'which names the Worker, and nothing secret')
  const envFile = (await s3.getObject(keys.env)) as Buffer
  const dir = await mkdtemp(join(tmpdir(), 'sbx-env-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'env'), envFile)
  const script = '. "$1"; printf "%s\\0" "$GREETING" "$MULTI" "$TRICKY" "$AGENTTEAMS_WORKER_NAME" "$API_KEY" "$AGENTTEAMS_AUTH_TOKEN_FILE" "$AGENTTEAMS_WORKER_CR_NAME"'
  const sourced = (await run('/bin/sh', ['-c', script, 'sh', join(dir, 'env')])).stdout.split('\0')
  t.same(sourced.slice(0, 7), [env.GREETING, env.MULTI, env.TRICKY, 'alice', API_KEY, '/var/run/secrets/agentteams/token', 'alice'], 'a real sh sources every value byte for byte; system keys win')

  const token = (await tokenOf('alice')) as string
  secrets.push(token)
  const verdict = await review(token)
  t.equal(verdict.authenticated, true, 'the token authenticates')
  t.equal(verdict.user?.username, `system:serviceaccount:${ns}:agentteams-worker-alice`, "as the Worker's own ServiceAccount")
  const jwt = jwtClaims(token)
  t.same(jwt.aud, ['agentteams-controller'])
  t.equal(jwt.exp - jwt.iat, 3600, 'a bounded lifetime of one hour, never ten years')

  t.equal(atClaimCreate.length, 1, 'one claim create')
  t.equal(atClaimCreate[0]?.env, envFile.toString(), 'when the claim was sent, the env object was already in the bucket')
  t.equal(atClaimCreate[0]?.token, token, 'and so was the token')

  const mounts = claim.spec.dynamicVolumesMount ?? []
  t.same(mounts.map((m) => `${m.subPath}/${m.mountPath === '/mnt/agentteams/env' ? 'env' : 'token'}`), [keys.env, keys.token], 'mount subPaths match the storage keys')
  t.ok(mounts.every((m) => m.pvName === 'agentteams' && m.readOnly === true), 'read-only, on the agentteams PV')
  t.equal(claim.spec.inplaceUpdate?.image, 'example.com/alice:2')
  t.equal(claim.metadata.ownerReferences?.[0]?.['uid'], created.metadata?.uid, 'owned by the Worker')
  t.equal(claim.spec.labels?.['team'], 'blue')

  const starting = await worker(ns, 'alice')
  t.equal(condition(starting, 'DepsMaterialized')?.status, 'True')
  t.equal(starting?.status?.backendRuntime, 'sandbox')

  await bindSandbox(cp.api, claim)
  const running = await phase(ns, 'alice', 'Running')
  t.equal(condition(running, 'Ready')?.status, 'True')
})

t.test('the warm pool is written only when it drifted', async (t) => {
  const ns = await createNamespace(cp.api, 'sbx-pool')
  await controller(t, ns)
  const poolPath = `/apis/agents.kruise.io/v1alpha1/namespaces/${ns}/sandboxsets/agentteams-builtin`
  await createWorker(cp.api, ns, 'hana', { backendRuntime: 'sandbox' })
  await claimOf(ns, 'hana')
  const first = await getJson(cp.api, poolPath)
  await createWorker(cp.api, ns, 'ivan', { backendRuntime: 'sandbox' })
  await claimOf(ns, 'ivan')
  t.equal((await getJson(cp.api, poolPath)).metadata.resourceVersion, first.metadata.resourceVersion, 'another claim leaves an unchanged pool alone')
  const scaled = await cp.kubectl(['scale', 'sandboxset', 'agentteams-builtin', '-n', ns, '--replicas=5'])
  t.equal(scaled.code, 0, scaled.stderr)
  await createWorker(cp.api, ns, 'jack', { backendRuntime: 'sandbox' })
  await claimOf(ns, 'jack')
  const healed = await eventually('the pool size back to the configured 1', async () => {
    const pool = await getJson(cp.api, poolPath)
    return pool?.spec?.replicas === 1 ? pool : undefined
  })
  t.ok(healed, 'drift is corrected on the next claim')
  for (const name of ['hana', 'ivan', 'jack']) secrets.push((await tokenOf(name)) ?? '')
})

t.test('a Sandbox that is Running but not Ready with a message → Failed with that message', async (t) => {
  const ns = await createNamespace(cp.api, 'sbx-notready')
  await controller(t, ns)
  await createWorker(cp.api, ns, 'bob', { backendRuntime: 'sandbox' })
  const claim = await claimOf(ns, 'bob')
  await bindSandbox(cp.api, claim, { ready: false, message: 'Back-off pulling image "example.com/worker:1"' })
  const failed = await phase(ns, 'bob', 'Failed')
  t.match(failed.status?.message, 'is not ready: Back-off pulling image "example.com/worker:1"')
  t.equal(condition(failed, 'Ready')?.status, 'False')
  t.equal(condition(failed, 'Ready')?.reason, 'SandboxNotReady')
})

t.test('a timed-out claim → Failed with the provider message; re-claims back off exponentially', async (t) => {
  const ns = await createNamespace(cp.api, 'sbx-timeout')
  const backoff = { baseMs: 2000, maxMs: 60_000, factor: 2, jitter: 0 }
  let creates = 0
  await controller(t, ns, { reclaimBackoff: backoff, beforeClaimCreate: async () => void creates++ })
  await createWorker(cp.api, ns, 'carol', { backendRuntime: 'sandbox' })
  let claim: SandboxClaim = await claimOf(ns, 'carol')
  for (let attempt = 1; attempt <= 3; attempt++) {
    t.equal(claim.metadata.annotations?.['agentteams.io/claim-attempt'], String(attempt), `claim attempt ${attempt}`)
    const timedOutAt = Date.now()
    await timeOutClaim(cp.api, claim)
    if (attempt === 1) {
      const failed = await phase(ns, 'carol', 'Failed')
      t.match(failed.status?.message, 'timed out: Timeout reached after 5m0.5s, claimed 0/1 sandboxes', "the provider's message")
      t.match(failed.status?.message, 'next claim not before')
      t.equal(condition(failed, 'Ready')?.reason, 'ClaimTimedOut', 'the Ready reason names the timeout')
    }
    const next = await claimOf(ns, 'carol', claim.metadata.uid)
    const waited = Date.now() - timedOutAt
    const delay = backoff.baseMs * 2 ** (attempt - 1)
    // Timestamps have 1 s resolution: allow 1 s under the delay, never a hot loop.
    t.ok(waited >= delay - 1000, `re-claim ${attempt + 1} waited ${waited} ms (backoff ${delay} ms)`)
    claim = next
  }
  t.equal(creates, 4, 'four claims in all: one per attempt, no hot loop')
})

t.test('with the hibernate capability: Sleeping pauses the Sandbox, Running resumes it with a fresh token', async (t) => {
  const ns = await createNamespace(cp.api, 'sbx-hibernate')
  let creates = 0
  await controller(t, ns, { hibernate: true, beforeClaimCreate: async () => void creates++ })
  await createWorker(cp.api, ns, 'dora', { backendRuntime: 'sandbox' })
  const sandbox = await bindSandbox(cp.api, await claimOf(ns, 'dora'))
  await phase(ns, 'dora', 'Running')
  const before = (await tokenOf('dora')) as string
  secrets.push(before)

  await patchWorkerSpec(cp.api, ns, 'dora', { state: 'Sleeping' })
  const paused = await eventually('spec.paused true', async () => {
    const s = await getJson(cp.api, sandboxPath(ns, sandbox.metadata.name))
    return s?.spec?.paused === true ? s : undefined
  })
  t.ok(paused.metadata.annotations['agentteams.io/last-paused-time'], 'the pause time is stamped')
  await markPaused(cp.api, ns, sandbox.metadata.name)
  await phase(ns, 'dora', 'Sleeping')

  await patchWorkerSpec(cp.api, ns, 'dora', { state: 'Running' })
  await eventually('spec.paused false', async () => ((await getJson(cp.api, sandboxPath(ns, sandbox.metadata.name)))?.spec?.paused === false ? true : undefined))
  const after = (await tokenOf('dora')) as string
  secrets.push(after)
  t.not(after, before, 'deps were rewritten with a fresh token before the resume')
  t.equal((await review(after)).authenticated, true)
  await markResumed(cp.api, ns, sandbox.metadata.name)
  await phase(ns, 'dora', 'Running')
  t.equal(creates, 1, 'the same claim and Sandbox throughout: no re-claim')
  t.equal((await claimedSandboxes(cp.api, ns)).length, 1)
})

t.test('without the hibernate capability: Sleeping deletes claim and Sandbox; Running claims anew', async (t) => {
  const ns = await createNamespace(cp.api, 'sbx-sleep-delete')
  await controller(t, ns, { hibernate: false })
  await createWorker(cp.api, ns, 'erin', { backendRuntime: 'sandbox' })
  const first = await claimOf(ns, 'erin')
  await bindSandbox(cp.api, first)
  await phase(ns, 'erin', 'Running')
  await patchWorkerSpec(cp.api, ns, 'erin', { state: 'Sleeping' })
  await phase(ns, 'erin', 'Sleeping')
  t.equal(await getClaim(cp.api, ns, 'erin'), undefined, 'the claim is gone')
  t.same(await claimedSandboxes(cp.api, ns), [], 'the Sandbox is gone')
  await patchWorkerSpec(cp.api, ns, 'erin', { state: 'Running' })
  const second = await claimOf(ns, 'erin', first.metadata.uid)
  secrets.push((await tokenOf('erin')) as string)
  await bindSandbox(cp.api, second)
  await phase(ns, 'erin', 'Running')
})

t.test('delete: claim, Sandboxes, deps objects and ServiceAccount are removed, then the Worker', async (t) => {
  const ns = await createNamespace(cp.api, 'sbx-delete')
  await controller(t, ns)
  await createWorker(cp.api, ns, 'fred', { backendRuntime: 'sandbox' })
  await bindSandbox(cp.api, await claimOf(ns, 'fred'))
  await phase(ns, 'fred', 'Running')
  secrets.push((await tokenOf('fred')) as string)
  t.ok(await getJson(cp.api, saPath(ns, 'agentteams-worker-fred')), 'the ServiceAccount exists while it runs')
  const r = await cp.api.request('DELETE', workerPath(ns, 'fred'))
  t.equal(r.status, 200)
  await eventually('the Worker to be gone', async () => ((await worker(ns, 'fred')) === undefined ? true : undefined))
  t.equal(await getClaim(cp.api, ns, 'fred'), undefined, 'no claim')
  t.same(await claimedSandboxes(cp.api, ns), [], 'no Sandbox')
  t.same(await s3.listKeys('workers-deps/fred/'), [], 'no deps objects')
  t.equal(await getJson(cp.api, saPath(ns, 'agentteams-worker-fred')), undefined, 'no ServiceAccount')
  t.ok(await getJson(cp.api, claimPath(ns)), 'the claim collection still answers (nothing else broke)')
})

t.test('token refresh: with a short lifetime the token object is rewritten before it expires', async (t) => {
  const ns = await createNamespace(cp.api, 'sbx-refresh')
  await controller(t, ns, { tokenExpirationSeconds: 10 })
  await createWorker(cp.api, ns, 'gina', { backendRuntime: 'sandbox' })
  await bindSandbox(cp.api, await claimOf(ns, 'gina'))
  await phase(ns, 'gina', 'Running')
  const first = (await tokenOf('gina')) as string
  secrets.push(first)
  const second = await eventually('the token object to be rewritten', async () => {
    const now = await tokenOf('gina')
    return now && now !== first ? now : undefined
  })
  secrets.push(second)
  t.equal((await review(second)).authenticated, true, 'the new token is valid')
  t.equal((await worker(ns, 'gina'))?.status?.phase, 'Running', 'the Worker keeps running through the refresh')
})

t.test('no secret value appears in any log line of this file', async (t) => {
  t.ok(logs.lines.length > 50, `the controllers logged (${logs.lines.length} lines at debug level)`)
  t.ok(secrets.length >= 8, `${secrets.length} secret values checked`)
  t.same(logs.leaks(secrets), [], 'no log line holds a token, an env value or the S3 secret key')
})
