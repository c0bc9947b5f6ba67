// The filesystem deps store: round trip, atomic replace, 0600 files, missing keys, folder delete,
// unsafe keys refused, and error messages that never carry an object body.

import t, { type Test } from 'tap'
import { mkdtemp, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FilesystemDepsStore } from '../../../reconciler/deps/filesystem.ts'
import { depsKeys, DepsStoreError, describeBody } from '../../../reconciler/deps/store.ts'

const SECRET = 'token-VALUE-do-not-log'

async function store(t: Test): Promise<{ dir: string; store: FilesystemDepsStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'deps-fs-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return { dir, store: new FilesystemDepsStore({ dir }) }
}

t.test('put then get returns the same bytes, and put reports size and sha256', async (t) => {
  const { dir, store: s } = await store(t)
  const keys = depsKeys('alice')
  const body = Buffer.from("export A='1'\nexport B='it'\\''s'\n")
  const info = await s.put(keys.env, body)
  t.same(info, describeBody(keys.env, body))
  t.equal(info.size, body.byteLength)
  t.same(Buffer.from((await s.get(keys.env)) as Uint8Array), body)
  t.ok((await stat(join(dir, 'workers-deps/alice/env/env'))).isFile(), 'file at the documented layout')
})

t.test('files are mode 0600 and folders 0700', async (t) => {
  const { dir, store: s } = await store(t)
  await s.put(depsKeys('alice').token, Buffer.from(SECRET))
  t.equal((await stat(join(dir, 'workers-deps/alice/token/token'))).mode & 0o777, 0o600)
  t.equal((await stat(join(dir, 'workers-deps/alice/token'))).mode & 0o777, 0o700)
})

t.test('put replaces the whole object and leaves no temp files behind', async (t) => {
  const { dir, store: s } = await store(t)
  const key = depsKeys('alice').token
  await s.put(key, Buffer.from('a much longer first token value'))
  await s.put(key, Buffer.from('short'))
  t.equal(Buffer.from((await s.get(key)) as Uint8Array).toString(), 'short')
  t.same(await readdir(join(dir, 'workers-deps/alice/token')), ['token'])
})

t.test('get of a missing key is undefined', async (t) => {
  const { store: s } = await store(t)
  t.equal(await s.get(depsKeys('nobody').env), undefined)
})

t.test('delete of a folder removes every object of the Worker and only those', async (t) => {
  const { store: s } = await store(t)
  const alice = depsKeys('alice')
  const bob = depsKeys('bob')
  await s.put(alice.env, Buffer.from('e'))
  await s.put(alice.token, Buffer.from('t'))
  await s.put(bob.env, Buffer.from('e'))
  t.equal(await s.delete(alice.prefix), 2)
  t.equal(await s.get(alice.env), undefined)
  t.equal(await s.get(alice.token), undefined)
  t.ok(await s.get(bob.env), 'another Worker keeps its deps')
  t.equal(await s.delete(alice.prefix), 0, 'deleting again is a no-op')
})

t.test('delete of a single key', async (t) => {
  const { store: s } = await store(t)
  const k = depsKeys('alice')
  await s.put(k.env, Buffer.from('e'))
  t.equal(await s.delete(k.env), 1)
  t.equal(await s.delete(k.env), 0)
})

t.test('unsafe keys are refused before touching the disk', async (t) => {
  const { store: s } = await store(t)
  for (const key of ['', '/etc/passwd', '../x', 'a/../../x', 'a//b', 'a/./b', 'a\\b', 'folder/']) {
    await t.rejects(s.put(key, Buffer.from('x')), { name: 'DepsStoreError', code: 'InvalidKey' }, `put ${JSON.stringify(key)}`)
  }
  await t.rejects(s.delete('../'), { code: 'InvalidKey' })
  t.throws(() => depsKeys('../evil'), { name: 'DepsStoreError' })
  t.throws(() => depsKeys('Alice'), { name: 'DepsStoreError' })
  t.throws(() => depsKeys('a/b'), { name: 'DepsStoreError' })
})

t.test('a failed write is a typed error with the key, the location and the cause, never the body', async (t) => {
  const { dir, store: s } = await store(t)
  await writeFile(join(dir, 'workers-deps'), 'a file where a folder must be')
  const key = depsKeys('alice').token
  const error = (await s.put(key, Buffer.from(SECRET)).catch((e: unknown) => e)) as DepsStoreError
  t.type(error, DepsStoreError)
  t.equal(error.op, 'put')
  t.equal(error.key, key)
  t.match(error.message, `write deps object ${key} in directory ${dir}: `)
  t.ok(error.cause, 'keeps its cause')
  t.notMatch(error.message, SECRET)
  t.notMatch(String(error.stack), SECRET)
})

t.test('a read of a folder where a file should be fails with a typed error', async (t) => {
  const { dir, store: s } = await store(t)
  await mkdir(join(dir, 'workers-deps/alice/env/env'), { recursive: true })
  await writeFile(join(dir, 'workers-deps/alice/env/env/x'), 'x')
  await t.rejects(s.get(depsKeys('alice').env), { name: 'DepsStoreError', op: 'get' })
})
