/**
 * Typed CoAP messages (RFC 7252 section 3) on top of coap-packet, node-coap's
 * packet codec.
 *
 * Parsing: coap-packet's parse(), behind a strict structural check
 * (checkDatagram) that it lacks for a server facing the open network: on
 * its own it silently truncates an option whose length runs past the end,
 * accepts 9..15 byte tokens and throws RangeErrors on short buffers. Every
 * malformed datagram becomes one typed error, CoapFormatError. Options are
 * reported by number, not by coap-packet's names.
 *
 * Encoding: our own single-allocation encoder, checked byte for byte against
 * coap-packet's generate() in the tests (generate() cost 3-5 µs for a
 * four-option request, more than the rest of a round trip's CoAP work).
 */
import * as coapPacket from 'coap-packet';
import { CoapFormatError, CoapMessageError } from './errors.js';

export type MessageType = 'CON' | 'NON' | 'ACK' | 'RST';

/** One option instance. Repeated options (Uri-Path, ...) are separate entries, in order. */
export interface CoapOption {
  number: number;
  value: Buffer;
}

export interface CoapMessage {
  type: MessageType;
  /** "c.dd": "0.01".."0.07" requests, "2.05", "4.04", ..., "0.00" for an empty message. */
  code: string;
  messageId: number;
  token: Buffer;
  options: CoapOption[];
  payload: Buffer;
}

export type CoapMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'FETCH' | 'PATCH' | 'iPATCH';

/** Method name → request code. */
export const MethodCode: Readonly<Record<CoapMethod, string>> = {
  GET: '0.01',
  POST: '0.02',
  PUT: '0.03',
  DELETE: '0.04',
  FETCH: '0.05',
  PATCH: '0.06',
  iPATCH: '0.07',
};

const METHOD_BY_CODE: ReadonlyMap<string, CoapMethod> = new Map(
  (Object.keys(MethodCode) as CoapMethod[]).map((m) => [MethodCode[m], m]),
);

/** The method for a request code, or undefined for codes no method uses. */
export function methodOf(code: string): CoapMethod | undefined {
  return METHOD_BY_CODE.get(code);
}

/** Request code for a method name or an already dotted code ("0.02"). */
export function toRequestCode(method: CoapMethod | string): string {
  const code = (MethodCode as Record<string, string>)[method] ?? method;
  if (!isRequestCode(code)) throw new CoapMessageError(`not a request method or code: ${method}`);
  return code;
}

export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);
/** Largest UDP payload over IPv4; the encoder refuses anything bigger. */
export const MAX_DATAGRAM_SIZE = 65507;
/** RFC 7252 allows tokens of 0 to 8 bytes. */
export const MAX_TOKEN_LENGTH = 8;

/** Every valid "c.dd" code (class 0..7, detail 0..31) → its header byte. */
const CODE_BYTES: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  for (let c = 0; c < 8; c++) for (let d = 0; d < 32; d++) m.set(`${c}.${d < 10 ? '0' : ''}${d}`, (c << 5) | d);
  return m;
})();

/** "c.dd" with class 0..7 and detail 0..31. */
export function isValidCode(code: string): boolean {
  return CODE_BYTES.has(code);
}

/** The header byte of a code; throws CoapMessageError for anything but "c.dd". */
export function codeToByte(code: string): number {
  const b = CODE_BYTES.get(code);
  if (b === undefined) throw new CoapMessageError(`invalid code ${code}`);
  return b;
}

/** Codes 0.01..0.31. */
export function isRequestCode(code: string): boolean {
  return isValidCode(code) && code.charCodeAt(0) === 48 /* '0' */ && code !== '0.00';
}

/** Codes of class 2, 4 or 5. */
export function isResponseCode(code: string): boolean {
  if (!isValidCode(code)) return false;
  const c = code.charCodeAt(0);
  return c === 50 || c === 52 || c === 53;
}

/** 2.xx */
export function isSuccessCode(code: string): boolean {
  return code.charCodeAt(0) === 50;
}

/** Numeric class*100+detail ("2.05" → 205), handy for comparisons and logs. */
export function codeNumber(code: string): number {
  return (code.charCodeAt(0) - 48) * 100 + Number(code.slice(2));
}

// coap-packet reports options by name when it knows them; we work with numbers.
const OPTION_NUMBER_BY_NAME: ReadonlyMap<string, number> = new Map([
  ['If-Match', 1],
  ['Uri-Host', 3],
  ['ETag', 4],
  ['If-None-Match', 5],
  ['Observe', 6],
  ['Uri-Port', 7],
  ['Location-Path', 8],
  ['OSCORE', 9],
  ['Uri-Path', 11],
  ['Content-Format', 12],
  ['Max-Age', 14],
  ['Uri-Query', 15],
  ['Hop-Limit', 16],
  ['Accept', 17],
  ['Q-Block1', 19],
  ['Location-Query', 20],
  ['Block2', 23],
  ['Block1', 27],
  ['Size2', 28],
  ['Q-Block2', 31],
  ['Proxy-Uri', 35],
  ['Proxy-Scheme', 39],
  ['Size1', 60],
  ['No-Response', 258],
  ['OCF-Accept-Content-Format-Version', 2049],
  ['OCF-Content-Format-Version', 2053],
]);

