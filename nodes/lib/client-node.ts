/**
 * How flow nodes find (and start) the device of the `lwm2m-client` config
 * node they name, and show its connection state in their status.
 */
import type { Node, NodeRedRuntime, NodeStatus } from '../node-red-types.js';
import { ClientRuntime, type ClientState } from './client-runtime.js';
import { shortUri } from './client-settings.js';
import { shorten } from './messages.js';

/** The config node instance: a Node-RED node that carries one device. */
export interface ClientConfigNode extends Node {
  runtime: ClientRuntime;
}

/** Deployed lwm2m-client config nodes by id (for the admin list of devices). */
export const liveClients = new Map<string, { readonly name: string; readonly runtime: ClientRuntime }>();

/**
 * The device of config node `id`, started: a device runs once a flow node
 * uses it. Undefined when the node does not exist or is not an lwm2m-client.
 */
export function useClient(RED: NodeRedRuntime, id: unknown): ClientRuntime | undefined {
  if (typeof id !== 'string' || id === '') return undefined;
  const node = RED.nodes.getNode(id) as Partial<ClientConfigNode> | null;
  if (!(node?.runtime instanceof ClientRuntime)) return undefined;
  void node.runtime.start();
  return node.runtime;
}

/** How a flow node shows its device's state. */
export function clientStatus(state: ClientState): NodeStatus {
  switch (state.status) {
    case 'idle':
      return { fill: 'grey', shape: 'ring', text: 'not started' };
    case 'starting':
      return { fill: 'yellow', shape: 'ring', text: 'starting' };
    case 'registering':
      return { fill: 'yellow', shape: 'ring', text: shorten(`registering to ${shortUri(state.server)}`) };
    case 'registered':
      return { fill: 'green', shape: 'dot', text: shorten(`registered ${shortUri(state.server)} (${state.version})`) };
    case 'retrying':
      return { fill: 'red', shape: 'ring', text: shorten(`${state.code} ${state.reason}, retry in ${Math.round(state.retryInMs / 1000)} s`) };
    case 'sleeping':
      return { fill: 'blue', shape: 'ring', text: 'sleeping (queue mode)' };
    case 'deregistered':
      return { fill: 'grey', shape: 'ring', text: 'de-registered' };
    case 'failed':
      return { fill: 'red', shape: 'ring', text: shorten(state.message) };
    case 'stopped':
      return { fill: 'grey', shape: 'ring', text: 'stopped' };
  }
}

export const NO_CLIENT_STATUS: NodeStatus = { fill: 'red', shape: 'ring', text: 'no LwM2M client configured' };

/** Shows the device's state in `node`'s status until the returned function is called. */
export function followClientState(node: Node, runtime: ClientRuntime | undefined): () => void {
  if (!runtime) {
    node.status(NO_CLIENT_STATUS);
    return () => undefined;
  }
  return runtime.onState((state) => node.status(clientStatus(state)));
}
