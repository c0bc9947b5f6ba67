// The embedded local mode behind `npm start` when no cluster is configured: a real etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok with one fake Node, so Pods run
// (all built from Go modules on first use), data under .local/, the Worker CRD, and the webhook
// configurations pointing at this process's webhook server; the admin kubeconfig is written to
// .local/kubeconfig. Reuses the test control-plane harness (test/harness/).

import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Logger } from 'pino'
import { POLICY_NAME, WEBHOOK_DENIAL_PREFIX, removeProbeWorker, waitForBackendRuleEnforced, waitForDefaulting } from './admission-probes.ts'
import { findKubeBinaries, findKwokBinaries } from './binaries.ts'
import { startControlPlane, type ControlPlane } from './control-plane.ts'
import { installCrds } from './crds.ts'
import { MANIFESTS, OPENKRUISE_CRDS } from './manifests.ts'
import { ensureNamespace } from './namespaces.ts'
import { registerWebhooks, unregisterWebhooks } from './webhooks.ts'

/** Where the local mode keeps its data, key material, logs and kubeconfig (git-ignored). */
export const LOCAL_DIR = '.local'
/** Namespace of the local mode's admission probe (the controller's namespace in a real install). */
const PROBE_NAMESPACE = 'agentteams-system'
/** The webhook configurations the local mode installs. */
const WEBHOOK_FILES = [MANIFESTS.mutatingWebhook, MANIFESTS.validatingWebhook]

export interface LocalControlPlaneOptions {
  log: Pick<Logger, 'info' | 'warn'>
  /**
   * The running webhook server (`startWebhookServer`'s result): the API server calls `url` plus
   * each webhook's path. Without it no webhook configuration is installed, and stale ones from an
   * earlier run are removed (with failurePolicy Fail they would block every Worker write).
   */
  webhook?: { url: string }
  /** PEM file of the CA that signed the webhook's serving certificate (e.g. certs/ca.crt). */
  caFile?: string
  /** The same CA as PEM text (wins over caFile). */
  caPem?: string
  /** Data directory (default .local, relative to the working directory). */
  dir?: string
}

/** A running local control plane. */
export interface LocalControlPlane {
  /** Absolute path of the admin kubeconfig (.local/kubeconfig). */
  kubeconfigPath: string
  /** The kubeconfig's YAML (for `KubeConfig.loadFromString`). */
  kubeconfig: string
  /** https://127.0.0.1:<port> */
  url: string
  /** The lines to show a user: `export KUBECONFIG=...` and kubectl commands to try. */
  welcome(): string
  /** Writes welcome() to `out`. */
  printWelcome(out: NodeJS.WritableStream): void
  /**
   * Stops kwok, kube-scheduler, kube-controller-manager, kube-apiserver and etcd, in that order
   * (data stays in .local/etcd for the next start). Idempotent.
   */
  close(): Promise<void>
}

/** Raised when the local control plane cannot start; the message says why. */
export class LocalControlPlaneError extends Error {
  override name = 'LocalControlPlaneError'
}

/**
 * One local control plane per data directory (a second etcd would wait forever on the first's
 * flocked database): `<dir>/lock` holds the owner's pid; a lock whose owner is gone is taken over.
 */
async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const lock = join(dir, 'lock')
  const owner = Number(await readFile(lock, 'utf8').catch(() => '0'))
  if (owner > 0) {
    let running = true
    try {
      process.kill(owner, 0)
    } catch (error) {
      running = (error as NodeJS.ErrnoException).code === 'EPERM'
    }
    if (running) throw new LocalControlPlaneError(`start local control plane in ${dir}: already used by process ${owner}`)
  }
  await writeFile(lock, String(process.pid))
  return () => rm(lock, { force: true })
}

