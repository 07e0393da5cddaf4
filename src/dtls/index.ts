/**
 * DTLS 1.2 (RFC 6347) with pre-shared keys, as CoAP transports:
 * `DtlsServerTransport` (many sessions on one socket) and
 * `DtlsClientTransport` (one session with one server).
 */
export { DtlsServerTransport, type DtlsServerOptions, type DtlsServerState, type HandshakeFailure } from './server-transport.js';
export { DtlsClientTransport, type DtlsClientOptions } from './client-transport.js';
export { dtlsPeerKey } from './peer-key.js';
export type { PskLookup } from './server-handshake.js';
export type { CipherSuiteName } from './suites-option.js';
export type { DtlsStats } from './stats.js';
export { DtlsError, DtlsDecodeError, DtlsAlertReceived, DtlsConfigError } from './errors.js';
