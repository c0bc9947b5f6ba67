// Upstream AgentTeams as it is today meets this controller (docs/credentials.md, docs/runtime-objects.md), on a real API
// server with the real webhooks, kubectl and MinIO: the provisioner's credential Secret reaches a
// Pod by reference and a sandbox through its env file, a changed Secret refreshes the runtime, a
// required one that is missing holds the Worker back until it appears, a bad one gets a clear
// condition and nothing half-written; HEAD's qwenpaw runtime is admitted with a warning; Workers
// that run elsewhere (containerManaged: false, deployMode Edge) get no runtime. No credential value
// reaches a log line, an Event, a status or a Pod spec.

import t from 'tap'
import { installCrds } from '../../localcluster/crds.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { startWebhookSuite } from '../harness/webhook-suite.ts'
import { createWorker, patchWorkerStatus } from '../../localcluster/workers.ts'
import { workerPath, type Worker } from '../../api/worker.ts'
import { workerYaml } from '../harness/workers.ts'
import { depsKeys } from '../../reconciler/deps/store.ts'
import { condition, eventually, getJson, podPath, secretPath } from './reconciler-kit.ts'
import { getClaim, LogCapture, SANDBOX_CRD_FILES, startS3Store, startSandboxController, WORKER_IMAGE } from './sandbox-kit.ts'
import { createUpstreamCredentials } from './upstream-objects.ts'

const { cp } = await startWebhookSuite(t)
await installCrds(cp.api, SANDBOX_CRD_FILES)
const { s3, store } = await startS3Store(t)
const logs = new LogCapture()
/** Every credential value this file puts in a Secret: none may show anywhere but where it belongs. */
const secrets: string[] = [s3.secretAccessKey]

const worker = (ns: string, name: string) => getJson(cp.api, workerPath(ns, name)) as Promise<Worker | undefined>
const waitFor = (ns: string, name: string, what: string, test: (w: Worker) => boolean) =>
  eventually(`Worker ${ns}/${name}: ${what}`, async () => {
    const w = await worker(ns, name)
    return w && test(w) ? w : undefined
  }, 90_000)
const readyReason = (ns: string, name: string, reason: string) => waitFor(ns, name, `Ready reason ${reason}`, (w) => condition(w, 'Ready')?.reason === reason)
const credentialsOf = async (ns: string, worker: string): Promise<string[]> => {
  await createUpstreamCredentials(cp.api, ns, worker)
  const values = [`syt_${worker}_matrix`, `gk-${worker}-gateway`, `minio-${worker}-pw`, `pw-${worker}`]
  secrets.push(...values)
  return values
}
async function putSecretData(ns: string, name: string, data: Record<string, string | Buffer>): Promise<void> {
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]))
  const body = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'Opaque', data: encoded }
  const existing = await getJson(cp.api, secretPath(ns, name))
  const r = existing ? await cp.api.request('PUT', secretPath(ns, name), { ...body, metadata: { ...body.metadata, resourceVersion: existing.metadata.resourceVersion } }) : await cp.api.request('POST', `/api/v1/namespaces/${ns}/secrets`, body)
  if (r.status >= 300) throw new Error(`write Secret ${ns}/${name}: HTTP ${r.status} ${r.text}`)
}

