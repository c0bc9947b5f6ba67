// The process logger: pino JSON on stdout at the configured level, with a redaction net for the
// field names that could carry secrets. Code must not log them in the first place; this only
// catches a mistake.

import { pino, type Logger } from 'pino'

/** Field paths censored wherever they appear in a log object (one or two levels deep). */
const REDACT = ['object', 'oldObject', 'env', 'token', 'body', 'data', 'stringData', 'authorization']
  .flatMap((key) => [key, `*.${key}`])

/** Creates the process logger. `destination` defaults to stdout (fd 1). */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { name: 'worker-runtime-controller' }, redact: { paths: REDACT, censor: '[redacted]' } }
  return destination ? pino(options, destination) : pino(options)
}
