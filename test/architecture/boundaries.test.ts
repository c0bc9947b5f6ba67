// Module boundaries of the style guide: api/ imports nothing outside itself; server/ and
// reconciler/ import api/ (and config/) but never each other; config/ knows neither side.

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

/** Top-level folders a file imports from (relative imports only; packages are not folders). */
function importedFolders(file: string): Set<string> {
  const text = readFileSync(file, 'utf8')
  const folders = new Set<string>()
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const target = relative(root, resolve(dirname(file), match[1] as string))
    folders.add(target.split('/')[0] as string)
  }
  return folders
}

const rules: Record<string, string[]> = {
  api: ['api'],
  config: ['config', 'api'],
  server: ['server', 'api', 'config', 'certs'],
  reconciler: ['reconciler', 'api', 'config'],
}

for (const [folder, allowed] of Object.entries(rules)) {
  t.test(`${folder}/ imports only ${allowed.join(', ')}`, async (t) => {
    const files = sources(folder)
    if (folder === 'api' || folder === 'config') t.ok(files.length > 0, `${folder}/ has sources`)
    for (const file of files) {
      for (const imported of importedFolders(file)) {
        t.ok(allowed.includes(imported), `${relative(root, file)} imports ${imported}/`)
      }
    }
  })
}

t.test('production code never loads the test tree (only the dev-only local mode does)', async (t) => {
  const production = ['api', 'config', 'server', 'reconciler', 'certs', 'cli', 'bin'].flatMap((dir) => sources(dir))
  for (const file of production) {
    if (relative(root, file) === 'cli/local.ts') continue
    t.notOk(importedFolders(file).has('test'), `${relative(root, file)} does not import test/`)
  }
  const serve = readFileSync(join(root, 'cli/serve.ts'), 'utf8')
  t.notMatch(serve, /^import (?!type )[^\n]*from '\.\/local\.ts'/m, 'serve.ts loads local.ts only dynamically (type imports aside)')
})

t.test('the transition rule is stated in api/backend-runtime.ts only', async (t) => {
  const message = 'cannot be changed until the Worker is Stopped'
  const holders = ['server', 'reconciler', 'config', 'cli']
    .flatMap((dir) => sources(dir))
    .filter((file) => readFileSync(file, 'utf8').includes(message))
  t.same(holders.map((f) => relative(root, f)), [], 'no other source spells the denial message')
})
