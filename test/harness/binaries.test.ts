// The binary lookup's contract: KUBEBUILDER_ASSETS wins and is checked; under CI=true missing
// binaries are an error that says what to run (the e2e tests then fail, never skip).

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { findKubeBinaries } from './binaries.ts'

const emptyDir = await mkdtemp(join(tmpdir(), 'wrc-binaries-'))
t.teardown(() => rm(emptyDir, { recursive: true, force: true }))

t.test('under CI=true, binaries that are not built are an error naming the build command', async (t) => {
  const env = { ...process.env, CI: 'true', KUBEBUILDER_ASSETS: '', WRC_TOOLS_CACHE: emptyDir }
  await t.rejects(findKubeBinaries({ env }), { name: 'KubeBinariesError', message: /run `tools\/build\.sh kube`.*fail instead of building or skipping/ })
})

t.test('KUBEBUILDER_ASSETS wins, and a directory without the binaries is reported', async (t) => {
  const env = { ...process.env, KUBEBUILDER_ASSETS: emptyDir }
  await t.rejects(findKubeBinaries({ env }), { name: 'KubeBinariesError', message: `find binary ${join(emptyDir, 'etcd')}: not an executable file` })
})

t.test('the binaries are found (built first when missing outside CI)', async (t) => {
  const found = await findKubeBinaries()
  t.match(found, { etcd: /\/etcd$/, kubeApiserver: /\/kube-apiserver$/, kubectl: /\/kubectl$/ })
})
