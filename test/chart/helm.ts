// The real helm (tools/helm, built by `tools/build.sh helm`) for the chart tests: where it is (built
// first when missing, except under CI=true where `npm test`'s pretest must have built it), running
// it, and rendering the chart into objects.

import { spawn } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import type { Manifest } from '../../localcluster/manifests.ts'

/** The chart under test. */
export const CHART_DIR = fileURLToPath(new URL('../../manifests/chart/worker-runtime-controller', import.meta.url))
const BUILD_SCRIPT = fileURLToPath(new URL('../../tools/build.sh', import.meta.url))
/** Serializes concurrent builds of parallel test files (util-linux flock(1)). */
const BUILD_LOCK = join(tmpdir(), 'worker-runtime-controller-tools-helm.lock')
/** Release name and namespace the tests install as (the names the README uses). */
export const RELEASE = 'worker-runtime-controller'
export const NAMESPACE = 'agentteams-system'

export interface CommandResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `command args` and resolves with its exit code and output (never rejects on exit codes). */
export function run(command: string, args: readonly string[], options: { env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env }, cwd: options.cwd })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000)
    child.once('error', (cause) => {
      clearTimeout(timer)
      reject(new Error(`run ${command} ${args.join(' ')}: ${cause.message}`, { cause }))
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

let located: Promise<string> | undefined

/** Absolute path of the helm binary (see the file header). A cold build takes about 90 s. */
export function findHelm(): Promise<string> {
  located ??= (async () => {
    const path = await run(BUILD_SCRIPT, ['helm', '--path'])
    if (path.code === 0 && path.stdout.trim() !== '') return join(path.stdout.trim(), 'helm')
    if (process.env['CI'] === 'true') throw new Error('find helm: not built; run `tools/build.sh helm` first (npm test\'s pretest does)')
    const built = await run('/usr/bin/flock', [BUILD_LOCK, BUILD_SCRIPT, 'helm'], { timeoutMs: 15 * 60_000 })
    if (built.code !== 0) throw new Error(`build helm: tools/build.sh helm exited with ${built.code}\n${built.stderr}`)
    return join(built.stdout.trim().split('\n').pop() as string, 'helm')
  })()
  return located
}

/**
 * Runs helm with `args`. HELM_* homes point into the temp directory so no user configuration or
 * repository cache is read or written.
 */
export async function helm(args: readonly string[], env: Record<string, string> = {}): Promise<CommandResult> {
  const home = join(tmpdir(), 'wrc-helm-home')
  return run(await findHelm(), args, {
    env: { HELM_CONFIG_HOME: join(home, 'config'), HELM_CACHE_HOME: join(home, 'cache'), HELM_DATA_HOME: join(home, 'data'), ...env },
  })
}

/** `--set-json key=<json>` pairs for a flat map of value paths. */
export function setJson(values: Record<string, unknown>): string[] {
  return Object.entries(values).flatMap(([key, value]) => ['--set-json', `${key}=${JSON.stringify(value)}`])
}

/** Parses a multi-document YAML stream into objects (empty documents dropped). */
export function parseObjects(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((o): o is Manifest => o !== null && typeof o === 'object')
}

/**
 * `helm template` of the chart with `values` (value path → value) as release RELEASE in NAMESPACE;
 * resolves with the objects, or rejects with helm's error text.
 */
export async function render(values: Record<string, unknown> = {}, extraArgs: readonly string[] = []): Promise<Manifest[]> {
  const r = await helm(['template', RELEASE, CHART_DIR, '--namespace', NAMESPACE, '--include-crds', ...setJson(values), ...extraArgs])
  if (r.code !== 0) throw new Error(`helm template: ${r.stderr.trim()}`)
  return parseObjects(r.stdout)
}

/** The object of `kind` (and `name` when given) among `objects`; throws when absent. */
export function find(objects: readonly Manifest[], kind: string, name?: string): Manifest {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name))
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ''} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`)
  return found
}

/** The three monitoring values (README "Metrics to alert on"), with a scraper bound to metrics-reader. */
export const MONITORING: Record<string, unknown> = {
  'monitoring.serviceMonitor.enabled': true,
  'monitoring.prometheusRule.enabled': true,
  'monitoring.dashboard.enabled': true,
  'monitoring.serviceMonitor.labels': { release: 'kube-prometheus-stack' },
  'monitoring.metricsReaderSubjects': [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }],
}

/** The documented option sets (README "Install with Helm"); each must lint, render and be accepted. */
export const OPTION_SETS: Record<string, Record<string, unknown>> = {
  defaults: {},
  'admission.mode=policy': { 'admission.mode': 'policy' },
  'admission.mode=both': { 'admission.mode': 'both' },
  'certManager.enabled': { 'certManager.enabled': true },
  'certManager with an issuerRef': { 'certManager.enabled': true, 'certManager.issuerRef': { name: 'company-ca', kind: 'ClusterIssuer' } },
  'watchNamespace (namespaced Role)': { 'config.watchNamespace': 'team-a' },
  'one namespace, upstream\'s Pods in another': { 'config.watchNamespace': 'team-a', 'config.legacyNamespaces': ['hiclaw-system'] },
  's3 deps store with chart-made credentials': {
    'config.depsStoreType': 's3', 'config.depsS3Bucket': 'agentteams-deps', 'config.depsS3Endpoint': 'http://minio.storage:9000',
    'depsS3Credentials.accessKeyId': 'AKIDEXAMPLE', 'depsS3Credentials.secretAccessKey': 'not-a-real-secret',
  },
  's3 deps store with an existing Secret': { 'config.depsStoreType': 's3', 'config.depsS3Bucket': 'agentteams-deps', 'depsS3Credentials.existingSecret': 'agentteams-s3' },
  'pod backend only (sandbox off)': { 'config.sandboxEnabled': false },
  'webhook only (reconciler off)': { 'config.reconcilerEnabled': false },
  'reconciler only (policy, no webhook server)': { 'config.webhookEnabled': false, 'admission.mode': 'policy' },
  'sandbox pool and hibernate, prewarm 0': { 'config.sandboxCapabilities': ['hibernate', 'pool'], 'config.sandboxPrewarmSize': 0, 'config.defaultBackendRuntime': 'sandbox' },
  'filesystem deps on a PersistentVolumeClaim': { depsFilesystemVolume: { persistentVolumeClaim: { claimName: 'agentteams-deps' } } },
  'thousands of Workers: 20 concurrent reconciles': { 'config.maxConcurrentReconciles': 20 },
  'monitoring: ServiceMonitor, PrometheusRule and dashboard': MONITORING,
  'monitoring with plain-HTTP metrics': { ...MONITORING, 'config.metricsSecure': false },
}
