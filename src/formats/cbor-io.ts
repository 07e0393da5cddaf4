/**
 * A small CBOR (RFC 8949) reader and writer for the flat LwM2M formats
 * (SenML CBOR, LwM2M CBOR).
 *
 * Why not a general CBOR library: these formats need things a generic
 * decoder hides or gets wrong for us. Duplicate map keys must be seen (a
 * path given twice is an error, not "last one wins"); integer map keys must
 * stay integers; floats must stay distinguishable from integers on the way
 * in and be written as floats on the way out (a Float resource holding 20
 * is still a float); unknown tags must not be interpreted (cbor-x reads
 * some tags as its own record extensions); and every malformed byte must
 * end as a FormatError, with bounded work for hostile lengths and nesting.
 */
import { FormatError } from '../errors.js';

/** A decoded floating-point number (major type 7), kept apart from integers. */
export class CborFloat {
  constructor(readonly value: number) {}
}

/** A decoded tag with its content, left uninterpreted. */
export class CborTag {
  constructor(
    readonly tag: number | bigint,
    readonly value: CborValue,
  ) {}
}

/** A decoded map: entries in wire order, duplicates kept so callers can reject them. */
export class CborMap {
  constructor(readonly entries: ReadonlyArray<readonly [CborValue, CborValue]>) {}
}

/** A simple value other than false/true/null/undefined. */
export class CborSimple {
  constructor(readonly value: number) {}
}

/**
 * Integers are numbers when they fit in a double exactly, BigInt otherwise;
 * byte strings are Buffers; text strings are strings.
 */
export type CborValue =
  | number
  | bigint
  | string
  | Buffer
  | boolean
  | null
  | undefined
  | CborFloat
  | CborTag
  | CborMap
  | CborSimple
  | CborValue[];

/** Nesting deeper than this is refused: LwM2M payloads need at most ~8 levels. */
const MAX_DEPTH = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Marker returned for a "break" byte while reading the items of an indefinite container. */
const BREAK = Symbol('break');

