// One real control plane (etcd + kube-apiserver as child processes) with its key material,
// kubeconfig, API client and kubectl: what envtest's Environment is for controller-runtime.
// Ports are picked free and the whole start is retried when another process grabbed one first.
// stop() tears everything down; the exit cleanup covers tests that never reach stop().

import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createApiClient, type ApiClient } from './api-client.ts'
import { startApiserver, type Apiserver } from './apiserver.ts'
import { findKubeBinaries, type KubeBinaries } from './binaries.ts'
import { PortInUseError, startEtcd, type Etcd } from './etcd.ts'
import { cleanUpOnTerminationSignals, onProcessExit, removeDirNow } from './exit-cleanup.ts'
import { runKubectl, type KubectlOptions, type KubectlResult } from './kubectl.ts'
import { renderKubeconfig, writeKubeconfig } from './kubeconfig.ts'
import { createControlPlanePki } from './pki.ts'
import { freePorts, LOOPBACK } from './ports.ts'
import { createOwnedTempDir } from './temp-dirs.ts'

/** Prefix of the temporary directories of control planes (swept when their owner died). */
export const TEMP_DIR_PREFIX = 'wrc-control-plane-'
/** Attempts when a picked port was taken before etcd or kube-apiserver could bind it. */
const PORT_ATTEMPTS = 5

export interface ControlPlaneOptions {
  /**
   * Directory for key material, data, logs and the kubeconfig. When given it is kept after stop()
   * and etcd's data under `<dir>/etcd` persists across starts (local mode). Default: a fresh
   * temporary directory, removed by stop() and at process exit.
   */
  dir?: string
  /** Binaries to use; default: findKubeBinaries({ build: buildBinaries, onProgress }). */
  binaries?: KubeBinaries
  /** Build missing binaries (default: true unless CI=true). */
  buildBinaries?: boolean
  /** Progress lines (binary build, start steps). Default: none. */
  onProgress?: (line: string) => void
  /**
   * Also clean up on SIGINT/SIGTERM/SIGHUP (default true: test processes). A program with its
   * own graceful shutdown passes false and calls stop() itself.
   */
  handleSignals?: boolean
}

/** A running control plane. */
export interface ControlPlane {
  readonly dir: string
  /** https://127.0.0.1:<port> */
  readonly url: string
  /** The admin kubeconfig (YAML) and the file holding it. */
  readonly kubeconfig: string
  readonly kubeconfigPath: string
  /** PEM of the CA that signed the apiserver's serving certificate. */
  readonly caPem: string
  readonly binaries: KubeBinaries
  /** Admin client for the harness's own calls. */
  readonly api: ApiClient
  /** Milliseconds from start call to ready (binaries lookup included). */
  readonly startMs: number
  /** Process ids of etcd and kube-apiserver. */
  readonly pids: readonly number[]
  /** Runs the real kubectl against this control plane as admin. */
  kubectl(args: readonly string[], options?: KubectlOptions): Promise<KubectlResult>
  /** The last lines of etcd's and kube-apiserver's logs, for failure diagnostics. */
  logTails(lines?: number): string
  /** Stops kube-apiserver, then etcd; removes the directory when it was temporary. Idempotent. */
  stop(): Promise<void>
}

async function startProcesses(binaries: KubeBinaries, dir: string, api: (url: string) => ApiClient, pki: Awaited<ReturnType<typeof createControlPlanePki>>, owned: boolean): Promise<{ etcd: Etcd; apiserver: Apiserver; client: ApiClient }> {
  for (let attempt = 1; ; attempt++) {
    const [clientPort, peerPort, securePort] = (await freePorts(3)) as [number, number, number]
    const etcdDir = join(dir, 'etcd')
    if (owned) await rm(etcdDir, { recursive: true, force: true })
    let etcd: Etcd | undefined
    const client = api(`https://${LOOPBACK}:${securePort}`)
    try {
      etcd = await startEtcd({ binary: binaries.etcd, dataDir: etcdDir, logDir: join(dir, 'logs'), clientPort, peerPort })
      const apiserver = await startApiserver(
        { binary: binaries.kubeApiserver, pki, etcdUrl: etcd.clientUrl, securePort, certDir: join(dir, 'apiserver'), logDir: join(dir, 'logs') },
        client,
      )
      return { etcd, apiserver, client }
    } catch (error) {
      client.close()
      await etcd?.process.stop()
      if (!(error instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) throw error
    }
  }
}

/** Starts a control plane and waits until it serves requests (see ControlPlaneOptions). */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const started = Date.now()
  if (options.handleSignals ?? true) cleanUpOnTerminationSignals()
  const progress = options.onProgress ?? ((): void => {})
  const binaries = options.binaries ?? (await findKubeBinaries({ build: options.buildBinaries, onProgress: progress }))
  const owned = options.dir === undefined
  const dir = options.dir ?? (await createOwnedTempDir(TEMP_DIR_PREFIX))
  const unregisterDir = owned ? onProcessExit(() => removeDirNow(dir)) : (): void => {}
  try {
    await Promise.all(['logs', 'apiserver', 'pki', 'kubectl-cache'].map((d) => mkdir(join(dir, d), { recursive: true })))
    const pki = await createControlPlanePki(join(dir, 'pki'))
    progress('starting etcd and kube-apiserver')
    const makeClient = (server: string): ApiClient => createApiClient({ server, caPem: pki.ca.cert, certPem: pki.admin.cert, keyPem: pki.admin.key })
    const { etcd, apiserver, client } = await startProcesses(binaries, dir, makeClient, pki, owned)
    const kubeconfig = renderKubeconfig({ server: apiserver.url, caPem: pki.ca.cert, clientCertPem: pki.admin.cert, clientKeyPem: pki.admin.key })
    const kubeconfigPath = join(dir, 'kubeconfig')
    await writeKubeconfig(kubeconfigPath, kubeconfig)
    const kubectlTarget = { kubectlPath: binaries.kubectl, kubeconfigPath, cacheDir: join(dir, 'kubectl-cache') }
    let stopping: Promise<void> | undefined
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        client.close()
        await apiserver.process.stop()
        await etcd.process.stop()
        if (owned) {
          await rm(dir, { recursive: true, force: true, maxRetries: 3 })
          unregisterDir()
        }
      })())
    return {
      dir,
      url: apiserver.url,
      kubeconfig,
      kubeconfigPath,
      caPem: pki.ca.cert,
      binaries,
      api: client,
      startMs: Date.now() - started,
      pids: [etcd.process.pid, apiserver.process.pid],
      kubectl: (args, kubectlOptions) => runKubectl(kubectlTarget, args, kubectlOptions),
      logTails: (lines = 20) =>
        [etcd.process, apiserver.process].map((p) => `--- ${p.name} (${p.logFile}) ---\n${p.logTail(lines)}`).join('\n'),
      stop,
    }
  } catch (error) {
    if (owned) {
      await rm(dir, { recursive: true, force: true, maxRetries: 3 })
      unregisterDir()
    }
    throw error
  }
}
