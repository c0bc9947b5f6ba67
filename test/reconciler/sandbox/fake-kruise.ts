// A stand-in for the API server's agents.kruise.io/v1alpha1 resources, for unit tests of the
// sandbox backend's pieces: objects in memory, discovery, create (uid and creation time set),
// get, label-selected list, delete with a uid precondition, merge patch; a journal of every write;
// and the informer caches the backend reads, answered from the same objects. Anything else is 404.

import type { KubeObject } from '../../../api/meta.ts'
import { KubeError, type KubeClient, type KubeRequest } from '../../../reconciler/controller/kube.ts'
import type { Sandbox, SandboxClaim, SandboxSet } from '../../../reconciler/sandbox/objects.ts'
import type { FakeClock } from '../fake-clock.ts'

const GROUP = '/apis/agents.kruise.io/v1alpha1'
const PATH = /^\/apis\/agents\.kruise\.io\/v1alpha1\/namespaces\/([^/]+)\/(sandboxes|sandboxclaims|sandboxsets)(?:\/([^/]+))?$/

type Stored = SandboxClaim | Sandbox | SandboxSet

const notFound = (what: string) => new KubeError(`${what} not found`, { code: 404, reason: 'NotFound' })

function merge(target: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const inner = (target[k] ??= {}) as Record<string, unknown>
      merge(inner, v as Record<string, unknown>)
    } else target[k] = v
  }
}

/** The fake API: `request` is a KubeClient's; `journal` lists writes as `POST sandboxclaims ns/name`. */
export class FakeKruise implements KubeClient {
  readonly objects = new Map<string, Stored>()
  readonly journal: string[] = []
  /** False: the CRDs are not installed (discovery and every collection answer 404). */
  served = true
  #uids = 0
  readonly #clock: FakeClock

  constructor(clock: FakeClock) {
    this.#clock = clock
  }

  async close(): Promise<void> {}

  async request<T>(req: KubeRequest): Promise<T> {
    if (req.path === GROUP) {
      if (!this.served) throw notFound('group')
      return { resources: [{ name: 'sandboxes' }, { name: 'sandboxclaims' }, { name: 'sandboxsets' }] } as T
    }
    const match = PATH.exec(req.path)
    if (!match || !this.served) throw notFound(req.path)
    const [, namespace, plural, name] = match as unknown as [string, string, string, string | undefined]
    const key = `${plural}/${namespace}/${name ?? ''}`
    const ref = `${plural} ${namespace}/${name ?? ''}`
    switch (req.method) {
      case 'GET': {
        if (name) return structuredClone(this.objects.get(key) ?? (() => { throw notFound(ref) })()) as T
        const selector = Object.fromEntries((req.query?.['labelSelector'] ?? '').split(',').filter(Boolean).map((kv) => kv.split('=')))
        const items = [...this.objects.entries()]
          .filter(([k, o]) => k.startsWith(`${plural}/${namespace}/`) && Object.entries(selector).every(([l, v]) => o.metadata.labels?.[l] === v))
          .map(([, o]) => structuredClone(o))
        return { items } as T
      }
      case 'POST': {
        const body = structuredClone(req.body) as Stored
        const at = `${plural}/${namespace}/${body.metadata.name}`
        if (this.objects.has(at)) throw new KubeError('already exists', { code: 409, reason: 'AlreadyExists' })
        body.metadata.uid = `uid-${++this.#uids}`
        body.metadata.creationTimestamp = new Date(this.#clock.now()).toISOString()
        this.objects.set(at, body)
        this.journal.push(`POST ${plural} ${namespace}/${body.metadata.name}`)
        return structuredClone(body) as T
      }
      case 'DELETE': {
        const found = this.objects.get(key)
        if (!found) throw notFound(ref)
        const uid = (req.body as { preconditions?: { uid?: string } } | undefined)?.preconditions?.uid
        if (uid !== undefined && uid !== found.metadata.uid) throw new KubeError('precondition failed', { code: 409, reason: 'Conflict' })
        this.objects.delete(key)
        this.journal.push(`DELETE ${ref}${uid ? ` uid=${uid}` : ''}`)
        return {} as T
      }
      case 'PATCH': {
        const found = this.objects.get(key)
        if (!found) throw notFound(ref)
        merge(found as unknown as Record<string, unknown>, req.body as Record<string, unknown>)
        this.journal.push(`PATCH ${ref} ${JSON.stringify(req.body)}`)
        return structuredClone(found) as T
      }
      default:
        throw new KubeError(`${req.method} not supported`, { code: 405, reason: 'MethodNotAllowed' })
    }
  }

  /** Puts `obj` in place as if some other writer (the provider, the cache) made it. */
  put(plural: 'sandboxes' | 'sandboxclaims' | 'sandboxsets', obj: Stored): void {
    this.objects.set(`${plural}/${obj.metadata.namespace}/${obj.metadata.name}`, obj)
  }

  claim(namespace: string, name: string): SandboxClaim | undefined {
    return this.objects.get(`sandboxclaims/${namespace}/${name}`) as SandboxClaim | undefined
  }

  /** The informer caches, answered from the objects (`hidden`: claims the cache has not shown yet). */
  caches(hidden = new Set<string>()) {
    const of = <K extends Stored>(plural: string) => [...this.objects.entries()].filter(([k]) => k.startsWith(`${plural}/`)).map(([, o]) => o as K)
    const workerOf = (o: KubeObject) => `${o.metadata?.namespace}/${o.metadata?.labels?.['agentteams.io/worker']}`
    return {
      claims: { get: (name: string, namespace?: string) => (hidden.has(name) ? undefined : this.claim(namespace ?? '', name)) },
      sandboxes: { byOwner: (key: string) => of<Sandbox>('sandboxes').filter((s) => workerOf(s) === key) },
      pools: { get: (name: string, namespace?: string) => this.objects.get(`sandboxsets/${namespace}/${name}`) as SandboxSet | undefined },
    }
  }
}
