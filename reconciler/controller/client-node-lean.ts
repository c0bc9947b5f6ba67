// Loads client-node without the parts the controller never calls. Two of the modules the
// controller uses import far more than they need: config.js (KubeConfig) imports the generated
// index for two names, which loads every typed API client; cache.js (the informer) imports the
// serializer to pass its selectors through unchanged, which loads every generated model. With
// 5,000 Workers that is about 45 MiB of the controller's RSS, all source text and code.
//
// A module resolution hook (node:module registerHooks, synchronous and in-thread) points exactly
// those two imports, from exactly those two files, at small stand-ins (client-node-lean/). Every
// other import resolves as usual. The hook only affects modules resolved after it is registered,
// so it is registered first, by bin/preload.ts, before the program's modules load. It depends on
// client-node's private file names: package.json pins client-node exactly (docs/architecture.md).

import { registerHooks } from 'node:module'

const CLIENT_NODE_DIST = '/node_modules/@kubernetes/client-node/dist/'

/** Which import, from which client-node module, goes to which stand-in. */
const STAND_INS: readonly { from: string; specifier: string; to: URL }[] = [
  { from: 'config.js', specifier: './gen/index.js', to: new URL('./client-node-lean/gen-index.ts', import.meta.url) },
  { from: 'cache.js', specifier: './serializer.js', to: new URL('./client-node-lean/serializer.ts', import.meta.url) },
]

let registered = false

/** The stand-in for `specifier` imported by `parentURL`, if it has one. */
export function standInFor(specifier: string, parentURL: string | undefined): string | undefined {
  if (parentURL === undefined) return undefined
  for (const s of STAND_INS) if (specifier === s.specifier && parentURL.endsWith(CLIENT_NODE_DIST + s.from)) return s.to.href
  return undefined
}

/** Registers the hook once per process; modules loaded earlier are not affected. */
export function registerLeanClientNode(): void {
  if (registered) return
  registered = true
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const url = standInFor(specifier, context.parentURL)
      return url === undefined ? nextResolve(specifier, context) : { url, shortCircuit: true }
    },
  })
}
