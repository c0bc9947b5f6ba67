// The webhook's serving certificate: read from the cert/key files, and reloaded in place when they
// change (a file-system watch on their folders plus a 10 s poll, controller-runtime's
// pkg/certwatcher). New connections get the new pair; open ones keep theirs. A new pair that does
// not load (half written, key not matching) is logged and the previous one kept.

import { X509Certificate, createHash } from 'node:crypto'
import { type FSWatcher, watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { type SecureContextOptions, type Server as TlsServer, createSecureContext } from 'node:tls'
import type { Logger } from 'pino'

/** The PEM files of the serving certificate (controller-runtime names them tls.crt and tls.key). */
export interface CertificateFiles {
  certFile: string
  keyFile: string
}

/** A PEM certificate chain and its private key. */
export interface ServingPair {
  cert: Buffer
  key: Buffer
}

/** controller-runtime certwatcher's `defaultWatchInterval`: 10 s. */
export const CERT_POLL_INTERVAL_MS = 10_000

/** Debounce for watch events: a Secret update renames several entries at once. */
const WATCH_DEBOUNCE_MS = 100

/**
 * TLS options of the webhook server: TLS 1.2 at least (docs/operations.md) and HTTP/1.1 only —
 * no h2, which dodges the HTTP/2 Rapid Reset CVEs (controller-runtime's scaffold turns it off too).
 */
export function tlsServerOptions(pair: ServingPair): SecureContextOptions & { ALPNProtocols: string[] } {
  return { cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] }
}

/** Reads the pair and checks it loads (parseable, key matching the certificate); throws if not. */
export async function readServingPair(files: CertificateFiles): Promise<ServingPair> {
  const [cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)])
  createSecureContext({ cert, key })
  return { cert, key }
}

function fingerprint(pair: ServingPair): string {
  return createHash('sha256').update(pair.cert).update(pair.key).digest('hex')
}

/** Identification of a certificate for a log line: subject, expiry, fingerprint. Never the key. */
function describe(cert: Buffer): Record<string, string> {
  try {
    const x509 = new X509Certificate(cert)
    return { subject: x509.subject.replaceAll('\n', ', '), notAfter: x509.validTo, sha256: x509.fingerprint256 }
  } catch {
    return {}
  }
}

export interface CertificateWatcher {
  /** Reads the files now and applies them when they changed and load; true when applied. */
  reload(): Promise<boolean>
  close(): void
}

export interface WatchOptions {
  log: Logger
  /** The pair the server was started with. */
  current: ServingPair
  /** Poll interval (default CERT_POLL_INTERVAL_MS). */
  intervalMs?: number
}

/**
 * Keeps `server` serving the pair on disk. Watches the folders (a mounted Secret is swapped by
 * renaming a `..data` link, which a watch on the file itself would miss) and polls as a backstop.
 */
export function watchServingCertificate(server: TlsServer, files: CertificateFiles, options: WatchOptions): CertificateWatcher {
  const { log } = options
  let applied = fingerprint(options.current)
  let lastFailed: string | undefined
  let running: Promise<boolean> | undefined
  let again = false
  let debounce: NodeJS.Timeout | undefined

  async function load(): Promise<boolean> {
    let cert: Buffer
    let key: Buffer
    try {
      ;[cert, key] = await Promise.all([readFile(files.certFile), readFile(files.keyFile)])
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown'
      if (lastFailed !== code) log.warn({ code, ...files }, 'cannot read the serving certificate files; keeping the current certificate')
      lastFailed = code
      return false
    }
    const pair = { cert, key }
    const print = fingerprint(pair)
    if (print === applied || print === lastFailed) return false
    try {
      server.setSecureContext(tlsServerOptions(pair))
    } catch (error) {
      lastFailed = print
      log.warn({ ...files, errorType: (error as Error).name, detail: (error as Error).message }, 'new serving certificate does not load; keeping the current certificate')
      return false
    }
    applied = print
    lastFailed = undefined
    log.info(describe(cert), 'serving certificate reloaded')
    return true
  }

  /** One load at a time; a request during a load runs once more afterwards. */
  function reload(): Promise<boolean> {
    if (running) {
      again = true
      return running
    }
    running = load().finally(() => {
      running = undefined
      if (again) {
        again = false
        void reload()
      }
    })
    return running
  }

  const watchers: FSWatcher[] = []
  for (const dir of new Set([dirname(files.certFile), dirname(files.keyFile)])) {
    try {
      const watcher = watch(dir, { persistent: false }, () => {
        clearTimeout(debounce)
        debounce = setTimeout(() => void reload(), WATCH_DEBOUNCE_MS)
        debounce.unref()
      })
      watcher.on('error', (error) => log.warn({ dir, errorType: error.name }, 'certificate folder watch failed; polling only'))
      watchers.push(watcher)
    } catch (error) {
      log.warn({ dir, errorType: (error as Error).name }, 'cannot watch the certificate folder; polling only')
    }
  }
  const poll = setInterval(() => void reload(), options.intervalMs ?? CERT_POLL_INTERVAL_MS)
  poll.unref()

  return {
    reload,
    close() {
      clearInterval(poll)
      clearTimeout(debounce)
      for (const watcher of watchers) watcher.close()
    },
  }
}
