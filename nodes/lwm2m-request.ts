/**
 * `lwm2m-request`: one device-management request per message (Read,
 * Discover, Write, Write-Attributes, Execute, Create, Delete, Read- and
 * Write-Composite). The editor's settings are defaults; msg.operation,
 * msg.endpoint, msg.path, msg.format and msg.timeout override them.
 *
 * Success: the message goes on with msg.payload = the plain value read
 * (writes keep the payload they wrote), msg.topic = <endpoint><path> and
 * msg.lwm2m describing the exchange. Failure: done(err) with msg.lwm2m.code
 * set, so a Catch node gets both, and a red status with the code.
 */
import { CoapCode, Lwm2mError } from '../src/errors.js';
import { formatPath } from '../src/model/path.js';
import type { Node, NodeDef, NodeRedRuntime } from './node-red-types.js';
import { failureStatus, shorten, toFlowFailure, topicOf } from './lib/messages.js';
import { isComposite, resolveRequest, type RequestDefaults, type ResolvedRequest } from './lib/request-input.js';
import { performRequest } from './lib/request-ops.js';
import { followServerState, runtimeOf } from './lib/server-node.js';

export default function register(RED: NodeRedRuntime): void {
  function Lwm2mRequestNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const runtime = runtimeOf(RED, def['server']);
    let unfollow = followServerState(node, runtime);
    const defaults: RequestDefaults = {
      operation: def['operation'] || 'read',
      endpoint: def['endpoint'],
      path: def['path'],
      format: def['format'],
      timeout: def['timeout'],
    };

    node.on('input', async (msg, send, done) => {
      let request: ResolvedRequest | undefined;
      try {
        request = resolveRequest(defaults, msg);
        if (!runtime) throw toNoServer();
        const server = await runtime.ready();
        const outcome = await performRequest(server, request);
        if ('payload' in outcome) msg.payload = outcome.payload;
        msg.endpoint = request.endpoint;
        msg.path = outcome.path;
        msg.topic = topicOf(request.endpoint, outcome.path);
        msg.lwm2m = outcome.lwm2m;
        // the status now shows the last outcome, no longer the server's state
        unfollow();
        unfollow = () => undefined;
        node.status({ fill: 'green', shape: 'dot', text: shorten(`${String(outcome.lwm2m['code'])} ${request.operation} ${topicOf(request.endpoint, outcome.path)}`) });
        send(msg);
        done();
      } catch (err) {
        const failure = toFlowFailure(err);
        msg.lwm2m = {
          ...(request
            ? {
                endpoint: request.endpoint,
                operation: request.operation,
                path: isComposite(request.operation) ? request.paths.map(formatPath) : formatPath(request.paths[0]!),
              }
            : {}),
          code: failure.code,
          timestamp: Date.now(),
        };
        unfollow();
        unfollow = () => undefined;
        node.status(failureStatus(failure));
        done(failure.error);
      }
    });

    node.on('close', (_removed, done) => {
      unfollow();
      done();
    });
  }

  RED.nodes.registerType('lwm2m-request', Lwm2mRequestNode);
}

function toNoServer(): Lwm2mError {
  return new Lwm2mError(CoapCode.ServiceUnavailable, 'no LwM2M server configured for this node');
}
