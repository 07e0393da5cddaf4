/**
 * Scalar helpers shared by the value codecs (text, opaque, CBOR, TLV):
 * 64-bit integer ranges, the number-or-BigInt rule of the value model,
 * LwM2M Time (whole seconds) and Objlnk text ("3:0").
 *
 * Every function here throws FormatError on bad input, so a codec can call
 * them on untrusted bytes without wrapping.
 */
import { FormatError } from '../errors.js';
import type { ObjectLink } from '../model/value.js';

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const UINT64_MAX = 2n ** 64n - 1n;

/** Largest |milliseconds| a JavaScript Date can hold (ECMAScript 21.4.1.1). */
const MAX_DATE_MS = 8.64e15;

/**
 * The value model's integer rule: a number when it is exactly representable
 * as a safe integer, a BigInt beyond that (never rounded).
 */
export function normalizeInteger(v: number | bigint): number | bigint {
  if (typeof v === 'number') return v;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Converts a number/BigInt integer value to BigInt; a fractional or non-finite number is an error. */
export function integerToBigInt(v: number | bigint, what: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new FormatError(`${what}: ${String(v)} is not an integer`);
  }
  return BigInt(v);
}

/** Checks a signed value against the LwM2M Integer range (64-bit two's complement). */
export function checkInt64(v: bigint, what: string): bigint {
  if (v < INT64_MIN || v > INT64_MAX) throw new FormatError(`${what}: ${v} is outside the 64-bit signed range`);
  return v;
}

/** Checks a value against the LwM2M Unsigned Integer range (0..2^64-1). */
export function checkUint64(v: bigint, what: string): bigint {
  if (v < 0n || v > UINT64_MAX) throw new FormatError(`${what}: ${v} is outside the 64-bit unsigned range`);
  return v;
}

/** Whole seconds since the epoch of a Date (LwM2M Time has no fraction: rounded down). */
export function dateToSeconds(d: Date): bigint {
  const ms = d instanceof Date ? d.getTime() : NaN;
  if (!Number.isFinite(ms)) throw new FormatError('time value is not a valid Date');
  return BigInt(Math.floor(ms / 1000));
}

/** A Date from seconds since the epoch (fractions kept to the millisecond). */
export function secondsToDate(seconds: number | bigint, what: string): Date {
  let ms: number;
  if (typeof seconds === 'bigint') {
    const limit = BigInt(MAX_DATE_MS / 1000);
    if (seconds > limit || seconds < -limit) throw new FormatError(`${what}: time ${seconds} s is out of range`);
    ms = Number(seconds) * 1000;
  } else {
    ms = Math.round(seconds * 1000);
  }
  if (!Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS) {
    throw new FormatError(`${what}: time ${String(seconds)} s is out of range`);
  }
  return new Date(ms);
}

const OBJLNK_RE = /^(\d{1,5}):(\d{1,5})$/;

/**
 * Parses "3:0". Both ids are 16-bit; 65535:65535 is the spec's "null link",
 * so 65535 is accepted here although it is not a usable object id.
 */
export function parseObjectLink(text: string, what: string): ObjectLink {
  const m = OBJLNK_RE.exec(text);
  if (!m) throw new FormatError(`${what}: "${truncate(text)}" is not an object link (expected "objectId:instanceId")`);
  const objectId = Number(m[1]);
  const instanceId = Number(m[2]);
  if (objectId > 0xffff || instanceId > 0xffff) {
    throw new FormatError(`${what}: object link "${text}" has an id above 65535`);
  }
  return { objectId, instanceId };
}

/** Checks the two ids of an Objlnk value before it is written. */
export function checkObjectLink(link: ObjectLink, what: string): ObjectLink {
  const ok = (n: unknown) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff;
  if (!link || !ok(link.objectId) || !ok(link.instanceId)) {
    throw new FormatError(`${what}: object link ids must be integers 0..65535`);
  }
  return link;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes UTF-8, rejecting malformed sequences instead of inserting U+FFFD
 * (a corrupted string must not pass as a different valid one). A leading
 * byte-order mark is kept: strings travel as they are.
 */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw new FormatError(`${what}: invalid UTF-8`, { cause });
  }
}

/** Shortens text quoted in error messages. */
export function truncate(text: string, max = 40): string {
  return text.length > max ? text.slice(0, max) + '…' : text;
}
