/**
 * Values of the flat formats (SenML JSON/CBOR, old JSON, LwM2M CBOR): the
 * typing rules between what the wire carries ("a number", "a text", "an
 * object link") and the typed Lwm2mValue of the model, in both directions.
 *
 * Kept apart from the formats so that all of them apply the same rules:
 * with a resource definition the value must be of the matching kind
 * (FormatError otherwise); without one the type is inferred from the wire.
 */
import { FormatError } from '../errors.js';
import type { ResourceType } from '../model/definitions.js';
import { formatPath, type Lwm2mPath } from '../model/path.js';
import type { Lwm2mValue, ObjectLink } from '../model/value.js';

/**
 * What a flat format found for one record, before typing:
 * - `number`: SenML `v`, old JSON `v`, a CBOR integer or float;
 * - `string`: SenML `vs`, old JSON `sv` (a string or core link);
 * - `text`: a LwM2M CBOR text string (string, core link or object link);
 * - `objlnk`: SenML `vlo`, old JSON `ov` ("3:0");
 * - `time`: a CBOR tag 1 (epoch-based date/time);
 * - `boolean`, `bytes`: as named.
 */
export type WireValue =
  | { readonly kind: 'number'; readonly value: number | bigint }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'text'; readonly value: string }
  | { readonly kind: 'objlnk'; readonly value: string }
  | { readonly kind: 'time'; readonly value: number | bigint }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'bytes'; readonly value: Buffer };

import { INT64_MAX, INT64_MIN, normalizeInteger, UINT64_MAX } from './scalar.js';

export { INT64_MIN, INT64_MAX, UINT64_MAX, normalizeInteger };

/** Largest |ms| a Date can hold. */
const MAX_DATE_MS = 8.64e15;

/** Where a value sits, for messages: a text, or a path formatted only when a message needs it. */
type Where = { toString(): string };

/** Formats the path lazily, so that typing thousands of good values never formats a path. */
class PathWhere {
  constructor(private readonly path: Lwm2mPath) {}
  toString(): string {
    return formatPath(this.path);
  }
}


function isIntegral(v: number | bigint): boolean {
  return typeof v === 'bigint' || Number.isInteger(v);
}

function asBigInt(v: number | bigint): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

/** Parses "3:0" (ids 0..65535: 65535:65535 is the "null" link). */
export function parseObjectLink(text: string, where: Where): ObjectLink {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  const objectId = m ? Number(m[1]) : NaN;
  const instanceId = m ? Number(m[2]) : NaN;
  if (!m || objectId > 65535 || instanceId > 65535) {
    throw new FormatError(`${where}: invalid object link "${text}" (expected "objectId:instanceId")`);
  }
  return { objectId, instanceId };
}

function dateFromSeconds(seconds: number | bigint, where: Where): Date {
  const ms = Number(seconds) * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) {
    throw new FormatError(`${where}: time ${String(seconds)} is out of range`);
  }
  return new Date(ms);
}

function integerValue(v: number | bigint, type: 'integer' | 'unsigned', where: Where): Lwm2mValue {
  if (!isIntegral(v)) throw new FormatError(`${where}: ${String(v)} is not an integer`);
  if (typeof v === 'number' && !Number.isSafeInteger(v)) {
    // a double beyond 2^53 has lost its low digits already: refuse rather than guess
    throw new FormatError(`${where}: ${String(v)} is too large to be an exact integer`);
  }
  const big = asBigInt(v);
  if (type === 'integer' && (big < INT64_MIN || big > INT64_MAX)) {
    throw new FormatError(`${where}: ${String(v)} does not fit a 64-bit signed integer`);
  }
  if (type === 'unsigned' && (big < 0n || big > UINT64_MAX)) {
    throw new FormatError(`${where}: ${String(v)} does not fit a 64-bit unsigned integer`);
  }
  return { type, value: normalizeInteger(v) };
}

/** Type inference without a resource definition. */
function inferValue(wire: WireValue, where: Where): Lwm2mValue {
  switch (wire.kind) {
    case 'number': {
      const v = wire.value;
      if (typeof v === 'bigint') {
        if (v > INT64_MAX) return integerValue(v, 'unsigned', where);
        return integerValue(v, 'integer', where);
      }
      return Number.isSafeInteger(v) ? { type: 'integer', value: v } : { type: 'float', value: v };
    }
    case 'string':
    case 'text':
      return { type: 'string', value: wire.value };
    case 'objlnk':
      return { type: 'objlnk', value: parseObjectLink(wire.value, where) };
    case 'time':
      return { type: 'time', value: dateFromSeconds(wire.value, where) };
    case 'boolean':
      return { type: 'boolean', value: wire.value };
    case 'bytes':
      return { type: 'opaque', value: wire.value };
  }
}

