// The `certs` command: a local CA and webhook serving certificate (SANs 127.0.0.1, localhost and
// the service DNS names) written into a folder, and the base64 CA bundle printed for a webhook
// configuration's clientConfig.caBundle.

import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { caBundle, createServingCertificates, writeServingCertificates } from '../certs/certs.ts'

/** Default service DNS names of the chart's webhook Service (agentteams-system namespace). */
export const DEFAULT_SERVICE_DNS = [
  'worker-runtime-controller.agentteams-system.svc',
  'worker-runtime-controller.agentteams-system.svc.cluster.local',
]

export interface CertsOptions {
  dir: string
  dnsNames: string[]
}

/** Parses `certs` flags: `--dir DIR` (default certs) and `--dns NAME` (repeatable). */
export function parseCertsArgs(argv: readonly string[]): CertsOptions {
  const options: CertsOptions = { dir: 'certs', dnsNames: [] }
  for (let i = 0; i < argv.length; i++) {
    const [name, inline] = (argv[i] as string).split(/=(.*)/s, 2) as [string, string | undefined]
    const value = inline ?? argv[++i]
    if (value === undefined || value === '') throw new Error(`certs: flag ${name} needs a value`)
    if (name === '--dir') options.dir = value
    else if (name === '--dns') options.dnsNames.push(value)
    else throw new Error(`certs: unknown flag ${name} (flags: --dir DIR, --dns NAME)`)
  }
  if (options.dnsNames.length === 0) options.dnsNames = [...DEFAULT_SERVICE_DNS]
  return options
}

/** Generates the certificates into `options.dir` and returns the base64 CA bundle. */
export async function generateCerts(options: CertsOptions): Promise<string> {
  await writeServingCertificates(options.dir, await createServingCertificates(options.dnsNames))
  return caBundle(await readFile(join(options.dir, 'ca.crt'), 'utf8'))
}
