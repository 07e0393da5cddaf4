/**
 * DTLS server as a CoAP `Transport`: one UDP socket, a table of sessions
 * keyed by the peer's address. Application data of a session goes to the
 * endpoint's datagram handler with a Peer that carries the authenticated
 * PSK identity; `send` encrypts for the session of that peer.
 *
 * State before the cookie round trip is none at all: a ClientHello without a
 * valid cookie is answered with a HelloVerifyRequest computed from the
 * datagram alone (cookie.ts), so a flood of ClientHellos from spoofed
 * addresses and ports costs CPU but no memory. Handshakes in progress and
 * sessions are bounded; idle sessions expire.
 */
import * as dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { CipherSuite } from './cipher-suites.js';
import { ContentType, DTLS_1_0, HandshakeType } from './constants.js';
import { CookieJar } from './cookie.js';
import { DtlsConfigError } from './errors.js';
import { encodeHandshake, parseHandshakeFragments } from './handshake.js';
import { decodeClientHello, encodeHelloVerifyRequest } from './messages.js';
import { encodeRecord, parseDatagram, type DtlsRecord } from './record.js';
import { ServerSession, type OpeningHello, type PskLookup, type ServerHandshakeConfig } from './server-handshake.js';
import type { DtlsSession, SessionHost, SessionOptions } from './session.js';
import { dtlsPeerKey } from './peer-key.js';
import { newDtlsStats, type DtlsStats } from './stats.js';
import { resolveSuites, type CipherSuiteName } from './suites-option.js';
import { normalizeHost, silentLogger, type DatagramHandler, type Logger, type Peer, type Transport, type TransportAddress } from '../coap/transport.js';

export interface DtlsServerOptions {
  /** Local address; "0.0.0.0" by default, "::" for dual-stack. */
  address?: string;
  /** Local port (default 5684; 0 picks an ephemeral one). */
  port?: number;
  /** Key of a PSK identity; undefined for an unknown identity (the handshake then fails with handshake_failure). */
  psk: PskLookup;
  /** PSK identity hint sent in a ServerKeyExchange; none by default (node-dtls-client fails on one). */
  pskIdentityHint?: string;
  /** Accepted suites in order of preference (default: CCM_8, GCM, CBC). */
  cipherSuites?: readonly CipherSuiteName[];
  /** Established sessions kept (default 10 000); the least recently active one makes room. */
  maxSessions?: number;
  /** Handshakes in progress (default 1000); more valid-cookie ClientHellos are ignored until some finish. */
  maxHandshakes?: number;
  /** A session without authenticated traffic for this long is closed (ms, default 24 h). */
  sessionIdleMs?: number;
  /** A handshake not complete after this long fails (ms, default 30 s). */
  handshakeTimeoutMs?: number;
  /** First flight retransmission timeout (ms, default 1000), doubled up to retransmitMaxMs (default 60 000). */
  retransmitInitialMs?: number;
  retransmitMaxMs?: number;
  /** Largest handshake datagram (bytes, default 1200, at least 64); longer handshake messages are fragmented. */
  mtu?: number;
  /** Cookie secret rotation period (ms, default 5 min). */
  cookieRotationMs?: number;
  /** Socket receive buffer (bytes, default 4 MiB, halved until the kernel accepts it). */
  recvBufferSize?: number;
  logger?: Logger;
}

/** Outcome of a handshake that did not complete. */
export interface HandshakeFailure {
  host: string;
  port: number;
  error: Error;
}

export interface DtlsServerState {
  sessions: number;
  handshakes: number;
}

interface DtlsServerEvents {
  /** A handshake completed; the peer carries the identity. */
  session: [peer: Peer];
  /** A session ended (close_notify, fatal alert, idle expiry, replaced by a new handshake). */
  'session-closed': [peer: Peer, reason: Error | undefined];
  'handshake-failed': [failure: HandshakeFailure];
}


interface Entry {
  session: DtlsSession;
  host: string;
  port: number;
  peer: Peer | null;
}

const MIN_RECV_BUFFER = 256 * 1024;

