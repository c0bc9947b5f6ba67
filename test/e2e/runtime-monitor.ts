// Watches, for the one-runtime-per-Worker tests, every Pod, SandboxClaim and Sandbox of one Worker
// name in some namespaces, and the Worker itself, through real watches. Every object's lifetime is
// recorded as an interval of resourceVersions (etcd's global order), so "how many runtimes existed
// at once" and "did the Worker report Stopped while one existed" are answered exactly, not sampled.

import { Watch } from '@kubernetes/client-node'
import { workerPath } from '../../api/worker.ts'
import type { ControlPlane } from '../../localcluster/control-plane.ts'
import { kubeconfigFor } from './reconciler-kit.ts'

interface Meta {
  name?: string
  namespace?: string
  resourceVersion?: string
  labels?: Record<string, string>
  ownerReferences?: Array<{ kind?: string }>
}

/** One runtime object's life: [added, deleted) in resourceVersions; deleted undefined while it exists. */
interface Life {
  what: string
  /** `pod:<ns>/<name>`, or `sandbox` for every claim and Sandbox (one sandbox runtime). */
  runtime: string
  added: number
  deleted: number | undefined
}

const rv = (meta: Meta | undefined): number => Number(meta?.resourceVersion ?? NaN)

/** Records the runtime objects and phases of Worker `worker` (see the file header). */
export class RuntimeMonitor {
  readonly lives: Life[] = []
  /** [resourceVersion, phase] of every Worker version the watch delivered. */
  readonly phases: Array<[number, string | undefined]> = []
  readonly #requests: Array<{ abort(): void }> = []
  readonly #worker: string
  readonly #names: Set<string>

  private constructor(worker: string, prefixes: readonly string[]) {
    this.#worker = worker
    this.#names = new Set(prefixes.map((p) => `${p}worker-${worker}`))
  }

  /** Starts watching `namespaces` (the Worker's own first). */
  static async start(cp: ControlPlane, worker: string, namespaces: readonly string[], prefixes: readonly string[] = ['hiclaw-', 'agentteams-']): Promise<RuntimeMonitor> {
    const m = new RuntimeMonitor(worker, prefixes)
    const watch = new Watch(kubeconfigFor(cp))
    const paths = namespaces.flatMap((ns) => [
      [`/api/v1/namespaces/${ns}/pods`, 'Pod'],
      [`/apis/agents.kruise.io/v1alpha1/namespaces/${ns}/sandboxclaims`, 'SandboxClaim'],
      [`/apis/agents.kruise.io/v1alpha1/namespaces/${ns}/sandboxes`, 'Sandbox'],
    ])
    for (const [path, kind] of paths) {
      m.#requests.push(await watch.watch(path!, {}, (type, obj: { metadata?: Meta }) => m.#runtimeEvent(kind!, type, obj.metadata), () => {}))
    }
    const workers = workerPath(namespaces[0])
    m.#requests.push(await watch.watch(workers, { fieldSelector: `metadata.name=${worker}` }, (_type, obj: { metadata?: Meta; status?: { phase?: string } }) => {
      m.phases.push([rv(obj.metadata), obj.status?.phase])
    }, () => {}))
    return m
  }

  stop(): void {
    for (const r of this.#requests) r.abort()
  }

  #belongs(kind: string, meta: Meta | undefined): boolean {
    // A Pod behind a Sandbox is part of that sandbox runtime, not a runtime of its own.
    if (kind === 'Pod' && (meta?.ownerReferences ?? []).some((r) => r.kind === 'Sandbox')) return false
    const label = meta?.labels?.['agentteams.io/worker']
    return label !== undefined ? label === this.#worker : this.#names.has(meta?.name ?? '')
  }

  #runtimeEvent(kind: string, type: string, meta: Meta | undefined): void {
    if (!this.#belongs(kind, meta)) return
    const what = `${kind} ${meta?.namespace}/${meta?.name}`
    const open = this.lives.find((l) => l.what === what && l.deleted === undefined)
    if (type === 'DELETED') {
      if (open) open.deleted = rv(meta)
      return
    }
    if (!open) this.lives.push({ what, runtime: kind === 'Pod' ? `pod:${meta?.namespace}/${meta?.name}` : 'sandbox', added: rv(meta), deleted: undefined })
  }

  /** The runtimes (each Pod; all sandbox objects as one) that existed at resourceVersion `at`. */
  runtimesAt(at: number): string[] {
    const alive = this.lives.filter((l) => l.added <= at && (l.deleted === undefined || l.deleted > at))
    return [...new Set(alive.map((l) => l.runtime))]
  }

  /** The most runtimes that existed at once, and one moment when they did. */
  mostAtOnce(): { count: number; runtimes: string[] } {
    let best = { count: 0, runtimes: [] as string[] }
    for (const at of this.lives.map((l) => l.added)) {
      const runtimes = this.runtimesAt(at)
      if (runtimes.length > best.count) best = { count: runtimes.length, runtimes }
    }
    return best
  }

  /** The runtimes that existed when the Worker first reported `phase` (from then on, in order). */
  aliveWhen(phase: string): string[] | undefined {
    const first = this.phases.filter(([, p]) => p === phase).sort(([a], [b]) => a - b)[0]
    return first ? this.runtimesAt(first[0]) : undefined
  }

  /** A readable account of what happened, for failure messages. */
  describe(): string {
    return this.lives.map((l) => `${l.what} [${l.added}, ${l.deleted ?? '…'})`).join('; ')
  }
}
