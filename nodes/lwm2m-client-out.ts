/**
 * `lwm2m-client-out`: drives the simulated device from a flow — set
 * resource values (observers are notified as their attributes say), Send
 * (LwM2M 1.1+), Update, Register and De-register. The editor's operation,
 * path and format are defaults; msg.operation, msg.path and msg.format
 * override them.
 *
 * Success: done() and a green status with the outcome. Failure: done(err)
 * with msg.lwm2m.code set, so a Catch node gets both, and a red status.
 * When the device's connection state changes, the status shows it again.
 */
import type { Node, NodeDef, NodeRedRuntime } from './node-red-types.js';
import { resolveClientAction, type ClientAction } from './lib/client-input.js';
import { followClientState, NO_CLIENT_STATUS, useClient } from './lib/client-node.js';
import { performClientAction } from './lib/client-ops.js';
import { CoapCode, Lwm2mError } from '../src/errors.js';
import { failureStatus, shorten, toFlowFailure } from './lib/messages.js';

export default function register(RED: NodeRedRuntime): void {
  function Lwm2mClientOutNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const runtime = useClient(RED, def['client']);
    const unfollow = followClientState(node, runtime);
    const defaults = { operation: def['operation'] || 'set', path: def['path'], format: def['format'] };

    node.on('input', async (msg, _send, done) => {
      let action: ClientAction | undefined;
      const endpoint = runtime?.settings?.endpoint;
      try {
        action = resolveClientAction(defaults, msg);
        if (!runtime) throw new Lwm2mError(CoapCode.ServiceUnavailable, NO_CLIENT_STATUS.text ?? 'no LwM2M client configured');
        const outcome = await performClientAction(runtime, action);
        msg.lwm2m = { ...(endpoint !== undefined ? { endpoint } : {}), ...outcome.lwm2m, timestamp: Date.now() };
        node.status({ fill: 'green', shape: 'dot', text: shorten(outcome.text) });
        done();
      } catch (err) {
        const failure = toFlowFailure(err);
        msg.lwm2m = {
          ...(endpoint !== undefined ? { endpoint } : {}),
          ...(action ? { operation: action.operation } : {}),
          code: failure.code,
          timestamp: Date.now(),
        };
        node.status(failureStatus(failure));
        done(failure.error);
      }
    });

    node.on('close', (_removed, done) => {
      unfollow();
      done();
    });
  }

  RED.nodes.registerType('lwm2m-client-out', Lwm2mClientOutNode);
}