t.test('the provisioner\'s credentials reach the Pod by reference, never as values; a changed Secret replaces the Pod', async (t) => {
  const ns = await createNamespace(cp.api, 'creds-pod')
  const values = await credentialsOf(ns, 'gwen')
  const c = await startSandboxController(cp, ns, { store, logs })
  t.teardown(() => c.close())
  await createWorker(cp.api, ns, 'gwen', { runtime: 'openclaw', env: { AGENTTEAMS_WORKER_GATEWAY_KEY: 'forged' } })
  await patchWorkerStatus(cp.api, ns, 'gwen', { roomID: '!gwen-room:matrix.local' })
  const pod = await eventually('the Pod', () => getJson(cp.api, podPath(ns, 'agentteams-worker-gwen')))
  const env = pod.spec.containers[0].env
  t.same(env, [
    { name: 'AGENTTEAMS_FS_SECRET_KEY', valueFrom: { secretKeyRef: { name: 'agentteams-creds-gwen', key: 'WORKER_MINIO_PASSWORD' } } },
    { name: 'AGENTTEAMS_WORKER_GATEWAY_KEY', valueFrom: { secretKeyRef: { name: 'agentteams-creds-gwen', key: 'WORKER_GATEWAY_KEY' } } },
    { name: 'AGENTTEAMS_WORKER_MATRIX_TOKEN', valueFrom: { secretKeyRef: { name: 'agentteams-creds-gwen', key: 'WORKER_MATRIX_TOKEN' } } },
  ], 'each credential by reference to the provisioner\'s Secret')
  t.notOk(values.some((v) => JSON.stringify(pod).includes(v)), 'no credential value in the Pod')
  const own = await getJson(cp.api, secretPath(ns, 'agentteams-worker-gwen'))
  const ownEnv = Object.fromEntries(Object.entries(own.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))
  t.equal(ownEnv['AGENTTEAMS_FS_ACCESS_KEY'], 'gwen', 'the storage access key is the worker name')
  t.notOk('AGENTTEAMS_WORKER_GATEWAY_KEY' in ownEnv, 'spec.env cannot set a credential key')
  t.notOk(values.some((v) => Object.values(ownEnv).includes(v)), 'nor is any credential copied into the env Secret')
  await eventually('the room id from status.roomID', async () => {
    const s = await getJson(cp.api, secretPath(ns, 'agentteams-worker-gwen'))
    return Buffer.from(s?.data?.AGENTTEAMS_WORKER_ROOM_ID ?? '', 'base64').toString() === '!gwen-room:matrix.local' ? true : undefined
  })
  const current = (await getJson(cp.api, podPath(ns, 'agentteams-worker-gwen'))).metadata.uid

  await putSecretData(ns, 'agentteams-creds-gwen', { WORKER_MATRIX_TOKEN: 'syt_gwen_rotated', WORKER_GATEWAY_KEY: 'gk-gwen-gateway', WORKER_MINIO_PASSWORD: 'minio-gwen-pw' })
  secrets.push('syt_gwen_rotated')
  // The Secret is not watched (no list rights on Secrets): a Worker change, or the next pass, sees it.
  t.equal((await cp.kubectl(['label', 'worker', 'gwen', '-n', ns, 'nudge=1'])).code, 0)
  await eventually('the Pod replaced after the rotation', async () => {
    const p = await getJson(cp.api, podPath(ns, 'agentteams-worker-gwen'))
    return p && p.metadata.uid !== current ? true : undefined
  })
})

t.test('a sandbox gets the credentials in its env file', async (t) => {
  const ns = await createNamespace(cp.api, 'creds-sbx')
  await credentialsOf(ns, 'hugo')
  const c = await startSandboxController(cp, ns, { store, logs })
  t.teardown(() => c.close())
  await createWorker(cp.api, ns, 'hugo', { runtime: 'openclaw', backendRuntime: 'sandbox' })
  await eventually('the SandboxClaim', () => getClaim(cp.api, ns, 'hugo'))
  const file = Buffer.from((await store.get(depsKeys('hugo').env)) ?? []).toString()
  for (const line of ["export AGENTTEAMS_WORKER_MATRIX_TOKEN='syt_hugo_matrix'", "export AGENTTEAMS_WORKER_GATEWAY_KEY='gk-hugo-gateway'", "export AGENTTEAMS_FS_SECRET_KEY='minio-hugo-pw'", "export AGENTTEAMS_FS_ACCESS_KEY='hugo'"]) {
    t.ok(file.includes(`${line}\n`), `the env file has ${line.slice(0, line.indexOf('='))}`)
  }
})

t.test('credentials required: a Worker without its Secret waits, then starts when it appears', async (t) => {
  const ns = await createNamespace(cp.api, 'creds-required')
  const c = await startSandboxController(cp, ns, { store, logs, env: { AGENTTEAMS_CREDENTIALS_REQUIRED: 'true' } })
  t.teardown(() => c.close())
  await createWorker(cp.api, ns, 'ines', { runtime: 'openclaw' })
  const waiting = await readyReason(ns, 'ines', 'CredentialsMissing')
  t.match(condition(waiting, 'Ready')?.message, `waiting for the credential Secret ${ns}/agentteams-creds-ines`)
  t.equal(waiting.status?.phase, 'Pending')
  t.equal(await getJson(cp.api, podPath(ns, 'agentteams-worker-ines')), undefined, 'no runtime')
  await credentialsOf(ns, 'ines')
  await eventually('the Pod, with no change to the Worker', () => getJson(cp.api, podPath(ns, 'agentteams-worker-ines')))
})

