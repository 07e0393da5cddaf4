/**
 * How flow nodes find the engine of the `lwm2m-server` config node they
 * name, and follow its state in their status.
 */
import type { Node, NodeRedRuntime } from '../node-red-types.js';
import { NO_SERVER_STATUS, serverStatus } from './messages.js';
import { ServerRuntime, type RuntimeState } from './server-runtime.js';

/** The config node instance: a Node-RED node that carries one runtime. */
export interface ServerConfigNode extends Node {
  runtime: ServerRuntime;
}

/** The runtime of config node `id`, if that node exists and is an lwm2m-server. */
export function runtimeOf(RED: NodeRedRuntime, id: unknown): ServerRuntime | undefined {
  if (typeof id !== 'string' || id === '') return undefined;
  const node = RED.nodes.getNode(id) as Partial<ServerConfigNode> | null;
  return node?.runtime instanceof ServerRuntime ? node.runtime : undefined;
}

/**
 * Shows the server's state in `node`'s status until it closes. `decorate`
 * lets a node replace the "listening" text with its own (e.g. "observing 3").
 * Returns the unsubscribe function (call it from the close handler).
 */
export function followServerState(
  node: Node,
  runtime: ServerRuntime | undefined,
  decorate?: (state: Extract<RuntimeState, { status: 'listening' }>) => string | undefined,
): () => void {
  if (!runtime) {
    node.status(NO_SERVER_STATUS);
    return () => undefined;
  }
  return runtime.onState((state) => {
    const text = state.status === 'listening' ? decorate?.(state) : undefined;
    node.status(text !== undefined ? { ...serverStatus(state), text } : serverStatus(state));
  });
}