function welcomeText(kubeconfigPath: string, url: string, withWebhooks: boolean, binDir: string, nodeName: string): string {
  const lines = [
    `Local Kubernetes control plane ready at ${url} (data in ${LOCAL_DIR}/): etcd, kube-apiserver,`,
    `kube-controller-manager, kube-scheduler, and kwok playing the kubelet of the fake Node ${nodeName}`,
    '(Pods are scheduled and reported Running; no container is started).',
    'In another shell:',
    '',
    `  export KUBECONFIG=${kubeconfigPath}`,
    `  export PATH=${binDir}:$PATH   # the kubectl built with the control plane`,
    '  kubectl get nodes',
    '  kubectl create namespace demo',
    "  printf 'apiVersion: agentteams.io/v1beta1\\nkind: Worker\\nmetadata: {name: alice, namespace: demo}\\nspec: {runtime: openclaw}\\n' | kubectl apply -f -",
    '  kubectl get workers,pods -n demo',
    '  kubectl get worker alice -n demo -o yaml',
  ]
  if (withWebhooks) {
    lines.push(
      "  kubectl patch worker alice -n demo --type=merge -p '{\"spec\":{\"backendRuntime\":\"sandbox\"}}'   # denied",
      "  kubectl patch worker alice -n demo --type=merge -p '{\"spec\":{\"state\":\"Stopped\"}}'",
      "  kubectl patch worker alice -n demo --type=merge -p '{\"spec\":{\"backendRuntime\":\"sandbox\",\"state\":\"Running\"}}'   # allowed once Stopped",
    )
  }
  return `${lines.join('\n')}\n`
}

/**
 * Starts (or restarts, keeping its data) the local control plane: builds the Kubernetes binaries
 * when missing (progress through `log`), starts etcd and kube-apiserver, installs the Worker CRD,
 * registers the webhook configurations against `webhook` and waits until the API server enforces
 * them. Start the webhook server first, and the reconciler after this returns (the enforcement
 * probe briefly creates a Worker in namespace agentteams-system and deletes it again).
 * Signals are the caller's: call close() on SIGINT/SIGTERM; if the process dies anyway, the
 * children are killed by the harness's exit cleanup and parent-death signal.
 */
export async function startLocalControlPlane(options: LocalControlPlaneOptions): Promise<LocalControlPlane> {
  const { log } = options
  const dir = resolve(options.dir ?? LOCAL_DIR)
  await mkdir(dir, { recursive: true })
  const releaseLock = await acquireLock(dir)
  let cp: ControlPlane | undefined
  try {
    const binaries = await findKubeBinaries({ build: true, onProgress: (line) => log.info(line) })
    const kwok = await findKwokBinaries({ build: true, onProgress: (line) => log.info(line) })
    log.info(`starting the local control plane in ${dir}`)
    cp = await startControlPlane({ dir, binaries, kwok, nodes: true, handleSignals: false, onProgress: (line) => log.info(line) })
    log.info(`control plane ready at ${cp.url} in ${cp.startMs} ms (fake Node ${cp.nodeName} Ready)`)
    await installCrds(cp.api, [MANIFESTS.workerCrd, ...OPENKRUISE_CRDS])
    if (options.webhook) {
      const caPem = options.caPem ?? (options.caFile ? await readFile(options.caFile, 'utf8') : undefined)
      if (!caPem) throw new LocalControlPlaneError('start local control plane: the webhook needs caPem or caFile (the CA of its serving certificate)')
      await registerWebhooks(cp.api, WEBHOOK_FILES, { url: options.webhook.url, caPem })
      await ensureNamespace(cp.api, PROBE_NAMESPACE)
      await waitForDefaulting(cp.api, PROBE_NAMESPACE)
      await waitForBackendRuleEnforced(cp.api, PROBE_NAMESPACE, WEBHOOK_DENIAL_PREFIX)
      await removeProbeWorker(cp.api, PROBE_NAMESPACE)
      log.info(`webhook configurations installed and enforced (calling ${options.webhook.url})`)
    } else {
      await unregisterWebhooks(cp.api, WEBHOOK_FILES)
      log.warn(`webhook disabled: no webhook configurations installed (the ValidatingAdmissionPolicy ${POLICY_NAME} in manifests/policy/ is the alternative)`)
    }
  } catch (error) {
    await cp?.stop()
    await releaseLock()
    if (error instanceof LocalControlPlaneError) throw error
    throw new LocalControlPlaneError(`start local control plane in ${dir}: ${(error as Error).message}`, { cause: error })
  }
  const running = cp
  const welcome = (): string => welcomeText(running.kubeconfigPath, running.url, options.webhook !== undefined, running.binaries.dir, running.nodeName ?? '')
  let closing: Promise<void> | undefined
  return {
    kubeconfigPath: running.kubeconfigPath,
    kubeconfig: running.kubeconfig,
    url: running.url,
    welcome,
    printWelcome: (out) => {
      out.write(welcome())
    },
    close: () =>
      (closing ??= (async () => {
        await running.stop()
        await releaseLock()
      })()),
  }
}
