/**
 * `lwm2m-bootstrap`: manages the configurations of a Bootstrap-Server from
 * a flow and reports its sessions.
 *
 * Input: msg.operation `set` (add or replace msg.endpoint's configuration
 * from msg.payload), `remove`, `default` (the template for endpoints
 * without their own; null removes it), `get` or `list`. The message goes
 * on with msg.lwm2m describing the outcome; failures go to done(err) with
 * msg.lwm2m.code.
 *
 * Output, unasked: one message per bootstrap session event (started,
 * finished, failed), as the editor's check boxes choose.
 */
import type { BootstrapServerEvents } from '../src/bootstrap/bootstrap-server.js';
import { CoapCode, Lwm2mError } from '../src/errors.js';
import type { Node, NodeDef, NodeMessage, NodeRedRuntime, NodeStatus } from './node-red-types.js';
import { resolveBootstrapAction, type BootstrapAction } from './lib/bootstrap-input.js';
import { enabledSessionEvents, sessionFailedMessage, sessionFinishedMessage, sessionStartedMessage } from './lib/bootstrap-messages.js';
import { bootstrapRuntimeOf, followBootstrapState } from './lib/bootstrap-node.js';
import { performBootstrapAction } from './lib/bootstrap-ops.js';
import { failureStatus, shorten, toFlowFailure } from './lib/messages.js';

export default function register(RED: NodeRedRuntime): void {
  function Lwm2mBootstrapNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const runtime = bootstrapRuntimeOf(RED, def['server']);
    let unfollow = followBootstrapState(node, runtime);
    const defaults = { operation: def['operation'] || 'set', endpoint: def['endpoint'] };
    const wanted = enabledSessionEvents(def);

    /** The status shows the last outcome until the server's state changes again. */
    const showOutcome = (status: NodeStatus): void => {
      unfollow();
      node.status(status);
      unfollow = followBootstrapState(node, runtime, { skipCurrent: true });
    };

    const listeners: { [E in keyof BootstrapServerEvents]?: (...args: BootstrapServerEvents[E]) => void } = {};
    if (runtime) {
      const emit = (msg: NodeMessage): void => node.send(msg);
      if (wanted.has('started')) listeners.sessionStarted = (info) => emit(sessionStartedMessage(info));
      if (wanted.has('finished')) {
        listeners.sessionFinished = (result) => {
          showOutcome({ fill: 'green', shape: 'dot', text: shorten(`bootstrapped ${result.endpoint}`) });
          emit(sessionFinishedMessage(result));
        };
      }
      if (wanted.has('failed')) {
        listeners.sessionFailed = (result) => {
          showOutcome({ fill: 'red', shape: 'ring', text: shorten(`${result.code} ${result.endpoint}: ${result.reason}`) });
          emit(sessionFailedMessage(result));
        };
      }
      if (listeners.sessionStarted) runtime.events.on('sessionStarted', listeners.sessionStarted);
      if (listeners.sessionFinished) runtime.events.on('sessionFinished', listeners.sessionFinished);
      if (listeners.sessionFailed) runtime.events.on('sessionFailed', listeners.sessionFailed);
    }

    node.on('input', async (msg, send, done) => {
      let action: BootstrapAction | undefined;
      try {
        action = resolveBootstrapAction(defaults, msg);
        if (!runtime) throw new Lwm2mError(CoapCode.ServiceUnavailable, 'no LwM2M bootstrap server configured for this node');
        const server = await runtime.ready();
        const outcome = await performBootstrapAction(server.configs, action, server.activeSessions());
        if ('payload' in outcome) msg.payload = outcome.payload;
        const endpoint = outcome.lwm2m['endpoint'];
        if (typeof endpoint === 'string') msg.endpoint = endpoint;
        msg.lwm2m = { ...outcome.lwm2m, timestamp: Date.now() };
        showOutcome({ fill: 'green', shape: 'dot', text: shorten(outcome.text) });
        send(msg);
        done();
      } catch (err) {
        const failure = toFlowFailure(err);
        const endpoint = action && 'endpoint' in action ? action.endpoint : undefined;
        msg.lwm2m = {
          ...(action ? { operation: action.operation } : {}),
          ...(endpoint !== undefined ? { endpoint } : {}),
          code: failure.code,
          timestamp: Date.now(),
        };
        showOutcome(failureStatus(failure));
        done(failure.error);
      }
    });

    node.on('close', (_removed, done) => {
      unfollow();
      if (runtime) {
        if (listeners.sessionStarted) runtime.events.off('sessionStarted', listeners.sessionStarted);
        if (listeners.sessionFinished) runtime.events.off('sessionFinished', listeners.sessionFinished);
        if (listeners.sessionFailed) runtime.events.off('sessionFailed', listeners.sessionFailed);
      }
      done();
    });
  }

  RED.nodes.registerType('lwm2m-bootstrap', Lwm2mBootstrapNode);
}
