/**
 * Plain CBOR (content format 60, LwM2M 1.1.1+): one resource or resource
 * instance value as one CBOR data item (RFC 8949).
 *
 * Core TS mapping: Integer → major type 0/1, Unsigned → major type 0,
 * Float → major type 7 (half, single or double), Boolean → simple 20/21,
 * String and Corelnk → text string, Opaque → byte string, Objlnk → text
 * "3:0", Time → integer seconds, optionally under tag 1.
 *
 * Written by hand rather than with cbor-x because a single item needs ~150
 * lines, and every choice the spec cares about stays visible: integers are
 * read as BigInt first so nothing above 2^53 is rounded, tag 1 and tag 0 are
 * recognised instead of turned into Dates behind our back, truncated input
 * and trailing bytes are FormatErrors, and floats are written in the
 * smallest of single/double that is exact.
 */
import { FormatError } from '../errors.js';
import type { ResourceType } from '../model/definitions.js';
import { formatPath } from '../model/path.js';
import { formatObjectLink, type Lwm2mValue, type PathNode } from '../model/value.js';
import type { Codec, DecodeContext, EncodeContext } from './codec.js';
import { ContentFormat } from './content-format.js';
import {
  checkInt64,
  checkObjectLink,
  checkUint64,
  dateToSeconds,
  decodeUtf8,
  INT64_MAX,
  integerToBigInt,
  normalizeInteger,
  parseObjectLink,
  secondsToDate,
  truncate,
} from './scalar.js';
import {
  checkSingleValueShape,
  conformValue,
  leafResult,
  resourceDefinition,
  singleLeafEntry,
  singleLeafPath,
} from './single-value.js';

const NAME = 'CBOR';

/** CBOR tags LwM2M uses for Time (RFC 8949 section 3.4.1 and 3.4.2). */
const TAG_DATE_TIME_STRING = 0n;
const TAG_EPOCH_TIME = 1n;
/** Self-described CBOR (RFC 8949 section 3.4.6): a no-op marker, unwrapped. */
const TAG_SELF_DESCRIBED = 55799n;

/** One scalar CBOR data item, as read from the wire (before LwM2M typing). */
export type CborScalar =
  | { readonly kind: 'uint'; readonly value: bigint }
  | { readonly kind: 'nint'; readonly value: bigint }
  | { readonly kind: 'bytes'; readonly value: Buffer }
  | { readonly kind: 'text'; readonly value: string }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'simple'; readonly value: number }
  | { readonly kind: 'tag'; readonly tag: bigint; readonly item: CborScalar };

const MAX_TAG_NESTING = 4;

// ------------------------------------------------------------------ reader

class CborReader {
  private offset = 0;

  constructor(private readonly buf: Buffer) {}

  get done(): boolean {
    return this.offset >= this.buf.length;
  }

  private need(n: number): void {
    if (this.offset + n > this.buf.length) {
      throw new FormatError(`CBOR data truncated at byte ${this.offset} (${n} more bytes expected)`);
    }
  }

  private byte(): number {
    this.need(1);
    return this.buf[this.offset++] as number;
  }

  /** The argument of a head (RFC 8949 section 3): the value, or undefined for indefinite length. */
  private argument(ai: number): bigint | undefined {
    if (ai < 24) return BigInt(ai);
    let v: bigint;
    switch (ai) {
      case 24:
        v = BigInt(this.byte());
        break;
      case 25:
        this.need(2);
        v = BigInt(this.buf.readUInt16BE(this.offset));
        this.offset += 2;
        break;
      case 26:
        this.need(4);
        v = BigInt(this.buf.readUInt32BE(this.offset));
        this.offset += 4;
        break;
      case 27:
        this.need(8);
        v = this.buf.readBigUInt64BE(this.offset);
        this.offset += 8;
        break;
      case 31:
        return undefined;
      default:
        throw new FormatError(`CBOR head at byte ${this.offset - 1} uses reserved additional information ${ai}`);
    }
    return v;
  }

  private bytes(length: bigint): Buffer {
    if (length > BigInt(this.buf.length - this.offset)) {
      throw new FormatError(`CBOR string of ${length} bytes runs past the end of the payload`);
    }
    const n = Number(length);
    const out = Buffer.from(this.buf.subarray(this.offset, this.offset + n));
    this.offset += n;
    return out;
  }

