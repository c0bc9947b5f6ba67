// Starts kube-scheduler for one control plane: it binds Pods to the fake Node (a Pod needs
// `spec.nodeName` before kwok plays its kubelet). Configured by file, as kubeadm does (the
// --kubeconfig flag is deprecated): the admin kubeconfig, no leader election (one scheduler).

import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type { ManagedProcess } from './processes.ts'
import { LOOPBACK } from './ports.ts'
import { startServingComponent } from './serving-component.ts'

export interface SchedulerOptions {
  binary: string
  kubeconfigPath: string
  /** Holds the configuration file and the component's self-signed serving certificate. */
  dir: string
  logDir: string
}

/** The KubeSchedulerConfiguration the scheduler runs with. */
export function schedulerConfiguration(kubeconfigPath: string): Record<string, unknown> {
  return {
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    clientConnection: { kubeconfig: kubeconfigPath },
    leaderElection: { leaderElect: false },
  }
}

/** Starts kube-scheduler and resolves once its /healthz answers ok. */
export async function startScheduler(options: SchedulerOptions): Promise<ManagedProcess> {
  const config = join(options.dir, 'kube-scheduler.yaml')
  await writeFile(config, stringify(schedulerConfiguration(options.kubeconfigPath)))
  return startServingComponent({
    name: 'kube-scheduler',
    binary: options.binary,
    logFile: join(options.logDir, 'kube-scheduler.log'),
    args: (port) => [`--config=${config}`, `--bind-address=${LOOPBACK}`, `--secure-port=${port}`, `--cert-dir=${join(options.dir, 'kube-scheduler-certs')}`],
  })
}
