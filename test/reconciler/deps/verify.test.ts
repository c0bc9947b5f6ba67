// Read-back verification against a real filesystem store: what was written reads back equal; a
// missing, shorter or altered object is described by sizes only; a failed read is the store's error.

import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FilesystemDepsStore } from '../../../reconciler/deps/filesystem.ts'
import { DepsStoreError, type DepsStore } from '../../../reconciler/deps/store.ts'
import { readBackMismatch } from '../../../reconciler/deps/verify.ts'

const KEY = 'workers-deps/alice/token/token'

t.test('equal, missing, shorter, altered', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'deps-verify-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const store = new FilesystemDepsStore({ dir })
  const wrote = await store.put(KEY, Buffer.from('header.payload-SECRET.signature'))
  t.equal(await readBackMismatch(store, wrote), undefined, 'what was written')
  await store.put(KEY, Buffer.from('truncated'))
  t.equal(await readBackMismatch(store, wrote), '9 bytes read, 31 written')
  await store.put(KEY, Buffer.from('header.payload-SECRET.signaturE'))
  t.equal(await readBackMismatch(store, wrote), '31 bytes read, 31 written, contents differ')
  await store.delete(KEY)
  t.equal(await readBackMismatch(store, wrote), 'it is missing')
})

t.test('a failed read throws the store error, and no message holds the body', async (t) => {
  const failing: DepsStore = {
    location: 'directory /nowhere',
    put: async () => { throw new Error('unused') },
    get: async (key) => { throw DepsStoreError.of('get', key, 'directory /nowhere', 'Unavailable', new Error('EIO')) },
    delete: async () => 0,
  }
  const wrote = { key: KEY, size: 31, sha256: 'x' }
  await t.rejects(readBackMismatch(failing, wrote), { name: 'DepsStoreError', code: 'Unavailable' })
})
