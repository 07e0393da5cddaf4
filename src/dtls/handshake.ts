/**
 * Handshake message framing (RFC 6347 §4.2.2): the 12-byte header that lets
 * a message travel in fragments, splitting outgoing messages and reading
 * the fragments a record carries.
 */
import { HANDSHAKE_HEADER_LENGTH } from './constants.js';
import { DtlsDecodeError } from './errors.js';

export interface HandshakeFragment {
  type: number;
  /** Length of the whole message body. */
  length: number;
  messageSeq: number;
  offset: number;
  /** This fragment's bytes (fragment_length of them). */
  data: Buffer;
}

/** A complete handshake message. */
export interface HandshakeMessage {
  type: number;
  messageSeq: number;
  body: Buffer;
}

/** Largest handshake message body we accept (PSK messages are tiny; certificates later will need more). */
export const MAX_HANDSHAKE_MESSAGE_LENGTH = 65536;

/** Reads all handshake fragments in a record's plaintext. */
export function parseHandshakeFragments(plaintext: Buffer): HandshakeFragment[] {
  const out: HandshakeFragment[] = [];
  let pos = 0;
  while (pos < plaintext.length) {
    if (plaintext.length - pos < HANDSHAKE_HEADER_LENGTH) throw new DtlsDecodeError('handshake fragment header truncated');
    const type = plaintext[pos]!;
    const length = plaintext.readUIntBE(pos + 1, 3);
    const messageSeq = plaintext.readUInt16BE(pos + 4);
    const offset = plaintext.readUIntBE(pos + 6, 3);
    const fragmentLength = plaintext.readUIntBE(pos + 9, 3);
    const start = pos + HANDSHAKE_HEADER_LENGTH;
    if (start + fragmentLength > plaintext.length) throw new DtlsDecodeError('handshake fragment longer than its record');
    if (offset + fragmentLength > length) throw new DtlsDecodeError('handshake fragment beyond its message length');
    if (length > MAX_HANDSHAKE_MESSAGE_LENGTH) throw new DtlsDecodeError(`handshake message of ${length} bytes is too long`);
    out.push({ type, length, messageSeq, offset, data: plaintext.subarray(start, start + fragmentLength) });
    pos = start + fragmentLength;
  }
  return out;
}

function header(type: number, length: number, messageSeq: number, offset: number, fragmentLength: number): Buffer {
  const h = Buffer.allocUnsafe(HANDSHAKE_HEADER_LENGTH);
  h[0] = type;
  h.writeUIntBE(length, 1, 3);
  h.writeUInt16BE(messageSeq, 4);
  h.writeUIntBE(offset, 6, 3);
  h.writeUIntBE(fragmentLength, 9, 3);
  return h;
}

/**
 * The message as one unfragmented piece: what goes into the transcript hash
 * (RFC 6347 §4.2.6) and what is sent when it fits.
 */
export function encodeHandshake(message: HandshakeMessage): Buffer {
  return Buffer.concat([header(message.type, message.body.length, message.messageSeq, 0, message.body.length), message.body]);
}

/** Splits a message into fragments of at most `maxFragment` body bytes each (header included in each piece). */
export function fragmentHandshake(message: HandshakeMessage, maxFragment: number): Buffer[] {
  const { type, messageSeq, body } = message;
  if (body.length <= maxFragment) return [encodeHandshake(message)];
  const out: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += maxFragment) {
    const piece = body.subarray(offset, Math.min(body.length, offset + maxFragment));
    out.push(Buffer.concat([header(type, body.length, messageSeq, offset, piece.length), piece]));
  }
  return out;
}
