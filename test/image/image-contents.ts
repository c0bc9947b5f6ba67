// What a built image holds, for the image test: its files (through `podman image mount`), the
// packages under /app/node_modules, and every PEM certificate anywhere in any of its layers (an
// uncompressed `podman save`, so a file added in one layer and deleted in a later one still
// counts), compared with the CA bundle of the build machine.

import { X509Certificate } from 'node:crypto'
import { open, readdir, readFile } from 'node:fs/promises'
import { rootCertificates } from 'node:tls'
import { join, relative } from 'node:path'
import type { Podman } from '../../scripts/image/podman.ts'

const BEGIN = Buffer.from('-----BEGIN CERTIFICATE-----')
const END = '-----END CERTIFICATE-----'
/** Longer than any PEM certificate: a BEGIN marker farther than this from its END is no certificate. */
const MAX_PEM_BYTES = 16 * 1024

/** A PEM block reduced to its base64 body (line breaks and markers dropped), so layouts compare equal. */
export const pemBody = (pem: string): string => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '')

/** Every PEM certificate in `text`. */
export function pemCertificates(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
}

/**
 * The certificates of the build machine's CA file that Node does not ship itself (its own roots
 * are inside the node binary of every Node image): what only a copy of this machine's bundle
 * would bring. Each with its subject, for messages.
 */
export async function machineOnlyCertificates(caFile: string): Promise<Array<{ subject: string; body: string }>> {
  const node = new Set(rootCertificates.map(pemBody))
  return pemCertificates(await readFile(caFile, 'utf8'))
    .filter((pem) => !node.has(pemBody(pem)))
    .map((pem) => ({ subject: new X509Certificate(pem).subject.replace(/\n/g, ', '), body: pemBody(pem) }))
}

/** The base64 bodies of every PEM certificate in the file at `path`, read in chunks (large archives). */
export async function certificateBodiesIn(path: string): Promise<Set<string>> {
  const found = new Set<string>()
  const handle = await open(path)
  try {
    let carry = Buffer.alloc(0)
    const chunk = Buffer.alloc(8 * 1024 * 1024)
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length)
      if (bytesRead === 0) break
      const data = Buffer.concat([carry, chunk.subarray(0, bytesRead)])
      // Kept for the next chunk: a marker cut at the chunk's end, or a block not finished yet.
      let keepFrom = data.length - BEGIN.length + 1
      for (let at = data.indexOf(BEGIN); at >= 0; ) {
        const end = data.indexOf(END, at)
        if (end >= 0 && end - at < MAX_PEM_BYTES) {
          found.add(pemBody(data.subarray(at, end + END.length).toString('latin1')))
          at = data.indexOf(BEGIN, end)
        } else if (end < 0 && data.length - at < MAX_PEM_BYTES) {
          keepFrom = at
          break
        } else {
          at = data.indexOf(BEGIN, at + 1) // a marker in code or text, not a certificate
        }
      }
      carry = data.subarray(Math.max(0, keepFrom))
    }
  } finally {
    await handle.close()
  }
  return found
}

/** Saves image `id` with uncompressed layers (docker-archive) to `path`. */
export async function saveImage(podman: Podman, id: string, path: string): Promise<void> {
  await podman.checked(['save', '--format', 'docker-archive', '--output', path, id])
}

/** Mounts image `id` read-only and returns its root directory (root only); unmount with unmountImage. */
export async function mountImage(podman: Podman, id: string): Promise<string> {
  return (await podman.checked(['image', 'mount', id])).stdout.trim()
}

export async function unmountImage(podman: Podman, id: string): Promise<void> {
  await podman.run(['image', 'unmount', id])
}

/** Files under `dir` (relative paths), `skip` directories left out. */
export async function listFiles(dir: string, skip: (path: string) => boolean = () => false): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((path) => !skip(path))
    .sort()
}
