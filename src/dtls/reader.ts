/**
 * Bounds-checked reading of DTLS structures. Every read past the end throws
 * DtlsDecodeError, so a truncated message never turns into a RangeError or
 * a silently short field.
 */
import { DtlsDecodeError } from './errors.js';

export class ByteReader {
  private pos = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.remaining < n) throw new DtlsDecodeError(`${this.what}: truncated (need ${n} bytes, ${this.remaining} left)`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const v = this.buf.readUIntBE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  u48(): number {
    this.need(6);
    const v = this.buf.readUIntBE(this.pos, 6);
    this.pos += 6;
    return v;
  }

  /** A view (not a copy) of the next n bytes. */
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** opaque x<0..2^8-1> */
  vec8(): Buffer {
    return this.bytes(this.u8());
  }

  /** opaque x<0..2^16-1> */
  vec16(): Buffer {
    return this.bytes(this.u16());
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  /** Throws when bytes are left over (a length field that does not match its content). */
  end(): void {
    if (this.remaining !== 0) throw new DtlsDecodeError(`${this.what}: ${this.remaining} unexpected trailing bytes`);
  }
}

/** uint16 length prefix + bytes. */
export function vec16(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + data.length);
  out.writeUInt16BE(data.length, 0);
  data.copy(out, 2);
  return out;
}

/** uint8 length prefix + bytes. */
export function vec8(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + data.length);
  out[0] = data.length;
  data.copy(out, 1);
  return out;
}
