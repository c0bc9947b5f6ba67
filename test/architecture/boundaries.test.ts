// Module boundaries of the style guide: api/ imports nothing outside itself; server/ and
// reconciler/ import api/ (and config/) but never each other; config/ knows neither side. Inside
// reconciler/ each room imports only the rooms below it (docs/architecture.md): controller ←
// deps ← backend ← pod | sandbox ← worker ← main.ts.

import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, dirname } from 'node:path'

const root = resolve(import.meta.dirname, '../..')

function sources(dir: string): string[] {
  const abs = join(root, dir)
  let entries: string[]
  try {
    entries = readdirSync(abs)
  } catch {
    return []
  }
  return entries.flatMap((name) => {
    const path = join(abs, name)
    if (statSync(path).isDirectory()) return sources(relative(root, path))
    return name.endsWith('.ts') ? [path] : []
  })
}

/** The files a file imports, relative to the root (relative imports only; packages are not files). */
function importedFiles(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((match) => relative(root, resolve(dirname(file), match[1] as string)))
}

/** Top-level folders a file imports from. */
function importedFolders(file: string): Set<string> {
  return new Set(importedFiles(file).map((target) => target.split('/')[0] as string))
}

const rules: Record<string, string[]> = {
  api: ['api'],
  config: ['config', 'api'],
  server: ['server', 'api', 'config', 'certs'],
  reconciler: ['reconciler', 'api', 'config'],
  localcluster: ['localcluster', 'api', 'certs'],
}

for (const [folder, allowed] of Object.entries(rules)) {
  t.test(`${folder}/ imports only ${allowed.join(', ')}`, async (t) => {
    const files = sources(folder)
    if (folder !== 'server' && folder !== 'reconciler') t.ok(files.length > 0, `${folder}/ has sources`)
    for (const file of files) {
      for (const imported of importedFolders(file)) {
        t.ok(allowed.includes(imported), `${relative(root, file)} imports ${imported}/`)
      }
    }
  })
}

/**
 * The rooms of reconciler/, lowest first; a file may import its own room and the rooms of lower
 * rank. pod/ and sandbox/ share a rank: neither backend knows the other. Files directly in
 * reconciler/ (main.ts, which wires everything) are the top.
 */
const ROOMS: Record<string, number> = { controller: 0, deps: 1, backend: 2, pod: 3, sandbox: 3, worker: 4, '': 5 }

/** The room of a path under reconciler/ ('' for a file directly in it). */
function roomOf(path: string): string {
  const parts = path.split('/')
  return parts.length > 2 ? (parts[1] as string) : ''
}

t.test('each room of reconciler/ imports only the rooms below it', async (t) => {
  const files = sources('reconciler')
  t.same([...new Set(files.map((f) => roomOf(relative(root, f))))].filter((r) => !(r in ROOMS)), [], 'every folder of reconciler/ is a known room')
  for (const file of files) {
    const room = roomOf(relative(root, file))
    for (const target of importedFiles(file).filter((f) => f.startsWith('reconciler/'))) {
      const other = roomOf(target)
      const ok = other === room || (ROOMS[other] as number) < (ROOMS[room] as number)
      t.ok(ok, `${relative(root, file)} imports ${target}`)
    }
  }
})

t.test('the generic controller machinery knows nothing of Workers: no api/, no config/', async (t) => {
  const files = sources('reconciler/controller')
  t.ok(files.length > 0, 'reconciler/controller/ has sources')
  for (const file of files) {
    for (const folder of importedFolders(file)) t.ok(folder === 'reconciler', `${relative(root, file)} imports ${folder}/`)
  }
})

t.test('production code never loads the test tree', async (t) => {
  const production = ['api', 'config', 'server', 'reconciler', 'certs', 'cli', 'bin', 'localcluster'].flatMap((dir) => sources(dir))
  for (const file of production) t.notOk(importedFolders(file).has('test'), `${relative(root, file)} does not import test/`)
})

/** What a file loads when it is loaded: static imports and re-exports, type-only ones aside. */
function loadedFiles(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const statics = text.matchAll(/^(?:import|export)\s+(?!type\s)[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|^import\s+['"](\.{1,2}\/[^'"]+)['"]/gm)
  return [...statics].map((m) => relative(root, resolve(dirname(file), (m[1] ?? m[2]) as string)))
}

t.test('the local control plane is loaded only on demand, and only by serve', async (t) => {
  const product = ['api', 'config', 'server', 'reconciler', 'certs', 'cli', 'bin'].flatMap((dir) => sources(dir))
  for (const file of product) {
    t.same(loadedFiles(file).filter((f) => f.startsWith('localcluster/')), [], `${relative(root, file)} loads no localcluster/ module when it loads`)
  }
  t.same(product.filter((file) => importedFiles(file).some((f) => f.startsWith('localcluster/'))).map((f) => relative(root, f)), ['cli/serve.ts'], 'only serve.ts refers to it')
})

t.test('the transition rule is stated in api/backend-runtime.ts only', async (t) => {
  const message = 'cannot be changed until the Worker is Stopped'
  const holders = ['server', 'reconciler', 'config', 'cli']
    .flatMap((dir) => sources(dir))
    .filter((file) => readFileSync(file, 'utf8').includes(message))
  t.same(holders.map((f) => relative(root, f)), [], 'no other source spells the denial message')
})
