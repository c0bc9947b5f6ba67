// Worker names at admission, end to end: the real kube-apiserver calls the webhook and the real
// kubectl shows why a name longer than a label value is refused, or longer than a sandbox Worker's
// SandboxClaim name leaves, before any backend sees it.

import t from 'tap'
import { WEBHOOK_DENIAL_PREFIX } from '../../localcluster/admission-probes.ts'
import { createNamespace } from '../harness/namespaces.ts'
import { startWebhookSuite } from '../harness/webhook-suite.ts'
import { workerYaml } from '../harness/workers.ts'

const { cp } = await startWebhookSuite(t)

t.test('kubectl apply of a Worker named with 64 characters is denied with the reason; 63 are accepted', async (t) => {
  const ns = await createNamespace(cp.api, 'names')
  const long = `researcher-${'a'.repeat(53)}`
  t.equal(long.length, 64)
  const denied = await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, long, { backendRuntime: 'sandbox' }) })
  t.not(denied.code, 0, 'kubectl apply fails')
  t.match(denied.stderr, `Error from server (Forbidden): error when creating "STDIN": ${WEBHOOK_DENIAL_PREFIX}metadata.name: Too long: "${long}" has 64 characters, at most 63 are allowed`)
  t.match(denied.stderr, 'the name becomes the value of the agentteams.io/worker label')
  const get = await cp.kubectl(['get', 'worker', long, '-n', ns])
  t.match(get.stderr, 'NotFound', 'nothing was stored')

  const fits = long.slice(0, 63)
  const created = await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, fits, { backendRuntime: 'pod' }) })
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, `worker.agentteams.io/${fits} created`)
})

t.test('a sandbox Worker gets the shorter limit its SandboxClaim name leaves (45 with the default prefix), said by kubectl before anything is created', async (t) => {
  const ns = await createNamespace(cp.api, 'sandbox-names')
  const long = `researcher-${'b'.repeat(35)}`
  t.equal(long.length, 46)
  const denied = await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, long, { backendRuntime: 'sandbox' }) })
  t.not(denied.code, 0, 'kubectl apply fails')
  t.match(denied.stderr, `Error from server (Forbidden): error when creating "STDIN": ${WEBHOOK_DENIAL_PREFIX}metadata.name: Too long for the sandbox backend: "${long}" has 46 characters, at most 45 are allowed`)
  t.match(denied.stderr, 'Use a Worker name of at most 45 characters, or spec.backendRuntime: pod')
  t.match((await cp.kubectl(['get', 'worker', long, '-n', ns])).stderr, 'NotFound', 'nothing was stored')

  const created = await cp.kubectl(['apply', '-f', '-'], { stdin: workerYaml(ns, long.slice(0, 45), { backendRuntime: 'sandbox' }) })
  t.equal(created.code, 0, created.stderr)
})
