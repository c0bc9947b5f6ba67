// The Worker env: system keys win, unusable entries are reported, and the rendered file, sourced
// by a real shell, gives back every value byte for byte.

import t from 'tap'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { renderEnvFile, SystemEnv, TOKEN_FILE, workerEnv } from '../../../reconciler/backend/env.ts'
import type { Worker } from '../../../api/worker.ts'

const run = promisify(execFile)

const worker = (env: Record<string, string>, extra: Partial<Worker['spec']> = {}): Worker => ({
  metadata: { name: 'alice', namespace: 'team-a' },
  spec: { env, ...extra },
})

t.test('system keys win over spec.env and are always present', async (t) => {
  const { env, skipped } = workerEnv(worker({ AGENTTEAMS_WORKER_NAME: 'mallory', AGENTTEAMS_AUTH_TOKEN_FILE: '/tmp/x', FOO: 'bar' }, { workerName: 'alice-rt', runtime: 'copaw' }), {
    backendRuntime: 'pod',
    controllerUrl: 'http://controller:8090',
    matrixUrl: '',
  })
  t.equal(env[SystemEnv.WorkerName], 'alice-rt')
  t.equal(env[SystemEnv.WorkerCrName], 'alice')
  t.equal(env[SystemEnv.AuthTokenFile], TOKEN_FILE)
  t.equal(env[SystemEnv.AgentRuntime], 'copaw')
  t.equal(env[SystemEnv.BackendRuntime], 'pod')
  t.equal(env[SystemEnv.ControllerUrl], 'http://controller:8090')
  t.notOk(SystemEnv.MatrixUrl in env, 'empty configuration values are left out')
  t.equal(env['FOO'], 'bar')
  t.same(skipped, [
    { key: 'AGENTTEAMS_AUTH_TOKEN_FILE', reason: 'system key' },
    { key: 'AGENTTEAMS_WORKER_NAME', reason: 'system key' },
  ])
})

t.test('keys come out sorted', async (t) => {
  const { env } = workerEnv(worker({ ZED: '1', ALPHA: '2', MIDDLE: '3' }), { backendRuntime: 'pod' })
  const keys = Object.keys(env)
  t.same(keys, [...keys].sort())
  t.match(renderEnvFile(env).split('\n')[0], /^export AGENTTEAMS_/)
})

t.test('entries a shell or envFrom cannot carry are reported, not passed on', async (t) => {
  const { env, skipped } = workerEnv(worker({ 'BAD-NAME': 'x', '1ST': 'x', 'A B': 'x', 'X;rm -rf /': 'x', NUL: 'a\0b', OK_1: 'y' }), { backendRuntime: 'pod' })
  t.same(skipped.map((s) => s.key).sort(), ['1ST', 'A B', 'BAD-NAME', 'NUL', 'X;rm -rf /'].sort())
  t.equal(skipped.find((s) => s.key === 'NUL')?.reason, 'value contains a NUL byte')
  t.equal(env['OK_1'], 'y')
  t.notOk('BAD-NAME' in env)
})

t.test('renderEnvFile refuses a key that would break the file', async (t) => {
  t.throws(() => renderEnvFile({ 'A=1;': 'x' }), /not a valid variable name/)
})

t.test('a real sh sourcing the file gets every value back byte for byte', async (t) => {
  const values: Record<string, string> = {
    PLAIN: 'hello',
    EMPTY: '',
    SPACES: '  two  spaces  ',
    SINGLE: "it's 'quoted'",
    DOUBLE: 'say "hi"',
    DOLLAR: '$HOME ${PATH} $(id) `id`',
    BACKSLASH: 'a\\b\\\\c\\n',
    NEWLINES: 'line1\nline2\n\nline4\n',
    UNICODE: 'héllo – 世界 🚀',
    GLOB: '* ? [a-z] ~',
    SEMI: 'a; echo pwned && false || true | cat > /tmp/never',
  }
  const dir = await mkdtemp(join(tmpdir(), 'wrc-env-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'env')
  await writeFile(file, renderEnvFile(values))
  const keys = Object.keys(values).sort()
  // NUL-separated output so trailing newlines survive; printf reads each variable unexpanded.
  const script = `. "$1"; for k in ${keys.join(' ')}; do eval "printf '%s\\\\0' \\"\\$$k\\""; done`
  const { stdout } = await run('sh', ['-c', script, 'sh', file], { encoding: 'utf8' })
  const got = stdout.split('\0').slice(0, -1)
  t.same(Object.fromEntries(keys.map((k, i) => [k, got[i]])), values)
  t.notOk(await run('sh', ['-c', 'test -e /tmp/never']).then(() => true, () => false), 'nothing in a value ran')
})