function mismatch(wire: WireValue, type: ResourceType, where: Where): never {
  throw new FormatError(`${where}: a ${wire.kind} value cannot be a ${type} resource value`);
}

/**
 * Types a wire value. With `type` (from the model) the wire kind must fit
 * it; without, the type is inferred (numbers: integer when integral and
 * exact, float otherwise; BigInt above 2^63-1: unsigned).
 */
export function toLwm2mValue(wire: WireValue, type: ResourceType | undefined, path: Lwm2mPath): Lwm2mValue {
  const where = new PathWhere(path);
  if (type === undefined) return inferValue(wire, where);
  switch (type) {
    case 'string':
    case 'corelnk':
      if (wire.kind !== 'string' && wire.kind !== 'text') return mismatch(wire, type, where);
      return { type, value: wire.value };
    case 'integer':
    case 'unsigned':
      if (wire.kind !== 'number') return mismatch(wire, type, where);
      return integerValue(wire.value, type, where);
    case 'float':
      if (wire.kind !== 'number') return mismatch(wire, type, where);
      return { type: 'float', value: Number(wire.value) };
    case 'boolean':
      if (wire.kind !== 'boolean') return mismatch(wire, type, where);
      return { type: 'boolean', value: wire.value };
    case 'opaque':
      if (wire.kind !== 'bytes') return mismatch(wire, type, where);
      return { type: 'opaque', value: wire.value };
    case 'time':
      if (wire.kind !== 'number' && wire.kind !== 'time') return mismatch(wire, type, where);
      return { type: 'time', value: dateFromSeconds(wire.value, where) };
    case 'objlnk':
      if (wire.kind !== 'objlnk' && wire.kind !== 'text') return mismatch(wire, type, where);
      return { type: 'objlnk', value: parseObjectLink(wire.value, where) };
    case 'none':
      throw new FormatError(`${where}: an executable resource carries no value`);
  }
}

// ---------------------------------------------------------- encode checks

/**
 * Checks a value before it is written, so that encoders never emit a value
 * that a decoder would refuse (or silently change). Throws FormatError.
 */
export function checkValue(v: Lwm2mValue, path: Lwm2mPath): void {
  const where = new PathWhere(path);
  const type: string = v.type;
  switch (v.type) {
    case 'integer':
    case 'unsigned':
      integerValue(v.value, v.type, where);
      return;
    case 'float':
      if (typeof v.value !== 'number') throw new FormatError(`${where}: float value must be a number`);
      return;
    case 'time':
      if (!(v.value instanceof Date) || Number.isNaN(v.value.getTime())) {
        throw new FormatError(`${where}: time value is not a valid Date`);
      }
      return;
    case 'objlnk': {
      const { objectId, instanceId } = v.value;
      const ok = (id: number) => Number.isInteger(id) && id >= 0 && id <= 65535;
      if (!ok(objectId) || !ok(instanceId)) throw new FormatError(`${where}: invalid object link ${objectId}:${instanceId}`);
      return;
    }
    case 'opaque':
      if (!Buffer.isBuffer(v.value)) throw new FormatError(`${where}: opaque value must be a Buffer`);
      return;
    case 'boolean':
      if (typeof v.value !== 'boolean') throw new FormatError(`${where}: boolean value must be a boolean`);
      return;
    case 'string':
    case 'corelnk':
      if (typeof v.value !== 'string') throw new FormatError(`${where}: ${type} value must be a string`);
      return;
    default:
      throw new FormatError(`${where}: unknown value type "${type}"`);
  }
}

/** LwM2M time is whole seconds since the epoch (sub-second parts are dropped). */
export function timeToSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

// ---------------------------------------------------------------- base64

/**
 * Decodes base64 text. SenML specifies base64url without padding, and old
 * JSON standard base64; peers mix them up, so both alphabets and optional
 * padding are accepted, but anything else (spaces, stray characters, an
 * impossible length) is a FormatError: Buffer.from would skip it silently.
 */
export function decodeBase64(text: string, where: Where): Buffer {
  const body = text.replace(/={1,2}$/, '');
  if (!/^[A-Za-z0-9+/_-]*$/.test(body) || body.length % 4 === 1 || (body !== text && text.length % 4 !== 0)) {
    throw new FormatError(`${where}: invalid base64 data`);
  }
  return Buffer.from(body.replace(/\+/g, '-').replace(/\//g, '_'), 'base64url');
}

export function encodeBase64Url(data: Buffer): string {
  return data.toString('base64url');
}
