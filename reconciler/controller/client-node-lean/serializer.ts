// Stands in for client-node's serializer.js when its informer (cache.js) imports it. The informer
// serializes only its label and field selectors, both of type 'string', which the generated
// serializer returns unchanged; the real module would load every generated model class to do
// that. Any other use fails loudly instead of guessing.

export class ObjectSerializer {
  static serialize(data: unknown, type: string): unknown {
    if (type === 'string') return data
    throw new Error(`client-node serializer stand-in (reconciler/client-node-lean): serialize as ${JSON.stringify(type)} is not supported`)
  }
}
