// The upstream provisioner's credential Secret (docs/credentials.md), without an API server: where it
// is, what its keys become, what is wrong with a bad one (without ever quoting a value), and when
// it holds a runtime back.

import t from 'tap'
import type { Worker } from '../../../api/worker.ts'
import { checkCredentialData, credentialPlainEnv, credentialSecretRef, credentialsHold, credentialsResync, earlier, MAX_CREDENTIAL_BYTES } from '../../../reconciler/backend/credentials.ts'
import { workerEnv } from '../../../reconciler/backend/env.ts'

const dave: Worker = { metadata: { name: 'dave', namespace: 'team-a' }, status: { roomID: '!room:matrix.local' } }
const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64')
const good = { WORKER_MATRIX_TOKEN: b64('syt_dave'), WORKER_GATEWAY_KEY: b64('gk-dave'), WORKER_MINIO_PASSWORD: b64('minio-pw'), WORKER_PASSWORD: b64('pw') }
const settings = { secretName: 'agentteams-creds-{worker}', namespace: '', required: false }

t.test('the Secret of a Worker: its worker name in the pattern, its own namespace unless configured', async (t) => {
  t.same(credentialSecretRef(settings, dave), { namespace: 'team-a', name: 'agentteams-creds-dave' })
  t.same(credentialSecretRef(settings, { ...dave, spec: { workerName: 'david' } }), { namespace: 'team-a', name: 'agentteams-creds-david' }, 'the runtime identity, as upstream keys it')
  t.same(credentialSecretRef({ ...settings, namespace: 'agentteams' }, dave), { namespace: 'agentteams', name: 'agentteams-creds-dave' })
  t.equal(credentialSecretRef({ ...settings, secretName: '' }, dave), undefined, 'empty pattern: off')
})

t.test('a good Secret: the three mapped keys, decoded; WORKER_PASSWORD is not handed out', async (t) => {
  t.same(checkCredentialData(good), { values: { AGENTTEAMS_WORKER_MATRIX_TOKEN: 'syt_dave', AGENTTEAMS_WORKER_GATEWAY_KEY: 'gk-dave', AGENTTEAMS_FS_SECRET_KEY: 'minio-pw' } })
})

t.test('a bad Secret: a clear reason, never a value', async (t) => {
  const { WORKER_GATEWAY_KEY: _g, ...lacking } = good
  t.same(checkCredentialData(lacking), { reason: 'CredentialsIncomplete', message: 'it has no WORKER_GATEWAY_KEY' })
  t.same(checkCredentialData(undefined), { reason: 'CredentialsIncomplete', message: 'it has no WORKER_MATRIX_TOKEN, WORKER_GATEWAY_KEY, WORKER_MINIO_PASSWORD' })
  t.same(checkCredentialData({ ...good, WORKER_MATRIX_TOKEN: b64(Buffer.from([0xff, 0xfe, 0x41])) }), { reason: 'CredentialsUnreadable', message: 'WORKER_MATRIX_TOKEN is not UTF-8 text' })
  t.same(checkCredentialData({ ...good, WORKER_MINIO_PASSWORD: b64('a\0b') }), { reason: 'CredentialsUnreadable', message: 'WORKER_MINIO_PASSWORD contains a NUL byte' })
  const huge = checkCredentialData({ ...good, WORKER_GATEWAY_KEY: b64('x'.repeat(MAX_CREDENTIAL_BYTES + 1)) })
  t.match(huge, { reason: 'CredentialsUnreadable', message: /^WORKER_GATEWAY_KEY has 65537 bytes, more than the 65536/ })
})

t.test('what holds a runtime back: an unusable Secret always, a missing one only when required', async (t) => {
  const absent = { state: 'absent' as const, namespace: 'team-a', name: 'agentteams-creds-dave' }
  t.equal(credentialsHold(absent, settings), undefined)
  t.match(credentialsHold(absent, { ...settings, required: true }), { state: 'Unknown', reason: 'CredentialsMissing', message: /waiting for the credential Secret team-a\/agentteams-creds-dave/, requeueAfterMs: 15_000 })
  t.match(credentialsHold({ ...absent, state: 'invalid', reason: 'CredentialsIncomplete', message: 'm' }, settings), { reason: 'CredentialsIncomplete' })
  t.equal(credentialsHold({ state: 'off' }, { ...settings, required: true }), undefined, 'off is off')
})

t.test('system keys: spec.env can set none of them, present or not', async (t) => {
  const spec = { env: { AGENTTEAMS_WORKER_MATRIX_TOKEN: 'forged', AGENTTEAMS_FS_ACCESS_KEY: 'forged', AGENTTEAMS_WORKER_ROOM_ID: 'forged', OK: '1' } }
  const plain = workerEnv({ ...dave, spec }, { backendRuntime: 'pod' })
  t.notOk('AGENTTEAMS_WORKER_MATRIX_TOKEN' in plain.env, 'no Secret, no token: spec.env does not fill it in')
  t.same(plain.skipped.map((s) => s.key), ['AGENTTEAMS_FS_ACCESS_KEY', 'AGENTTEAMS_WORKER_MATRIX_TOKEN', 'AGENTTEAMS_WORKER_ROOM_ID'])
  const ready = { state: 'ready' as const, namespace: 'team-a', name: 'agentteams-creds-dave', resourceVersion: '1', values: { AGENTTEAMS_WORKER_MATRIX_TOKEN: 'syt_dave' } }
  const withCreds = workerEnv({ ...dave, spec }, { backendRuntime: 'sandbox', credentials: { ...credentialPlainEnv(dave, ready), ...ready.values } })
  t.match(withCreds.env, { AGENTTEAMS_WORKER_MATRIX_TOKEN: 'syt_dave', AGENTTEAMS_FS_ACCESS_KEY: 'dave', AGENTTEAMS_WORKER_ROOM_ID: '!room:matrix.local', OK: '1' })
  t.same(credentialPlainEnv({ ...dave, status: {} }, { state: 'absent', namespace: 'x', name: 'y' }), {}, 'no Secret, no room: nothing')
})

t.test('a runtime built with a credential Secret reads it again within 10 minutes (Secrets are not watched)', async (t) => {
  t.equal(credentialsResync({ state: 'ready', namespace: 'a', name: 'b', resourceVersion: '1', values: {} }), 10 * 60_000)
  t.equal(credentialsResync({ state: 'absent', namespace: 'a', name: 'b' }), undefined)
  t.equal(credentialsResync({ state: 'off' }), undefined)
  t.equal(earlier(5, undefined), 5)
  t.equal(earlier(undefined, 7), 7)
  t.equal(earlier(9, 7), 7)
  t.equal(earlier(undefined, undefined), undefined)
})