function optionNumberOf(name: string | number): number {
  if (typeof name === 'number') return name;
  return OPTION_NUMBER_BY_NAME.get(name) ?? Number.parseInt(name, 10);
}

/**
 * Walks the datagram once, without allocating, and throws CoapFormatError
 * for anything RFC 7252 calls a message format error. After this check
 * coap-packet's parser can no longer read past the end or mis-slice.
 */
export function checkDatagram(buf: Buffer): void {
  const len = buf.length;
  if (len < 4) throw new CoapFormatError('truncated-header', `datagram of ${len} bytes is shorter than a CoAP header`);
  const b0 = buf[0]!;
  if (b0 >> 6 !== 1) throw new CoapFormatError('version', `unsupported CoAP version ${b0 >> 6}`);
  const header = { messageId: (buf[2]! << 8) | buf[3]!, confirmable: (b0 & 0x30) === 0 };
  const tkl = b0 & 0x0f;
  const code = buf[1]!;
  if (code === 0) {
    if (len !== 4 || tkl !== 0) throw new CoapFormatError('empty-not-empty', 'empty message (0.00) with token, options or payload', header);
    return;
  }
  if (tkl > MAX_TOKEN_LENGTH) throw new CoapFormatError('token-length', `token length ${tkl} is reserved`, header);
  // RFC 7252 section 3: classes 0 (request), 2, 4 and 5 (responses); all others are reserved.
  const cls = code >> 5;
  if (cls !== 0 && cls !== 2 && cls !== 4 && cls !== 5) throw new CoapFormatError('reserved-code', `reserved code class ${cls}`, header);
  let i = 4 + tkl;
  if (i > len) throw new CoapFormatError('truncated-token', 'token runs past the end of the datagram', header);
  let number = 0;
  while (i < len) {
    const b = buf[i]!;
    if (b === 0xff) {
      if (i + 1 >= len) throw new CoapFormatError('payload-marker', 'payload marker followed by an empty payload', header);
      return;
    }
    i += 1;
    let delta = b >> 4;
    let olen = b & 0x0f;
    if (delta === 15 || olen === 15) throw new CoapFormatError('option', 'reserved option delta or length nibble 15', header);
    if (delta === 13) {
      if (i >= len) throw new CoapFormatError('option', 'truncated option delta', header);
      delta = buf[i]! + 13;
      i += 1;
    } else if (delta === 14) {
      if (i + 1 >= len) throw new CoapFormatError('option', 'truncated option delta', header);
      delta = ((buf[i]! << 8) | buf[i + 1]!) + 269;
      i += 2;
    }
    if (olen === 13) {
      if (i >= len) throw new CoapFormatError('option', 'truncated option length', header);
      olen = buf[i]! + 13;
      i += 1;
    } else if (olen === 14) {
      if (i + 1 >= len) throw new CoapFormatError('option', 'truncated option length', header);
      olen = ((buf[i]! << 8) | buf[i + 1]!) + 269;
      i += 2;
    }
    number += delta;
    if (number > 0xffff) throw new CoapFormatError('option', `option number ${number} out of range`, header);
    if (i + olen > len) throw new CoapFormatError('option', `option ${number} value runs past the end of the datagram`, header);
    i += olen;
  }
}

const TYPE_BITS: Readonly<Record<MessageType, number>> = { CON: 0, NON: 1, ACK: 2, RST: 3 };
const TYPE_BY_BITS: readonly MessageType[] = ['CON', 'NON', 'ACK', 'RST'];

/** Parses one datagram; throws CoapFormatError (never anything else) when it is not CoAP. */
export function parseMessage(buf: Buffer): CoapMessage {
  checkDatagram(buf);
  let parsed: coapPacket.ParsedPacket;
  try {
    parsed = coapPacket.parse(buf);
  } catch (err) {
    // Not expected after checkDatagram; kept so that a codec surprise stays typed.
    throw new CoapFormatError('codec', `coap-packet rejected the datagram: ${(err as Error).message}`);
  }
  const src = parsed.options;
  const options: CoapOption[] = new Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const o = src[i]!;
    options[i] = { number: optionNumberOf(o.name), value: o.value };
  }
  return {
    type: TYPE_BY_BITS[(buf[0]! >> 4) & 3]!,
    code: parsed.code,
    messageId: parsed.messageId,
    token: parsed.token,
    options,
    payload: parsed.payload,
  };
}

