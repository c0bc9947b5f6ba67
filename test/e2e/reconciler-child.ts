// A reconciler in its own process, for the leader-election tests: a process can be SIGKILLed (a
// crash: no lease release), which an in-process instance cannot. Prints one JSON line when started;
// closes gracefully on SIGTERM.
//   node reconciler-child.ts <kubeconfig file> <namespace> <lease name> <identity>

import { readFileSync } from 'node:fs'
import { KubeConfig } from '@kubernetes/client-node'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { loadConfig } from '../../config/config.ts'
import { startReconciler } from '../../reconciler/main.ts'
import { LEASE } from './reconciler-lease.ts'

const [kubeconfigPath, namespace, leaseName, identity] = process.argv.slice(2) as [string, string, string, string]
const kubeconfig = new KubeConfig()
kubeconfig.loadFromString(readFileSync(kubeconfigPath, 'utf8'))
const handle = await startReconciler({
  config: loadConfig({}),
  log: pino({ level: process.env['WRC_TEST_LOG'] ?? 'silent' }, pino.destination(2)),
  registry: new Registry(),
  kubeconfig,
  identity,
  overrides: { watchNamespace: namespace, leaderElection: true, leaderElectionNamespace: namespace, leaderElectionId: leaseName, ...LEASE },
})
process.stdout.write(JSON.stringify({ identity, pid: process.pid }) + '\n')
process.once('SIGTERM', () => {
  void handle.close().then(() => process.exit(0))
})
