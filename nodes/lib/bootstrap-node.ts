/**
 * How `lwm2m-bootstrap` flow nodes find the engine of the
 * `lwm2m-bootstrap-server` config node they name, and follow its state.
 */
import type { Node, NodeRedRuntime, NodeStatus } from '../node-red-types.js';
import { BootstrapRuntime } from './bootstrap-runtime.js';
import { serverStatus } from './messages.js';

/** The config node instance: a Node-RED node that carries one runtime. */
export interface BootstrapConfigNode extends Node {
  runtime: BootstrapRuntime;
}

export function bootstrapRuntimeOf(RED: NodeRedRuntime, id: unknown): BootstrapRuntime | undefined {
  if (typeof id !== 'string' || id === '') return undefined;
  const node = RED.nodes.getNode(id) as Partial<BootstrapConfigNode> | null;
  return node?.runtime instanceof BootstrapRuntime ? node.runtime : undefined;
}

export const NO_BOOTSTRAP_STATUS: NodeStatus = { fill: 'red', shape: 'ring', text: 'no LwM2M bootstrap server configured' };

/**
 * Shows the bootstrap server's state in `node`'s status until the returned
 * function is called. `skipCurrent`: only from the next change on (the
 * status shows something else for now, such as the last outcome).
 */
export function followBootstrapState(node: Node, runtime: BootstrapRuntime | undefined, options: { skipCurrent?: boolean } = {}): () => void {
  if (!runtime) {
    if (!options.skipCurrent) node.status(NO_BOOTSTRAP_STATUS);
    return () => undefined;
  }
  let skip = options.skipCurrent === true;
  return runtime.onState((state) => {
    if (skip) skip = false;
    else node.status(serverStatus(state));
  });
}
