// The plain-HTTP probe server: /healthz (liveness) and /readyz (readiness), apart from the HTTPS
// webhook port so kubelet needs no certificate, and apart from /metrics (metrics-server.ts), which
// may be read only by those the API server allows. Checks are an open list the caller owns: the
// webhook adds "webhook TLS listening", the reconciler "caches synced".

import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { LogController, fastify, type FastifyInstance, type FastifyReply } from 'fastify'
import type { Logger } from 'pino'

/** Which probe a check belongs to. */
export const CheckKind = { Readiness: 'readiness', Liveness: 'liveness' } as const
export type CheckKind = (typeof CheckKind)[keyof typeof CheckKind]

/**
 * One named check. `check()` returns true when it passes; false, or a string saying why, when it
 * fails. A check that throws or rejects fails too. `kind` defaults to readiness: /readyz is 200 only
 * when every readiness check passes; /healthz (the event loop answering) also runs the liveness ones.
 */
export interface HealthCheck {
  name: string
  kind?: CheckKind
  check(): boolean | string | Promise<boolean | string>
}

export interface ProbeServerDeps {
  log: Logger
  /** Read on every probe, so a caller may push a check after start (e.g. "caches synced"). */
  checks: HealthCheck[]
}

interface Outcome { name: string; ok: boolean; reason: string | undefined }

async function run(check: HealthCheck): Promise<Outcome> {
  try {
    const result = await check.check()
    return { name: check.name, ok: result === true, reason: typeof result === 'string' ? result : undefined }
  } catch (error) {
    return { name: check.name, ok: false, reason: `check threw ${(error as Error).name ?? 'an error'}` }
  }
}

/**
 * The body the Kubernetes API server's own /readyz?verbose prints: one `[+]name ok` or
 * `[-]name failed: reason` line per check, then a summary line.
 */
function report(probe: string, outcomes: Outcome[]): { ok: boolean; text: string } {
  const ok = outcomes.every((o) => o.ok)
  const lines = outcomes.map((o) => (o.ok ? `[+]${o.name} ok` : `[-]${o.name} failed${o.reason ? `: ${o.reason}` : ''}`))
  lines.push(`${probe} check ${ok ? 'passed' : 'failed'}`)
  return { ok, text: lines.join('\n') + '\n' }
}

/** The probe app's fastify type (plain HTTP, pino logger). */
export type ProbeApp = FastifyInstance<Server, IncomingMessage, ServerResponse, Logger>

/** Builds the probe app (not listening). */
export function buildProbeServer(deps: ProbeServerDeps): ProbeApp {
  const app = fastify({ loggerInstance: deps.log, logController: new LogController({ disableRequestLogging: true }) })
  const probe = (name: string, checks: () => HealthCheck[]) => async (_: unknown, reply: FastifyReply) => {
    const { ok, text } = report(name, await Promise.all(checks().map(run)))
    reply.code(ok ? 200 : 503)
    reply.type('text/plain; charset=utf-8')
    return text
  }
  const eventLoop: HealthCheck = { name: 'ping', check: () => true }
  const ofKind = (kind: CheckKind) => deps.checks.filter((c) => (c.kind ?? CheckKind.Readiness) === kind)
  app.get('/healthz', probe('healthz', () => [eventLoop, ...ofKind(CheckKind.Liveness)]))
  app.get('/readyz', probe('readyz', () => ofKind(CheckKind.Readiness)))
  return app
}
