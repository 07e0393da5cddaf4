/**
 * What the CoAP endpoint needs from the network below it: datagrams in,
 * datagrams out, one peer abstraction. UDP implements it in
 * udp-transport.ts; a DTLS session table implements it later with its own
 * peer keys and the authenticated identity of each session.
 */
import { isIP } from 'node:net';
import { CoapMessageError } from './errors.js';

/**
 * The other side of an exchange. Compared by `key`, never by identity: a
 * transport may hand out a new Peer object for every datagram.
 */
export interface Peer {
  /** Stable key, e.g. "udp:[192.0.2.1]:5683" (a DTLS transport supplies its own). */
  readonly key: string;
  readonly host: string;
  readonly port: number;
  /** Authenticated identity (PSK identity, certificate CN, ...) when the transport has one. */
  readonly identity?: string;
}

export interface TransportAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

export type DatagramHandler = (datagram: Buffer, peer: Peer) => void;

export interface Transport {
  /** Installs the single receiver of incoming datagrams (the endpoint). */
  setHandler(handler: DatagramHandler): void;
  /** Sends one datagram; failures are logged by the transport, never thrown asynchronously. */
  send(datagram: Buffer, peer: Peer): void;
  /** Local address the transport is bound to. */
  address(): TransportAddress;
  /** Releases the socket(s). */
  close(): Promise<void>;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string, error?: unknown) => void;
export const silentLogger: Logger = () => {};

/** "::ffff:192.0.2.1" (an IPv4 peer seen through a dual-stack socket) → "192.0.2.1". */
export function normalizeHost(host: string): string {
  if (host.length > 7 && host.charCodeAt(0) === 58 /* ':' */ && host.startsWith('::ffff:') && isIP(host.slice(7)) === 4) {
    return host.slice(7);
  }
  return host;
}

/** The key a UDP peer is known by. */
export function udpPeerKey(host: string, port: number): string {
  return `udp:[${host}]:${port}`;
}

/** A UDP peer from an IP literal and a port (names must be resolved by the caller). */
export function udpPeer(host: string, port: number): Peer {
  const h = normalizeHost(host);
  if (isIP(h) === 0) throw new CoapMessageError(`not an IP address: ${host}`);
  if (!(Number.isInteger(port) && port > 0 && port <= 0xffff)) throw new CoapMessageError(`invalid port ${port}`);
  return { key: udpPeerKey(h, port), host: h, port };
}
