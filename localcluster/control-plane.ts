// One real control plane (etcd + kube-apiserver as child processes) with its key material,
// kubeconfig, API client and kubectl: what envtest's Environment is for controller-runtime; with
// `nodes`, also kube-controller-manager, kube-scheduler, kwok and a fake Node, so Pods run (nodes.ts).
// Ports are picked free and the whole start is retried when another process grabbed one first.
// kube-apiserver can be restarted or frozen in place (fault tests); the other components ride it
// out. stop() tears everything down, kube-apiserver before etcd; the exit cleanup covers tests
// that never reach stop().

import { readdirSync, readFileSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { createApiClient, type ApiClient } from './api-client.ts'
import { startApiserver, type Apiserver, type ApiserverOptions } from './apiserver.ts'
import { findKubeBinaries, findKwokBinaries, requireNodeBinaries, type KubeBinaries, type KwokBinaries } from './binaries.ts'
import { PortInUseError, startEtcd, type Etcd } from './etcd.ts'
import { cleanUpOnTerminationSignals, onProcessExit, removeDirNow } from './exit-cleanup.ts'
import { runKubectl, type KubectlOptions, type KubectlResult } from './kubectl.ts'
import { renderKubeconfig, writeKubeconfig } from './kubeconfig.ts'
import { createControlPlanePki } from './pki.ts'
import { nodesDir, startNodes, type Nodes } from './nodes.ts'
import { pollUntil } from './polling.ts'
import { freePorts, LOOPBACK } from './ports.ts'
import { createOwnedTempDir } from './temp-dirs.ts'

/** Prefix of the temporary directories of control planes (swept when their owner died). */
export const TEMP_DIR_PREFIX = 'wrc-control-plane-'
/** Attempts when a picked port was taken before etcd or kube-apiserver could bind it. */
const PORT_ATTEMPTS = 5
/**
 * SIGTERM → SIGKILL grace of a restart: kube-apiserver stops accepting at once but keeps open
 * watches alive until they end (minutes), so a restart cannot wait for a clean exit.
 */
export const RESTART_GRACE_MS = 3_000

export interface ControlPlaneOptions {
  /**
   * Directory for key material, data, logs and the kubeconfig. When given it is kept after stop()
   * and etcd's data under `<dir>/etcd` persists across starts (local mode). Default: a fresh
   * temporary directory, removed by stop() and at process exit.
   */
  dir?: string
  /** Binaries to use; default: findKubeBinaries({ build: buildBinaries, onProgress }). */
  binaries?: KubeBinaries
  /**
   * Pods run: kube-controller-manager (garbage collector, namespace deletion, node lifecycle,
   * ServiceAccounts), kube-scheduler, kwok and one fake Node, and kube-apiserver's ServiceAccount
   * admission on (a Pod needs its ServiceAccount, as in any cluster). Default false: etcd and
   * kube-apiserver only, for tests that never create a Pod or delete a namespace.
   */
  nodes?: boolean
  /** kwok and its Stage files (with `nodes`); default: findKwokBinaries(...) like `binaries`. */
  kwok?: KwokBinaries
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
  /**
   * Process ids of etcd and the current kube-apiserver (a restart changes the second), then, with
   * `nodes`, kube-controller-manager, kube-scheduler and kwok.
   */
  readonly pids: readonly number[]
  /** The fake Node's name when `nodes` is on (Pods are bound to it), else undefined. */
  readonly nodeName: string | undefined
  /** Runs the real kubectl against this control plane as admin. */
  kubectl(args: readonly string[], options?: KubectlOptions): Promise<KubectlResult>
  /** The last lines of every component's log, for failure diagnostics. */
  logTails(lines?: number): string
  /**
   * Restarts kube-apiserver on the same port, flags, certificates and etcd (data kept): SIGTERM,
   * SIGKILL after RESTART_GRACE_MS, start again, resolve once /readyz is ok and namespace
   * `default` answers. Clients see connection errors meanwhile; open watches are cut.
   */
  restartApiserver(): Promise<void>
  /**
   * Freezes kube-apiserver (SIGSTOP): connections open and requests hang, none is answered, no
   * watch event flows — a hung API server, not a down one. Resolves once every thread of the
   * process has stopped. Undo with resumeApiserver(); stop() and restartApiserver() resume it first.
   */
  pauseApiserver(): Promise<void>
  /** Thaws a paused kube-apiserver (SIGCONT) and resolves once /readyz is ok again. */
  resumeApiserver(): Promise<void>
  /**
   * Stops kwok, kube-scheduler, kube-controller-manager (with `nodes`), kube-apiserver, then etcd;
   * removes the directory when it was temporary. Idempotent.
   */
  stop(): Promise<void>
}

async function startProcesses(binaries: KubeBinaries, dir: string, api: (url: string) => ApiClient, pki: Awaited<ReturnType<typeof createControlPlanePki>>, owned: boolean, serviceAccountAdmission: boolean): Promise<{ etcd: Etcd; apiserver: Apiserver; options: ApiserverOptions; client: ApiClient }> {
  for (let attempt = 1; ; attempt++) {
    const [clientPort, peerPort, securePort] = (await freePorts(3)) as [number, number, number]
    const etcdDir = join(dir, 'etcd')
    if (owned) await rm(etcdDir, { recursive: true, force: true })
    let etcd: Etcd | undefined
    const client = api(`https://${LOOPBACK}:${securePort}`)
    try {
      etcd = await startEtcd({ binary: binaries.etcd, dataDir: etcdDir, logDir: join(dir, 'logs'), clientPort, peerPort })
      const options: ApiserverOptions = { binary: binaries.kubeApiserver, pki, etcdUrl: etcd.clientUrl, securePort, certDir: join(dir, 'apiserver'), logDir: join(dir, 'logs'), serviceAccountAdmission }
      const apiserver = await startApiserver(options, client)
      return { etcd, apiserver, options, client }
    } catch (error) {
      client.close()
      await etcd?.process.stop()
      if (!(error instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) throw error
    }
  }
}

/** True when every thread of `pid` is in state T (stopped) per /proc/<pid>/task/<tid>/stat. */
function allThreadsStopped(pid: number): boolean {
  const tasks = readdirSync(`/proc/${pid}/task`)
  return tasks.every((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    // Field 3, after the parenthesized command name (which may itself hold spaces or parentheses).
    return /^[Tt]$/.test(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '')
  })
}

/** Starts a control plane and waits until it serves requests (see ControlPlaneOptions). */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const started = Date.now()
  if (options.handleSignals ?? true) cleanUpOnTerminationSignals()
  const progress = options.onProgress ?? ((): void => {})
  const binaries = options.binaries ?? (await findKubeBinaries({ build: options.buildBinaries, onProgress: progress }))
  const withNodes = options.nodes ?? false
  if (withNodes) requireNodeBinaries(binaries)
  const kwok = withNodes ? (options.kwok ?? (await findKwokBinaries({ build: options.buildBinaries, onProgress: progress }))) : undefined
  const owned = options.dir === undefined
  const dir = options.dir ?? (await createOwnedTempDir(TEMP_DIR_PREFIX))
  const unregisterDir = owned ? onProcessExit(() => removeDirNow(dir)) : (): void => {}
  // What a failed start must stop again (the components stop themselves when they fail).
  const partial: { etcd?: Etcd; apiserver?: Apiserver; client?: ApiClient } = {}
  try {
    await Promise.all(['logs', 'apiserver', 'pki', 'kubectl-cache'].map((d) => mkdir(join(dir, d), { recursive: true })))
    const pki = await createControlPlanePki(join(dir, 'pki'))
    progress('starting etcd and kube-apiserver')
    const makeClient = (server: string): ApiClient => createApiClient({ server, caPem: pki.ca.cert, certPem: pki.admin.cert, keyPem: pki.admin.key })
    const { etcd, apiserver: first, options: apiserverOptions, client } = await startProcesses(binaries, dir, makeClient, pki, owned, withNodes)
    Object.assign(partial, { etcd, apiserver: first, client })
    const live = { apiserver: first, paused: false, restarts: 0 }
    const signal = (name: NodeJS.Signals): void => {
      if (!live.apiserver.process.hasExited()) process.kill(live.apiserver.process.pid, name)
    }
    const resume = (): void => {
      if (live.paused) signal('SIGCONT')
      live.paused = false
    }
    const restartApiserver = async (): Promise<void> => {
      resume()
      await live.apiserver.process.stop(RESTART_GRACE_MS)
      live.restarts += 1
      live.apiserver = await startApiserver({ ...apiserverOptions, logName: `kube-apiserver-restart-${live.restarts}.log` }, client)
    }
    const kubeconfig = renderKubeconfig({ server: first.url, caPem: pki.ca.cert, clientCertPem: pki.admin.cert, clientKeyPem: pki.admin.key })
    const kubeconfigPath = join(dir, 'kubeconfig')
    await writeKubeconfig(kubeconfigPath, kubeconfig)
    const kubectlTarget = { kubectlPath: binaries.kubectl, kubeconfigPath, cacheDir: join(dir, 'kubectl-cache') }
    let nodes: Nodes | undefined
    if (kwok) {
      progress('starting kube-controller-manager, kube-scheduler, kwok and the fake Node')
      nodes = await startNodes({ binaries, kwok, kubeconfigPath, dir: nodesDir(dir), logDir: join(dir, 'logs'), api: client })
    }
    let stopping: Promise<void> | undefined
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        // The components first: they would only log errors against a missing kube-apiserver.
        await nodes?.stop()
        client.close()
        resume()
        await live.apiserver.process.stop()
        await etcd.process.stop()
        if (owned) {
          await rm(dir, { recursive: true, force: true, maxRetries: 3 })
          unregisterDir()
        }
      })())
    return {
      dir,
      url: first.url,
      kubeconfig,
      kubeconfigPath,
      caPem: pki.ca.cert,
      binaries,
      api: client,
      startMs: Date.now() - started,
      get pids() {
        return [etcd.process.pid, live.apiserver.process.pid, ...(nodes?.processes ?? []).map((p) => p.pid)]
      },
      nodeName: nodes?.nodeName,
      kubectl: (args, kubectlOptions) => runKubectl(kubectlTarget, args, kubectlOptions),
      logTails: (lines = 20) =>
        [etcd.process, live.apiserver.process, ...(nodes?.processes ?? [])].map((p) => `--- ${p.name} (${p.logFile}) ---\n${p.logTail(lines)}`).join('\n'),
      restartApiserver,
      pauseApiserver: async () => {
        signal('SIGSTOP')
        live.paused = true
        // Stopping is asynchronous per thread: a thread running on another core can still answer
        // a request until it is interrupted, so wait until /proc shows all of them stopped.
        const pid = live.apiserver.process.pid
        await pollUntil(`every thread of kube-apiserver ${pid} to stop after SIGSTOP`, async () => (allThreadsStopped(pid) ? true : undefined), { timeoutMs: 30_000, intervalMs: 20 })
      },
      resumeApiserver: async () => {
        resume()
        await pollUntil('kube-apiserver /readyz after SIGCONT', async () => ((await client.request('GET', '/readyz').catch(() => undefined))?.status === 200 ? true : undefined), {
          timeoutMs: 60_000,
          intervalMs: 250,
        })
      },
      stop,
    }
  } catch (error) {
    partial.client?.close()
    await partial.apiserver?.process.stop()
    await partial.etcd?.process.stop()
    if (owned) {
      await rm(dir, { recursive: true, force: true, maxRetries: 3 })
      unregisterDir()
    }
    throw error
  }
}
