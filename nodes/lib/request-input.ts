/**
 * What a request or observe node should do for one message: the editor's
 * defaults, each overridden by the message when it carries a value. All
 * checks happen here, before anything is sent, and every failure is an
 * Lwm2mError 4.00 whose message says which property is wrong.
 */
import { CoapCode, Lwm2mError } from '../../src/errors.js';
import { parseContentFormat } from '../../src/formats/content-format.js';
import {
  checkAttributeConsistency,
  checkAttributeValue,
  isAttributeName,
  type NotificationAttributes,
} from '../../src/model/attributes.js';
import { formatPath, parsePath, type Lwm2mPath } from '../../src/model/path.js';

export const REQUEST_OPERATIONS = [
  'read',
  'discover',
  'write',
  'write-update',
  'write-attributes',
  'execute',
  'create',
  'delete',
  'read-composite',
  'write-composite',
] as const;

export type RequestOperation = (typeof REQUEST_OPERATIONS)[number];

/** Other spellings accepted in msg.operation (compared without case, spaces, dashes or underscores). */
const OPERATION_ALIASES: Readonly<Record<string, RequestOperation>> = {
  replace: 'write',
  writereplace: 'write',
  update: 'write-update',
  partialupdate: 'write-update',
  writepartial: 'write-update',
  attributes: 'write-attributes',
  writeattr: 'write-attributes',
  exec: 'execute',
  composite: 'read-composite',
};

function bad(message: string): Lwm2mError {
  return new Lwm2mError(CoapCode.BadRequest, message);
}

/** "Write-Attributes", "writeAttributes", "write_attributes" → 'write-attributes'. */
export function parseOperation(raw: unknown): RequestOperation {
  if (typeof raw !== 'string' || raw.trim() === '') throw bad('no operation given (msg.operation or the node\'s setting)');
  const key = raw.toLowerCase().replace(/[\s_-]/g, '');
  for (const op of REQUEST_OPERATIONS) if (op.replace(/-/g, '') === key) return op;
  const alias = OPERATION_ALIASES[key];
  if (alias) return alias;
  throw bad(`unknown operation "${raw}" (use one of ${REQUEST_OPERATIONS.join(', ')})`);
}

export function isComposite(op: RequestOperation): boolean {
  return op === 'read-composite' || op === 'write-composite';
}

/** msg value when present (not undefined, null or ''), else the editor's. */
function pick(fromMsg: unknown, fromConfig: unknown): unknown {
  if (fromMsg === undefined || fromMsg === null || (typeof fromMsg === 'string' && fromMsg.trim() === '')) return fromConfig;
  return fromMsg;
}

export function resolveEndpoint(fromMsg: unknown, fromConfig: unknown): string {
  const raw = pick(fromMsg, fromConfig);
  if (raw === undefined || raw === null || raw === '') throw bad('no endpoint given (msg.endpoint or the node\'s setting)');
  if (typeof raw !== 'string') throw bad(`msg.endpoint must be a string, got ${typeof raw}`);
  return raw.trim();
}

/** One path; an array of one path is accepted too. */
export function resolveSinglePath(fromMsg: unknown, fromConfig: unknown, operation: string): Lwm2mPath {
  let raw = pick(fromMsg, fromConfig);
  if (Array.isArray(raw)) {
    if (raw.length !== 1) throw bad(`${operation} takes one path, got ${raw.length} (use the composite operation for several)`);
    raw = raw[0];
  }
  if (raw === undefined || raw === null || raw === '') throw bad(`no path given for ${operation} (msg.path or the node's setting)`);
  if (typeof raw !== 'string') throw bad(`msg.path must be a string such as "/3/0/9", got ${typeof raw}`);
  return parsePath(raw);
}

/** Several paths: an array, or one string separated by commas, spaces or new lines. */
export function resolvePathList(fromMsg: unknown, fromConfig: unknown, operation: string): Lwm2mPath[] {
  const raw = pick(fromMsg, fromConfig);
  let items: unknown[];
  if (Array.isArray(raw)) items = raw;
  else if (typeof raw === 'string') items = splitPaths(raw);
  else if (raw === undefined || raw === null) items = [];
  else throw bad(`msg.path must be a string or an array of strings, got ${typeof raw}`);
  if (items.length === 0) throw bad(`no paths given for ${operation} (msg.path or the node's setting)`);
  return items.map((item) => {
    if (typeof item !== 'string') throw bad(`every path must be a string such as "/3/0/9", got ${typeof item}`);
    return parsePath(item);
  });
}

export function splitPaths(text: string): string[] {
  return text.split(/[\s,;]+/).filter((s) => s !== '');
}

