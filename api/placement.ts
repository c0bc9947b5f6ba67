// Where a Worker runs (docs/runtime-objects.md): upstream lets a Worker's process run outside this
// controller's reach — `spec.containerManaged: false` (something else, e.g. systemd, runs it) or
// `spec.deployMode` `Remote` (#988: another cluster) or `Edge` (HEAD: a host outside the cluster).
// For those this controller creates no runtime. Pure.

import type { Worker } from './worker.ts'

/** The deploy modes whose Worker runs outside this cluster. */
export const ELSEWHERE_DEPLOY_MODES: readonly string[] = ['Remote', 'Edge']

/** Why this controller runs no runtime for `worker` (one sentence for its status), or undefined when it does. */
export function runsElsewhere(worker: Worker): string | undefined {
  const spec = worker.spec ?? {}
  if (spec.containerManaged === false) return 'spec.containerManaged is false: something other than this controller runs the Worker, so it creates no runtime for it'
  if (typeof spec.deployMode === 'string' && ELSEWHERE_DEPLOY_MODES.includes(spec.deployMode)) {
    return `spec.deployMode is ${spec.deployMode}: the Worker runs outside this cluster, so this controller creates no runtime for it`
  }
  return undefined
}
