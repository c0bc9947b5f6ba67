// Free TCP ports on the loopback interface for the control plane's listeners. A port is free
// only at the moment it is probed; callers that bind it later must retry with fresh ports when
// the bind fails (parallel test files pick ports concurrently), see control-plane.ts.

import { createServer } from 'node:net'

/** The loopback address every harness listener binds (docs/local-cluster.md). */
export const LOOPBACK = '127.0.0.1'

/** Asks the kernel for a free port by listening on port 0, then releases it. */
export function freePort(host: string = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error(`allocate port on ${host}: no port reported`))))
    })
  })
}

/** `count` distinct free ports. */
export async function freePorts(count: number, host: string = LOOPBACK): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort(host))
  return [...ports]
}
