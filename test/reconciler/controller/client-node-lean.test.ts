// client-node without its unused generated API: with bin/preload.ts registered (as the command does), the
// controller's client-node modules load no generated API client or model, and what they do use
// still works — a configured API client, an informer's label selector. Without the preload the
// same imports load them all, so the check below can fail.

import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { standInFor } from '../../../reconciler/controller/client-node-lean.ts'

const CHILD = fileURLToPath(new URL('./client-node-lean-child.ts', import.meta.url))
const PRELOAD = new URL('../../../bin/preload.ts', import.meta.url).href
const GENERATED = /\/client-node\/dist\/gen\/(apis|types|models)\//

interface ChildReport {
  resolved: string[]
  madeClient: boolean
  watchedSelector: unknown
}

function runChild(preload: boolean): ChildReport {
  const out = execFileSync(process.execPath, [...(preload ? ['--import', PRELOAD] : []), CHILD], { encoding: 'utf8', timeout: 60_000 })
  return JSON.parse(out.trim().split('\n').at(-1) ?? '') as ChildReport
}

t.test('the command registers the hook before it loads anything else, and client-node is pinned exactly', async (t) => {
  const bin = readFileSync(new URL('../../../bin/worker-runtime-controller.ts', import.meta.url), 'utf8')
  const statics = [...bin.matchAll(/^import\s+(?:[^'"]*from\s+)?['"]([^'"]+)['"]/gm)].map((m) => m[1])
  t.same(statics, ['./preload.ts'], 'the preload is its only static import; the program is imported dynamically after it')
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> }
  t.match(pkg.dependencies['@kubernetes/client-node'], /^\d+\.\d+\.\d+$/, 'an exact version: the stand-ins depend on its private file names')
})

t.test('standInFor replaces exactly two imports from exactly two client-node files', async (t) => {
  const dist = 'file:///app/node_modules/@kubernetes/client-node/dist/'
  t.match(standInFor('./gen/index.js', dist + 'config.js'), /client-node-lean\/gen-index\.ts$/)
  t.match(standInFor('./serializer.js', dist + 'cache.js'), /client-node-lean\/serializer\.ts$/)
  t.equal(standInFor('./gen/index.js', dist + 'index.js'), undefined, "the package index keeps its generated API")
  t.equal(standInFor('./serializer.js', dist + 'object.js'), undefined)
  t.equal(standInFor('./gen/index.js', 'file:///app/src/config.js'), undefined, 'a config.js outside client-node is not touched')
  t.equal(standInFor('./gen/index.js', undefined), undefined)
})

t.test('with the preload: no generated client or model loads, and clients and selectors still work', async (t) => {
  const report = runChild(true)
  t.ok(report.resolved.some((u) => u.endsWith('/client-node/dist/config.js')), 'KubeConfig came from client-node')
  t.same(report.resolved.filter((u) => GENERATED.test(u)), [], 'no generated API client or model was loaded')
  t.ok(report.madeClient, 'makeApiClient built a configuration with a server')
  t.equal(report.watchedSelector, 'app=worker', "the informer's label selector reached the watch unchanged")
})

t.test('without the preload the same imports load the whole generated API', async (t) => {
  const report = runChild(false)
  t.ok(report.resolved.filter((u) => GENERATED.test(u)).length > 100, 'hundreds of generated modules')
  t.ok(report.madeClient)
  t.equal(report.watchedSelector, 'app=worker')
})
