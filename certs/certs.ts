// Local certificate tooling: a small CA and certificates it signs (SHA-256, ECDSA P-256 — Go-built
// API servers reject SHA-1 chain links, and selfsigned defaults to SHA-1, docs/operations.md).
// Used by the `certs` command, the tests and the local control plane. Keys are never committed.

import { X509Certificate } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generate } from 'selfsigned'

/** A PEM certificate and its PEM private key. */
export interface KeyPair {
  cert: string
  key: string
}

const DAY_MS = 24 * 60 * 60 * 1000

function validity(days: number): { notBeforeDate: Date; notAfterDate: Date } {
  // Backdated by an hour so a clock a little behind still accepts a fresh certificate.
  const notBeforeDate = new Date(Date.now() - 60 * 60 * 1000)
  return { notBeforeDate, notAfterDate: new Date(notBeforeDate.getTime() + days * DAY_MS) }
}

/** Creates a self-signed CA (10 years, as cert-controller's CA). */
export async function createCA(commonName = 'worker-runtime-controller-ca', days = 3650): Promise<KeyPair> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    ...validity(days),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  })
  return { cert: pems.cert, key: pems.private }
}

export interface LeafOptions {
  commonName: string
  /** DNS subject alternative names. */
  dnsNames?: string[]
  /** IP subject alternative names. */
  ips?: string[]
  /** Organizations (a client certificate's groups, e.g. system:masters). */
  organizations?: string[]
  usage: 'server' | 'client'
  /** Validity in days (default 365). */
  days?: number
}

/** Issues a serving or client certificate signed by `ca`. */
export async function issueCertificate(ca: KeyPair, options: LeafOptions): Promise<KeyPair> {
  const attrs = [{ name: 'commonName', value: options.commonName }]
  for (const org of options.organizations ?? []) attrs.push({ name: 'organizationName', value: org })
  const altNames = [
    ...(options.dnsNames ?? []).map((value) => ({ type: 2 as const, value })),
    ...(options.ips ?? []).map((ip) => ({ type: 7 as const, ip })),
  ]
  const pems = await generate(attrs, {
    keyType: 'ec',
    algorithm: 'sha256',
    ...validity(options.days ?? 365),
    ca: { key: ca.key, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: options.usage === 'server', clientAuth: options.usage === 'client' },
      ...(altNames.length > 0 ? [{ name: 'subjectAltName' as const, altNames }] : []),
    ],
  })
  return { cert: pems.cert, key: pems.private }
}

export interface ServingCertificates {
  ca: KeyPair
  serving: KeyPair
}

/**
 * Generates a CA and a webhook serving certificate with SANs for 127.0.0.1, localhost and the
 * given service DNS names.
 */
export async function createServingCertificates(dnsNames: string[] = []): Promise<ServingCertificates> {
  const ca = await createCA()
  const serving = await issueCertificate(ca, {
    commonName: dnsNames[0] ?? 'localhost',
    dnsNames: ['localhost', ...dnsNames],
    ips: ['127.0.0.1'],
    usage: 'server',
  })
  return { ca, serving }
}

/**
 * Writes `ca.crt`, `tls.crt` and `tls.key` (controller-runtime's file names) into `dir`; the key
 * is written with mode 0600. The CA key is not written: nothing here signs again from it.
 */
export async function writeServingCertificates(dir: string, certs: ServingCertificates): Promise<void> {
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'ca.crt'), certs.ca.cert)
  await writeFile(join(dir, 'tls.crt'), certs.serving.cert)
  await writeFile(join(dir, 'tls.key'), certs.serving.key, { mode: 0o600 })
}

/** The base64 CA bundle for a webhook configuration's `clientConfig.caBundle`. */
export function caBundle(caPem: string): string {
  return Buffer.from(caPem).toString('base64')
}

/** Subject alternative names of a PEM certificate, as node:crypto prints them. */
export function subjectAltNames(certPem: string): string {
  return new X509Certificate(certPem).subjectAltName ?? ''
}
