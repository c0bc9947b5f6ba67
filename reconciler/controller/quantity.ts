// Kubernetes resource quantities (`1000m`, `1`, `2Gi`, `1.5e3`) compared by value, exactly: an API
// server or a defaulting webhook that re-encodes an object through Go's typed structs writes them
// back in canonical form (`1000m` → `1`), and a string comparison would see drift where there is
// none (docs/sandbox.md). client-node's quantityToScalar is not used: it goes through floating
// point and throws on fractional values with a large suffix (`1.5Gi`).

const SUFFIX: Record<string, [base: bigint, exponent: number]> = {
  n: [10n, -9], u: [10n, -6], m: [10n, -3], '': [10n, 0], k: [10n, 3], M: [10n, 6], G: [10n, 9], T: [10n, 12], P: [10n, 15], E: [10n, 18],
  Ki: [2n, 10], Mi: [2n, 20], Gi: [2n, 30], Ti: [2n, 40], Pi: [2n, 50], Ei: [2n, 60],
}

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$/

/** A quantity's exact value as numerator / denominator; undefined when `text` is not a quantity. */
export function parseQuantity(text: string): { num: bigint; den: bigint } | undefined {
  const match = QUANTITY.exec(text.trim())
  if (!match) return undefined
  const [, sign, digits = '', exponent, suffix = ''] = match
  const [whole = '', fraction = ''] = digits.split('.')
  let num = BigInt(`${whole || '0'}${fraction}`) * (sign === '-' ? -1n : 1n)
  let den = 10n ** BigInt(fraction.length)
  const [base, power] = exponent ? [10n, Number(exponent.slice(1))] : (SUFFIX[suffix] as [bigint, number])
  // Kubernetes caps quantities far below this; a huge exponent would only cost memory here.
  if (Math.abs(power) > 64) return undefined
  if (power >= 0) num *= base ** BigInt(power)
  else den *= base ** BigInt(-power)
  return { num, den }
}

/** True when `a` and `b` are the same quantity (`1000m` and `1`; `1Gi` and `1073741824`). */
export function sameQuantity(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if ((typeof a !== 'string' && typeof a !== 'number') || (typeof b !== 'string' && typeof b !== 'number')) return false
  const x = parseQuantity(String(a))
  const y = parseQuantity(String(b))
  return x !== undefined && y !== undefined && x.num * y.den === y.num * x.den
}
