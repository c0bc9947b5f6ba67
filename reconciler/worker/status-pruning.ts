// What the installed Worker CRD keeps of the status this controller writes (docs/runtime-objects.md). A
// CRD's structural schema makes the API server prune every field it does not declare: upstream's
// HEAD CRD has no `status.conditions`, so a status compared as computed would differ from the
// stored one on every pass and be written again forever. Each status write's response is what the
// server kept; a field sent but absent there is pruned, and is left out of later comparisons. A
// field that a later write sees kept (the CRD was upgraded) counts again. Learned per process. The
// read-your-writes overlay (controller/own-writes.ts) hands the next pass what a write returned: already what
// the server kept, so it compares equal.

/** A field path inside the status: `conditions`, `conditions[].observedGeneration`. */
export type FieldPath = string

export interface PrunedFieldsOptions {
  /** Called when a write shows fields newly pruned or newly kept (for one log line each). */
  onChange?: (change: { pruned: FieldPath[]; kept: FieldPath[] }) => void
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)

/** The status fields the API server is known to prune, learned from write responses. */
export class PrunedFields {
  readonly #paths = new Set<FieldPath>()
  readonly #onChange: PrunedFieldsOptions['onChange']

  constructor(options: PrunedFieldsOptions = {}) {
    this.#onChange = options.onChange
  }

  /**
   * Learns from one write: `sent` is what the request set (null and undefined set nothing), `kept`
   * what the server returned. Objects are walked key by key; arrays element by element when the
   * server kept as many elements as were sent.
   */
  learn(sent: unknown, kept: unknown): void {
    const pruned: FieldPath[] = []
    const stayed: FieldPath[] = []
    const walk = (s: unknown, k: unknown, path: string): void => {
      if (Array.isArray(s)) {
        if (Array.isArray(k) && k.length === s.length) s.forEach((item, i) => walk(item, k[i], `${path}[]`))
        return
      }
      if (!isObject(s)) return
      for (const [key, value] of Object.entries(s)) {
        if (value === undefined || value === null) continue
        const at = path ? `${path}.${key}` : key
        if (!isObject(k) || !(key in k)) {
          if (!this.#paths.has(at)) pruned.push(at)
          this.#paths.add(at)
          continue
        }
        if (this.#paths.delete(at)) stayed.push(at)
        walk(value, k[key], at)
      }
    }
    walk(sent, kept, '')
    if (pruned.length > 0 || stayed.length > 0) this.#onChange?.({ pruned, kept: stayed })
  }

  /** True when the server is known to prune `path`. */
  has(path: FieldPath): boolean {
    return this.#paths.has(path)
  }

  /** The pruned paths, sorted. */
  list(): FieldPath[] {
    return [...this.#paths].sort()
  }

  /** A copy of `value` without the pruned paths: what the server would keep of it. */
  strip<T>(value: T): T {
    if (this.#paths.size === 0) return value
    const walk = (v: unknown, path: string): unknown => {
      if (Array.isArray(v)) return v.map((item) => walk(item, `${path}[]`))
      if (!isObject(v)) return v
      const out: Record<string, unknown> = {}
      for (const [key, item] of Object.entries(v)) {
        const at = path ? `${path}.${key}` : key
        if (!this.#paths.has(at)) out[key] = walk(item, at)
      }
      return out
    }
    return walk(value, '') as T
  }
}
