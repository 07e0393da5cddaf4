/**
 * Conversions between the value tree and plain JavaScript values, the shape
 * flows work with (`msg.payload`):
 *   resource → its value; multiple resource → { [riid]: value };
 *   instance → { [rid]: ... }; object → { [iid]: { ... } };
 *   opaque → Buffer; time → Date; objlnk → "3:0"; 64-bit integers → BigInt.
 *
 * `fromPlain` is where values typed by a person meet the model, so its
 * errors name the path, the resource and the expected type.
 */
import { CoapCode, Lwm2mError } from '../errors.js';
import type { ModelLookup, ResourceDefinition, ResourceType } from './definitions.js';
import { formatPath, isValidId, type Lwm2mPath } from './path.js';
import {
  formatObjectLink,
  type Lwm2mNode,
  type Lwm2mValue,
  type ObjectInstanceNode,
  type ResourceInstanceNode,
  type ResourceNode,
} from './value.js';

export type PlainValue = string | number | bigint | boolean | Buffer | Date;
export type PlainTree = PlainValue | { [id: string]: PlainTree };

/** The plain value of one typed value. */
export function valueToPlain(v: Lwm2mValue): PlainValue {
  return v.type === 'objlnk' ? formatObjectLink(v.value) : v.value;
}

/** The plain form of a node (see the module comment for the shapes). */
export function toPlain(node: Lwm2mNode): PlainTree {
  switch (node.kind) {
    case 'resource':
    case 'resourceInstance':
      return valueToPlain(node.value);
    case 'multipleResource': {
      const out: Record<string, PlainTree> = {};
      for (const ri of node.instances.values()) out[ri.id] = valueToPlain(ri.value);
      return out;
    }
    case 'instance': {
      const out: Record<string, PlainTree> = {};
      for (const r of node.resources.values()) out[r.id] = toPlain(r);
      return out;
    }
    case 'object': {
      const out: Record<string, PlainTree> = {};
      for (const i of node.instances.values()) out[i.id] = toPlain(i);
      return out;
    }
  }
}

function badValue(path: Lwm2mPath, def: ResourceDefinition | undefined, expected: string, got: unknown): Lwm2mError {
  const where = def ? `${formatPath(path)} (${def.name})` : formatPath(path);
  return new Lwm2mError(CoapCode.BadRequest, `bad value for ${where}: expected ${expected}, got ${describe(got)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Buffer.isBuffer(v)) return `a Buffer of ${v.length} bytes`;
  if (v instanceof Date) return `the date ${isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString()}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

function toInteger(raw: unknown, unsigned: boolean, fail: (expected: string) => Lwm2mError): number | bigint {
  let big: bigint;
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw)) throw fail(unsigned ? 'an unsigned integer' : 'an integer');
    big = BigInt(raw);
  } else if (typeof raw === 'bigint') {
    big = raw;
  } else if (typeof raw === 'string' && /^\s*[-+]?\d+\s*$/.test(raw)) {
    big = BigInt(raw.trim());
  } else {
    throw fail(unsigned ? 'an unsigned integer' : 'an integer');
  }
  if (unsigned ? big < 0n || big > UINT64_MAX : big < INT64_MIN || big > INT64_MAX) {
    throw fail(unsigned ? 'an unsigned integer in 0..2^64-1' : 'an integer in the 64-bit range');
  }
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

function toFloat(raw: unknown, fail: (expected: string) => Lwm2mError): number {
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : typeof raw === 'bigint' ? Number(raw) : raw;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw fail('a finite number');
  return n;
}

function toBoolean(raw: unknown, fail: (expected: string) => Lwm2mError): boolean {
  if (typeof raw === 'boolean') return raw;
  if (raw === 0 || raw === '0' || raw === 'false') return false;
  if (raw === 1 || raw === '1' || raw === 'true') return true;
  throw fail('a boolean (true/false, 1/0)');
}

