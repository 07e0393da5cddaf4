/**
 * `lwm2m-client-in`: the device side of LwM2M, one message per event —
 * what a server did to the simulated device (Write, Execute, Create,
 * Delete, Write-Attributes, Observe and its cancellation) and the device's
 * connection state (registered, updated, de-registered, registration
 * failed, sleeping, awake). The editor's check boxes choose the events.
 *
 * The engine has already answered the server when the message goes out:
 * a flow reacts (an Execute of /3/0/4 "reboots" by registering again, a
 * written set point drives an actuator) rather than decides the answer.
 */
import type { EventEmitter } from 'node:events';
import type { Lwm2mClientEvents } from '../src/client/client.js';
import { formatExecuteArguments } from '../src/model/execute-args.js';
import { parsePath } from '../src/model/path.js';
import type { Node, NodeDef, NodeMessage, NodeRedRuntime } from './node-red-types.js';
import {
  enabledClientEvents,
  formatOf,
  operationMessage,
  registrationFailedMessage,
  registrationMessage,
  sleepMessage,
  type ClientEvent,
} from './lib/client-messages.js';
import { followClientState, useClient } from './lib/client-node.js';

export default function register(RED: NodeRedRuntime): void {
  function Lwm2mClientInNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const runtime = useClient(RED, def['client']);
    const unfollow = followClientState(node, runtime);
    if (!runtime) return;
    const wanted = enabledClientEvents(def);
    const endpoint = runtime.settings?.endpoint ?? '';
    const model = () => runtime.client?.tree.model;

    const unsubscribe: (() => void)[] = [];
    const emitOn = <E extends ClientEvent>(event: E, toMessage: (...args: Lwm2mClientEvents[E]) => NodeMessage | Promise<NodeMessage>): void => {
      if (!wanted.has(event)) return;
      const listener = (...args: Lwm2mClientEvents[E]): void => {
        Promise.resolve(toMessage(...args)).then(
          (msg) => node.send(msg),
          (err: Error) => node.error(`${event} event: ${err.message}`),
        );
      };
      // the typed emitter's overloads take no generic event name: subscribe through the plain interface
      const events = runtime.events as unknown as EventEmitter;
      events.on(event, listener as (...args: unknown[]) => void);
      unsubscribe.push(() => events.off(event, listener as (...args: unknown[]) => void));
    };

    emitOn('write', (e) => operationMessage('write', { endpoint, shortServerId: e.shortServerId, path: e.path, payload: e.value, extra: { mode: e.mode } }, model()));
    emitOn('execute', (e) =>
      operationMessage('execute', { endpoint, shortServerId: e.shortServerId, path: e.path, payload: e.args, extra: { arguments: formatExecuteArguments(e.args) } }, model()),
    );
    emitOn('create', async (e) => {
      // the new instance's values, as the server created them
      const values = await runtime.client?.getValue(e.path).catch(() => undefined);
      return operationMessage('create', { endpoint, shortServerId: e.shortServerId, path: e.path, payload: values ?? {} }, model());
    });
    emitOn('delete', (e) => operationMessage('delete', { endpoint, shortServerId: e.shortServerId, path: e.path, payload: e.path }, model()));
    emitOn('attributes', (e) => {
      const attached = runtime.client?.attributes.attached(e.shortServerId, parsePath(e.path));
      return operationMessage('attributes', { endpoint, shortServerId: e.shortServerId, path: e.path, payload: { ...attached } }, model());
    });
    emitOn('observeStart', (e) =>
      operationMessage(
        'observeStart',
        { endpoint, shortServerId: e.shortServerId, path: e.paths, payload: { paths: e.paths, composite: e.composite, ...formatOf(e.format) } },
        model(),
      ),
    );
    emitOn('observeStop', (e) =>
      operationMessage('observeStop', { endpoint, shortServerId: e.shortServerId, path: e.paths, payload: { paths: e.paths, reason: e.reason } }, model()),
    );
    emitOn('registered', (info) => registrationMessage(endpoint, 'registered', info));
    emitOn('updated', (info) => registrationMessage(endpoint, 'updated', info));
    emitOn('deregistered', (info) => registrationMessage(endpoint, 'deregistered', info));
    emitOn('registrationFailed', (failure) => registrationFailedMessage(endpoint, failure));
    emitOn('sleeping', () => sleepMessage(endpoint, 'sleeping'));
    emitOn('awake', () => sleepMessage(endpoint, 'awake'));

    node.on('close', (_removed, done) => {
      for (const off of unsubscribe) off();
      unfollow();
      done();
    });
  }

  RED.nodes.registerType('lwm2m-client-in', Lwm2mClientInNode);
}
