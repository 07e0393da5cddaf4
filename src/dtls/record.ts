/**
 * DTLS record framing (RFC 6347 §4.1): splitting a datagram into records
 * and writing record headers. A datagram may carry several records; a record
 * never spans datagrams.
 */
import { DTLS_1_0, DTLS_1_2, MAX_CIPHERTEXT_LENGTH, RECORD_HEADER_LENGTH } from './constants.js';

export interface DtlsRecord {
  type: number;
  version: number;
  epoch: number;
  /** 48-bit sequence number (exact in a JS number). */
  seq: number;
  /** The record body as received (protected when epoch > 0); a view into the datagram. */
  fragment: Buffer;
}

/** Why the rest of a datagram was not read as records. */
export type RecordParseProblem = 'truncated' | 'version' | 'too-long' | 'content-type';

export interface ParsedDatagram {
  records: DtlsRecord[];
  /** Set when the datagram ended in something that is not a record; the records before it are kept. */
  problem?: RecordParseProblem;
}

const KNOWN_TYPES = new Set([20, 21, 22, 23]);

/**
 * Reads every record of a datagram. A bad header ends the parse: what follows
 * cannot be framed, and RFC 6347 §4.1.2.7 lets us drop it silently.
 */
export function parseDatagram(datagram: Buffer): ParsedDatagram {
  const records: DtlsRecord[] = [];
  let pos = 0;
  while (pos < datagram.length) {
    if (datagram.length - pos < RECORD_HEADER_LENGTH) return { records, problem: 'truncated' };
    const type = datagram[pos]!;
    if (!KNOWN_TYPES.has(type)) return { records, problem: 'content-type' };
    const version = datagram.readUInt16BE(pos + 1);
    if (version !== DTLS_1_2 && version !== DTLS_1_0) return { records, problem: 'version' };
    const epoch = datagram.readUInt16BE(pos + 3);
    const seq = datagram.readUIntBE(pos + 5, 6);
    const length = datagram.readUInt16BE(pos + 11);
    if (length > MAX_CIPHERTEXT_LENGTH) return { records, problem: 'too-long' };
    const start = pos + RECORD_HEADER_LENGTH;
    if (start + length > datagram.length) return { records, problem: 'truncated' };
    records.push({ type, version, epoch, seq, fragment: datagram.subarray(start, start + length) });
    pos = start + length;
  }
  return { records };
}

/** Header + body of one record. */
export function encodeRecord(type: number, version: number, epoch: number, seq: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_LENGTH + body.length);
  out[0] = type;
  out.writeUInt16BE(version, 1);
  out.writeUInt16BE(epoch, 3);
  out.writeUIntBE(seq, 5, 6);
  out.writeUInt16BE(body.length, 11);
  body.copy(out, RECORD_HEADER_LENGTH);
  return out;
}

/**
 * The 13 bytes a record's MAC or AEAD tag covers besides the data:
 * seq_num (epoch + 48-bit sequence) + type + version + length (RFC 6347 §4.1.2.1).
 */
export function additionalData(epoch: number, seq: number, type: number, version: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(13);
  out.writeUInt16BE(epoch, 0);
  out.writeUIntBE(seq, 2, 6);
  out[8] = type;
  out.writeUInt16BE(version, 9);
  out.writeUInt16BE(length, 11);
  return out;
}
