// What a sandbox is built from: the env file holds the system keys, the credentials and spec.env
// (system keys win, unusable entries become warnings), and the spec digest moves with the image,
// the labels and the env — never with spec.state.

import t from 'tap'
import type { Worker } from '../../../api/worker.ts'
import { sandboxEnv, sandboxSpecHash } from '../../../reconciler/sandbox/spec.ts'
import { sandboxSettings } from '../../e2e/sandbox-settings.ts'

const worker: Worker = { metadata: { name: 'alice', namespace: 'ns', uid: 'u1' }, spec: { runtime: 'openclaw', env: { NOTE: "it's", AGENTTEAMS_WORKER_NAME: 'mallory', 'bad-key': 'x' } } }

t.test('the env file: system keys, credentials, spec.env; warnings for what is left out', async (t) => {
  const { file, warnings } = sandboxEnv(worker, { controllerUrl: 'http://controller:8090' }, { AGENTTEAMS_WORKER_MATRIX_TOKEN: 'tok' })
  t.match(file, "export AGENTTEAMS_BACKEND_RUNTIME='sandbox'\n")
  t.match(file, "export AGENTTEAMS_WORKER_NAME='alice'\n", 'the system key wins over spec.env')
  t.match(file, "export AGENTTEAMS_WORKER_MATRIX_TOKEN='tok'\n")
  t.match(file, "export AGENTTEAMS_CONTROLLER_URL='http://controller:8090'\n")
  t.match(file, `export NOTE='it'\\''s'\n`)
  t.same(warnings, ['spec.env AGENTTEAMS_WORKER_NAME is not used: system key', 'spec.env bad-key is not used: not a valid variable name'])
})

t.test('the spec digest follows image, labels and env, not the state', async (t) => {
  const settings = sandboxSettings()
  const hash = (w: Worker, image = 'worker:1') => sandboxSpecHash(settings, w, image, sandboxEnv(w, {}).file)
  const base = hash(worker)
  t.match(base, /^[0-9a-f]{32}$/)
  t.equal(hash({ ...worker, spec: { ...worker.spec, state: 'Sleeping' } }), base, 'spec.state')
  t.not(hash(worker, 'worker:2'), base, 'the image')
  t.not(hash({ ...worker, spec: { ...worker.spec, labels: { team: 'a' } } }), base, 'spec.labels')
  t.not(hash({ ...worker, spec: { ...worker.spec, env: { NOTE: 'other' } } }), base, 'spec.env')
  t.not(hash({ ...worker, metadata: { ...worker.metadata, uid: 'u2' } }), base, 'another Worker of the same spec')
})
