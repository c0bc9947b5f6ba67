// The README keeps its promises: exactly the two set-up commands, a configuration table equal to
// the settings table, and a .ci/run that calls the README's test command.

import t from 'tap'
import { readFileSync } from 'node:fs'
import { withConfigTable } from '../../scripts/readme-config.ts'

const root = new URL('../../', import.meta.url)
const readme = readFileSync(new URL('README.md', root), 'utf8')

t.test('the configuration table matches the settings', async (t) => {
  t.equal(readme, withConfigTable(readme), 'run `node scripts/readme-config.ts` after changing config/settings.ts')
})

t.test('the two set-up commands, and CI runs the test one', async (t) => {
  t.match(readme, '```sh\nnpm ci && npm start\n```')
  t.match(readme, '```sh\nnpm ci && npm test\n```')
  const ci = readFileSync(new URL('.ci/run', root), 'utf8')
  t.match(ci, /^npm ci\b/m)
  t.match(ci, /^npm test\b/m)
})
