// Generated bad input for the admission webhook: AdmissionReviews built from the realistic Worker
// fixture and then broken on purpose — wrong types, missing fields, deep nesting, huge strings,
// invalid UTF-8, truncated JSON, odd numbers and escapes, wrong content types. Deterministic for
// a seed (mulberry32), so a failing case can be replayed with WRC_FUZZ_SEED.

import { legacyPodWorker, review, withSpec } from '../fixtures/admission-review.ts'
import { MAX_REQUEST_BYTES } from '../../server/admission-route.ts'

/** A value planted in every case's env: it must never show up in a log line. */
export const FUZZ_SECRET = 'fuzz-secret-5d1e0c7a93b2'

/** Kinds of breakage, each a family of cases. */
export const CaseKind = {
  Valid: 'valid',
  WrongType: 'wrong-type',
  Missing: 'missing-field',
  Deep: 'deep-nesting',
  Huge: 'huge-string',
  OverLimit: 'over-body-limit',
  InvalidUtf8: 'invalid-utf8',
  Truncated: 'truncated-json',
  Garbage: 'not-json',
  Escapes: 'odd-escapes-and-numbers',
  ContentType: 'wrong-content-type',
  ProtoKeys: 'proto-keys',
} as const
export type CaseKind = (typeof CaseKind)[keyof typeof CaseKind]

export interface FuzzCase {
  kind: CaseKind
  /** Short description for a failure message (never the body itself). */
  what: string
  path: '/mutate-workers' | '/validate-workers'
  contentType: string | undefined
  body: Buffer
  /** The uid the answer must echo, when the body is a parseable review with a string uid. */
  uid: string | undefined
  /** Nesting depth of a deep-nesting case. */
  depth?: number
}

/** mulberry32: a small seeded PRNG (public domain, Tommy Ettinger). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** Family weights: most cases are cheap; the megabyte ones are rare and capped (see generate). */
const WEIGHTS: ReadonlyArray<[CaseKind, number]> = [
  [CaseKind.Valid, 6],
  [CaseKind.WrongType, 30],
  [CaseKind.Missing, 10],
  [CaseKind.Deep, 5],
  [CaseKind.Huge, 2],
  [CaseKind.OverLimit, 0.3],
  [CaseKind.InvalidUtf8, 10],
  [CaseKind.Truncated, 10],
  [CaseKind.Garbage, 5],
  [CaseKind.Escapes, 8],
  [CaseKind.ContentType, 4],
  [CaseKind.ProtoKeys, 3],
]

export class FuzzGenerator {
  readonly #r: () => number
  #uid = 0

  constructor(seed: number) {
    this.#r = prng(seed)
  }

  #int(n: number): number {
    return Math.floor(this.#r() * n)
  }

  #pick<T>(items: readonly T[]): T {
    return items[this.#int(items.length)] as T
  }

