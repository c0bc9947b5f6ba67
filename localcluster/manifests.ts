// The project's manifests as objects: where they live (manifests/) and how they are read (every
// YAML document of a file). The harness installs them unchanged, except the webhook clientConfig
// rewrite in webhooks.ts.

import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import type { ObjectMeta } from '../api/meta.ts'

const path = (relative: string): string => fileURLToPath(new URL(`../manifests/${relative}`, import.meta.url))

/** Paths of the manifests the harness and the local mode install. */
export const MANIFESTS = {
  workerCrd: path('crd/workers.agentteams.io.yaml'),
  mutatingWebhook: path('webhooks/mutating.yaml'),
  validatingWebhook: path('webhooks/validating.yaml'),
  validatingAdmissionPolicy: path('policy/validating-admission-policy.yaml'),
} as const

/**
 * Our test CRDs of the OpenKruise Agents kinds the sandbox backend uses (no OpenKruise controller
 * runs here; tests play its part, the local mode leaves claims pending).
 */
export const OPENKRUISE_CRDS = ['sandboxes', 'sandboxclaims', 'sandboxsets'].map((plural) =>
  path(`openkruise/${plural}.agents.kruise.io.yaml`),
)

/** A Kubernetes object as parsed from YAML: named metadata (api/meta.ts), the rest as written. */
export interface Manifest {
  apiVersion: string
  kind: string
  metadata: ObjectMeta & { name: string }
  [key: string]: any
}

/** Raised when a manifest file cannot be read or parsed. */
export class ManifestError extends Error {
  override name = 'ManifestError'
}

/** Every non-empty YAML document of `file`, in order. */
export async function loadManifests(file: string): Promise<Manifest[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    throw new ManifestError(`read manifest ${file}: ${(cause as Error).message}`, { cause })
  }
  const objects: Manifest[] = []
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new ManifestError(`parse manifest ${file}: ${doc.errors[0]?.message}`)
    const value = doc.toJS() as Manifest | null
    if (value === null || value === undefined) continue
    if (!value.apiVersion || !value.kind || !value.metadata?.name) {
      throw new ManifestError(`parse manifest ${file}: a document lacks apiVersion, kind or metadata.name`)
    }
    objects.push(value)
  }
  return objects
}
