// Worker name validation: a name must fit the agentteams.io/worker label value (63 characters),
// and the message says which field, the limit and why.

import t from 'tap'
import { MAX_WORKER_NAME_LENGTH, validateSandboxName, validateSandboxWorkerName, validateWorkerName } from '../../api/validation.ts'

t.test('names up to 63 characters pass; a longer one is refused with the field, the limit and the reason', async (t) => {
  t.equal(MAX_WORKER_NAME_LENGTH, 63, 'the Kubernetes label value limit')
  t.same(validateWorkerName({ metadata: { name: 'a'.repeat(63) } }), [], '63 characters')
  t.same(validateWorkerName({ metadata: { name: 'alice' } }), [])
  t.same(validateWorkerName({}), [], 'no name yet: nothing to judge')
  const long = `worker-${'x'.repeat(57)}`
  const messages = validateWorkerName({ metadata: { name: long } })
  t.equal(messages.length, 1)
  t.match(messages[0], /^metadata\.name: Too long: /, 'names the field first, as the API server does')
  t.match(messages[0], `"${long}" has 64 characters, at most 63 are allowed`)
  t.match(messages[0], 'value of the agentteams.io/worker label', 'and says why')
})

t.test('the sandbox backend: the claim <prefix>worker-<name> must fit 63 characters, so the limit follows the prefix', async (t) => {
  t.same(validateSandboxName({ metadata: { name: 'a'.repeat(45) } }, 'agentteams-'), [], '45 characters with the default prefix')
  const [message] = validateSandboxName({ metadata: { name: 'a'.repeat(46) } }, 'agentteams-')
  t.match(message, /^metadata\.name: Too long for the sandbox backend: "a{46}" has 46 characters, at most 45 are allowed/)
  t.match(message, /Use a Worker name of at most 45 characters, or spec\.backendRuntime: pod$/, 'says what to do')
  t.same(validateSandboxName({ metadata: { name: 'a'.repeat(56) } }, ''), [], 'no prefix: 56 characters fit (worker- is 7)')
  t.equal(validateSandboxName({ metadata: { name: 'a'.repeat(57) } }, '').length, 1)
  t.same(validateSandboxName({ metadata: {} }, 'agentteams-'), [], 'no name yet (generateName): nothing to judge')
})

t.test('the sandbox name limit is judged on a create for sandbox and on a move to sandbox, never again after', async (t) => {
  const options = { defaultBackendRuntime: 'pod' as const, resourcePrefix: 'agentteams-' }
  const long = (backendRuntime?: string) => ({ metadata: { name: 'l'.repeat(50) }, spec: backendRuntime ? { backendRuntime } : {} })
  t.equal(validateSandboxWorkerName(long('sandbox'), undefined, options).length, 1, 'created for sandbox')
  t.same(validateSandboxWorkerName(long(), undefined, options), [], 'created for the default backend, pod')
  t.equal(validateSandboxWorkerName(long(), undefined, { ...options, defaultBackendRuntime: 'sandbox' }).length, 1, 'the default backend is sandbox')
  t.equal(validateSandboxWorkerName(long('sandbox'), long('pod'), options).length, 1, 'moved from pod to sandbox')
  t.same(validateSandboxWorkerName(long('sandbox'), long('sandbox'), options), [], 'already on sandbox: a stop or a finalizer removal passes')
  t.same(validateSandboxWorkerName(long('pod'), long('sandbox'), options), [], 'moved away from sandbox')
})
