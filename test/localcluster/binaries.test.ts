// The binary lookup's contract: KUBEBUILDER_ASSETS wins and is checked (and must hold the node
// components for Pods to run); under CI=true missing binaries are an error that says what to run
// (the e2e tests then fail, never skip); kwok comes with the Stage files of its module.

import { readFileSync } from 'node:fs'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { basename } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { findKubeBinaries, findKwokBinaries, requireNodeBinaries } from '../../localcluster/binaries.ts'

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
  t.match(found, { etcd: /\/etcd$/, kubeApiserver: /\/kube-apiserver$/, kubectl: /\/kubectl$/, kubeScheduler: /\/kube-scheduler$/, kubeControllerManager: /\/kube-controller-manager$/ })
})

t.test('under CI=true, kwok not built is an error naming its build command', async (t) => {
  const env = { ...process.env, CI: 'true', WRC_TOOLS_CACHE: emptyDir }
  await t.rejects(findKwokBinaries({ env }), { name: 'KubeBinariesError', message: /run `tools\/build\.sh kwok`/ })
})

t.test('a KUBEBUILDER_ASSETS with only envtest\'s three binaries serves no nodes, and says so', async (t) => {
  const assets = await mkdtemp(join(tmpdir(), 'wrc-assets-'))
  t.teardown(() => rm(assets, { recursive: true, force: true }))
  for (const name of ['etcd', 'kube-apiserver', 'kubectl']) {
    await writeFile(join(assets, name), '#!/bin/sh\n')
    await chmod(join(assets, name), 0o755)
  }
  const env = { ...process.env, KUBEBUILDER_ASSETS: assets }
  const found = await findKubeBinaries({ env })
  t.throws(() => requireNodeBinaries(found, env), { name: 'KubeBinariesError', message: /kube-controller-manager: not an executable file \(KUBEBUILDER_ASSETS=.* must hold kube-scheduler and kube-controller-manager too/ })
})

t.test('kwok is found with the Stage files copied from its module, each a kwok Stage', async (t) => {
  const found = await findKwokBinaries()
  t.match(found.kwok, /\/kwok-[0-9a-f]{16}\/kwok$/)
  t.same(found.stageFiles.map((f) => basename(f)), [
    'node-heartbeat-with-lease.yaml', 'node-initialize.yaml', 'pod-complete.yaml', 'pod-container-running-failed.yaml', 'pod-delete.yaml', 'pod-ready.yaml',
  ])
  for (const file of found.stageFiles) {
    const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON())
    t.match(docs, [{ apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'Stage', metadata: { name: basename(file, '.yaml') } }], `${basename(file)} is kwok's Stage of that name`)
  }
})
