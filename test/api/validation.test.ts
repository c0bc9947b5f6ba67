// Worker name validation: a name must fit the agentteams.io/worker label value (63 characters),
// and the message says which field, the limit and why.

import t from 'tap'
import { MAX_WORKER_NAME_LENGTH, validateWorkerName } from '../../api/validation.ts'

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
