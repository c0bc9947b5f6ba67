// The part of a cluster that makes Pods run, on top of etcd and kube-apiserver: started in the
// order a cluster comes up — kube-controller-manager, kube-scheduler, kwok — then the fake Node is
// registered and awaited (Ready, not-ready taint gone) and namespace `default` has its `default`
// ServiceAccount. Stopped in the reverse order (kwok first), always before kube-apiserver.

import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { ApiClient } from './api-client.ts'
import { requireNodeBinaries, type KubeBinaries, type KwokBinaries } from './binaries.ts'
import { startControllerManager } from './controller-manager.ts'
import { FAKE_NODE_NAME, registerFakeNode, waitForNodeUsable } from './fake-node.ts'
import { startKwok } from './kwok.ts'
import { pollUntil } from './polling.ts'
import type { ManagedProcess } from './processes.ts'
import { startScheduler } from './scheduler.ts'

export interface NodesOptions {
  binaries: KubeBinaries
  kwok: KwokBinaries
  /** The admin kubeconfig every component uses. */
  kubeconfigPath: string
  /** For configuration files and the components' serving certificates. */
  dir: string
  logDir: string
  api: ApiClient
  /** Readiness deadline of each step (default 120 s). */
  timeoutMs?: number
}

/** The running components. */
export interface Nodes {
  /** The fake Node's name. */
  readonly nodeName: string
  /** kube-controller-manager, kube-scheduler, kwok (start order). */
  readonly processes: readonly ManagedProcess[]
  /** Stops kwok, kube-scheduler, kube-controller-manager, in that order. Idempotent. */
  stop(): Promise<void>
}

async function stopAll(started: readonly ManagedProcess[]): Promise<void> {
  for (const child of [...started].reverse()) await child.stop()
}

/** Starts the components and waits until a Pod can run (see the file header). */
export async function startNodes(options: NodesOptions): Promise<Nodes> {
  requireNodeBinaries(options.binaries)
  const timeoutMs = options.timeoutMs ?? 120_000
  const started: ManagedProcess[] = []
  const abortIf = (): string | undefined => started.find((p) => p.hasExited())?.name.concat(' exited')
  try {
    await mkdir(options.dir, { recursive: true })
    const component = { kubeconfigPath: options.kubeconfigPath, dir: options.dir, logDir: options.logDir }
    started.push(await startControllerManager({ binary: options.binaries.kubeControllerManager, ...component }))
    started.push(await startScheduler({ binary: options.binaries.kubeScheduler, ...component }))
    started.push(startKwok({ binaries: options.kwok, kubeconfigPath: options.kubeconfigPath, logDir: options.logDir }))
    await registerFakeNode(options.api)
    await waitForNodeUsable(options.api, FAKE_NODE_NAME, { timeoutMs, abortIf })
    await pollUntil('ServiceAccount default/default (the ServiceAccount controller runs)', async () => ((await options.api.request('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200 ? true : undefined), { timeoutMs, abortIf })
  } catch (error) {
    const tails = started.map((p) => `--- ${p.name} (${p.logFile}) ---\n${p.logTail(20)}`).join('\n')
    await stopAll(started)
    throw new Error(`start nodes: ${(error as Error).message}${tails ? `\n${tails}` : ''}`, { cause: error })
  }
  let stopping: Promise<void> | undefined
  return { nodeName: FAKE_NODE_NAME, processes: started, stop: () => (stopping ??= stopAll(started)) }
}

/** Where the components keep their files inside a control plane's directory. */
export const nodesDir = (controlPlaneDir: string): string => join(controlPlaneDir, 'nodes')
