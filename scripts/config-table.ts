// Prints the README's configuration table from the settings table, so the two cannot drift:
// `node scripts/config-table.ts` (a test compares the README with this output).

import { flagName } from '../config/config.ts'
import { SETTINGS } from '../config/settings.ts'

/** The Markdown table of every setting: variable, flag, default, meaning. */
export function configTable(): string {
  const rows = SETTINGS.map((s) => {
    const def = Array.isArray(s.default) ? s.default.join(',') : String(s.default ?? '')
    return `| \`${s.env}\` | \`${flagName(s)}\` | \`${def === '' ? '""' : def}\` | ${s.help} |`
  })
  return ['| variable | flag | default | meaning |', '|---|---|---|---|', ...rows].join('\n')
}

if (import.meta.main) process.stdout.write(configTable() + '\n')
