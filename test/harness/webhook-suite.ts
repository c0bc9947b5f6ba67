// The set-up every webhook end-to-end file shares: a control plane with the Worker CRD, the real
// webhook server in this process, both webhook configurations registered against it, and a wait
// until the API server enforces both (defaulting and the backend rule). Torn down with the file.

import { WEBHOOK_DENIAL_PREFIX, waitForBackendRuleEnforced, waitForDefaulting } from '../../localcluster/admission-probes.ts'
import type { ControlPlane } from '../../localcluster/control-plane.ts'
import { installCrds } from '../../localcluster/crds.ts'
import { MANIFESTS } from '../../localcluster/manifests.ts'
import { createNamespace } from './namespaces.ts'
import { startSuiteControlPlane, type SuiteTest } from './suite.ts'
import { startTestWebhookServer, type TestWebhookServer } from './webhook-server.ts'
import { registerWebhooks } from '../../localcluster/webhooks.ts'

export interface WebhookSuite {
  cp: ControlPlane
  webhook: TestWebhookServer
  /** Milliseconds from CRD install to both webhooks enforced. */
  enforcedMs: number
}

/** Starts everything and registers its teardown on `t` (webhook server first, then the control plane). */
export async function startWebhookSuite(t: SuiteTest, env: Record<string, string> = {}): Promise<WebhookSuite> {
  const cp = await startSuiteControlPlane(t)
  const started = Date.now()
  await installCrds(cp.api, [MANIFESTS.workerCrd])
  const webhook = await startTestWebhookServer(env)
  t.teardown(() => webhook.close())
  await registerWebhooks(cp.api, [MANIFESTS.mutatingWebhook, MANIFESTS.validatingWebhook], webhook.endpoint)
  const probeNamespace = await createNamespace(cp.api, 'admission-probe')
  await waitForDefaulting(cp.api, probeNamespace)
  await waitForBackendRuleEnforced(cp.api, probeNamespace, WEBHOOK_DENIAL_PREFIX)
  const enforcedMs = Date.now() - started
  t.comment(`CRD installed and webhooks enforced in ${enforcedMs} ms (webhook server ${webhook.endpoint.url})`)
  return { cp, webhook, enforcedMs }
}
