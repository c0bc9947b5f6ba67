// Waits until the API server actually enforces Worker admission, not merely stores the
// configuration (it picks configurations up through an informer, so the first requests can slip
// through, docs/local-cluster.md). Each probe is a server-side dry run whose answer shows who
// decided: the mutating webhook's defaults, or a denial of the unsafe backend switch.

import { randomBytes } from 'node:crypto'
import { expectSuccess, type ApiClient } from './api-client.ts'
import { pollUntil } from './polling.ts'
import { createWorker, patchWorkerStatus, workerManifest } from './workers.ts'
import { workerPath } from '../api/worker.ts'

/** The prefix kube-apiserver puts before our validating webhook's message (docs/admission.md). */
export const WEBHOOK_DENIAL_PREFIX = 'admission webhook "validate.workers.agentteams.io" denied the request: '
/** Name of the ValidatingAdmissionPolicy and its binding in manifests/policy/. */
export const POLICY_NAME = 'workers.agentteams.io-backend-runtime'
/** The prefix kube-apiserver puts before the policy's message. */
export const POLICY_DENIAL_PREFIX = `ValidatingAdmissionPolicy '${POLICY_NAME}' with binding '${POLICY_NAME}' denied request: `
/** The Worker the rule probes run against (created once per namespace; legacy: phase Running, no backend). */
const PROBE_WORKER = 'admission-probe'
/** How long the API server may take to start enforcing new configurations (about 1 s when idle). */
const ENFORCEMENT_TIMEOUT_MS = 60_000

/** Waits until a dry-run create of a Worker without backendRuntime/state comes back defaulted. */
export async function waitForDefaulting(api: ApiClient, namespace: string): Promise<void> {
  const name = `defaulting-probe-${randomBytes(3).toString('hex')}`
  await pollUntil('the mutating webhook to default Workers', async () => {
    const response = await api.request('POST', `${workerPath(namespace)}?dryRun=All`, workerManifest(namespace, name))
    if (response.status === 201 && response.body?.spec?.backendRuntime && response.body?.spec?.state) return true
    throw new Error(`dry-run create answered ${response.status} with spec ${JSON.stringify(response.body?.spec ?? response.body?.message)}`)
  }, { timeoutMs: ENFORCEMENT_TIMEOUT_MS })
}

async function ensureLegacyProbeWorker(api: ApiClient, namespace: string): Promise<void> {
  const existing = await api.request('GET', workerPath(namespace, PROBE_WORKER))
  if (existing.status === 404) await createWorker(api, namespace, PROBE_WORKER)
  if (existing.body?.status?.phase !== 'Running') await patchWorkerStatus(api, namespace, PROBE_WORKER, { phase: 'Running' })
}

/** The answer to a dry-run switch of the legacy probe Worker to sandbox. */
async function dryRunUnsafeSwitch(api: ApiClient, namespace: string): Promise<{ status: number; message: string }> {
  await ensureLegacyProbeWorker(api, namespace)
  const response = await api.request(
    'PATCH',
    `${workerPath(namespace, PROBE_WORKER)}?dryRun=All`,
    { spec: { backendRuntime: 'sandbox' } },
    { contentType: 'application/merge-patch+json' },
  )
  return { status: response.status, message: String(response.body?.message ?? '') }
}

/**
 * Waits until the unsafe switch (legacy Worker, phase Running → sandbox) is denied with a message
 * containing `deniedBy` (WEBHOOK_DENIAL_PREFIX or POLICY_DENIAL_PREFIX). Leaves a probe Worker
 * in `namespace`; use a namespace of its own.
 */
export async function waitForBackendRuleEnforced(api: ApiClient, namespace: string, deniedBy: string): Promise<void> {
  await pollUntil(`the unsafe backend switch to be denied by "${deniedBy.trim()}"`, async () => {
    const answer = await dryRunUnsafeSwitch(api, namespace)
    if (answer.status === 403 && answer.message.includes(deniedBy)) return true
    throw new Error(`dry-run switch answered ${answer.status} ${answer.message}`)
  }, { timeoutMs: ENFORCEMENT_TIMEOUT_MS })
}

/** Waits until nothing denies the unsafe switch any more (after removing webhook and policy). */
export async function waitForBackendRuleLifted(api: ApiClient, namespace: string): Promise<void> {
  await pollUntil('the unsafe backend switch to be allowed', async () => {
    const answer = await dryRunUnsafeSwitch(api, namespace)
    if (answer.status === 200) return true
    throw new Error(`dry-run switch answered ${answer.status} ${answer.message}`)
  }, { timeoutMs: ENFORCEMENT_TIMEOUT_MS })
}

/** Deletes the probe Worker the rule probes left in `namespace` (absent is fine). */
export async function removeProbeWorker(api: ApiClient, namespace: string): Promise<void> {
  const response = await api.request('DELETE', workerPath(namespace, PROBE_WORKER))
  if (response.status !== 404) expectSuccess(response, `delete Worker ${namespace}/${PROBE_WORKER}`)
}