export class DtlsServerTransport extends EventEmitter<DtlsServerEvents> implements Transport {
  readonly stats: DtlsStats = newDtlsStats();
  private readonly socket: dgram.Socket;
  private readonly ipv6: boolean;
  private readonly logger: Logger;
  private readonly cookies: CookieJar;
  private readonly suites: readonly CipherSuite[];
  private readonly sessionOptions: SessionOptions;
  private readonly config: ServerHandshakeConfig;
  private readonly maxSessions: number;
  private readonly maxHandshakes: number;
  private readonly idleMs: number;
  /** Established sessions by peer key. */
  private readonly sessions = new Map<string, Entry>();
  /** Handshakes in progress by peer key (a client may run one while its old session still exists). */
  private readonly handshakes = new Map<string, Entry>();
  private readonly entries = new Map<DtlsSession, Entry>();
  private readonly host: SessionHost;
  private readonly sweepTimer: NodeJS.Timeout;
  private handler: DatagramHandler | null = null;
  private closed: Promise<void> | null = null;
  private socketOpen = true;
  /** Sends not yet handed to the kernel; close() waits for them so that close_notify alerts go out. */
  private sending = 0;
  private drained: (() => void) | null = null;
  private readonly onSent = (err: Error | null): void => {
    if (err) this.logger('debug', `DTLS send failed: ${err.message}`);
    if (--this.sending === 0 && this.drained) this.drained();
  };

