/**
 * Hand-built CoAP datagrams for the simulated clients' hot paths (answers
 * to reads, notifications): a message is the 4-byte header, the token and a
 * tail of options + payload, so the fixed tail can be built once and only
 * the header and token written per message. coap-packet parses what comes
 * in; this only writes.
 */

export const TYPE_CON = 0;
export const TYPE_NON = 1;
export const TYPE_ACK = 2;
export const TYPE_RST = 3;

/** CoAP codes as the header byte (class << 5 | detail). */
export const CODE = {
  EMPTY: 0x00,
  CREATED: 0x41, // 2.01
  CHANGED: 0x44, // 2.04
  CONTENT: 0x45, // 2.05
  NOT_FOUND: 0x84, // 4.04
  METHOD_NOT_ALLOWED: 0x85, // 4.05
  NOT_ACCEPTABLE: 0x86, // 4.06
} as const;

export const OPTION = { OBSERVE: 6, CONTENT_FORMAT: 12, ACCEPT: 17 } as const;

export const FORMAT_TLV = 11542;
export const FORMAT_SENML_CBOR = 112;

export type WireOption = readonly [number: number, value: Buffer];

/** Minimal big-endian bytes of a CoAP uint option value (0 is the empty value). */
export function uintValue(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`not a CoAP uint: ${n}`);
  if (n === 0) return Buffer.alloc(0);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from(bytes);
}

/** Option delta or length as a nibble plus its extension bytes (RFC 7252 3.1). */
function nibble(n: number): { nib: number; ext: number[] } {
  if (n < 13) return { nib: n, ext: [] };
  if (n < 269) return { nib: 13, ext: [n - 13] };
  if (n < 65805) return { nib: 14, ext: [(n - 269) >> 8, (n - 269) & 0xff] };
  throw new RangeError(`option delta or length too large: ${n}`);
}

/**
 * Options (sorted by number here, whatever order they come in) and payload
 * as they follow the token: the tail of a message.
 */
export function encodeTail(options: readonly WireOption[], payload?: Buffer): Buffer {
  const sorted = [...options].sort((a, b) => a[0] - b[0]);
  const parts: Buffer[] = [];
  let last = 0;
  for (const [number, value] of sorted) {
    const d = nibble(number - last);
    const l = nibble(value.length);
    parts.push(Buffer.from([(d.nib << 4) | l.nib, ...d.ext, ...l.ext]), value);
    last = number;
  }
  if (payload && payload.length > 0) parts.push(Buffer.from([0xff]), payload);
  return Buffer.concat(parts);
}

/** Header + token + a prebuilt tail. */
export function encodeWithTail(type: number, code: number, messageId: number, token: Buffer, tail: Buffer): Buffer {
  if (token.length > 8) throw new RangeError('token longer than 8 bytes');
  const buf = Buffer.allocUnsafe(4 + token.length + tail.length);
  buf[0] = 0x40 | (type << 4) | token.length;
  buf[1] = code;
  buf[2] = (messageId >> 8) & 0xff;
  buf[3] = messageId & 0xff;
  token.copy(buf, 4);
  tail.copy(buf, 4 + token.length);
  return buf;
}

export function encodeMessage(type: number, code: number, messageId: number, token: Buffer, options: readonly WireOption[] = [], payload?: Buffer): Buffer {
  return encodeWithTail(type, code, messageId, token, encodeTail(options, payload));
}

/** An empty message (ACK or RST) for a message id. */
export function encodeEmpty(type: number, messageId: number): Buffer {
  return Buffer.from([0x40 | (type << 4), 0, (messageId >> 8) & 0xff, messageId & 0xff]);
}

/**
 * TLV of one integer resource (OMA TLV, LwM2M 1.x): "resource with value",
 * 8-bit id, value length in the type byte, 1/2/4-byte signed big-endian value.
 */
export function tlvIntegerResource(resourceId: number, value: number): Buffer {
  if (!Number.isInteger(resourceId) || resourceId < 0 || resourceId > 0xff) throw new RangeError('resource id must fit 8 bits here');
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) throw new RangeError('value must fit 32 bits');
  const size = value >= -0x80 && value <= 0x7f ? 1 : value >= -0x8000 && value <= 0x7fff ? 2 : 4;
  const buf = Buffer.alloc(2 + size);
  buf[0] = 0xc0 | size; // 11 = resource with value, 8-bit id, length in the low bits
  buf[1] = resourceId;
  buf.writeIntBE(value, 2, size);
  return buf;
}

/**
 * A small SenML CBOR Send payload, written out byte by byte: one record
 * [{ bn: "/3303/0/", n: "5700", v: <temperature> }] (bn = -2, n = 0, v = 2),
 * the value as a CBOR double.
 */
export function senmlCborTemperature(celsius: number): Buffer {
  const bn = Buffer.from('/3303/0/');
  const n = Buffer.from('5700');
  const v = Buffer.alloc(9);
  v[0] = 0xfb; // float64
  v.writeDoubleBE(celsius, 1);
  return Buffer.concat([
    Buffer.from([0x81, 0xa3]), // array(1), map(3)
    Buffer.from([0x21, 0x60 | bn.length]), // -2, text(8)
    bn,
    Buffer.from([0x00, 0x60 | n.length]), // 0, text(4)
    n,
    Buffer.from([0x02]), // 2
    v,
  ]);
}
