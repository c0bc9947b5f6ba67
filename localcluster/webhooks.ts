// Registers the project's webhook configurations against a webhook server outside the cluster
// (envtest's ModifyWebhookDefinitions, docs/local-cluster.md): each webhook's clientConfig becomes
// `url: https://127.0.0.1:<port><path>` plus the server's CA bundle, then create-or-update.
// Whether the API server already enforces them is a separate wait (admission-probes.ts).

import { caBundle } from '../certs/certs.ts'
import type { ApiClient } from './api-client.ts'
import { loadManifests, type Manifest } from './manifests.ts'
import { applyObject, deleteObject } from './objects.ts'

/** Kinds whose `webhooks[].clientConfig` the rewrite touches. */
const WEBHOOK_KINDS = new Set(['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'])

/** Where the webhook server listens and the CA that signed its serving certificate. */
export interface WebhookEndpoint {
  /** Base URL of the server, e.g. https://127.0.0.1:9443 (must match a SAN of its certificate). */
  url: string
  /** PEM of the CA that signed the server's certificate. */
  caPem: string
}

/** Raised when a configuration cannot be rewritten (no path to call). */
export class WebhookConfigurationError extends Error {
  override name = 'WebhookConfigurationError'
}

/** A copy of `configuration` whose every webhook calls `endpoint` at its own path. */
export function rewriteClientConfig(configuration: Manifest, endpoint: WebhookEndpoint): Manifest {
  if (!WEBHOOK_KINDS.has(configuration.kind)) return configuration
  const base = endpoint.url.replace(/\/+$/, '')
  const copy = structuredClone(configuration)
  for (const webhook of copy['webhooks'] as Array<{ name: string; clientConfig: any }>) {
    const clientConfig = webhook.clientConfig ?? {}
    const path: string | undefined = clientConfig.service?.path ?? (clientConfig.url ? new URL(clientConfig.url).pathname : undefined)
    if (!path) throw new WebhookConfigurationError(`rewrite ${configuration.kind} ${configuration.metadata.name}: webhook ${webhook.name} has no path`)
    webhook.clientConfig = { url: `${base}${path.startsWith('/') ? path : `/${path}`}`, caBundle: caBundle(endpoint.caPem) }
  }
  return copy
}

/**
 * Creates or updates the webhook configurations in `files`, rewritten to call `endpoint`; returns
 * what was applied. Start the webhook server first: with failurePolicy Fail, matching requests fail
 * until it listens.
 */
export async function registerWebhooks(api: ApiClient, files: readonly string[], endpoint: WebhookEndpoint): Promise<Manifest[]> {
  const configurations = (await Promise.all(files.map(loadManifests))).flat().map((c) => rewriteClientConfig(c, endpoint))
  for (const configuration of configurations) await applyObject(api, configuration)
  return configurations
}

/** Deletes the webhook configurations in `files` (absent ones are fine). */
export async function unregisterWebhooks(api: ApiClient, files: readonly string[]): Promise<void> {
  for (const configuration of (await Promise.all(files.map(loadManifests))).flat()) await deleteObject(api, configuration)
}
