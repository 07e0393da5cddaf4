/**
 * `lwm2m-events`: what devices do by themselves, one message per event:
 * registered, updated, deregistered, expired, awake, sleeping (queue mode)
 * and Send data. The editor's checkboxes choose which events go out.
 */
import type { EventEmitter } from 'node:events';
import type { Lwm2mServer, Lwm2mServerEvents, SendEvent } from '../src/server/lwm2m-server.js';
import type { Registration } from '../src/server/registration.js';
import type { Node, NodeDef, NodeMessage, NodeRedRuntime } from './node-red-types.js';
import { formatFields, topicOf } from './lib/messages.js';
import { followServerState, runtimeOf } from './lib/server-node.js';
import { describeResources, registrationChanges, registrationSummary, timedRecords } from './lib/summary.js';

export const EVENT_NAMES = ['registered', 'updated', 'deregistered', 'expired', 'awake', 'sleeping', 'send'] as const;
export type DeviceEvent = (typeof EVENT_NAMES)[number];

/** Events a node emits: each is on unless its checkbox was cleared (older flows lack the field). */
export function enabledEvents(def: Readonly<Record<string, unknown>>): Set<DeviceEvent> {
  return new Set(EVENT_NAMES.filter((name) => def[name] !== false && def[name] !== 'false'));
}

/** The message of a registration event. */
export function registrationMessage(
  server: Lwm2mServer | undefined,
  event: Exclude<DeviceEvent, 'send'>,
  reg: Registration,
  extra: Record<string, unknown> = {},
): NodeMessage {
  const model = server?.modelFor(reg);
  return {
    topic: topicOf(reg.endpoint, event),
    endpoint: reg.endpoint,
    payload: registrationSummary(reg, model),
    lwm2m: { endpoint: reg.endpoint, event, registration: reg.id, timestamp: Date.now(), ...extra },
  };
}

/** The message of a Send: plain values by instance path, as the device sent them. */
export function sendMessage(server: Lwm2mServer | undefined, event: SendEvent): NodeMessage {
  const reg = event.registration;
  const model = server?.modelFor(reg);
  const resources = model ? describeResources(model, event.entries) : {};
  const records = timedRecords(event.entries);
  return {
    topic: topicOf(reg.endpoint, 'send'),
    endpoint: reg.endpoint,
    payload: event.value,
    lwm2m: {
      endpoint: reg.endpoint,
      event: 'send',
      registration: reg.id,
      timestamp: event.receivedAt,
      ...formatFields(event.format),
      path: Object.keys(event.value),
      ...(Object.keys(resources).length > 0 ? { resources } : {}),
      ...(records ? { records } : {}),
    },
  };
}

export default function register(RED: NodeRedRuntime): void {
  function Lwm2mEventsNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this;
    const runtime = runtimeOf(RED, def['server']);
    const unfollow = followServerState(node, runtime);
    if (!runtime) return;
    const wanted = enabledEvents(def);

    const unsubscribe: (() => void)[] = [];
    const emitOn = <E extends DeviceEvent>(event: E, toMessage: (...args: Lwm2mServerEvents[E]) => NodeMessage): void => {
      if (!wanted.has(event)) return;
      const listener = (...args: Lwm2mServerEvents[E]): void => node.send(toMessage(...args));
      // the typed emitter's overloads take no generic event name: subscribe through the plain interface
      const events = runtime.events as unknown as EventEmitter;
      events.on(event, listener as (...args: unknown[]) => void);
      unsubscribe.push(() => events.off(event, listener as (...args: unknown[]) => void));
    };
    emitOn('registered', (reg, info) => registrationMessage(runtime.server, 'registered', reg, info.replaced ? { replaced: info.replaced.id } : {}));
    emitOn('updated', (reg, previous) => registrationMessage(runtime.server, 'updated', reg, { changed: registrationChanges(previous, reg) }));
    emitOn('deregistered', (reg) => registrationMessage(runtime.server, 'deregistered', reg));
    emitOn('expired', (reg) => registrationMessage(runtime.server, 'expired', reg));
    emitOn('awake', (reg) => registrationMessage(runtime.server, 'awake', reg));
    emitOn('sleeping', (reg) => registrationMessage(runtime.server, 'sleeping', reg));
    emitOn('send', (event) => sendMessage(runtime.server, event));

    node.on('close', (_removed, done) => {
      for (const off of unsubscribe) off();
      unfollow();
      done();
    });
  }

  RED.nodes.registerType('lwm2m-events', Lwm2mEventsNode);
}