  #kind(): CaseKind {
    const total = WEIGHTS.reduce((s, [, w]) => s + w, 0)
    let x = this.#r() * total
    for (const [kind, w] of WEIGHTS) if ((x -= w) < 0) return kind
    return CaseKind.Valid
  }

  /** A plausible review: CREATE, UPDATE or DELETE of a Worker with a random spec. */
  #base(): { review: Record<string, Json>; uid: string } {
    const uid = `f0220000-0000-4000-8000-${String(++this.#uid).padStart(12, '0')}`
    const stored = withSpec(legacyPodWorker(), {
      env: { FUZZ_TOKEN: FUZZ_SECRET, MODE: this.#pick(['a', 'b']) },
      backendRuntime: this.#pick([undefined, 'pod', 'sandbox', 'vm']),
      state: this.#pick([undefined, 'Running', 'Sleeping', 'Stopped', 'Paused']),
    })
    const next = withSpec(stored, { backendRuntime: this.#pick([undefined, 'pod', 'sandbox']), runtime: this.#pick(['openclaw', 'copaw', 'nope']) })
    if (this.#r() < 0.3) delete next.status
    const operation = this.#pick(['CREATE', 'UPDATE', 'UPDATE', 'DELETE', 'CONNECT'])
    const r = review({ operation, object: operation === 'DELETE' ? undefined : next, oldObject: operation === 'CREATE' ? undefined : stored, uid })
    return { review: JSON.parse(JSON.stringify(r)) as Record<string, Json>, uid }
  }

  #scalar(): Json {
    return this.#pick<() => Json>([
      () => null,
      () => true,
      () => 0,
      () => -1,
      () => 1.5,
      () => 2 ** 53 + 1,
      () => '',
      () => 'x'.repeat(this.#int(300)),
      () => '\u0000\ud800\uffff',
      () => [],
      () => ({}),
      () => [null, 1, 'a', {}],
      () => ({ uid: 7, kind: [] }),
    ])()
  }

  /** Every [container, key] pair in the tree (objects and arrays), for a random mutation. */
  #slots(root: Json): Array<[Record<string, Json> | Json[], string | number]> {
    const out: Array<[Record<string, Json> | Json[], string | number]> = []
    const walk = (node: Json, depth: number) => {
      if (depth > 12 || node === null || typeof node !== 'object') return
      if (Array.isArray(node)) node.forEach((v, i) => (out.push([node, i]), walk(v, depth + 1)))
      else for (const [k, v] of Object.entries(node)) out.push([node, k]), walk(v, depth + 1)
    }
    walk(root, 0)
    return out
  }

  #mutateTypes(root: Record<string, Json>): string {
    const changes: string[] = []
    const preferred = ['request', 'request.uid', 'request.kind', 'request.operation', 'request.object', 'request.oldObject', 'request.object.spec', 'request.object.metadata', 'request.object.status', 'request.oldObject.status', 'request.object.spec.env', 'request.object.spec.backendRuntime', 'request.oldObject.status.phase', 'apiVersion', 'kind']
    for (let i = 0, n = 1 + this.#int(3); i < n; i++) {
      const value = this.#scalar()
      if (this.#r() < 0.5) {
        const path = this.#pick(preferred).split('.')
        let node: Json = root
        for (const part of path.slice(0, -1)) node = node && typeof node === 'object' && !Array.isArray(node) ? (node[part] ?? null) : null
        if (node && typeof node === 'object' && !Array.isArray(node)) node[path.at(-1) as string] = value
        changes.push(`${path.join('.')}=${typeof value}`)
      } else {
        const slots = this.#slots(root)
        const [container, key] = this.#pick(slots)
        ;(container as Record<string | number, Json>)[key] = value
        changes.push(`${String(key)}=${Array.isArray(value) ? 'array' : typeof value}`)
      }
    }
    return changes.join(', ')
  }

  #json(root: Json, kind: CaseKind, what: string, uid: string | undefined, contentType = 'application/json'): FuzzCase {
    return { kind, what, path: this.#pick(['/mutate-workers', '/validate-workers'] as const), contentType, body: Buffer.from(JSON.stringify(root)), uid }
  }

  /** The next case. `bigLeft` caps the number of megabyte bodies (the caller counts them). */
  next(bigLeft: number): FuzzCase {
    let kind = this.#kind()
    if ((kind === CaseKind.Huge || kind === CaseKind.OverLimit) && bigLeft <= 0) kind = CaseKind.WrongType
    const { review: root, uid } = this.#base()
    const request = root['request'] as Record<string, Json>
    switch (kind) {
      case CaseKind.Valid:
        return this.#json(root, kind, `${request['operation']}`, uid)
      case CaseKind.WrongType: {
        const what = this.#mutateTypes(root)
        const r = root['request']
        const stillUid = r && typeof r === 'object' && !Array.isArray(r) && typeof r['uid'] === 'string' ? r['uid'] : undefined
        return this.#json(root, kind, what, stillUid)
      }
      case CaseKind.Missing: {
        const field = this.#pick(['apiVersion', 'kind', 'request', 'request.uid', 'request.kind', 'request.operation', 'request.object', 'request.oldObject', 'request.kind.kind', 'request.object.metadata', 'request.object.spec', 'request.oldObject.status'])
        const parts = field.split('.')
        let node: Json = root
        for (const part of parts.slice(0, -1)) node = node && typeof node === 'object' && !Array.isArray(node) ? (node[part] ?? null) : null
        if (node && typeof node === 'object' && !Array.isArray(node)) delete node[parts.at(-1) as string]
        return this.#json(root, kind, `without ${field}`, field === 'request' || field === 'request.uid' ? undefined : uid)
      }
      case CaseKind.Deep: {
        const depth = this.#pick([64, 1_000, 2_000, 5_000, 10_000, 100_000])
        const where = this.#pick(['request.object.spec.env', 'request.object.spec', 'request.object.metadata.labels', 'request.oldObject.status', 'request.options', 'request.object'])
        const parts = where.split('.')
        let node: Json = root
        for (const part of parts.slice(0, -1)) node = node && typeof node === 'object' && !Array.isArray(node) ? (node[part] ?? null) : null
        const arrays = this.#r() < 0.5
        // JSON.stringify would recurse that deep: splice the nested text in at a placeholder.
        if (node && typeof node === 'object' && !Array.isArray(node)) node[parts.at(-1) as string] = '@@DEEP@@'
        const text = JSON.stringify(root).replace('"@@DEEP@@"', () => deepText(arrays, depth))
        return { kind, what: `depth ${depth} (${arrays ? 'arrays' : 'objects'}) at ${where}`, path: this.#pick(['/mutate-workers', '/validate-workers']), contentType: 'application/json', body: Buffer.from(text), uid, depth }
      }
      case CaseKind.Huge: {
        const size = this.#pick([64 * 1024, 1024 * 1024, 6 * 1024 * 1024])
        const where = this.#pick(['env', 'label', 'uid', 'name', 'key'])
        const big = 'x'.repeat(size)
        const object = request['object'] as Record<string, any> | null
        if (where === 'uid') request['uid'] = big
        else if (where === 'name') request['name'] = big
        else if (object && where === 'env') object['spec'] = { ...object['spec'], env: { BIG: big } }
        else if (object && where === 'label') object['metadata'] = { ...object['metadata'], labels: { big } }
        else if (object) object['spec'] = { ...object['spec'], [big]: 1 }
        return this.#json(root, kind, `${size} bytes in ${where}`, where === 'uid' ? big : uid)
      }
      case CaseKind.OverLimit: {
        const object = (request['object'] ?? {}) as Record<string, any>
        object['spec'] = { ...object['spec'], env: { BIG: 'x'.repeat(MAX_REQUEST_BYTES + 1024) } }
        request['object'] = object
        return this.#json(root, kind, `${MAX_REQUEST_BYTES + 1024}+ bytes`, undefined)
      }
      case CaseKind.InvalidUtf8: {
        const bytes = Buffer.from(JSON.stringify(root))
        const bad = [[0xff], [0xfe], [0xc3, 0x28], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]
        const pieces: Buffer[] = []
        let at = 0
        const n = 1 + this.#int(5)
        const cuts = Array.from({ length: n }, () => this.#int(bytes.length)).sort((a, b) => a - b)
        for (const cut of cuts) {
          pieces.push(bytes.subarray(at, cut), Buffer.from(this.#pick(bad)))
          at = cut
        }
        pieces.push(bytes.subarray(at))
        return { kind, what: `${n} invalid sequences`, path: this.#pick(['/mutate-workers', '/validate-workers']), contentType: 'application/json', body: Buffer.concat(pieces), uid: undefined }
      }
      case CaseKind.Truncated: {
        const bytes = Buffer.from(JSON.stringify(root))
        const cut = this.#int(bytes.length)
        return { kind, what: `cut at ${cut}/${bytes.length}`, path: this.#pick(['/mutate-workers', '/validate-workers']), contentType: 'application/json', body: bytes.subarray(0, cut), uid: undefined }
      }
      case CaseKind.Garbage: {
        const body = this.#pick<() => Buffer>([
          () => Buffer.alloc(0),
          () => Buffer.from('null'),
          () => Buffer.from('42'),
          () => Buffer.from('"AdmissionReview"'),
          () => Buffer.from('[]'),
          () => Buffer.from('true'),
          () => Buffer.from('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":null}'),
          () => Buffer.from(Array.from({ length: 1 + this.#int(2000) }, () => this.#int(256))),
          () => Buffer.from('<AdmissionReview/>'),
          () => Buffer.from('{"a":1,}'),
          () => Buffer.from('{"request":{"uid":"u"}}{"second":"document"}'),
        ])()
        return { kind, what: `${body.length} bytes`, path: this.#pick(['/mutate-workers', '/validate-workers']), contentType: 'application/json', body, uid: undefined }
      }
      case CaseKind.Escapes: {
        const text = JSON.stringify(root)
        const odd = this.#pick(['"\\ud800"', '"\\udfff\\ud800"', '"\\u0000"', '1e400', '-1e400', '123456789012345678901234567890', '-0', '0.0000000000000000000001', '"\\uD83D\\uDE00"', '"\\/\\b\\f"'])
        // Replace one string or number value by the odd token (keeps the document valid JSON).
        const at = this.#pick([...text.matchAll(/:("[^"\\]*"|-?\d+(?:\.\d+)?)/g)].map((m) => m.index ?? 0))
        const value = /^:("[^"\\]*"|-?\d+(?:\.\d+)?)/.exec(text.slice(at))?.[1] ?? ''
        const body = text.slice(0, at + 1) + odd + text.slice(at + 1 + value.length)
        const parsed = safeParse(body) as { request?: { uid?: unknown } } | undefined
        const echoed = typeof parsed?.request?.uid === 'string' && parsed.request.uid !== '' ? parsed.request.uid : undefined
        return { kind, what: `a value replaced by ${odd}`, path: this.#pick(['/mutate-workers', '/validate-workers']), contentType: 'application/json', body: Buffer.from(body), uid: echoed }
      }
      case CaseKind.ContentType: {
        const contentType = this.#pick([undefined, 'text/plain', 'application/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/yaml'])
        return { ...this.#json(root, kind, `content type ${contentType ?? '(none)'}`, undefined, contentType), contentType }
      }
      case CaseKind.ProtoKeys: {
        const text = JSON.stringify(root)
        const key = this.#pick(['"__proto__":{"allowed":true}', '"constructor":{"prototype":{"allowed":true}}', '"__proto__":null'])
        const at = this.#pick([text.indexOf('"spec":{') + 8, text.indexOf('"request":{') + 11, 1])
        const body = text.slice(0, at) + key + ',' + text.slice(at)
        return { kind, what: key, path: this.#pick(['/mutate-workers', '/validate-workers']), contentType: 'application/json', body: Buffer.from(body), uid: undefined }
      }
    }
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** JSON text of a nested chain without recursion (JSON.stringify would overflow the stack). */
function deepText(arrays: boolean, depth: number): string {
  return arrays ? '['.repeat(depth) + '"bottom"' + ']'.repeat(depth) : '{"a":'.repeat(depth) + '"bottom"' + '}'.repeat(depth)
}