  /** Indefinite-length string: definite chunks of the same major type up to the "break" byte. */
  private chunks(major: 2 | 3): Buffer[] {
    const parts: Buffer[] = [];
    for (;;) {
      const ib = this.byte();
      if (ib === 0xff) return parts;
      const ai = ib & 0x1f;
      if (ib >> 5 !== major || ai === 31) {
        throw new FormatError('CBOR indefinite-length string holds a chunk of another type');
      }
      const len = this.argument(ai) as bigint;
      const chunk = this.bytes(len);
      // RFC 8949 section 3.2.3: each text chunk is valid UTF-8 on its own
      if (major === 3) decodeUtf8(chunk, 'CBOR text string chunk');
      parts.push(chunk);
    }
  }

  read(depth = 0): CborScalar {
    const start = this.offset;
    const ib = this.byte();
    const major = ib >> 5;
    const ai = ib & 0x1f;
    if (major === 7) return this.simpleOrFloat(ai, start);
    const arg = this.argument(ai);
    switch (major) {
      case 0:
        if (arg === undefined) break;
        return { kind: 'uint', value: arg };
      case 1:
        if (arg === undefined) break;
        return { kind: 'nint', value: -1n - arg };
      case 2:
      case 3: {
        const bytes = arg === undefined ? Buffer.concat(this.chunks(major)) : this.bytes(arg);
        return major === 2
          ? { kind: 'bytes', value: bytes }
          : { kind: 'text', value: decodeUtf8(bytes, 'CBOR text string') };
      }
      case 4:
      case 5:
        throw new FormatError(`plain CBOR holds one value, got ${major === 4 ? 'an array' : 'a map'}`);
      case 6:
        if (arg === undefined) break;
        if (depth >= MAX_TAG_NESTING) throw new FormatError('CBOR tags nested too deeply');
        return { kind: 'tag', tag: arg, item: this.read(depth + 1) };
    }
    throw new FormatError(`CBOR major type ${major} cannot have indefinite length (byte ${start})`);
  }

  private simpleOrFloat(ai: number, start: number): CborScalar {
    switch (ai) {
      case 24: {
        const v = this.byte();
        // RFC 8949 section 3.3: two-byte simple values below 32 are not well-formed
        if (v < 32) throw new FormatError(`CBOR simple value ${v} uses the two-byte form (byte ${start})`);
        return { kind: 'simple', value: v };
      }
      case 25:
        this.need(2);
        this.offset += 2;
        return { kind: 'float', value: halfToNumber(this.buf.readUInt16BE(this.offset - 2)) };
      case 26:
        this.need(4);
        this.offset += 4;
        return { kind: 'float', value: this.buf.readFloatBE(this.offset - 4) };
      case 27:
        this.need(8);
        this.offset += 8;
        return { kind: 'float', value: this.buf.readDoubleBE(this.offset - 8) };
      case 28:
      case 29:
      case 30:
        throw new FormatError(`CBOR head at byte ${start} uses reserved additional information ${ai}`);
      case 31:
        throw new FormatError(`unexpected CBOR "break" at byte ${start}`);
      default:
        return { kind: 'simple', value: ai };
    }
  }
}

/** IEEE 754 half precision to a double (RFC 8949 appendix D). */
function halfToNumber(half: number): number {
  const exp = (half >> 10) & 0x1f;
  const mant = half & 0x3ff;
  let v: number;
  if (exp === 0) v = mant * 2 ** -24;
  else if (exp !== 31) v = (mant + 1024) * 2 ** (exp - 25);
  else v = mant === 0 ? Infinity : NaN;
  return half & 0x8000 ? -v : v;
}

/** Reads exactly one scalar CBOR data item; trailing bytes are an error. */
export function readCborScalar(payload: Buffer): CborScalar {
  const reader = new CborReader(payload);
  if (reader.done) throw new FormatError('empty CBOR payload');
  const item = reader.read();
  if (!reader.done) throw new FormatError('CBOR payload has bytes after its one data item');
  return item;
}

// ------------------------------------------------------------------ typing

