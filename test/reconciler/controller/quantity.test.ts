// Resource quantities compared by value (reconciler/controller/quantity.ts): the provider writes `1000m` back
// as `1`, and that must not look like a change.

import t from 'tap'
import { parseQuantity, sameQuantity } from '../../../reconciler/controller/quantity.ts'

t.test('equal values in any spelling are the same quantity', async (t) => {
  for (const [a, b] of [['1000m', '1'], ['1', 1], ['0.5', '500m'], ['1Gi', '1073741824'], ['1024Mi', '1Gi'], ['1.5Gi', '1536Mi'], ['1e3', '1k'], ['2Gi', '2Gi'], ['1M', '1000k'], ['100n', '0.1u'], ['.5', '500m'], ['-1', '-1000m']] as const) {
    t.ok(sameQuantity(a, b), `${a} = ${b}`)
  }
})

t.test('different values, or something that is not a quantity, are not', async (t) => {
  for (const [a, b] of [['1', '1001m'], ['1Gi', '1G'], ['2Gi', '2'], ['1', undefined], ['abc', 'abc1'], ['1Gb', '1Gi'], [{}, {}]] as const) {
    t.notOk(sameQuantity(a, b), `${String(a)} ≠ ${String(b)}`)
  }
  t.equal(parseQuantity('1e9999'), undefined, 'an absurd exponent is refused, not computed')
  t.equal(parseQuantity(''), undefined)
  t.same(parseQuantity('1500m'), { num: 1500n, den: 1000n })
})
