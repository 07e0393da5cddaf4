/**
 * `lwm2m-observe`: starts and cancels observations and emits every
 * notification as a message.
 *
 * - A message starts observing msg.path (or the configured paths) on
 *   msg.endpoint (or the configured endpoint); `msg.cancel = true` cancels.
 * - "Observe on every registration": each device that registers (or
 *   registers again) is observed automatically; devices already registered
 *   when the node starts are observed too (or their observation from before
 *   a restart is adopted).
 * - Messages: the current value when an observation starts
 *   (msg.lwm2m.operation 'observe'), then one per notification ('notify').
 * - Closing the node forgets its observations passively (the device gets a
 *   Reset at its next notification), unless the whole server is stopping
 *   too: then they stay in the server's store and resume after a restart.
 */
import { CoapCode, Lwm2mError } from '../src/errors.js';
import type { NotificationAttributes } from '../src/model/attributes.js';
import { formatPath, type Lwm2mPath } from '../src/model/path.js';
import type { PlainTree } from '../src/model/plain.js';
import type { Lwm2mServer, NotificationEvent, ObservationInfo } from '../src/server/lwm2m-server.js';
import type { Registration } from '../src/server/registration.js';
import type { Node, NodeDef, NodeMessage, NodeRedRuntime } from './node-red-types.js';
import { failureStatus, formatFields, toFlowFailure, topicOf } from './lib/messages.js';
import {
  forEachLimited,
  observationTargets,
  OwnedObservations,
  registrationHasPaths,
  type ObserveTarget,
  type StartedObservation,
} from './lib/observations.js';
import { parseAttributes, resolveEndpoint, resolveFormat, resolvePathList, resolveTimeout, splitPaths } from './lib/request-input.js';
import { followServerState, runtimeOf } from './lib/server-node.js';
import { describePath, describeResources, timedRecords } from './lib/summary.js';

/** Devices observed at the same time when the node starts with a fleet already registered. */
const STARTUP_CONCURRENCY = 8;

/** Reasons an observation ends that are part of normal life, not worth a warning. */
const ORDINARY_ENDINGS = /cancelled|registered again|de-registered|expired/;

/** The common part of msg.lwm2m for one observation. */
function observationMeta(
  server: Lwm2mServer,
  reg: Registration,
  info: ObservationInfo,
  operation: 'observe' | 'notify',
  format: number,
  entries: StartedObservation['entries'],
  timestamp: number,
): Record<string, unknown> {
  const model = server.modelFor(reg);
  const single = info.kind === 'single' ? info.paths[0] : undefined;
  const resources = describeResources(model, entries);
  const records = timedRecords(entries);
  return {
    endpoint: reg.endpoint,
    path: single ? formatPath(single) : info.paths.map(formatPath),
    operation,
    code: CoapCode.Content,
    ...formatFields(format),
    registration: reg.id,
    observation: info.id,
    timestamp,
    ...(single ? describePath(model, single) : {}),
    ...(Object.keys(resources).length > 0 ? { resources } : {}),
    ...(records ? { records } : {}),
  };
}

function observationMessage(info: ObservationInfo, value: PlainTree | Record<string, PlainTree>, lwm2m: Record<string, unknown>): NodeMessage {
  const path = lwm2m['path'] as string | string[];
  return { topic: topicOf(info.endpoint, path), endpoint: info.endpoint, path, payload: value, lwm2m };
}

/** The value of a single observation's path in a notification (composite: every path). */
function notificationValue(event: NotificationEvent): PlainTree | Record<string, PlainTree> {
  const info = event.observation;
  if (info.kind === 'composite') return event.value;
  const key = formatPath(info.paths[0] as Lwm2mPath);
  if (key in event.value) return event.value[key] as PlainTree;
  const values = Object.values(event.value);
  return values.length === 1 ? (values[0] as PlainTree) : event.value;
}

