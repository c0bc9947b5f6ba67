// Runs the real kubectl against a control plane and captures what a user would see: exit code,
// stdout and stderr. KUBECONFIG points at the control plane's admin kubeconfig; kubectl's
// discovery cache lives in the control plane's directory, not in the user's home.

import { spawn } from 'node:child_process'
import { childEnvironment } from './processes.ts'

/** kubectl's result. */
export interface KubectlResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (e.g. a manifest for `apply -f -`). */
  stdin?: string
  /** Kill kubectl after this long (default 60 s); the result then has code null. */
  timeoutMs?: number
  /** Extra environment (e.g. KUBE_EDITOR for `kubectl edit`). */
  env?: Record<string, string>
}

/** Where to find kubectl and which cluster it talks to. */
export interface KubectlTarget {
  kubectlPath: string
  kubeconfigPath: string
  /** Directory for kubectl's discovery and HTTP cache (KUBECACHEDIR). */
  cacheDir: string
}

/** Runs `kubectl <args>` and resolves with its exit code and output (never rejects on exit codes). */
export function runKubectl(target: KubectlTarget, args: readonly string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(target.kubectlPath, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: childEnvironment({ KUBECONFIG: target.kubeconfigPath, KUBECACHEDIR: target.cacheDir, ...options.env }),
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.once('error', (cause) => {
      clearTimeout(timer)
      reject(new Error(`run kubectl ${args.join(' ')}: ${cause.message}`, { cause }))
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(options.stdin ?? '')
  })
}
