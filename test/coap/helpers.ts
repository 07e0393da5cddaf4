/**
 * Shared test plumbing for the CoAP layer: endpoints with short
 * transmission parameters, a lossy UDP relay, raw sockets.
 */
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import { CoapEndpoint, type UdpEndpointOptions } from '../../src/coap/endpoint.js';
import { parseMessage, type CoapMessage } from '../../src/coap/packet.js';
import { udpPeer, type Logger, type Peer } from '../../src/coap/transport.js';

/** Transmission parameters that make a lost datagram cost tens of milliseconds. */
export const FAST = { ackTimeoutMs: 40, ackRandomFactor: 1.5, maxRetransmit: 4 } as const;

export interface LogLine {
  level: string;
  message: string;
  error?: unknown;
}

/** A logger that records lines (tests assert on them). */
export function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return { lines, logger: (level, message, error) => lines.push({ level, message, error }) };
}

/** An endpoint on 127.0.0.1 (or ::1) with FAST parameters unless told otherwise. */
export async function endpoint(options: UdpEndpointOptions = {}): Promise<CoapEndpoint> {
  return CoapEndpoint.udp({
    address: '127.0.0.1',
    separateResponseDelayMs: 20,
    requestTimeoutMs: 2000,
    ...options,
    parameters: { ...FAST, ...options.parameters },
  });
}

export function peerOf(ep: CoapEndpoint): Peer {
  const a = ep.address();
  return udpPeer(a.address, a.port);
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** Deterministic pseudo-random bytes (so a failing hash is reproducible). */
export function pseudoRandomBytes(length: number, seed = 1): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until it holds or `timeoutMs` passes (then throws). */
export async function waitFor(condition: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

export async function rawSocket(type: 'udp4' | 'udp6' = 'udp4'): Promise<dgram.Socket> {
  const s = dgram.createSocket(type);
  s.bind(0, type === 'udp4' ? '127.0.0.1' : '::1');
  await once(s, 'listening');
  return s;
}

/** Sends `datagram` from `socket` and resolves with the first reply that parses (or undefined after `timeoutMs`). */
export function exchangeRaw(socket: dgram.Socket, datagram: Buffer, port: number, host = '127.0.0.1', timeoutMs = 500): Promise<CoapMessage | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      resolve(undefined);
    }, timeoutMs);
    const onMessage = (msg: Buffer): void => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(parseMessage(msg));
    };
    socket.on('message', onMessage);
    socket.send(datagram, port, host);
  });
}

export type Direction = 'toServer' | 'toClient';
/** Decides whether the relay drops a datagram; `index` counts datagrams per direction from 0. */
export type DropRule = (direction: Direction, datagram: Buffer, index: number) => boolean;

/**
 * A UDP relay between one client and a server: the client talks to
 * `relay.peer`, the relay forwards to the server from its own socket and
 * sends the replies back, dropping what `drop` selects. Also records
 * every datagram that went through, parsed.
 */
export class LossyRelay {
  readonly log: { direction: Direction; message: CoapMessage | undefined; dropped: boolean }[] = [];
  private clientAddr: { port: number; address: string } | null = null;
  private counts = { toServer: 0, toClient: 0 };

  private constructor(
    private readonly front: dgram.Socket,
    private readonly back: dgram.Socket,
    private readonly serverPort: number,
    public drop: DropRule,
  ) {
    front.on('message', (msg, rinfo) => {
      this.clientAddr = { port: rinfo.port, address: rinfo.address };
      this.forward('toServer', msg, () => back.send(msg, this.serverPort, '127.0.0.1'));
    });
    back.on('message', (msg) => {
      const to = this.clientAddr;
      if (to) this.forward('toClient', msg, () => front.send(msg, to.port, to.address));
    });
  }

  static async start(serverPort: number, drop: DropRule = () => false): Promise<LossyRelay> {
    return new LossyRelay(await rawSocket(), await rawSocket(), serverPort, drop);
  }

  /** Where the client sends. */
  get peer(): Peer {
    return udpPeer('127.0.0.1', this.front.address().port);
  }

  /** The server sees requests coming from this peer. */
  get serverSidePeer(): Peer {
    return udpPeer('127.0.0.1', this.back.address().port);
  }

  private forward(direction: Direction, msg: Buffer, send: () => void): void {
    const index = this.counts[direction]++;
    const dropped = this.drop(direction, msg, index);
    let parsed: CoapMessage | undefined;
    try {
      parsed = parseMessage(msg);
    } catch {
      parsed = undefined;
    }
    this.log.push({ direction, message: parsed, dropped });
    if (!dropped) send();
  }

  close(): void {
    this.front.close();
    this.back.close();
  }
}
