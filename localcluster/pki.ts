// The control plane's key material (docs/local-cluster.md): one CA that signs the kube-apiserver
// serving certificate (SAN IP 127.0.0.1, DNS localhost) and the admin client certificate
// (CN=admin, O=system:masters), plus the RSA key pair that signs service-account tokens so
// TokenRequest works. Written as files the apiserver reads; the kubeconfig embeds the PEMs.

import { generateKeyPairSync } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createCA, issueCertificate, type KeyPair } from '../certs/certs.ts'

/** PEMs and the files they were written to. */
export interface ControlPlanePki {
  ca: KeyPair
  serving: KeyPair
  admin: KeyPair
  files: {
    caCert: string
    servingCert: string
    servingKey: string
    serviceAccountPublicKey: string
    serviceAccountSigningKey: string
  }
}

/** Group that RBAC's bootstrap policy binds to cluster-admin. */
const ADMIN_GROUP = 'system:masters'
/** Key size of the service-account signing key (envtest and kubeadm use RSA 2048). */
const SERVICE_ACCOUNT_KEY_BITS = 2048

/** Generates the key material and writes it into `dir` (created when missing; keys mode 0600). */
export async function createControlPlanePki(dir: string): Promise<ControlPlanePki> {
  await mkdir(dir, { recursive: true })
  const ca = await createCA('worker-runtime-controller-test-cluster-ca')
  const [serving, admin] = await Promise.all([
    issueCertificate(ca, { commonName: 'kube-apiserver', dnsNames: ['localhost'], ips: ['127.0.0.1'], usage: 'server' }),
    issueCertificate(ca, { commonName: 'admin', organizations: [ADMIN_GROUP], usage: 'client' }),
  ])
  const serviceAccount = generateKeyPairSync('rsa', {
    modulusLength: SERVICE_ACCOUNT_KEY_BITS,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  const files = {
    caCert: join(dir, 'ca.crt'),
    servingCert: join(dir, 'apiserver.crt'),
    servingKey: join(dir, 'apiserver.key'),
    serviceAccountPublicKey: join(dir, 'sa.pub'),
    serviceAccountSigningKey: join(dir, 'sa.key'),
  }
  await Promise.all([
    writeFile(files.caCert, ca.cert),
    writeFile(files.servingCert, serving.cert),
    writeFile(files.servingKey, serving.key, { mode: 0o600 }),
    writeFile(files.serviceAccountPublicKey, serviceAccount.publicKey),
    writeFile(files.serviceAccountSigningKey, serviceAccount.privateKey, { mode: 0o600 }),
  ])
  return { ca, serving, admin, files }
}