function describe(item: CborScalar): string {
  switch (item.kind) {
    case 'uint':
    case 'nint':
      return `integer ${item.value}`;
    case 'bytes':
      return `byte string (${item.value.length} bytes)`;
    case 'text':
      return `text "${truncate(item.value)}"`;
    case 'float':
      return `float ${item.value}`;
    case 'simple':
      return item.value === 20 || item.value === 21
        ? `boolean ${item.value === 21}`
        : item.value === 22
          ? 'null'
          : item.value === 23
            ? 'undefined'
            : `simple value ${item.value}`;
    case 'tag':
      return `tag ${item.tag}`;
  }
}

function unwrapSelfDescribed(item: CborScalar): CborScalar {
  while (item.kind === 'tag' && item.tag === TAG_SELF_DESCRIBED) item = item.item;
  return item;
}

const RFC3339_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** Time accepts an integer, tag 1 over an integer or float, and tag 0 over an RFC 3339 string. */
function cborToTime(item: CborScalar, where: string): Date | undefined {
  if (item.kind === 'uint' || item.kind === 'nint') return secondsToDate(item.value, where);
  if (item.kind !== 'tag') return undefined;
  const inner = item.item;
  if (item.tag === TAG_EPOCH_TIME) {
    if (inner.kind === 'uint' || inner.kind === 'nint') return secondsToDate(inner.value, where);
    if (inner.kind === 'float' && Number.isFinite(inner.value)) return secondsToDate(inner.value, where);
    throw new FormatError(`${where}: CBOR tag 1 (epoch time) over ${describe(inner)}`);
  }
  if (item.tag === TAG_DATE_TIME_STRING) {
    if (inner.kind === 'text' && RFC3339_RE.test(inner.value)) {
      const ms = Date.parse(inner.value);
      if (Number.isFinite(ms)) return new Date(ms);
    }
    throw new FormatError(`${where}: CBOR tag 0 (date/time string) over ${describe(inner)}`);
  }
  return undefined;
}

/** The value type guessed from the item when no model says it. */
function guessType(item: CborScalar, where: string): Exclude<ResourceType, 'none'> {
  switch (item.kind) {
    case 'uint':
      return item.value > INT64_MAX ? 'unsigned' : 'integer';
    case 'nint':
      return 'integer';
    case 'bytes':
      return 'opaque';
    case 'text':
      return 'string';
    case 'float':
      return 'float';
    case 'simple':
      if (item.value === 20 || item.value === 21) return 'boolean';
      break;
    case 'tag':
      if (item.tag === TAG_EPOCH_TIME || item.tag === TAG_DATE_TIME_STRING) return 'time';
      break;
  }
  throw new FormatError(`${where}: CBOR ${describe(item)} is not an LwM2M value`);
}

/**
 * Types one CBOR item as `type` (or as the wire suggests when `type` is
 * undefined). A mismatch (a text string for an Integer resource) is a
 * FormatError, never a conversion.
 */
export function cborScalarToValue(
  raw: CborScalar,
  type: Exclude<ResourceType, 'none'> | undefined,
  where = 'value',
): Lwm2mValue {
  const item = unwrapSelfDescribed(raw);
  const t = type ?? guessType(item, where);
  const mismatch = (): never => {
    throw new FormatError(`${where}: CBOR ${describe(item)} is not a valid ${t} value`);
  };
  switch (t) {
    case 'integer':
      if (item.kind === 'uint' || item.kind === 'nint') {
        return { type: 'integer', value: normalizeInteger(checkInt64(item.value, where)) };
      }
      return mismatch();
    case 'unsigned':
      if (item.kind === 'uint') return { type: 'unsigned', value: normalizeInteger(checkUint64(item.value, where)) };
      return mismatch();
    case 'float':
      if (item.kind === 'float') return { type: 'float', value: item.value };
      // generic encoders (JavaScript ones in particular) write 20.0 as the integer 20
      if (item.kind === 'uint' || item.kind === 'nint') {
        const n = Number(item.value);
        if (BigInt(n) !== item.value) throw new FormatError(`${where}: integer ${item.value} is not exact as a float`);
        return { type: 'float', value: n };
      }
      return mismatch();
    case 'boolean':
      if (item.kind === 'simple' && (item.value === 20 || item.value === 21)) {
        return { type: 'boolean', value: item.value === 21 };
      }
      return mismatch();
    case 'string':
      if (item.kind === 'text') return { type: 'string', value: item.value };
      return mismatch();
    case 'corelnk':
      if (item.kind === 'text') return { type: 'corelnk', value: item.value };
      return mismatch();
    case 'opaque':
      if (item.kind === 'bytes') return { type: 'opaque', value: item.value };
      return mismatch();
    case 'objlnk':
      if (item.kind === 'text') {
        // some C clients count the terminating NUL into the string length
        const text = item.value.endsWith('\u0000') ? item.value.slice(0, -1) : item.value;
        return { type: 'objlnk', value: parseObjectLink(text, where) };
      }
      return mismatch();
    case 'time': {
      const d = cborToTime(item, where);
      return d ? { type: 'time', value: d } : mismatch();
    }
  }
}