export default function register(RED: NodeRedRuntime): void {
  function Lwm2mObserveNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const runtime = runtimeOf(RED, def['server']);
    const owned = runtime ? new OwnedObservations(runtime, node.id) : undefined;
    const auto = def['auto'] === true || def['auto'] === 'true';
    // editor settings, checked once; a bad one shows at once and fails each message
    let configError: Lwm2mError | undefined;
    let configAttributes: NotificationAttributes | undefined;
    try {
      configAttributes = parseAttributes(
        { pmin: def['pmin'], pmax: def['pmax'], gt: def['gt'], lt: def['lt'], st: def['st'] },
        'the attributes of this node',
      );
      resolveFormat(undefined, def['format']);
      if (auto && splitPaths(typeof def['paths'] === 'string' ? def['paths'] : '').length === 0) {
        throw new Lwm2mError(CoapCode.BadRequest, 'no paths to observe on every registration');
      }
      if (auto) resolvePathList(undefined, def['paths'], 'observe');
    } catch (err) {
      configError = err instanceof Lwm2mError ? err : new Lwm2mError(CoapCode.BadRequest, String(err));
    }

    // the status follows the server (with the number of observations), unless the settings are wrong
    const observing = (): string | undefined => (owned && owned.size > 0 ? `observing ${owned.size}` : undefined);
    let unfollow = (): void => undefined;
    const refreshStatus = (): void => {
      unfollow();
      if (configError) node.status(failureStatus(toFlowFailure(configError)));
      else unfollow = followServerState(node, runtime, observing);
    };
    refreshStatus();

    /** The target a message (or the editor, for automatic observation) asks for. */
    const targetFor = (msg: NodeMessage, endpoint: string): ObserveTarget => {
      if (configError) throw configError;
      const paths = resolvePathList(msg['path'], def['paths'], 'observe');
      const composite = typeof msg['composite'] === 'boolean' ? msg['composite'] : def['composite'] === true || def['composite'] === 'true';
      const attributes = msg['attributes'] !== undefined ? parseAttributes(msg['attributes'], 'msg.attributes') : configAttributes;
      const format = resolveFormat(msg['format'], def['format']);
      const timeoutMs = resolveTimeout(msg['timeout'], def['timeout']);
      return {
        endpoint,
        paths,
        composite: composite && paths.length > 1,
        ...(attributes ? { attributes } : {}),
        ...(format !== undefined ? { format } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      };
    };

    const startedMessage = (server: Lwm2mServer, started: StartedObservation): NodeMessage =>
      observationMessage(
        started.observation,
        started.value,
        observationMeta(server, started.registration, started.observation, 'observe', started.format, started.entries, Date.now()),
      );

    /** Observation for a device that registered, or was registered when the node started. */
    const observeDevice = async (server: Lwm2mServer, reg: Registration, adoptExisting: boolean): Promise<void> => {
      let target: ObserveTarget;
      try {
        target = targetFor({}, reg.endpoint);
      } catch {
        return; // the configuration error is already on show
      }
      let failed = false;
      for (const one of observationTargets(target)) {
        if (!registrationHasPaths(reg, one.paths)) continue; // the device does not have that object
        if (adoptExisting && owned!.adopt(server, one)) continue;
        try {
          const started = await owned!.start(server, one);
          node.send(startedMessage(server, started));
        } catch (err) {
          const failure = toFlowFailure(err);
          const msg: NodeMessage = {
            topic: topicOf(reg.endpoint, one.paths.map(formatPath)),
            endpoint: reg.endpoint,
            path: one.paths.length === 1 ? formatPath(one.paths[0]!) : one.paths.map(formatPath),
            lwm2m: { endpoint: reg.endpoint, operation: 'observe', code: failure.code, registration: reg.id, timestamp: Date.now() },
          };
          failed = true;
          node.status(failureStatus(failure));
          node.error(failure.error, msg);
        }
      }
      // a failure stays on show until the next success
      if (!failed) refreshStatus();
    };

    const autoEndpoint = typeof def['endpoint'] === 'string' ? def['endpoint'].trim() : '';
    const wantsDevice = (reg: Registration): boolean => auto && (autoEndpoint === '' || autoEndpoint === reg.endpoint);

    const onNotification = (event: NotificationEvent): void => {
      const server = runtime?.server;
      if (!owned?.owns(event.observation.id) || !server) return;
      const lwm2m = observationMeta(server, event.registration, event.observation, 'notify', event.format, event.entries, event.receivedAt);
      node.send(observationMessage(event.observation, notificationValue(event), lwm2m));
    };
    const onEnded = (info: ObservationInfo, reason: string): void => {
      if (!owned?.release(info.id)) return;
      if (!ORDINARY_ENDINGS.test(reason)) node.warn(`observation of ${info.paths.map(formatPath).join(', ')} on ${info.endpoint} ended: ${reason}`);
      refreshStatus();
    };
    const onRegistered = (reg: Registration): void => {
      const server = runtime?.server;
      if (server && wantsDevice(reg)) void observeDevice(server, reg, false);
    };

    if (runtime) {
      runtime.events.on('notification', onNotification);
      runtime.events.on('observationEnded', onEnded);
      if (auto) {
        runtime.events.on('registered', onRegistered);
        runtime
          .ready()
          .then((server) => forEachLimited(server.registrations().filter(wantsDevice), STARTUP_CONCURRENCY, (reg) => observeDevice(server, reg, true)))
          .catch(() => undefined); // a server that did not start shows it in the status already
      }
    }

    node.on('input', async (msg, send, done) => {
      let endpoint: string | undefined;
      try {
        if (!runtime || !owned) throw new Lwm2mError(CoapCode.ServiceUnavailable, 'no LwM2M server configured for this node');
        if (msg['cancel'] === true) {
          const server = await runtime.ready();
          const hasEndpoint = msg['endpoint'] !== undefined || (typeof def['endpoint'] === 'string' && def['endpoint'].trim() !== '');
          endpoint = hasEndpoint ? resolveEndpoint(msg['endpoint'], def['endpoint']) : undefined;
          const paths = msg['path'] !== undefined ? resolvePathList(msg['path'], undefined, 'cancel') : undefined;
          await owned.cancel(server, endpoint, paths);
          refreshStatus();
          done();
          return;
        }
        endpoint = resolveEndpoint(msg['endpoint'], def['endpoint']);
        const target = targetFor(msg, endpoint);
        const server = await runtime.ready();
        for (const one of observationTargets(target)) {
          const started = await owned.start(server, one);
          const out = startedMessage(server, started);
          send({ ...msg, ...out });
        }
        refreshStatus();
        done();
      } catch (err) {
        const failure = toFlowFailure(err);
        msg.lwm2m = {
          ...(endpoint !== undefined ? { endpoint } : {}),
          operation: msg['cancel'] === true ? 'cancel' : 'observe',
          code: failure.code,
          timestamp: Date.now(),
        };
        unfollow();
        unfollow = () => undefined;
        node.status(failureStatus(failure));
        done(failure.error);
      }
    });

    node.on('close', (removed, done) => {
      unfollow();
      if (!runtime || !owned) return done();
      runtime.events.off('notification', onNotification);
      runtime.events.off('observationEnded', onEnded);
      runtime.events.off('registered', onRegistered);
      if (removed) {
        // deleted: its observations go now, while the engine surely still runs
        // (Node-RED closes flow nodes before config nodes)
        owned.cancelAllPassively(runtime.server).then(done, done);
        return;
      }
      // Node-RED calls the close handlers of a deploy in one go, the config
      // node's after the flow nodes': one turn later we know whether the
      // server stops too (restart, full deploy, changed server). Then the
      // observations stay in its store, to resume and be taken over.
      setImmediate(() => {
        if (runtime.stopping) {
          owned.releaseAll();
          done();
        } else {
          owned.cancelAllPassively(runtime.server).then(done, done);
        }
      });
    });
  }

  RED.nodes.registerType('lwm2m-observe', Lwm2mObserveNode);
}
