// Field validation of a Worker that the CRD schema also states, repeated here so the webhook can
// guard an upstream-installed CRD and name the field in its message. Pure; returns messages.

import { AGENT_RUNTIMES, BACKEND_RUNTIMES, WORKER_STATES, type Worker } from './worker.ts'

function checkEnum(path: string, value: unknown, allowed: readonly string[]): string | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (typeof value === 'string' && allowed.includes(value)) return undefined
  return `${path}: Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((v) => `"${v}"`).join(', ')}`
}

/** Every enum violation in the Worker's spec, one message each naming the field; empty when valid. */
export function validateWorkerFields(worker: Worker): string[] {
  const spec = worker.spec ?? {}
  return [
    checkEnum('spec.backendRuntime', spec.backendRuntime, BACKEND_RUNTIMES),
    checkEnum('spec.state', spec.state, WORKER_STATES),
    checkEnum('spec.runtime', spec.runtime, AGENT_RUNTIMES),
  ].filter((m): m is string => m !== undefined)
}
