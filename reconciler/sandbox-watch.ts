// The watches the sandbox backend needs (product.md §8): Sandboxes and SandboxClaims labelled for
// this controller, each change enqueuing the Worker named by its `agentteams.io/worker` label.
// When the OpenKruise CRDs are absent their lists fail with 404 and the supervisor keeps retrying,
// so installing the CRDs later starts the watches without a restart.

import type { KubeConfig } from '@kubernetes/client-node'
import { LABEL_WORKER } from '../api/worker.ts'
import { ownedSelector, type RuntimeNaming } from './backend.ts'
import type { WatchSource } from './controller.ts'
import { createListWatch, type KubeClient, listCollection, resourcePath } from './kube.ts'
import { SANDBOX_GROUP, SANDBOX_VERSION, SandboxPlural } from './sandbox-objects.ts'

/** The metadata a watched sandbox object is mapped by. */
export interface LabelledObject {
  apiVersion?: string
  kind?: string
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> }
}

export interface SandboxWatchOptions {
  kubeconfig: KubeConfig
  kube: KubeClient
  naming: RuntimeNaming
  /** Watch one namespace; empty or undefined: all namespaces. */
  namespace?: string | undefined
}

/** `namespace/worker` of the Worker an object belongs to, or nothing for an unlabelled one. */
export function workerKeys(obj: LabelledObject): string[] {
  const worker = obj.metadata?.labels?.[LABEL_WORKER]
  return worker ? [`${obj.metadata?.namespace ?? ''}/${worker}`] : []
}

/** Watch sources for Sandboxes and SandboxClaims, to add to the Worker controller's sources. */
export function sandboxWatchSources(options: SandboxWatchOptions): WatchSource<LabelledObject & { metadata: NonNullable<LabelledObject['metadata']> }>[] {
  const kinds = [
    ['Sandbox', SandboxPlural.Sandbox],
    ['SandboxClaim', SandboxPlural.SandboxClaim],
  ] as const
  return kinds.map(([kind, plural]) => {
    const collection = {
      path: resourcePath({ group: SANDBOX_GROUP, version: SANDBOX_VERSION, plural, namespace: options.namespace || undefined }),
      labelSelector: ownedSelector(options.naming),
    }
    return {
      kind,
      create: () => createListWatch<{ apiVersion: string; kind: string; metadata: NonNullable<LabelledObject['metadata']> }>(options.kubeconfig, options.kube, collection),
      list: () => listCollection(options.kube, collection),
      keys: workerKeys,
    }
  })
}
