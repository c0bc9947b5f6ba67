// Command dispatch for `worker-runtime-controller serve|certs|help`: reads argv and the
// environment, prints one clear line on bad input, and returns the process exit code.

import { ConfigError, configHelp } from '../config/config.ts'
import { generateCerts, parseCertsArgs } from './certs.ts'
import { serve } from './serve.ts'

const USAGE = `usage: worker-runtime-controller <command> [flags]

commands:
  serve   run the admission webhook server and the reconciler (default). With no kubeconfig and
          no in-cluster environment it first starts an embedded local control plane.
  certs   generate a local CA and webhook serving certificate into certs/ and print the CA bundle
          flags: --dir DIR (default certs), --dns NAME (repeatable; default the chart's Service)
  help    print this text

serve flags (each also read from its environment variable; flags win):
`

/** Runs one command; returns the exit code (0 ok, 1 failure, 2 bad usage or configuration). */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command = 'serve', ...rest] = argv
  try {
    switch (command) {
      case 'serve':
        if (rest.includes('--help') || rest.includes('-h')) return help()
        return await serve(rest, env)
      case 'certs': {
        const options = parseCertsArgs(rest)
        const bundle = await generateCerts(options)
        process.stderr.write(`wrote ${options.dir}/ca.crt, ${options.dir}/tls.crt, ${options.dir}/tls.key (SANs: 127.0.0.1, localhost, ${options.dnsNames.join(', ')})\ncaBundle:\n`)
        process.stdout.write(bundle + '\n')
        return 0
      }
      case 'help':
      case '--help':
      case '-h':
        return help()
      default:
        process.stderr.write(`worker-runtime-controller: unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
        return 2
    }
  } catch (error) {
    if (error instanceof ConfigError || (error instanceof Error && /^certs: /.test(error.message))) {
      process.stderr.write(`worker-runtime-controller: ${error.message}\n`)
      return 2
    }
    throw error
  }
}

function help(): number {
  process.stdout.write(USAGE + configHelp() + '\n')
  return 0
}