function toOpaque(raw: unknown, fail: (expected: string) => Lwm2mError): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  if (typeof raw === 'string') return Buffer.from(raw, 'utf8');
  // a Buffer that went through JSON (Node-RED's debug/export shape)
  if (raw && typeof raw === 'object' && (raw as { type?: unknown }).type === 'Buffer' && Array.isArray((raw as { data?: unknown }).data)) {
    return Buffer.from((raw as { data: number[] }).data);
  }
  throw fail('a Buffer (or a string, sent as UTF-8)');
}

function toTime(raw: unknown, fail: (expected: string) => Lwm2mError): Date {
  let date: Date | undefined;
  if (raw instanceof Date) date = raw;
  else if (typeof raw === 'number' && Number.isInteger(raw)) date = new Date(raw * 1000);
  else if (typeof raw === 'string' && raw.trim() !== '') date = /^\s*-?\d+\s*$/.test(raw) ? new Date(Number(raw) * 1000) : new Date(raw);
  if (!date || isNaN(date.getTime())) throw fail('a Date, an ISO 8601 string or whole seconds since 1970');
  return date;
}

function toObjectLink(raw: unknown, fail: (expected: string) => Lwm2mError): { objectId: number; instanceId: number } {
  if (typeof raw === 'string') {
    const m = /^\s*(\d{1,5}):(\d{1,5})\s*$/.exec(raw);
    if (m) {
      const objectId = Number(m[1]);
      const instanceId = Number(m[2]);
      // 65535:65535 is the specification's "null" object link
      if ((isValidId(objectId) || objectId === 65535) && (isValidId(instanceId) || instanceId === 65535)) {
        return { objectId, instanceId };
      }
    }
  } else if (raw && typeof raw === 'object') {
    const { objectId, instanceId } = raw as { objectId?: unknown; instanceId?: unknown };
    if (typeof objectId === 'number' && typeof instanceId === 'number' && objectId >= 0 && objectId <= 65535 && instanceId >= 0 && instanceId <= 65535 && Number.isInteger(objectId) && Number.isInteger(instanceId)) {
      return { objectId, instanceId };
    }
  }
  throw fail('an object link "object:instance" such as "3:0"');
}

/** Converts a plain value into a typed value of `type`. */
export function plainToValue(raw: unknown, type: ResourceType, path: Lwm2mPath, def?: ResourceDefinition): Lwm2mValue {
  const fail = (expected: string) => badValue(path, def, expected, raw);
  switch (type) {
    case 'string':
      if (typeof raw === 'string') return { type, value: raw };
      if (typeof raw === 'number' || typeof raw === 'boolean' || typeof raw === 'bigint') return { type, value: String(raw) };
      throw fail('a string');
    case 'corelnk':
      if (typeof raw === 'string') return { type, value: raw };
      throw fail('a CoRE link string such as "</3/0>"');
    case 'integer':
      return { type, value: toInteger(raw, false, fail) };
    case 'unsigned':
      return { type, value: toInteger(raw, true, fail) };
    case 'float':
      return { type, value: toFloat(raw, fail) };
    case 'boolean':
      return { type, value: toBoolean(raw, fail) };
    case 'opaque':
      return { type, value: toOpaque(raw, fail) };
    case 'time':
      return { type, value: toTime(raw, fail) };
    case 'objlnk':
      return { type, value: toObjectLink(raw, fail) };
    case 'none':
      throw new Lwm2mError(CoapCode.MethodNotAllowed, `${formatPath(path)}${def ? ` (${def.name})` : ''} is an Execute resource: it has no value to write`);
  }
}

/** Guesses the type of a plain value when no model is known. */
export function inferType(raw: unknown): ResourceType | undefined {
  if (typeof raw === 'string') return 'string';
  if (typeof raw === 'boolean') return 'boolean';
  if (typeof raw === 'bigint') return 'integer';
  if (typeof raw === 'number') return Number.isInteger(raw) ? 'integer' : 'float';
  if (Buffer.isBuffer(raw) || raw instanceof Uint8Array) return 'opaque';
  if (raw instanceof Date) return 'time';
  return undefined;
}

