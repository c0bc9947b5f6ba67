// Starts kube-controller-manager for one control plane with the controllers a controller under
// test relies on in a real cluster: the garbage collector (owner references), namespace deletion,
// node lifecycle (clears a new Node's not-ready taint once it reports Ready), the ServiceAccount
// controller (every namespace gets `default`) and the Pod garbage collector. One instance: no
// leader election.

import { join } from 'node:path'
import type { ManagedProcess } from './processes.ts'
import { LOOPBACK } from './ports.ts'
import { startServingComponent } from './serving-component.ts'

/** The controllers it runs (names of `kube-controller-manager --controllers`, v1.36). */
export const CONTROLLERS = [
  'garbage-collector-controller',
  'namespace-controller',
  'node-lifecycle-controller',
  'serviceaccount-controller',
  'pod-garbage-collector-controller',
] as const

/**
 * How often node lifecycle looks at Nodes (default 5 s): 1 s lets a new fake Node lose its
 * not-ready taint within a second of turning Ready, which is most of a control plane's start.
 */
const NODE_MONITOR_PERIOD = '1s'

export interface ControllerManagerOptions {
  binary: string
  kubeconfigPath: string
  /** Holds the component's self-signed serving certificate. */
  dir: string
  logDir: string
}

/** The command-line flags for a given secure port, exported so a reader sees them in one place. */
export function controllerManagerArgs(options: ControllerManagerOptions, securePort: number): string[] {
  return [
    `--kubeconfig=${options.kubeconfigPath}`,
    '--leader-elect=false',
    `--controllers=${CONTROLLERS.join(',')}`,
    `--node-monitor-period=${NODE_MONITOR_PERIOD}`,
    `--bind-address=${LOOPBACK}`,
    `--secure-port=${securePort}`,
    `--cert-dir=${join(options.dir, 'kube-controller-manager-certs')}`,
  ]
}

/** Starts kube-controller-manager and resolves once its /healthz answers ok. */
export function startControllerManager(options: ControllerManagerOptions): Promise<ManagedProcess> {
  return startServingComponent({
    name: 'kube-controller-manager',
    binary: options.binary,
    logFile: join(options.logDir, 'kube-controller-manager.log'),
    args: (port) => controllerManagerArgs(options, port),
  })
}
