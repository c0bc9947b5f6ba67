// Starts kwok, the kubelet of the fake Node: it drives the Nodes annotated as kwok's and every
// Pod bound to them through the Stage files of its module (Node Ready with a lease heartbeat; Pod
// Running and Ready with an IP; a deleted Pod gone). kwok serves nothing here (no
// --server-address), so it is ready when its Node is (fake-node.ts waits for that).

import { join } from 'node:path'
import type { KwokBinaries } from './binaries.ts'
import { startProcess, type ManagedProcess } from './processes.ts'

/** The annotation (key=value) that hands a Node to kwok; real Nodes never carry it. */
export const KWOK_NODE_ANNOTATION = { key: 'kwok.x-k8s.io/node', value: 'fake' } as const
/**
 * Pod IPs kwok hands out. It must not overlap the Service CIDR (10.0.0.0/24, apiserver.ts), which
 * kwok's own default (10.0.0.0/24) does; 10.244.0.0/16 is kubeadm's usual Pod network.
 */
export const POD_CIDR = '10.244.0.0/16'
/** The fake Node's InternalIP (and so its Pods' hostIP): it runs on this machine. */
const NODE_IP = '127.0.0.1'
/** Lease duration of the fake Node (the kubelet's default); kwok renews it well within. */
const NODE_LEASE_SECONDS = 40

export interface KwokOptions {
  binaries: KwokBinaries
  kubeconfigPath: string
  logDir: string
}

/** The command-line flags, exported so a reader sees them in one place. */
export function kwokArgs(options: KwokOptions): string[] {
  return [
    `--kubeconfig=${options.kubeconfigPath}`,
    '--manage-all-nodes=false',
    `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION.key}=${KWOK_NODE_ANNOTATION.value}`,
    `--cidr=${POD_CIDR}`,
    `--node-ip=${NODE_IP}`,
    `--node-lease-duration-seconds=${NODE_LEASE_SECONDS}`,
    ...options.binaries.stageFiles.map((file) => `--config=${file}`),
  ]
}

/** Starts kwok (it connects and takes over its Nodes on its own). */
export function startKwok(options: KwokOptions): ManagedProcess {
  return startProcess({ name: 'kwok', command: options.binaries.kwok, args: kwokArgs(options), logFile: join(options.logDir, 'kwok.log') })
}