function entriesOf(raw: unknown, path: Lwm2mPath, what: string): Array<[number, unknown]> {
  if (raw === null || typeof raw !== 'object' || Buffer.isBuffer(raw) || raw instanceof Date) {
    throw new Lwm2mError(CoapCode.BadRequest, `bad value for ${formatPath(path)}: expected an object of ${what} keyed by id, got ${describe(raw)}`);
  }
  const source = Array.isArray(raw) ? raw.map((v, i) => [String(i), v] as const) : Object.entries(raw);
  return source.map(([key, v]) => {
    const id = /^\d{1,5}$/.test(key) ? Number(key) : NaN;
    if (!isValidId(id)) throw new Lwm2mError(CoapCode.BadRequest, `bad key "${key}" under ${formatPath(path)}: ids are 0..65534`);
    return [id, v];
  });
}

function leafValue(raw: unknown, path: Lwm2mPath, def: ResourceDefinition | undefined): Lwm2mValue {
  const type = def?.type ?? inferType(raw);
  if (!type) throw badValue(path, def, 'a string, number, boolean, Buffer or Date', raw);
  return plainToValue(raw, type, path, def);
}

function resourceFromPlain(path: Lwm2mPath, raw: unknown, model: ModelLookup | undefined): ResourceNode {
  const [o, , r] = path as [number, number, number];
  const def = model?.resource(o, r);
  const looksMultiple = raw !== null && typeof raw === 'object' && !Buffer.isBuffer(raw) && !(raw instanceof Date) && !(raw instanceof Uint8Array) && !(def?.type === 'objlnk' && !Array.isArray(raw) && 'objectId' in (raw as object)) && !((raw as { type?: unknown }).type === 'Buffer');
  if (def ? def.multiple : looksMultiple) {
    const instances = new Map<number, ResourceInstanceNode>();
    for (const [riid, v] of entriesOf(raw, path, 'resource instance values')) {
      instances.set(riid, { kind: 'resourceInstance', id: riid, value: leafValue(v, [...path, riid], def) });
    }
    return { kind: 'multipleResource', id: r, instances };
  }
  return { kind: 'resource', id: r, value: leafValue(raw, path, def) };
}

function instanceFromPlain(path: Lwm2mPath, raw: unknown, model: ModelLookup | undefined): ObjectInstanceNode {
  const resources = new Map<number, ResourceNode>();
  for (const [rid, v] of entriesOf(raw, path, 'resource values')) resources.set(rid, resourceFromPlain([...path, rid], v, model));
  return { kind: 'instance', id: path[1] as number, resources };
}

/**
 * Builds the node at `path` from a plain value, typed through the model
 * where it knows the resource and inferred from the JavaScript type where it
 * does not. Bad values are 4.00 with a message naming path, resource and
 * expected type.
 */
export function fromPlain(path: Lwm2mPath, raw: unknown, model?: ModelLookup): Lwm2mNode {
  switch (path.length) {
    case 1: {
      const instances = new Map<number, ObjectInstanceNode>();
      for (const [iid, v] of entriesOf(raw, path, 'instances')) instances.set(iid, instanceFromPlain([...path, iid], v, model));
      return { kind: 'object', id: path[0] as number, instances };
    }
    case 2:
      return instanceFromPlain(path, raw, model);
    case 3:
      return resourceFromPlain(path, raw, model);
    case 4: {
      const [o, , r, ri] = path as [number, number, number, number];
      const def = model?.resource(o, r);
      return { kind: 'resourceInstance', id: ri, value: leafValue(raw, path, def) };
    }
    default:
      throw new Lwm2mError(CoapCode.BadRequest, 'a value needs an object, instance, resource or resource instance path, not the root');
  }
}
