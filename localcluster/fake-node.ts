// The control plane's one fake Node: registered as a kubelet would register itself (labels,
// no taint of ours), handed to kwok by annotation, and awaited until Pods can land on it: Ready
// and schedulable, i.e. node lifecycle has removed the not-ready taint that every new Node gets.

import { expectSuccess, type ApiClient } from './api-client.ts'
import { KWOK_NODE_ANNOTATION } from './kwok.ts'
import { pollUntil } from './polling.ts'

/** The Node's name (kwok's naming: `kwok-node-<n>`). */
export const FAKE_NODE_NAME = 'kwok-node-0'
/** Taints a Node carries until it is Ready and reachable (node lifecycle adds and removes them). */
const NOT_READY_TAINTS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']

interface Node {
  spec?: { unschedulable?: boolean; taints?: Array<{ key: string; effect: string }> }
  status?: { conditions?: Array<{ type: string; status: string }> }
}

/** The Node as it is created (its status is kwok's to write). */
export function fakeNode(name: string = FAKE_NODE_NAME): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION.key]: KWOK_NODE_ANNOTATION.value },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    spec: {},
  }
}

/** Why Pods cannot land on `node` yet, or undefined when they can. */
export function nodeNotUsable(node: Node | undefined): string | undefined {
  if (!node) return 'not registered'
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')
  if (ready?.status !== 'True') return `Ready=${ready?.status ?? 'unknown'}`
  if (node.spec?.unschedulable) return 'cordoned'
  const taint = node.spec?.taints?.find((t) => NOT_READY_TAINTS.includes(t.key))
  return taint ? `tainted ${taint.key}:${taint.effect}` : undefined
}

/** Registers the Node unless it exists (a local mode restart keeps it in etcd). */
export async function registerFakeNode(api: ApiClient, name: string = FAKE_NODE_NAME): Promise<void> {
  const response = await api.request('POST', '/api/v1/nodes', fakeNode(name))
  if (response.status !== 409) expectSuccess(response, `create Node ${name}`)
}

/**
 * Waits until Pods can land on the Node; `abortIf` ends the wait early (a component died).
 * The error names what was missing last (e.g. `tainted node.kubernetes.io/not-ready:NoSchedule`).
 */
export async function waitForNodeUsable(api: ApiClient, name: string, options: { timeoutMs?: number; abortIf?: () => string | undefined } = {}): Promise<void> {
  let last = 'not checked'
  try {
    await pollUntil(
      `Node ${name} Ready and schedulable`,
      async () => {
        const response = await api.request('GET', `/api/v1/nodes/${name}`)
        last = nodeNotUsable(response.status === 200 ? response.body : undefined) ?? ''
        return last === '' ? true : undefined
      },
      { timeoutMs: options.timeoutMs ?? 120_000, intervalMs: 200, ...(options.abortIf ? { abortIf: options.abortIf } : {}) },
    )
  } catch (error) {
    throw new Error(`${(error as Error).message} (last seen: ${last})`, { cause: error })
  }
}
