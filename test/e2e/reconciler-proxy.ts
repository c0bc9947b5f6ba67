// A TCP proxy between the reconciler and kube-apiserver for fault injection: TLS passes through
// untouched. `silenceStreams()` makes the open watch streams go quiet without closing them (the
// failure of client-node #596); connections that send a new request keep working.

import { createServer, connect, type Server, type Socket } from 'node:net'

interface Link {
  client: Socket
  upstream: Socket
  /** Server bytes on this connection are being dropped (the client sent nothing since). */
  silenced: boolean
  /** Some server bytes were dropped: the TLS stream is broken, it can never resume. */
  dropped: boolean
}

export interface FaultProxy {
  /** https://127.0.0.1:<port> */
  readonly url: string
  /** Server→client bytes of every open connection are dropped until the client sends again. */
  silenceStreams(): void
  /** How many connections are silenced and have lost data (a silent watch). */
  silentStreams(): number
  close(): Promise<void>
}

/** Starts a proxy on a free loopback port forwarding to `target` (https://host:port). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const { hostname, port } = new URL(target)
  const links = new Set<Link>()
  const server: Server = createServer((client) => {
    const upstream = connect({ host: hostname, port: Number(port) })
    const link: Link = { client, upstream, silenced: false, dropped: false }
    links.add(link)
    client.on('data', (chunk) => {
      if (link.silenced) {
        if (link.dropped) return void client.destroy()
        link.silenced = false
      }
      upstream.write(chunk)
    })
    upstream.on('data', (chunk) => {
      if (link.silenced) link.dropped = true
      else client.write(chunk)
    })
    const end = () => {
      links.delete(link)
      client.destroy()
      upstream.destroy()
    }
    client.on('close', end)
    upstream.on('close', end)
    client.on('error', end)
    upstream.on('error', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const listenPort = typeof address === 'object' && address ? address.port : 0
  return {
    url: `https://127.0.0.1:${listenPort}`,
    silenceStreams() {
      for (const link of links) link.silenced = true
    },
    silentStreams: () => [...links].filter((l) => l.silenced && l.dropped).length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const link of links) {
          link.client.destroy()
          link.upstream.destroy()
        }
        server.close(() => resolve())
      }),
  }
}