/** undefined = let the server choose. */
export function resolveFormat(fromMsg: unknown, fromConfig: unknown): number | undefined {
  const raw = pick(fromMsg, fromConfig);
  if (raw === undefined || raw === null || raw === '' || raw === 'auto') return undefined;
  if (typeof raw !== 'string' && typeof raw !== 'number') throw bad(`msg.format must be a name or a number, got ${typeof raw}`);
  const format = parseContentFormat(raw);
  if (format === undefined) {
    throw bad(`unknown content format ${JSON.stringify(raw)} (use text, opaque, cbor, tlv, json, senml-json, senml-cbor, lwm2m-cbor or a number)`);
  }
  return format;
}

/** Seconds (editor and msg.timeout) → ms; undefined = the server's default. */
export function resolveTimeout(fromMsg: unknown, fromConfig: unknown): number | undefined {
  const raw = pick(fromMsg, fromConfig);
  if (raw === undefined || raw === null || raw === '' || raw === 0 || raw === '0') return undefined;
  const seconds = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : NaN;
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw bad(`timeout must be a number of seconds from 0 to 3600, got ${JSON.stringify(raw)}`);
  }
  return Math.round(seconds * 1000);
}

/** `{ pmin: 10, pmax: 60, st: null }` checked against the rules of each attribute; undefined when empty. */
export function parseAttributes(raw: unknown, where: string): NotificationAttributes | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw) || Buffer.isBuffer(raw)) {
    throw bad(`${where} must be an object such as { "pmin": 10, "pmax": 60 }`);
  }
  const out: Record<string, number | null> = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!isAttributeName(name)) throw bad(`${where}: unknown attribute "${name}" (use pmin, pmax, gt, lt, st, epmin, epmax, edge, con or hqmax)`);
    if (value === undefined || value === '') continue;
    out[name] = checkAttributeValue(name, value);
  }
  const attrs = out as NotificationAttributes;
  checkAttributeConsistency(attrs);
  return Object.keys(attrs).length > 0 ? attrs : undefined;
}

/** Editor settings of an lwm2m-request node. */
export interface RequestDefaults {
  readonly operation?: unknown;
  readonly endpoint?: unknown;
  readonly path?: unknown;
  readonly format?: unknown;
  readonly timeout?: unknown;
}

export interface ResolvedRequest {
  readonly operation: RequestOperation;
  readonly endpoint: string;
  /** One path, or the composite paths (for write-composite: the keys of the payload). */
  readonly paths: readonly Lwm2mPath[];
  readonly format?: number;
  readonly timeoutMs?: number;
  /** Write value, attributes, execute arguments, create values or composite values, as given. */
  readonly payload: unknown;
}

/** The request a message asks for; throws Lwm2mError 4.00 naming what is wrong. */
export function resolveRequest(defaults: RequestDefaults, msg: Readonly<Record<string, unknown>>): ResolvedRequest {
  const operation = parseOperation(pick(msg['operation'], defaults.operation));
  const endpoint = resolveEndpoint(msg['endpoint'], defaults.endpoint);
  const format = resolveFormat(msg['format'], defaults.format);
  const timeoutMs = resolveTimeout(msg['timeout'], defaults.timeout);
  const payload = msg['payload'];
  let paths: Lwm2mPath[];
  if (operation === 'write-composite') {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload) || Buffer.isBuffer(payload)) {
      throw bad('write-composite needs msg.payload as an object of path → value, e.g. { "/3/0/13": "2024-01-01T00:00:00Z" }');
    }
    paths = Object.keys(payload).map((p) => parsePath(p));
    if (paths.length === 0) throw bad('write-composite needs at least one path → value in msg.payload');
  } else if (operation === 'read-composite') {
    paths = resolvePathList(msg['path'], defaults.path, operation);
  } else {
    paths = [resolveSinglePath(msg['path'], defaults.path, operation)];
  }
  checkPathLevel(operation, paths[0] as Lwm2mPath);
  return {
    operation,
    endpoint,
    paths,
    ...(format !== undefined ? { format } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    payload,
  };
}

/** Catches paths an operation cannot act on before a request goes out. */
function checkPathLevel(op: RequestOperation, path: Lwm2mPath): void {
  const p = formatPath(path);
  switch (op) {
    case 'read':
    case 'discover':
    case 'write-attributes':
      if (path.length === 0) throw bad(`${op} needs an object, instance or resource path, got "${p}"`);
      return;
    case 'write':
      if (path.length < 2) throw bad(`write needs an instance or resource path such as /1/0/1, got "${p}"`);
      return;
    case 'write-update':
      if (path.length !== 2 && path.length !== 3) throw bad(`write-update (partial update) needs an instance or multiple-resource path such as /3/0, got "${p}"`);
      return;
    case 'execute':
      if (path.length !== 3) throw bad(`execute needs a resource path such as /3/0/4, got "${p}"`);
      return;
    case 'create':
      if (path.length < 1 || path.length > 2) throw bad(`create needs an object path such as /3303 (or /3303/5 to choose the instance id), got "${p}"`);
      return;
    case 'delete':
      if (path.length !== 2) throw bad(`delete needs an object instance path such as /3303/1, got "${p}"`);
      return;
    case 'read-composite':
    case 'write-composite':
      return;
  }
}
