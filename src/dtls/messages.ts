/**
 * Bodies of the handshake messages a PSK handshake uses (RFC 5246 §7.4,
 * RFC 6347 §4.2.1, RFC 4279 §2): decoders check every length and throw
 * DtlsDecodeError; encoders produce the bytes.
 */
import { DTLS_1_0 } from './constants.js';
import { DtlsDecodeError } from './errors.js';
import { ByteReader, vec16, vec8 } from './reader.js';

export interface Extension {
  type: number;
  data: Buffer;
}

export interface ClientHello {
  version: number;
  random: Buffer;
  sessionId: Buffer;
  cookie: Buffer;
  cipherSuites: number[];
  compressionMethods: number[];
  extensions: Extension[];
}

export interface ServerHello {
  version: number;
  random: Buffer;
  sessionId: Buffer;
  cipherSuite: number;
  compressionMethod: number;
  extensions: Extension[];
}

export const RANDOM_LENGTH = 32;
const MAX_SESSION_ID = 32;

function readExtensions(r: ByteReader): Extension[] {
  if (r.remaining === 0) return []; // the extensions block may be absent altogether
  const block = new ByteReader(r.vec16(), 'extensions');
  const out: Extension[] = [];
  const seen = new Set<number>();
  while (block.remaining > 0) {
    const type = block.u16();
    const data = block.vec16();
    if (seen.has(type)) throw new DtlsDecodeError(`extension ${type} appears twice`);
    seen.add(type);
    out.push({ type, data });
  }
  return out;
}

function writeExtensions(extensions: Extension[]): Buffer {
  if (extensions.length === 0) return Buffer.alloc(0);
  return vec16(Buffer.concat(extensions.map((e) => {
    const h = Buffer.allocUnsafe(2);
    h.writeUInt16BE(e.type, 0);
    return Buffer.concat([h, vec16(e.data)]);
  })));
}

function u16(v: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(v, 0);
  return b;
}

export function decodeClientHello(body: Buffer): ClientHello {
  const r = new ByteReader(body, 'ClientHello');
  const version = r.u16();
  const random = r.bytes(RANDOM_LENGTH);
  const sessionId = r.vec8();
  if (sessionId.length > MAX_SESSION_ID) throw new DtlsDecodeError('ClientHello session_id longer than 32 bytes');
  const cookie = r.vec8();
  const suites = r.vec16();
  if (suites.length < 2 || suites.length % 2 !== 0) throw new DtlsDecodeError('ClientHello cipher_suites has an odd or zero length');
  const cipherSuites: number[] = [];
  for (let i = 0; i < suites.length; i += 2) cipherSuites.push(suites.readUInt16BE(i));
  const compression = r.vec8();
  if (compression.length < 1) throw new DtlsDecodeError('ClientHello has no compression method');
  const extensions = readExtensions(r);
  r.end();
  return { version, random, sessionId, cookie, cipherSuites, compressionMethods: [...compression], extensions };
}

export function encodeClientHello(h: ClientHello): Buffer {
  const suites = Buffer.allocUnsafe(h.cipherSuites.length * 2);
  h.cipherSuites.forEach((s, i) => suites.writeUInt16BE(s, i * 2));
  return Buffer.concat([u16(h.version), h.random, vec8(h.sessionId), vec8(h.cookie), vec16(suites), vec8(Buffer.from(h.compressionMethods)), writeExtensions(h.extensions)]);
}

export function decodeServerHello(body: Buffer): ServerHello {
  const r = new ByteReader(body, 'ServerHello');
  const version = r.u16();
  const random = r.bytes(RANDOM_LENGTH);
  const sessionId = r.vec8();
  if (sessionId.length > MAX_SESSION_ID) throw new DtlsDecodeError('ServerHello session_id longer than 32 bytes');
  const cipherSuite = r.u16();
  const compressionMethod = r.u8();
  const extensions = readExtensions(r);
  r.end();
  return { version, random, sessionId, cipherSuite, compressionMethod, extensions };
}

export function encodeServerHello(h: ServerHello): Buffer {
  return Buffer.concat([u16(h.version), h.random, vec8(h.sessionId), u16(h.cipherSuite), Buffer.from([h.compressionMethod]), writeExtensions(h.extensions)]);
}

/** HelloVerifyRequest: server_version + cookie. RFC 6347 §4.2.1 has DTLS 1.2 servers say 1.0 here. */
export function encodeHelloVerifyRequest(cookie: Buffer, version = DTLS_1_0): Buffer {
  return Buffer.concat([u16(version), vec8(cookie)]);
}

export function decodeHelloVerifyRequest(body: Buffer): { version: number; cookie: Buffer } {
  const r = new ByteReader(body, 'HelloVerifyRequest');
  const version = r.u16();
  const cookie = r.vec8();
  r.end();
  if (cookie.length === 0) throw new DtlsDecodeError('HelloVerifyRequest with an empty cookie');
  return { version, cookie };
}

/** PSK ServerKeyExchange and ClientKeyExchange both carry one opaque<0..2^16-1> (hint, identity). */
export function encodePskField(value: Buffer): Buffer {
  return vec16(value);
}

export function decodePskField(body: Buffer, what: string): Buffer {
  const r = new ByteReader(body, what);
  const v = r.vec16();
  r.end();
  return v;
}

export function findExtension(extensions: Extension[], type: number): Extension | undefined {
  return extensions.find((e) => e.type === type);
}