/** Encodes a 4-byte empty message (ACK, RST or a CON ping). */
export function encodeEmpty(type: MessageType, messageId: number): Buffer {
  const buf = Buffer.allocUnsafe(4);
  buf[0] = 0x40 | (TYPE_BITS[type] << 4);
  buf[1] = 0;
  buf[2] = (messageId >> 8) & 0xff;
  buf[3] = messageId & 0xff;
  return buf;
}

/** Bytes an option delta or length takes in the extended field (0, 1 or 2). */
function extBytes(n: number): number {
  return n < 13 ? 0 : n < 269 ? 1 : 2;
}

/** The nibble for an option delta or length. */
function nibble(n: number): number {
  return n < 13 ? n : n < 269 ? 13 : 14;
}

function writeExt(buf: Buffer, pos: number, n: number): number {
  if (n >= 269) {
    n -= 269;
    buf[pos] = n >> 8;
    buf[pos + 1] = n & 0xff;
    return pos + 2;
  }
  if (n >= 13) {
    buf[pos] = n - 13;
    return pos + 1;
  }
  return pos;
}

function byOptionNumber(a: CoapOption, b: CoapOption): number {
  return a.number - b.number;
}

/**
 * Encodes a message; throws CoapMessageError for values RFC 7252 cannot carry.
 *
 * Produces the same bytes as coap-packet's generate() (the tests compare
 * both on many messages) in a single allocation: generate() allocates a
 * buffer per option and sorts by option name, which made it the largest
 * cost of a round trip (~3-5 µs for a four-option request).
 */
export function encodeMessage(msg: CoapMessage): Buffer {
  const code = msg.code;
  if (code === '0.00') {
    if (msg.token.length || msg.options.length || msg.payload.length) {
      throw new CoapMessageError('an empty message (0.00) carries no token, options or payload');
    }
    return encodeEmpty(msg.type, msg.messageId);
  }
  const codeByte = codeToByte(code);
  const token = msg.token;
  const tkl = token.length;
  if (tkl > MAX_TOKEN_LENGTH) throw new CoapMessageError(`token of ${tkl} bytes (max 8)`);
  const mid = msg.messageId;
  if (!(mid >= 0 && mid <= 0xffff && (mid | 0) === mid)) throw new CoapMessageError(`invalid message id ${mid}`);
  let options = msg.options;
  // Options go out in increasing number order; repeated options keep their order (stable sort).
  let length = 4 + tkl;
  let prev = 0;
  let sorted = true;
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    const n = o.number;
    if (!(n >= 0 && n <= 0xffff && (n | 0) === n)) throw new CoapMessageError(`invalid option number ${n}`);
    if (o.value.length > 65804) throw new CoapMessageError(`option ${n} value too long`);
    if (n < prev) sorted = false;
    prev = n;
  }
  if (!sorted) options = options.slice().sort(byOptionNumber);
  prev = 0;
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    const len = o.value.length;
    length += 1 + extBytes(o.number - prev) + extBytes(len) + len;
    prev = o.number;
  }
  const payload = msg.payload;
  if (payload.length > 0) length += 1 + payload.length;
  if (length > MAX_DATAGRAM_SIZE) throw new CoapMessageError(`message of ${length} bytes exceeds ${MAX_DATAGRAM_SIZE}`);

  const buf = Buffer.allocUnsafe(length);
  buf[0] = 0x40 | (TYPE_BITS[msg.type] << 4) | tkl;
  buf[1] = codeByte;
  buf[2] = mid >> 8;
  buf[3] = mid & 0xff;
  let pos = 4;
  if (tkl > 0) pos += token.copy(buf, pos);
  prev = 0;
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    const delta = o.number - prev;
    const value = o.value;
    const len = value.length;
    buf[pos++] = (nibble(delta) << 4) | nibble(len);
    pos = writeExt(buf, pos, delta);
    pos = writeExt(buf, pos, len);
    if (len > 0) pos += value.copy(buf, pos);
    prev = o.number;
  }
  if (payload.length > 0) {
    buf[pos++] = 0xff;
    payload.copy(buf, pos);
  }
  return buf;
}

/** Reference encoder: coap-packet's generate(), used by the tests to check encodeMessage byte for byte. */
export function encodeWithCoapPacket(msg: CoapMessage): Buffer {
  if (msg.code === '0.00') return encodeEmpty(msg.type, msg.messageId);
  return coapPacket.generate(
    {
      code: msg.code,
      messageId: msg.messageId,
      token: msg.token,
      options: msg.options.map((o) => ({ name: o.number, value: o.value })),
      payload: msg.payload,
      confirmable: msg.type === 'CON',
      ack: msg.type === 'ACK',
      reset: msg.type === 'RST',
    },
    MAX_DATAGRAM_SIZE,
  );
}