  static async listen(options: DtlsServerOptions): Promise<DtlsServerTransport> {
    const address = options.address ?? '0.0.0.0';
    const ipv6 = address.includes(':');
    const socket = dgram.createSocket({ type: ipv6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind({ address, port: options.port ?? 5684, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    try {
      return new DtlsServerTransport(socket, ipv6, options);
    } catch (err) {
      socket.close();
      throw err;
    }
  }

  private constructor(socket: dgram.Socket, ipv6: boolean, options: DtlsServerOptions) {
    super();
    if (typeof options.psk !== 'function') throw new DtlsConfigError('psk must be a lookup function (identity) => Buffer | undefined');
    this.socket = socket;
    this.ipv6 = ipv6;
    this.logger = options.logger ?? silentLogger;
    this.suites = resolveSuites(options.cipherSuites);
    this.cookies = new CookieJar({ rotationMs: options.cookieRotationMs });
    this.maxSessions = positiveInt('maxSessions', options.maxSessions ?? 10_000);
    this.maxHandshakes = positiveInt('maxHandshakes', options.maxHandshakes ?? 1000);
    this.idleMs = positiveInt('sessionIdleMs', options.sessionIdleMs ?? 24 * 3600_000);
    this.sessionOptions = {
      mtu: Math.max(64, positiveInt('mtu', options.mtu ?? 1200)),
      retransmitInitialMs: positiveInt('retransmitInitialMs', options.retransmitInitialMs ?? 1000),
      retransmitMaxMs: positiveInt('retransmitMaxMs', options.retransmitMaxMs ?? 60_000),
      handshakeTimeoutMs: positiveInt('handshakeTimeoutMs', options.handshakeTimeoutMs ?? 30_000),
      logger: this.logger,
      stats: this.stats,
    };
    this.config = { psk: options.psk, cipherSuites: this.suites, ...(options.pskIdentityHint !== undefined ? { pskIdentityHint: options.pskIdentityHint } : {}) };
    this.host = {
      sendDatagram: (session, datagram) => {
        const entry = this.entries.get(session);
        if (entry) this.sendRaw(datagram, entry.host, entry.port);
      },
      onEstablished: (session) => this.onEstablished(session),
      onApplicationData: (session, data) => {
        const entry = this.entries.get(session);
        if (!entry?.peer || !this.handler) return;
        try {
          this.handler(data, entry.peer);
        } catch (err) {
          // The receiver's failure is not the session's: keep the connection.
          this.logger('error', `datagram handler failed for ${entry.peer.key}`, err);
        }
      },
      onClosed: (session, reason) => this.onSessionClosed(session, reason),
    };
    socket.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    socket.on('error', (err) => this.logger('warn', `DTLS socket error: ${err.message}`, err));
    this.setReceiveBuffer(options.recvBufferSize ?? 4 * 1024 * 1024);
    this.sweepTimer = setInterval(() => this.sweepIdle(), Math.min(60_000, Math.max(1000, Math.floor(this.idleMs / 4))));
    this.sweepTimer.unref();
  }

  private setReceiveBuffer(wanted: number): void {
    for (let size = wanted; size >= MIN_RECV_BUFFER; size = Math.floor(size / 2)) {
      try {
        this.socket.setRecvBufferSize(size);
        return;
      } catch {
        // try a smaller one
      }
    }
  }

  // ----------------------------------------------------------------------
  // Transport
  // ----------------------------------------------------------------------

  setHandler(handler: DatagramHandler): void {
    this.handler = handler;
  }

  send(datagram: Buffer, peer: Peer): void {
    if (this.closed) return;
    const entry = this.sessions.get(peer.key);
    if (!entry) {
      // Debug only: the CoAP layer retransmits and then reports the failed exchange itself.
      this.logger('debug', `no DTLS session with ${peer.key}: datagram not sent`);
      return;
    }
    entry.session.sendApplicationData(datagram);
  }

  address(): TransportAddress {
    const a = this.socket.address();
    return { address: a.address, port: a.port, family: a.family === 'IPv6' ? 'IPv6' : 'IPv4' };
  }

  /** Sends close_notify to every session and releases the socket. */
  close(): Promise<void> {
    if (!this.closed) {
      clearInterval(this.sweepTimer);
      for (const entry of [...this.handshakes.values()]) entry.session.discard();
      for (const entry of [...this.sessions.values()]) entry.session.close();
      this.handler = null;
      this.socketOpen = false;
      this.closed = new Promise<void>((resolve) => {
        const closeSocket = (): void => {
          try {
            this.socket.close(() => resolve());
          } catch {
            resolve();
          }
        };
        if (this.sending === 0) closeSocket();
        else this.drained = closeSocket;
      });
    }
    return this.closed;
  }

  // ----------------------------------------------------------------------
  // Introspection
  // ----------------------------------------------------------------------

  get state(): DtlsServerState {
    return { sessions: this.sessions.size, handshakes: this.handshakes.size };
  }

  /** The peer of an established session, by key. */
  peer(key: string): Peer | undefined {
    return this.sessions.get(key)?.peer ?? undefined;
  }

  /** Closes the session of a peer (close_notify). False when there is none. */
  closeSession(key: string): boolean {
    const entry = this.sessions.get(key);
    if (!entry) return false;
    entry.session.close();
    return true;
  }

  // ----------------------------------------------------------------------
  // Datagrams in
  // ----------------------------------------------------------------------

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    try {
      this.dispatch(msg, normalizeHost(rinfo.address), rinfo.port);
    } catch (err) {
      this.logger('error', `DTLS datagram from ${rinfo.address}:${rinfo.port} caused an internal error`, err);
    }
  }

  private dispatch(msg: Buffer, host: string, port: number): void {
    const { records } = parseDatagram(msg);
    if (records.length === 0) {
      this.stats.malformedDatagrams++;
      return;
    }
    const key = dtlsPeerKey(host, port);
    const pending = this.handshakes.get(key);
    const established = this.sessions.get(key);

    const first = records[0]!;
    if (first.epoch === 0 && first.type === ContentType.Handshake) {
      const opening = readClientHello(first);
      if (opening) {
        // A repeated ClientHello goes to the connection it opened (which answers with its flight again).
        const repeatedTo = [pending, established].find((e) => e && (e.session as ServerSession).isSameHello(opening.hello));
        if (repeatedTo) {
          repeatedTo.session.handleRecords(records);
          return;
        }
        this.onClientHello(key, host, port, opening);
        return;
      }
    }

    // Application data belongs to the established session; handshake traffic to the handshake in progress.
    const forHandshake: DtlsRecord[] = [];
    const forSession: DtlsRecord[] = [];
    for (const record of records) {
      const toSession = established && (!pending || record.type === ContentType.ApplicationData);
      if (toSession) forSession.push(record);
      else if (pending) forHandshake.push(record);
      else this.stats.droppedRecords++;
    }
    if (forHandshake.length > 0) pending!.session.handleRecords(forHandshake);
    if (forSession.length > 0) established!.session.handleRecords(forSession);
  }

  /**
   * A ClientHello that is not a retransmission of the handshake in progress.
   * Without a valid cookie: a HelloVerifyRequest and nothing remembered. With
   * one: a new handshake, which replaces the one in progress for this address
   * (the client restarted); an established session stays until the new
   * handshake completes (RFC 6347 §4.2.8).
   */
  private onClientHello(key: string, host: string, port: number, opening: OpeningHello): void {
    this.stats.clientHellos++;
    if (!this.cookies.verify(host, port, opening.hello)) {
      const cookie = this.cookies.make(host, port, opening.hello);
      const hvr = encodeHandshake({ type: HandshakeType.HelloVerifyRequest, messageSeq: opening.message.messageSeq, body: encodeHelloVerifyRequest(cookie) });
      // RFC 6347 §4.2.1: the HelloVerifyRequest reuses the ClientHello's record sequence number.
      this.sendRaw(encodeRecord(ContentType.Handshake, DTLS_1_0, 0, opening.recordSeq, hvr), host, port);
      this.stats.helloVerifyRequests++;
      return;
    }
    const previous = this.handshakes.get(key);
    if (previous) previous.session.discard();
    if (this.handshakes.size >= this.maxHandshakes) {
      this.stats.handshakesRefused++;
      this.logger('warn', `DTLS handshake from ${key} refused: ${this.handshakes.size} handshakes in progress`);
      return;
    }
    const session = new ServerSession(this.host, this.sessionOptions, key, this.config, opening);
    const entry: Entry = { session, host, port, peer: null };
    this.entries.set(session, entry);
    this.handshakes.set(key, entry);
    session.start();
  }

  // ----------------------------------------------------------------------
  // Session events
  // ----------------------------------------------------------------------

  private onEstablished(session: DtlsSession): void {
    const entry = this.entries.get(session);
    if (!entry) return;
    const key = session.label;
    if (this.handshakes.get(key) === entry) this.handshakes.delete(key);
    const old = this.sessions.get(key);
    if (old) old.session.discard(); // the client started over: its old keys are gone on its side
    if (this.sessions.size >= this.maxSessions) this.evictLeastRecentlyActive();
    entry.peer = { key, host: entry.host, port: entry.port, ...(session.identity !== undefined ? { identity: session.identity } : {}) };
    this.sessions.set(key, entry);
    this.logger('debug', `DTLS session with ${key} established (identity ${JSON.stringify(session.identity)})`);
    this.emit('session', entry.peer);
  }

  private onSessionClosed(session: DtlsSession, reason: Error | undefined): void {
    const entry = this.entries.get(session);
    if (!entry) return;
    this.entries.delete(session);
    const key = session.label;
    if (this.handshakes.get(key) === entry) {
      this.handshakes.delete(key);
      if (reason) {
        this.logger('info', `DTLS handshake with ${key} failed: ${reason.message}`);
        this.emit('handshake-failed', { host: entry.host, port: entry.port, error: reason });
      }
    }
    if (this.sessions.get(key) === entry) {
      this.sessions.delete(key);
      this.emit('session-closed', entry.peer!, reason);
    }
  }

  private evictLeastRecentlyActive(): void {
    let oldest: Entry | undefined;
    for (const entry of this.sessions.values()) {
      if (!oldest || entry.session.lastActivity < oldest.session.lastActivity) oldest = entry;
    }
    if (oldest) {
      this.logger('info', `DTLS session table full: closing the least recently active session ${oldest.session.label}`);
      oldest.session.close();
    }
  }

  private sweepIdle(): void {
    const limit = Date.now() - this.idleMs;
    for (const entry of [...this.sessions.values()]) {
      if (entry.session.lastActivity < limit) entry.session.close();
    }
  }

  private sendRaw(datagram: Buffer, host: string, port: number): void {
    if (!this.socketOpen) return;
    let address = host;
    if (this.ipv6 && !host.includes(':')) address = `::ffff:${host}`;
    try {
      this.sending++;
      this.socket.send(datagram, port, address, this.onSent);
    } catch (err) {
      this.sending--;
      this.logger('warn', `DTLS send to ${host}:${port} failed: ${(err as Error).message}`, err);
    }
  }
}

/** The ClientHello opening a handshake, when the record holds one whole (an unfragmented first fragment). */
function readClientHello(record: DtlsRecord): OpeningHello | undefined {
  try {
    const fragments = parseHandshakeFragments(record.fragment);
    const f = fragments[0];
    if (!f || f.type !== HandshakeType.ClientHello || f.offset !== 0 || f.data.length !== f.length) return undefined;
    const message = { type: f.type, messageSeq: f.messageSeq, body: Buffer.from(f.data) };
    return { message, hello: decodeClientHello(message.body), recordSeq: record.seq };
  } catch {
    return undefined;
  }
}

function positiveInt(name: string, value: number): number {
  if (!(Number.isInteger(value) && value > 0)) throw new DtlsConfigError(`${name} must be a positive integer (got ${value})`);
  return value;
}
