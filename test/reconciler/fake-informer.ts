// A stand-in for client-node's ListWatch and the API server behind it, for unit tests of the
// informer supervisor and the controller: the test decides when lists fail and when watches go silent.

import type { CacheInformer } from '../../reconciler/controller/informer.ts'
import type { V1ObjectMeta } from '@kubernetes/client-node'

export interface Obj {
  metadata: Required<Pick<V1ObjectMeta, 'name' | 'namespace' | 'resourceVersion'>>
}
export const obj = (name: string, rv: number): Obj => ({ metadata: { name, namespace: 'ns', resourceVersion: String(rv) } })

/** A stand-in for client-node's ListWatch whose list and watch the test controls. */
export class FakeInformer implements CacheInformer<Obj> {
  private readonly handlers: Record<string, Array<(x?: any) => void>> = { add: [], update: [], delete: [], error: [], connect: [] }
  readonly cache = new Map<string, Obj>()
  stopped = false
  private readonly server: FakeServer
  constructor(server: FakeServer) {
    this.server = server
  }
  on(verb: string, cb: (x?: any) => void): void {
    this.handlers[verb]!.push(cb)
  }
  async start(): Promise<void> {
    if (this.server.failStarts > 0) {
      this.server.failStarts--
      for (const cb of this.handlers['error']!) cb(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
      return
    }
    for (const o of this.server.objects.values()) {
      this.cache.set(o.metadata.name, o)
      for (const cb of this.handlers['add']!) cb(o)
    }
    this.server.watchers.add(this)
  }
  async stop(): Promise<void> {
    this.stopped = true
    this.server.watchers.delete(this)
  }
  get(name: string): Obj | undefined {
    return this.cache.get(name)
  }
  list(): Obj[] {
    return [...this.cache.values()]
  }
  deliver(verb: 'add' | 'update' | 'delete', o: Obj): void {
    if (verb === 'delete') this.cache.delete(o.metadata.name)
    else this.cache.set(o.metadata.name, o)
    for (const cb of this.handlers[verb]!) cb(o)
  }
  fail(error: Error): void {
    for (const cb of this.handlers['error']!) cb(error)
  }
}

/** The "API server": objects, live watchers, and a switch that silences watches. */
export class FakeServer {
  objects = new Map<string, Obj>()
  watchers = new Set<FakeInformer>()
  failStarts = 0
  silent = false
  rv = 100
  created = 0
  put(name: string): Obj {
    const o = obj(name, ++this.rv)
    const verb = this.objects.has(name) ? 'update' : 'add'
    this.objects.set(name, o)
    if (!this.silent) for (const w of this.watchers) w.deliver(verb, o)
    return o
  }
  remove(name: string): void {
    const o = this.objects.get(name)!
    this.objects.delete(name)
    if (!this.silent) for (const w of this.watchers) w.deliver('delete', o)
  }
}

