/**
 * Plain UDP transport: one dgram socket, IPv4 or IPv6 (udp6 when the bind
 * address contains ':'; a "::" socket is dual-stack and IPv4 peers show up
 * as plain IPv4 addresses). Send failures are logged, never thrown into the
 * event loop.
 */
import * as dgram from 'node:dgram';
import { silentLogger, udpPeerKey, normalizeHost, type DatagramHandler, type Logger, type Peer, type Transport, type TransportAddress } from './transport.js';

export interface UdpTransportOptions {
  /** Local address; "0.0.0.0" by default, "::" for dual-stack IPv6. */
  address?: string;
  /** Local port; 0 (the default) picks an ephemeral one. */
  port?: number;
  /**
   * Socket receive buffer (bytes). The kernel default (~208 KiB) drops bursts
   * of a few hundred datagrams; 4 MiB is tried first and halved until the
   * kernel accepts it.
   */
  recvBufferSize?: number;
  logger?: Logger;
}

const MIN_RECV_BUFFER = 256 * 1024;

export class UdpTransport implements Transport {
  private readonly socket: dgram.Socket;
  private readonly logger: Logger;
  private readonly ipv6: boolean;
  private handler: DatagramHandler | null = null;
  private closed: Promise<void> | null = null;
  // The last sender, reused while datagrams keep coming from it (saves a string and an object per datagram).
  private lastAddress = '';
  private lastPort = -1;
  private lastPeer: Peer | null = null;

  /** Creates and binds a socket. Rejects (typed by Node: EADDRINUSE, ...) when binding fails. */
  static async bind(options: UdpTransportOptions = {}): Promise<UdpTransport> {
    const address = options.address ?? '0.0.0.0';
    const ipv6 = address.includes(':');
    const socket = dgram.createSocket({ type: ipv6 ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onError);
      socket.bind({ address, port: options.port ?? 0, exclusive: true }, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    const transport = new UdpTransport(socket, options.logger ?? silentLogger, ipv6);
    transport.setReceiveBuffer(options.recvBufferSize ?? 4 * 1024 * 1024);
    return transport;
  }

  private constructor(socket: dgram.Socket, logger: Logger, ipv6: boolean) {
    this.socket = socket;
    this.logger = logger;
    this.ipv6 = ipv6;
    socket.on('message', this.onMessage);
    // Without a send callback, dgram reports send failures here.
    socket.on('error', (err) => this.logger('warn', `UDP socket error: ${err.message}`, err));
  }

  private setReceiveBuffer(wanted: number): void {
    for (let size = wanted; size >= MIN_RECV_BUFFER; size = Math.floor(size / 2)) {
      try {
        this.socket.setRecvBufferSize(size);
        return;
      } catch (err) {
        this.logger('debug', `receive buffer of ${size} bytes refused: ${(err as Error).message}`);
      }
    }
    this.logger('info', 'keeping the default UDP receive buffer size');
  }

  /** The receive buffer size the kernel reports (Linux reports twice the requested value). */
  get recvBufferSize(): number {
    return this.socket.getRecvBufferSize();
  }

  setHandler(handler: DatagramHandler): void {
    this.handler = handler;
  }

  private readonly onMessage = (msg: Buffer, rinfo: dgram.RemoteInfo): void => {
    const handler = this.handler;
    if (!handler) return;
    let peer = this.lastPeer;
    if (peer === null || rinfo.port !== this.lastPort || rinfo.address !== this.lastAddress) {
      const host = normalizeHost(rinfo.address);
      peer = { key: udpPeerKey(host, rinfo.port), host, port: rinfo.port };
      this.lastPeer = peer;
      this.lastAddress = rinfo.address;
      this.lastPort = rinfo.port;
    }
    handler(msg, peer);
  };

  send(datagram: Buffer, peer: Peer): void {
    if (this.closed) return;
    let host = peer.host;
    if (host.includes(':')) {
      if (!this.ipv6) {
        this.logger('warn', `cannot send to IPv6 peer ${peer.key} from an IPv4 socket`);
        return;
      }
    } else if (this.ipv6) {
      host = `::ffff:${host}`;
    }
    try {
      this.socket.send(datagram, peer.port, host);
    } catch (err) {
      this.logger('warn', `UDP send to ${peer.key} failed: ${(err as Error).message}`, err);
    }
  }

  address(): TransportAddress {
    const a = this.socket.address();
    return { address: a.address, port: a.port, family: a.family === 'IPv6' ? 'IPv6' : 'IPv4' };
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.handler = null;
      this.closed = new Promise<void>((resolve) => {
        try {
          this.socket.close(() => resolve());
        } catch {
          resolve(); // already closed
        }
      });
    }
    return this.closed;
  }
}