/** Decodes one plain-CBOR value (the whole payload). */
export function decodeCborValue(
  payload: Buffer,
  type?: Exclude<ResourceType, 'none'>,
  where = 'value',
): Lwm2mValue {
  return cborScalarToValue(readCborScalar(payload), type, where);
}

// ------------------------------------------------------------------ writer

/** A CBOR head: major type and argument in the shortest form (preferred serialization). */
function head(major: number, arg: bigint): Buffer {
  const m = major << 5;
  if (arg < 24n) return Buffer.from([m | Number(arg)]);
  if (arg <= 0xffn) return Buffer.from([m | 24, Number(arg)]);
  if (arg <= 0xffffn) {
    const b = Buffer.alloc(3);
    b[0] = m | 25;
    b.writeUInt16BE(Number(arg), 1);
    return b;
  }
  if (arg <= 0xffffffffn) {
    const b = Buffer.alloc(5);
    b[0] = m | 26;
    b.writeUInt32BE(Number(arg), 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = m | 27;
  b.writeBigUInt64BE(arg, 1);
  return b;
}

function cborInteger(v: bigint): Buffer {
  return v >= 0n ? head(0, v) : head(1, -1n - v);
}

function cborText(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([head(3, BigInt(bytes.length)), bytes]);
}

/**
 * Single precision when it holds the value exactly, double otherwise. Half
 * precision is read but not written: it saves two bytes and is the form
 * small CBOR decoders on devices most often lack.
 */
function cborFloat(n: number): Buffer {
  if (Number.isNaN(n) || Math.fround(n) === n) {
    const b = Buffer.alloc(5);
    b[0] = 0xfa;
    b.writeFloatBE(n, 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0xfb;
  b.writeDoubleBE(n, 1);
  return b;
}

/** Encodes one typed value as one CBOR data item. Time is written as tag 1 over integer seconds. */
export function encodeCborValue(v: Lwm2mValue, where = 'value'): Buffer {
  switch (v.type) {
    case 'integer':
      return cborInteger(checkInt64(integerToBigInt(v.value, where), where));
    case 'unsigned':
      return cborInteger(checkUint64(integerToBigInt(v.value, where), where));
    case 'float':
      return cborFloat(v.value);
    case 'boolean':
      return Buffer.from([v.value ? 0xf5 : 0xf4]);
    case 'string':
    case 'corelnk':
      return cborText(v.value);
    case 'opaque':
      return Buffer.concat([head(2, BigInt(v.value.length)), v.value]);
    case 'objlnk':
      return cborText(formatObjectLink(checkObjectLink(v.value, where)));
    case 'time':
      return Buffer.concat([head(6, TAG_EPOCH_TIME), cborInteger(dateToSeconds(v.value))]);
  }
}

// ------------------------------------------------------------------ codec

export const cborCodec: Codec = {
  format: ContentFormat.CBOR,
  name: NAME,
  multiPath: false,

  encode(entries: readonly PathNode[], ctx?: EncodeContext): Buffer {
    const { path, node } = singleLeafEntry(entries, NAME);
    const where = formatPath(path);
    const def = resourceDefinition(ctx?.model, path);
    checkSingleValueShape(def, path, NAME);
    const v = def ? conformValue(node.value, def.type, where) : node.value;
    return encodeCborValue(v, where);
  },

  decode(payload: Buffer, ctx?: DecodeContext): PathNode[] {
    const path = singleLeafPath(ctx?.path, NAME);
    const where = formatPath(path);
    const def = resourceDefinition(ctx?.model, path);
    checkSingleValueShape(def, path, NAME);
    const type = def && def.type !== 'none' ? def.type : undefined;
    return leafResult(path, decodeCborValue(payload, type, where));
  },
};
