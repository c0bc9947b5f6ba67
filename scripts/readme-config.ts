// Rewrites the configuration table between the README's config-table markers from the settings
// table: `node scripts/readme-config.ts`.

import { readFileSync, writeFileSync } from 'node:fs'
import { configTable } from './config-table.ts'

const START = /<!-- config-table:start[^>]*-->/
const END = '<!-- config-table:end -->'

/** The README text with its configuration table replaced by the current one. */
export function withConfigTable(readme: string): string {
  const start = readme.match(START)
  const end = readme.indexOf(END)
  if (!start || start.index === undefined || end < 0) throw new Error('README.md: config-table markers not found')
  return readme.slice(0, start.index + start[0].length) + '\n' + configTable() + '\n' + readme.slice(end)
}

if (import.meta.main) {
  const path = new URL('../README.md', import.meta.url)
  writeFileSync(path, withConfigTable(readFileSync(path, 'utf8')))
}
