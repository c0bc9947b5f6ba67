// Child of client-node-lean.test.ts: records every module URL resolved from here on, then loads
// the controller's client-node door (reconciler/controller/client-node.ts) and uses the two names each
// stand-in serves: makeApiClient (createConfiguration, ServerConfiguration) and an informer
// with a label selector (the serializer). Prints one JSON line.

import { registerHooks } from 'node:module'

const resolved: string[] = []
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context)
    resolved.push(result.url)
    return result
  },
})

const { KubeConfig, ListWatch, Watch } = await import('../../../reconciler/controller/client-node.ts')

const kubeconfig = new KubeConfig()
kubeconfig.loadFromOptions({
  clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }],
  users: [{ name: 'u', token: 'not-a-real-token' }],
  contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
  currentContext: 'x',
})
class ProbeApi {
  readonly configuration: unknown
  constructor(configuration: unknown) {
    this.configuration = configuration
  }
}
const api = kubeconfig.makeApiClient(ProbeApi as never) as unknown as ProbeApi
const server = (api.configuration as { baseServer?: { makeRequestContext?: unknown } }).baseServer

// The informer passes its selector to the watch through the serializer.
let watchedSelector: unknown
class RecordingWatch extends Watch {
  override async watch(_path: string, queryParams: Record<string, unknown>): Promise<AbortController> {
    watchedSelector = queryParams['labelSelector']
    return new AbortController()
  }
}
const informer = new ListWatch('/api/v1/namespaces/ns/pods', new RecordingWatch(kubeconfig), async () => ({ items: [], metadata: { resourceVersion: '1' } }), false, 'app=worker')
await informer.start()
await informer.stop()

process.stdout.write(JSON.stringify({ resolved, madeClient: typeof server?.makeRequestContext === 'function', watchedSelector }) + '\n')
