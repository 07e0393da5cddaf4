/**
 * DTLS 1.2 wire constants (RFC 6347, RFC 5246 and the extensions we use).
 * Only what this implementation reads or writes is listed.
 */

/** Record content types. */
export const ContentType = {
  ChangeCipherSpec: 20,
  Alert: 21,
  Handshake: 22,
  ApplicationData: 23,
} as const;

/** Handshake message types. */
export const HandshakeType = {
  HelloRequest: 0,
  ClientHello: 1,
  ServerHello: 2,
  HelloVerifyRequest: 3,
  ServerKeyExchange: 12,
  ServerHelloDone: 14,
  ClientKeyExchange: 16,
  Finished: 20,
} as const;

/** Protocol versions as they appear on the wire (DTLS counts down: 1.0 = 0xfeff, 1.2 = 0xfefd). */
export const DTLS_1_0 = 0xfeff;
export const DTLS_1_2 = 0xfefd;

export const AlertLevel = { Warning: 1, Fatal: 2 } as const;

/** Alert descriptions (RFC 5246 §7.2, RFC 4279, RFC 5746). */
export const AlertDescription = {
  CloseNotify: 0,
  UnexpectedMessage: 10,
  BadRecordMac: 20,
  RecordOverflow: 22,
  HandshakeFailure: 40,
  IllegalParameter: 47,
  DecodeError: 50,
  DecryptError: 51,
  ProtocolVersion: 70,
  InsufficientSecurity: 71,
  InternalError: 80,
  NoRenegotiation: 100,
  UnsupportedExtension: 110,
  UnknownPskIdentity: 115,
} as const;

/** Hello extension numbers. */
export const ExtensionType = {
  EncryptThenMac: 22, // RFC 7366
  ExtendedMasterSecret: 23, // RFC 7627
  RenegotiationInfo: 0xff01, // RFC 5746
} as const;

/** The signalling cipher suite value that stands for an empty renegotiation_info (RFC 5746 §3.3). */
export const EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff;

/** Record header: type(1) version(2) epoch(2) sequence_number(6) length(2). */
export const RECORD_HEADER_LENGTH = 13;
/** Handshake header: msg_type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3). */
export const HANDSHAKE_HEADER_LENGTH = 12;
/** Largest plaintext fragment of one record (2^14). */
export const MAX_PLAINTEXT_LENGTH = 16384;
/** Largest protected fragment of one record (2^14 + 2048). */
export const MAX_CIPHERTEXT_LENGTH = 16384 + 2048;
/** Largest record sequence number (48 bits); a connection must not wrap it. */
export const MAX_SEQUENCE = 2 ** 48 - 1;

export function alertName(description: number): string {
  for (const [name, value] of Object.entries(AlertDescription)) if (value === description) return name;
  return `alert(${description})`;
}
