// The S3 deps store against a real MinIO (test/harness/s3-server.ts): the bytes a Worker's sandbox
// would mount are exactly what was written, deletes stay inside one Worker's folder, and an outage
// or bad credentials become typed errors that name the cause and never the secret.

import t from 'tap'
import { S3DepsStore } from '../../../reconciler/deps/s3.ts'
import { depsKeys, DepsStoreError, describeBody } from '../../../reconciler/deps/store.ts'
import { startS3Server, type S3Server } from '../../harness/s3-server.ts'

const TOKEN = 'eyJhbGciOi.secret-token-body.sig'
const ENV = "export AGENTTEAMS_WORKER_NAME='alice'\nexport NOTE='it'\\''s a secret'\n"

function storeFor(s3: S3Server, overrides: Partial<ConstructorParameters<typeof S3DepsStore>[0]> = {}): S3DepsStore {
  return new S3DepsStore({
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    forcePathStyle: true,
    requestTimeoutMs: 5_000,
    ...overrides,
  })
}

async function failure(promise: Promise<unknown>): Promise<DepsStoreError> {
  const error = await promise.then(() => undefined, (e: unknown) => e)
  if (!(error instanceof DepsStoreError)) throw new Error(`expected a DepsStoreError, got ${String(error)}`)
  return error
}

const s3 = await startS3Server()
t.teardown(() => s3.close())

t.test('put writes the exact bytes at the documented keys; get reads them back', async (t) => {
  const store = storeFor(s3)
  t.teardown(() => store.close())
  const keys = depsKeys('alice')
  const env = Buffer.from(ENV)
  const info = await store.put(keys.env, env)
  await store.put(keys.token, Buffer.from(TOKEN))
  t.same(info, describeBody('workers-deps/alice/env/env', env))
  t.same(await s3.listKeys('workers-deps/alice/'), ['workers-deps/alice/env/env', 'workers-deps/alice/token/token'])
  t.equal((await s3.getObject(keys.token))?.toString(), TOKEN, 'the server holds the token as written')
  t.same(Buffer.from((await store.get(keys.env)) as Uint8Array), env)
  t.equal(await store.get(depsKeys('nobody').env), undefined, 'a missing object reads as undefined')
})

t.test('delete of a Worker folder removes its objects only', async (t) => {
  const store = storeFor(s3)
  t.teardown(() => store.close())
  const carol = depsKeys('carol')
  const carolyn = depsKeys('carolyn')
  await store.put(carol.env, Buffer.from('e'))
  await store.put(carol.token, Buffer.from('t'))
  await store.put(carolyn.env, Buffer.from('e'))
  t.equal(await store.delete(carol.prefix), 2)
  t.same(await s3.listKeys('workers-deps/carol/'), [])
  t.same(await s3.listKeys('workers-deps/carolyn/'), ['workers-deps/carolyn/env/env'], 'a Worker whose name extends another keeps its deps')
  t.equal(await store.delete(carol.prefix), 0, 'again: nothing left, no error')
  t.equal(await store.delete(carolyn.env), 1)
  t.equal(await store.delete(carolyn.env), 0)
})

t.test('wrong credentials: Refused, and neither the body nor the secret key in the error', async (t) => {
  const store = storeFor(s3, { secretAccessKey: 'wrong-secret-key-value' })
  t.teardown(() => store.close())
  const error = await failure(store.put(depsKeys('alice').token, Buffer.from(TOKEN)))
  t.equal(error.code, 'Refused')
  t.match(error.message, `write deps object workers-deps/alice/token/token in s3 bucket ${s3.bucket} at ${s3.endpoint}: `)
  for (const secret of [TOKEN, 'wrong-secret-key-value', s3.secretAccessKey]) t.notMatch(`${error.message}\n${error.stack}`, secret)
})

t.test('a missing bucket: Refused with the server reason', async (t) => {
  const store = storeFor(s3, { bucket: 'no-such-bucket' })
  t.teardown(() => store.close())
  const error = await failure(store.get(depsKeys('alice').env))
  t.equal(error.code, 'Refused')
  t.match(error.message, /read deps object workers-deps\/alice\/env\/env in s3 bucket no-such-bucket .*: .*bucket/i)
})

t.test('server stopped: Unavailable; started again: the same store works without a restart', async (t) => {
  const store = storeFor(s3)
  t.teardown(() => store.close())
  const key = depsKeys('dave').env
  await s3.stop()
  let restarted = false
  t.teardown(async () => {
    if (!restarted) await s3.start()
  })
  const error = await failure(store.put(key, Buffer.from(ENV)))
  t.equal(error.code, 'Unavailable')
  t.match(error.message, `write deps object ${key} in s3 bucket ${s3.bucket} at ${s3.endpoint}: `)
  t.ok(error.cause, 'keeps the SDK error as its cause')
  t.notMatch(error.message, 'secret')
  await s3.start()
  restarted = true
  await store.put(key, Buffer.from(ENV))
  t.equal((await s3.getObject(key))?.toString(), ENV, 'the data written before the outage and after it are there')
})
