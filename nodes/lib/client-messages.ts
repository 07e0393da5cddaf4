/**
 * Messages of the device side (`lwm2m-client-in`): what a server did to the
 * device (Write, Execute, Create, Delete, Write-Attributes, Observe and its
 * cancellation) and the device's connection state (registered, updated,
 * de-registered, registration failed, sleeping, awake), in the package's
 * one message shape (msg.endpoint, msg.path, msg.payload, msg.topic,
 * msg.lwm2m).
 */
import type { RegistrationFailure, RegistrationInfo } from '../../src/client/registration.js';
import { contentFormatName } from '../../src/formats/content-format.js';
import type { ModelLookup } from '../../src/model/definitions.js';
import { parsePath } from '../../src/model/path.js';
import type { NodeMessage } from '../node-red-types.js';
import { errorCode } from './client-runtime.js';
import { topicOf } from './messages.js';
import { describePath } from './summary.js';

/** What a server does to the device. */
export const OPERATION_EVENTS = ['write', 'execute', 'create', 'delete', 'attributes', 'observeStart', 'observeStop'] as const;
/** The device's connection state. */
export const CONNECTION_EVENTS = ['registered', 'updated', 'deregistered', 'registrationFailed', 'sleeping', 'awake'] as const;
export const CLIENT_EVENTS = [...OPERATION_EVENTS, ...CONNECTION_EVENTS] as const;

export type OperationEvent = (typeof OPERATION_EVENTS)[number];
export type ConnectionEvent = (typeof CONNECTION_EVENTS)[number];
export type ClientEvent = (typeof CLIENT_EVENTS)[number];

/** Events a node emits: each is on unless its check box was cleared. */
export function enabledClientEvents(def: Readonly<Record<string, unknown>>): Set<ClientEvent> {
  return new Set(CLIENT_EVENTS.filter((name) => def[name] !== false && def[name] !== 'false'));
}

/** The operation name of each event, as lwm2m-request calls it. */
const OPERATION_OF: Readonly<Record<OperationEvent, string>> = {
  write: 'write',
  execute: 'execute',
  create: 'create',
  delete: 'delete',
  attributes: 'write-attributes',
  observeStart: 'observe',
  observeStop: 'cancel-observe',
};

const WRITE_OPERATION = { replace: 'write', update: 'write-update', composite: 'write-composite' } as const;

export interface OperationDetails {
  readonly endpoint: string;
  readonly shortServerId: number;
  /** One path, or the paths of a composite observation. */
  readonly path: string | readonly string[];
  readonly payload: unknown;
  /** Extra fields for msg.lwm2m. */
  readonly extra?: Record<string, unknown>;
}

/** A server operation on the device. */
export function operationMessage(event: OperationEvent, details: OperationDetails, model?: ModelLookup): NodeMessage {
  const { endpoint, path } = details;
  const single = typeof path === 'string' ? path : path.length === 1 ? path[0] : undefined;
  const mode = details.extra?.['mode'];
  const operation = event === 'write' && typeof mode === 'string' && mode in WRITE_OPERATION ? WRITE_OPERATION[mode as keyof typeof WRITE_OPERATION] : OPERATION_OF[event];
  const msgPath = single ?? [...path];
  return {
    topic: topicOf(endpoint, single ?? [...path]),
    endpoint,
    path: msgPath,
    payload: details.payload,
    lwm2m: {
      endpoint,
      event,
      operation,
      path: msgPath,
      shortServerId: details.shortServerId,
      timestamp: Date.now(),
      ...(model && single !== undefined ? describePath(model, parsePath(single)) : {}),
      ...details.extra,
    },
  };
}

/** A format number as msg.lwm2m shows it elsewhere: `{ format: 'senml-cbor', contentFormat: 112 }`. */
export function formatOf(format: number): { format: string; contentFormat: number } {
  return { format: contentFormatName(format), contentFormat: format };
}

/** registered, updated, deregistered: the registration as the device knows it. */
export function registrationMessage(endpoint: string, event: 'registered' | 'updated' | 'deregistered', info: RegistrationInfo): NodeMessage {
  return {
    topic: topicOf(endpoint, event),
    endpoint,
    payload: {
      server: info.uri,
      shortServerId: info.shortServerId,
      version: info.lwm2mVersion,
      lifetime: info.lifetime,
      location: `/${info.location.join('/')}`,
    },
    lwm2m: { endpoint, event, shortServerId: info.shortServerId, server: info.uri, timestamp: Date.now() },
  };
}

/** registrationFailed: why, and when the next attempt starts. */
export function registrationFailedMessage(endpoint: string, failure: RegistrationFailure): NodeMessage {
  const code = errorCode(failure.error);
  return {
    topic: topicOf(endpoint, 'registrationFailed'),
    endpoint,
    payload: {
      server: failure.uri,
      shortServerId: failure.shortServerId,
      operation: failure.operation,
      reason: failure.error.message,
      attempt: failure.attempt,
      retryInMs: failure.retryInMs,
    },
    lwm2m: { endpoint, event: 'registrationFailed', code, shortServerId: failure.shortServerId, server: failure.uri, timestamp: Date.now() },
  };
}

/** sleeping, awake (queue mode). */
export function sleepMessage(endpoint: string, event: 'sleeping' | 'awake'): NodeMessage {
  return {
    topic: topicOf(endpoint, event),
    endpoint,
    payload: { sleeping: event === 'sleeping' },
    lwm2m: { endpoint, event, timestamp: Date.now() },
  };
}
