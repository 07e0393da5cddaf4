/**
 * DTLS client as a CoAP `Transport`: one UDP socket, one PSK session with
 * one server. `connect` resolves once the handshake is complete (flights are
 * retransmitted with back-off until then) and rejects when it fails.
 * Datagrams from any other address are ignored.
 */
import * as dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { ClientSession } from './client-handshake.js';
import { AlertDescription } from './constants.js';
import { DtlsConfigError, DtlsError } from './errors.js';
import { parseDatagram } from './record.js';
import type { DtlsSession, SessionHost } from './session.js';
import { newDtlsStats, type DtlsStats } from './stats.js';
import { resolveSuites, type CipherSuiteName } from './suites-option.js';
import { dtlsPeerKey } from './peer-key.js';
import { normalizeHost, silentLogger, type DatagramHandler, type Logger, type Peer, type Transport, type TransportAddress } from '../coap/transport.js';

export interface DtlsClientOptions {
  /** Server IP literal (names must be resolved by the caller). */
  host: string;
  /** Server port (default 5684). */
  port?: number;
  identity: string;
  psk: Buffer;
  /** Offered suites in order of preference (default: CCM_8, GCM, CBC). */
  cipherSuites?: readonly CipherSuiteName[];
  /** Local address to bind (default: any address of the server's family). */
  localAddress?: string;
  localPort?: number;
  /** First flight retransmission timeout (ms, default 1000), doubled up to retransmitMaxMs (default 60 000). */
  retransmitInitialMs?: number;
  retransmitMaxMs?: number;
  /** The handshake fails after this long (ms, default 30 s). */
  handshakeTimeoutMs?: number;
  /** Largest handshake datagram (bytes, default 1200, at least 64); longer handshake messages are fragmented. */
  mtu?: number;
  logger?: Logger;
}

interface DtlsClientEvents {
  /** The session ended after it was established (server close_notify or alert, local close). */
  closed: [reason: Error | undefined];
}

export class DtlsClientTransport extends EventEmitter<DtlsClientEvents> implements Transport {
  readonly stats: DtlsStats;
  /** The server, as the CoAP endpoint addresses it. */
  readonly peer: Peer;
  private readonly socket: dgram.Socket;
  private readonly session: ClientSession;
  private readonly logger: Logger;
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

  /** Binds a socket, runs the handshake, resolves when the session is established. */
  static async connect(options: DtlsClientOptions): Promise<DtlsClientTransport> {
    const host = normalizeHost(options.host);
    const family = isIP(host);
    if (family === 0) throw new DtlsConfigError(`not an IP address: ${options.host}`);
    const port = options.port ?? 5684;
    if (!(Number.isInteger(port) && port > 0 && port <= 0xffff)) throw new DtlsConfigError(`invalid port ${port}`);
    const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind({ address: options.localAddress ?? (family === 6 ? '::' : '0.0.0.0'), port: options.localPort ?? 0 }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    let transport: DtlsClientTransport;
    try {
      transport = new DtlsClientTransport(socket, host, port, options);
    } catch (err) {
      socket.close();
      throw err;
    }
    await transport.handshake();
    return transport;
  }

  private establishedResolve: (() => void) | null = null;
  private establishedReject: ((err: Error) => void) | null = null;

  private constructor(socket: dgram.Socket, host: string, port: number, options: DtlsClientOptions) {
    super();
    if (!Buffer.isBuffer(options.psk) || options.psk.length === 0) throw new DtlsConfigError('psk must be a non-empty Buffer');
    if (typeof options.identity !== 'string') throw new DtlsConfigError('identity must be a string');
    this.socket = socket;
    this.logger = options.logger ?? silentLogger;
    this.stats = newDtlsStats();
    const key = dtlsPeerKey(host, port);
    this.peer = { key, host, port };
    const sessionHost: SessionHost = {
      sendDatagram: (_session, datagram) => this.sendRaw(datagram),
      onEstablished: () => {
        this.establishedResolve?.();
      },
      onApplicationData: (_session, data) => {
        try {
          this.handler?.(data, this.peer);
        } catch (err) {
          this.logger('error', `datagram handler failed for ${this.peer.key}`, err);
        }
      },
      onClosed: (session, reason) => this.onSessionClosed(session, reason),
    };
    this.session = new ClientSession(sessionHost, {
      mtu: Math.max(64, options.mtu ?? 1200),
      retransmitInitialMs: options.retransmitInitialMs ?? 1000,
      retransmitMaxMs: options.retransmitMaxMs ?? 60_000,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 30_000,
      logger: this.logger,
      stats: this.stats,
    }, key, { identity: options.identity, psk: options.psk, cipherSuites: resolveSuites(options.cipherSuites) });
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== port || normalizeHost(rinfo.address) !== host) return;
      const { records } = parseDatagram(msg);
      if (records.length === 0) {
        this.stats.malformedDatagrams++;
        return;
      }
      this.session.handleRecords(records);
    });
    socket.on('error', (err) => this.logger('warn', `DTLS client socket error: ${err.message}`, err));
  }

  private handshake(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.establishedResolve = () => {
        this.establishedResolve = this.establishedReject = null;
        resolve();
      };
      this.establishedReject = (err) => {
        this.establishedResolve = this.establishedReject = null;
        void this.close();
        reject(err);
      };
      this.session.start();
    });
  }

  private onSessionClosed(_session: DtlsSession, reason: Error | undefined): void {
    if (this.establishedReject) {
      this.establishedReject(reason ?? new DtlsError(AlertDescription.HandshakeFailure, 'handshake aborted'));
      return;
    }
    this.emit('closed', reason);
  }

  /** The PSK identity hint the server sent, if any. */
  get identityHint(): string | undefined {
    return this.session.identityHint;
  }

  /** Name of the negotiated cipher suite. */
  get cipherSuite(): string | undefined {
    return this.session.cipherSuite?.name;
  }

  get isConnected(): boolean {
    return this.session.isEstablished;
  }

  setHandler(handler: DatagramHandler): void {
    this.handler = handler;
  }

  send(datagram: Buffer, peer: Peer): void {
    if (peer.key !== this.peer.key) {
      this.logger('warn', `DTLS client connected to ${this.peer.key} cannot send to ${peer.key}`);
      return;
    }
    if (!this.session.sendApplicationData(datagram)) this.logger('warn', `DTLS session with ${this.peer.key} is not established: datagram not sent`);
  }

  address(): TransportAddress {
    const a = this.socket.address();
    return { address: a.address, port: a.port, family: a.family === 'IPv6' ? 'IPv6' : 'IPv4' };
  }

  /** close_notify to the server, then the socket is released. */
  close(): Promise<void> {
    if (!this.closed) {
      this.session.close();
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

  private sendRaw(datagram: Buffer): void {
    if (!this.socketOpen) return;
    try {
      this.sending++;
      this.socket.send(datagram, this.peer.port, this.peer.host, this.onSent);
    } catch (err) {
      this.sending--;
      this.logger('warn', `DTLS send to ${this.peer.key} failed: ${(err as Error).message}`, err);
    }
  }
}
