/**
 * What an `lwm2m-client-out` message asks the device to do: set resource
 * values, Send, Update, Register or De-register. The editor's settings are
 * defaults, each overridden by the message. All checks happen here, before
 * anything changes, and every failure is an Lwm2mError 4.00 whose message
 * says which property is wrong.
 */
import type { SendValue } from '../../src/client/send.js';
import { CoapCode, Lwm2mError } from '../../src/errors.js';
import { ContentFormat } from '../../src/formats/content-format.js';
import { formatPath, parsePath, type Lwm2mPath } from '../../src/model/path.js';
import { resolveFormat, resolvePathList } from './request-input.js';

export const CLIENT_OPERATIONS = ['set', 'send', 'update', 'register', 'deregister'] as const;
export type ClientOperation = (typeof CLIENT_OPERATIONS)[number];

/** Other spellings accepted in msg.operation (compared without case, spaces, dashes or underscores). */
const OPERATION_ALIASES: Readonly<Record<string, ClientOperation>> = {
  setvalue: 'set',
  setvalues: 'set',
  value: 'set',
  values: 'set',
  registrationupdate: 'update',
  start: 'register',
  reregister: 'register',
  stop: 'deregister',
  unregister: 'deregister',
};

/** Formats a Send may use. */
const SEND_FORMATS: readonly number[] = [ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON, ContentFormat.LWM2M_CBOR];

function bad(message: string): Lwm2mError {
  return new Lwm2mError(CoapCode.BadRequest, message);
}

/** "De-register", "deregister", "STOP" → 'deregister'. */
export function parseClientOperation(raw: unknown): ClientOperation {
  if (typeof raw !== 'string' || raw.trim() === '') throw bad('no operation given (msg.operation or the node\'s setting)');
  const key = raw.toLowerCase().replace(/[\s_-]/g, '');
  for (const op of CLIENT_OPERATIONS) if (op === key) return op;
  const alias = OPERATION_ALIASES[key];
  if (alias) return alias;
  throw bad(`unknown operation "${raw}" (use one of ${CLIENT_OPERATIONS.join(', ')})`);
}

/** Editor settings of an lwm2m-client-out node. */
export interface ClientOutDefaults {
  readonly operation?: unknown;
  /** One path (set) or several (send). */
  readonly path?: unknown;
  readonly format?: unknown;
}

export interface ValueToSet {
  readonly path: Lwm2mPath;
  readonly value: unknown;
}

export type ClientAction =
  | { readonly operation: 'set'; readonly values: readonly ValueToSet[] }
  | { readonly operation: 'send'; readonly paths: readonly Lwm2mPath[]; readonly format?: number }
  | { readonly operation: 'send'; readonly readings: Readonly<Record<string, SendValue>>; readonly format?: number }
  | { readonly operation: 'update' | 'register' | 'deregister' };

/** `{ "/3303/0/5700": 21.5, ... }`: a plain object whose every key is a path. */
export function isPathMap(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || Buffer.isBuffer(v) || v instanceof Date) return false;
  const keys = Object.keys(v);
  return keys.length > 0 && keys.every((k) => k.startsWith('/'));
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && !(typeof v === 'string' && v.trim() === '') && !(Array.isArray(v) && v.length === 0);
}

/** A path a value can be set at: an instance, a resource or a resource instance. */
function settablePath(text: string): Lwm2mPath {
  const path = parsePath(text);
  if (path.length < 2) throw bad(`set needs an instance, resource or resource-instance path such as /3303/0/5700, got "${formatPath(path)}"`);
  return path;
}

function setAction(defaults: ClientOutDefaults, msg: Readonly<Record<string, unknown>>): ClientAction {
  const payload = msg['payload'];
  const single = (raw: unknown): ClientAction => {
    if (typeof raw !== 'string') throw bad(`msg.path must be a string such as "/3303/0/5700", got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
    const path = settablePath(raw);
    if (payload === undefined) throw bad(`no value to set at ${formatPath(path)}: msg.payload is missing`);
    return { operation: 'set', values: [{ path, value: payload }] };
  };
  if (present(msg['path'])) return single(msg['path']);
  if (isPathMap(payload)) {
    return { operation: 'set', values: Object.entries(payload).map(([key, value]) => ({ path: settablePath(key), value })) };
  }
  if (present(defaults.path)) return single(defaults.path);
  throw bad('set needs msg.path and msg.payload, or msg.payload = { "/3303/0/5700": 21.5, ... }');
}

function sendAction(defaults: ClientOutDefaults, msg: Readonly<Record<string, unknown>>): ClientAction {
  const format = resolveFormat(msg['format'], defaults.format);
  if (format !== undefined && !SEND_FORMATS.includes(format)) {
    throw bad(`Send carries senml-cbor, senml-json or lwm2m-cbor, not ${JSON.stringify(msg['format'] ?? defaults.format)}`);
  }
  const withFormat = format !== undefined ? { format } : {};
  if (present(msg['path'])) return { operation: 'send', paths: resolvePathList(msg['path'], undefined, 'send'), ...withFormat };
  const payload = msg['payload'];
  if (isPathMap(payload)) {
    for (const key of Object.keys(payload)) parsePath(key);
    return { operation: 'send', readings: payload as Record<string, SendValue>, ...withFormat };
  }
  if (present(defaults.path)) return { operation: 'send', paths: resolvePathList(undefined, defaults.path, 'send'), ...withFormat };
  throw bad('send needs msg.path (the paths whose current values to send) or msg.payload = { "/3303/0/5700": 21.5, ... }');
}

/** The action a message asks for; throws Lwm2mError 4.00 naming what is wrong. */
export function resolveClientAction(defaults: ClientOutDefaults, msg: Readonly<Record<string, unknown>>): ClientAction {
  const operation = parseClientOperation(present(msg['operation']) ? msg['operation'] : defaults.operation);
  switch (operation) {
    case 'set':
      return setAction(defaults, msg);
    case 'send':
      return sendAction(defaults, msg);
    default:
      return { operation };
  }
}
