// The design lives in the repository: docs/ exists and the README links it; every `docs/<page>.md`
// a source names exists, with the section it points at; no source cites a document that is not in
// the repository (the specification and research notes it was built from).

import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')
const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter((f) => /\.(ts|md|ya?ml|json|tpl|sh)$|^Dockerfile$|^\.ci\/run$/.test(f) && !f.startsWith('bench/results') && f !== 'package-lock.json' && existsSync(join(root, f)))
const text = (f: string) => readFileSync(join(root, f), 'utf8')

/** GitHub's anchor of a Markdown heading. */
const anchor = (heading: string) => heading.trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')

t.test('docs/ exists, and the README links it', async (t) => {
  t.ok(existsSync(join(root, 'docs/README.md')), 'docs/README.md')
  t.match(text('README.md'), '](docs/README.md)')
})

t.test('every docs page a source names exists, with its section', async (t) => {
  let cited = 0
  for (const file of tracked) {
    for (const m of text(file).matchAll(/docs\/([a-z-]+\.md)(#[a-z0-9-]+)?/g)) {
      cited++
      const page = join(root, 'docs', m[1] as string)
      t.ok(existsSync(page), `${file} cites docs/${m[1]}`)
      if (m[2] && existsSync(page)) {
        const headings = [...readFileSync(page, 'utf8').matchAll(/^#+ (.+)$/gm)].map((h) => `#${anchor(h[1] as string)}`)
        t.ok(headings.includes(m[2]), `${file} cites docs/${m[1]}${m[2]}`)
      }
    }
  }
  t.ok(cited > 50, `${cited} citations of docs/`)
})

t.test('no source cites a document outside the repository', async (t) => {
  const outside = /\.\.\/shared\/|\bproduct\.md\b|field-anchors\.md|real-cluster\.md|upstream-[a-z0-9-]+\.md/
  t.same(tracked.filter((f) => !f.startsWith('test/architecture/') && outside.test(text(f))), [])
})
