// Where `serve` finds its cluster, in client-node's loadFromDefault order: a kubeconfig, the
// in-cluster environment, or nobody (then the embedded local control plane starts). Kept apart from
// localcluster/ so a production process never loads the local control plane.

import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** Where the Kubernetes connection comes from, in client-node's `loadFromDefault` order. */
export type ClusterSource = 'kubeconfig' | 'in-cluster' | 'local'

/**
 * Decides where to connect: `kubeconfig` when KUBECONFIG is set or ~/.kube/config exists,
 * `in-cluster` when KUBERNETES_SERVICE_HOST is set, otherwise `local` (start the embedded
 * control plane).
 */
export function detectCluster(env: Record<string, string | undefined> = process.env, home: string = homedir()): ClusterSource {
  if (env['KUBECONFIG']) return 'kubeconfig'
  if (existsSync(join(home, '.kube', 'config'))) return 'kubeconfig'
  if (env['KUBERNETES_SERVICE_HOST']) return 'in-cluster'
  return 'local'
}