class Reader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  atEnd(): boolean {
    return this.pos >= this.buf.length;
  }

  private fail(message: string): never {
    throw new FormatError(`invalid CBOR at byte ${this.pos}: ${message}`);
  }

  private need(n: number): void {
    if (n > this.remaining) this.fail('unexpected end of data');
  }

  private byte(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  /** Reads the argument of an initial byte; returns undefined for indefinite length (31). */
  private argument(info: number): number | bigint | undefined {
    if (info < 24) return info;
    switch (info) {
      case 24:
        return this.byte();
      case 25: {
        this.need(2);
        const v = this.buf.readUInt16BE(this.pos);
        this.pos += 2;
        return v;
      }
      case 26: {
        this.need(4);
        const v = this.buf.readUInt32BE(this.pos);
        this.pos += 4;
        return v;
      }
      case 27: {
        this.need(8);
        const v = this.buf.readBigUInt64BE(this.pos);
        this.pos += 8;
        return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case 31:
        return undefined;
      default:
        return this.fail(`reserved additional information ${info}`);
    }
  }

  /** A length (string bytes or item count) that must fit in what is left. */
  private length(arg: number | bigint, minBytesPerUnit: number): number {
    if (typeof arg === 'bigint' || arg * minBytesPerUnit > this.remaining) {
      this.fail(`length ${String(arg)} exceeds the remaining ${this.remaining} bytes`);
    }
    return arg;
  }

  read(depth = 0): CborValue {
    const item = this.readItem(depth);
    if (item === BREAK) this.fail('unexpected break');
    return item;
  }

  private readItem(depth: number): CborValue | typeof BREAK {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const initial = this.byte();
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (initial === 0xff) return BREAK;
    switch (major) {
      case 0: {
        const arg = this.argument(info);
        if (arg === undefined) return this.fail('indefinite length on an integer');
        return arg;
      }
      case 1: {
        const arg = this.argument(info);
        if (arg === undefined) return this.fail('indefinite length on an integer');
        if (typeof arg === 'number') {
          const v = -1 - arg;
          return Number.isSafeInteger(v) ? v : -1n - BigInt(arg);
        }
        return -1n - arg;
      }
      case 2:
      case 3:
        return this.readString(major, info);
      case 4:
        return this.readArray(info, depth);
      case 5:
        return this.readMap(info, depth);
      case 6: {
        const tag = this.argument(info);
        if (tag === undefined) return this.fail('indefinite length on a tag');
        return new CborTag(tag, this.read(depth + 1));
      }
      default:
        return this.readSimple(info);
    }
  }

  private readString(major: number, info: number): string | Buffer {
    const arg = this.argument(info);
    let bytes: Buffer;
    if (arg === undefined) {
      // indefinite: a sequence of definite chunks of the same major type, then a break
      const chunks: Buffer[] = [];
      for (;;) {
        const next = this.byte();
        if (next === 0xff) break;
        if (next >> 5 !== major || (next & 0x1f) === 31) this.fail('invalid chunk in an indefinite-length string');
        const chunkArg = this.argument(next & 0x1f) as number | bigint;
        chunks.push(this.slice(this.length(chunkArg, 1)));
      }
      bytes = Buffer.concat(chunks);
    } else {
      bytes = this.slice(this.length(arg, 1));
    }
    if (major === 2) return bytes;
    if (isAscii(bytes)) return bytes.toString('latin1'); // the common case, without the strict decoder's cost
    try {
      return utf8.decode(bytes);
    } catch {
      return this.fail('text string is not valid UTF-8');
    }
  }

  private slice(n: number): Buffer {
    this.need(n);
    // copy, so decoded values do not pin (or alias) the caller's payload buffer
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  private readArray(info: number, depth: number): CborValue[] {
    const arg = this.argument(info);
    const items: CborValue[] = [];
    if (arg === undefined) {
      for (;;) {
        const item = this.readItem(depth + 1);
        if (item === BREAK) return items;
        items.push(item);
      }
    }
    const n = this.length(arg, 1);
    for (let i = 0; i < n; i++) items.push(this.read(depth + 1));
    return items;
  }

  private readMap(info: number, depth: number): CborMap {
    const arg = this.argument(info);
    const entries: Array<readonly [CborValue, CborValue]> = [];
    if (arg === undefined) {
      for (;;) {
        const key = this.readItem(depth + 1);
        if (key === BREAK) return new CborMap(entries);
        entries.push([key, this.read(depth + 1)]);
      }
    }
    const n = this.length(arg, 2);
    for (let i = 0; i < n; i++) {
      const key = this.read(depth + 1);
      entries.push([key, this.read(depth + 1)]);
    }
    return new CborMap(entries);
  }

  private readSimple(info: number): CborValue {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 24: {
        const v = this.byte();
        if (v < 32) this.fail(`simple value ${v} must use the short form`);
        return new CborSimple(v);
      }
      case 25: {
        this.need(2);
        const v = decodeHalf(this.buf.readUInt16BE(this.pos));
        this.pos += 2;
        return new CborFloat(v);
      }
      case 26: {
        this.need(4);
        const v = this.buf.readFloatBE(this.pos);
        this.pos += 4;
        return new CborFloat(v);
      }
      case 27: {
        this.need(8);
        const v = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return new CborFloat(v);
      }
      case 28:
      case 29:
      case 30:
        return this.fail(`reserved simple value encoding ${info}`);
      case 31:
        return this.fail('unexpected break');
      default:
        return new CborSimple(info);
    }
  }
}

function isAscii(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] as number) > 0x7f) return false;
  return true;
}

function decodeHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

/**
 * Decodes exactly one CBOR data item filling the whole payload. Throws
 * FormatError for anything malformed, truncated, or followed by extra bytes.
 */
