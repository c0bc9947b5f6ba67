// The process logger: pino JSON on stdout at the configured level, with a redaction net for the
// field names that could carry secrets (code must not log them in the first place; this only
// catches a mistake). For a person at a terminal in local mode, the same records as readable lines.

import { pino, type Logger, type LoggerOptions } from 'pino'

/** Field paths censored wherever they appear in a log object (one or two levels deep). */
const REDACT = ['object', 'oldObject', 'env', 'token', 'body', 'data', 'stringData', 'authorization']
  .flatMap((key) => [key, `*.${key}`])

const options = (level: string): LoggerOptions => ({ level, base: { name: 'worker-runtime-controller' }, redact: { paths: REDACT, censor: '[redacted]' } })

/** Creates the process logger. `destination` defaults to stdout (fd 1). */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return destination ? pino(options(level), destination) : pino(options(level))
}

/**
 * A logger for a terminal: pino-pretty's `HH:MM:ss.l LEVEL: message` lines with the fields below
 * them, written synchronously so they interleave in order with the welcome text. pino-pretty is a
 * development dependency (local mode never runs in the image), so without it this falls back to JSON.
 * Redaction happens in pino before the pretty printer sees a record.
 */
export async function createTerminalLogger(level: string, destination: NodeJS.WritableStream = process.stdout): Promise<Logger> {
  let pretty: typeof import('pino-pretty')
  try {
    pretty = (await import('pino-pretty')).default as typeof import('pino-pretty')
  } catch {
    return createLogger(level, destination)
  }
  return pino(options(level), pretty({ destination, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' }))
}