t.test('a bad credential Secret: a clear condition, no runtime, nothing half-written, the controller goes on', async (t) => {
  const ns = await createNamespace(cp.api, 'creds-bad')
  const c = await startSandboxController(cp, ns, { store, logs })
  t.teardown(() => c.close())
  await putSecretData(ns, 'agentteams-creds-jo', { WORKER_MATRIX_TOKEN: 'syt_jo_matrix', WORKER_MINIO_PASSWORD: 'minio-jo-pw' })
  await putSecretData(ns, 'agentteams-creds-kai', { WORKER_MATRIX_TOKEN: Buffer.from([0xc3, 0x28, 0xa0]), WORKER_GATEWAY_KEY: 'gk-kai', WORKER_MINIO_PASSWORD: 'minio-kai-pw' })
  await putSecretData(ns, 'agentteams-creds-lea', { WORKER_MATRIX_TOKEN: 'syt_lea', WORKER_GATEWAY_KEY: 'g'.repeat(200_000), WORKER_MINIO_PASSWORD: 'minio-lea-pw' })
  secrets.push('syt_jo_matrix', 'minio-jo-pw', 'minio-kai-pw', 'syt_lea', 'minio-lea-pw')
  await createWorker(cp.api, ns, 'jo', { runtime: 'openclaw', backendRuntime: 'sandbox' })
  await createWorker(cp.api, ns, 'kai', { runtime: 'openclaw' })
  await createWorker(cp.api, ns, 'lea', { runtime: 'openclaw' })
  const jo = await readyReason(ns, 'jo', 'CredentialsIncomplete')
  t.match(condition(jo, 'Ready')?.message, `the credential Secret ${ns}/agentteams-creds-jo cannot be used: it has no WORKER_GATEWAY_KEY`)
  t.match(condition(await readyReason(ns, 'kai', 'CredentialsUnreadable'), 'Ready')?.message, 'WORKER_MATRIX_TOKEN is not UTF-8 text')
  t.match(condition(await readyReason(ns, 'lea', 'CredentialsUnreadable'), 'Ready')?.message, 'WORKER_GATEWAY_KEY has 200000 bytes')
  t.equal(await getClaim(cp.api, ns, 'jo'), undefined, 'no claim')
  const keys = depsKeys('jo')
  t.same(await Promise.all([keys.env, keys.token, keys.owner].map((k) => store.get(k))), [undefined, undefined, undefined], 'nothing written to the deps store')
  for (const name of ['kai', 'lea']) t.equal(await getJson(cp.api, podPath(ns, `agentteams-worker-${name}`)), undefined, `no Pod for ${name}`)
  await createWorker(cp.api, ns, 'max', { runtime: 'openclaw' })
  await eventually('a Worker with no Secret at all still runs (credentials are not required)', () => getJson(cp.api, podPath(ns, 'agentteams-worker-max')))
})

t.test("HEAD's Workers: qwenpaw is admitted with a warning; containerManaged false and deployMode Edge get no runtime", async (t) => {
  const ns = await createNamespace(cp.api, 'head-workers')
  const c = await startSandboxController(cp, ns, { store, logs })
  t.teardown(() => c.close())
  const applied = await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, 'nora', { runtime: 'qwenpaw' }) })
  t.equal(applied.code, 0, applied.stderr)
  // The test webhook server runs with the default configuration, the test controller with WORKER_IMAGE.
  t.match(applied.stderr, 'Warning: spec.runtime qwenpaw has no image configured here: the Worker runs hiclaw/worker-agent:latest')
  const pod = await eventually("nora's Pod", () => getJson(cp.api, podPath(ns, 'agentteams-worker-nora')))
  t.equal(pod.spec.containers[0].image, WORKER_IMAGE, "the controller's default worker image")

  await createWorker(cp.api, ns, 'olaf', { runtime: 'openclaw', containerManaged: false })
  await createWorker(cp.api, ns, 'pia', { runtime: 'openclaw', deployMode: 'Edge' })
  const olaf = await readyReason(ns, 'olaf', 'RunsElsewhere')
  t.match(olaf.status?.message, 'spec.containerManaged is false')
  t.equal(condition(olaf, 'Ready')?.status, 'Unknown')
  t.match((await readyReason(ns, 'pia', 'RunsElsewhere')).status?.message, 'spec.deployMode is Edge: the Worker runs outside this cluster')
  for (const name of ['olaf', 'pia']) t.equal(await getJson(cp.api, podPath(ns, `agentteams-worker-${name}`)), undefined, `no Pod for ${name}`)
})

t.test('no credential value reached a log line, an Event or a Worker status', async (t) => {
  t.same(logs.leaks(secrets), [])
  const events = JSON.stringify(await getJson(cp.api, '/api/v1/events'))
  const workers = JSON.stringify(await getJson(cp.api, '/apis/agentteams.io/v1beta1/workers'))
  t.same(secrets.filter((s) => events.includes(s)), [], 'no Event')
  t.same(secrets.filter((s) => workers.includes(s)), [], 'no Worker')
})