export function decodeCbor(payload: Buffer): CborValue {
  if (payload.length === 0) throw new FormatError('empty CBOR payload');
  const reader = new Reader(payload);
  const value = reader.read();
  if (!reader.atEnd()) throw new FormatError(`invalid CBOR: ${reader.remaining} unexpected bytes after the data item`);
  return value;
}

// ------------------------------------------------------------------ writer

const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * Writes CBOR items one by one (definite lengths only, preferred integer
 * encodings). Callers write a container header with its count, then its
 * items, which keeps type choices (int vs float, text vs bytes) explicit.
 */
export class CborWriter {
  private buf = Buffer.alloc(256);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private head(major: number, arg: number | bigint): this {
    if (typeof arg === 'bigint' && arg <= BigInt(Number.MAX_SAFE_INTEGER)) arg = Number(arg);
    const m = major << 5;
    if (typeof arg === 'bigint') {
      this.ensure(9);
      this.buf[this.pos++] = m | 27;
      this.buf.writeBigUInt64BE(arg, this.pos);
      this.pos += 8;
    } else if (arg < 24) {
      this.ensure(1);
      this.buf[this.pos++] = m | arg;
    } else if (arg < 0x100) {
      this.ensure(2);
      this.buf[this.pos++] = m | 24;
      this.buf[this.pos++] = arg;
    } else if (arg < 0x10000) {
      this.ensure(3);
      this.buf[this.pos++] = m | 25;
      this.buf.writeUInt16BE(arg, this.pos);
      this.pos += 2;
    } else if (arg < 0x100000000) {
      this.ensure(5);
      this.buf[this.pos++] = m | 26;
      this.buf.writeUInt32BE(arg, this.pos);
      this.pos += 4;
    } else {
      this.ensure(9);
      this.buf[this.pos++] = m | 27;
      this.buf.writeBigUInt64BE(BigInt(arg), this.pos);
      this.pos += 8;
    }
    return this;
  }

  /** Any integer from -2^64 to 2^64-1 (major type 0 or 1). */
  int(value: number | bigint): this {
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      if (!Number.isInteger(value)) throw new FormatError(`${value} is not an integer`);
      value = BigInt(value);
    }
    if (typeof value === 'bigint') {
      if (value >= 0n) {
        if (value > MAX_UINT64) throw new FormatError(`${value} does not fit in 64 bits`);
        return this.head(0, value);
      }
      const arg = -1n - value;
      if (arg > MAX_UINT64) throw new FormatError(`${value} does not fit in 64 bits`);
      return this.head(1, arg);
    }
    return value >= 0 ? this.head(0, value) : this.head(1, -1 - value);
  }

  /**
   * A float, as single precision when that is exact and double otherwise.
   * Half precision is not produced: several embedded CBOR stacks cannot
   * read it, and the saving is at most two bytes.
   */
  float(value: number): this {
    if (Number.isNaN(value) || Math.fround(value) === value) {
      this.ensure(5);
      this.buf[this.pos++] = 0xfa;
      this.buf.writeFloatBE(value, this.pos);
      this.pos += 4;
    } else {
      this.ensure(9);
      this.buf[this.pos++] = 0xfb;
      this.buf.writeDoubleBE(value, this.pos);
      this.pos += 8;
    }
    return this;
  }

  bytes(value: Uint8Array): this {
    this.head(2, value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
    return this;
  }

  text(value: string): this {
    const n = Buffer.byteLength(value, 'utf8');
    this.head(3, n);
    this.ensure(n);
    this.buf.write(value, this.pos, 'utf8');
    this.pos += n;
    return this;
  }

  bool(value: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = value ? 0xf5 : 0xf4;
    return this;
  }

  null(): this {
    this.ensure(1);
    this.buf[this.pos++] = 0xf6;
    return this;
  }

  arrayHeader(count: number): this {
    return this.head(4, count);
  }

  mapHeader(count: number): this {
    return this.head(5, count);
  }

  tag(tag: number): this {
    return this.head(6, tag);
  }

  /** The bytes written so far (a copy sized to fit). */
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
