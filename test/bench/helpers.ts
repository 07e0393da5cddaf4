/**
 * Small in-process UDP servers for the bench's load generators to talk to,
 * written with plain dgram + coap-packet so that the tests do not depend
 * on the code under test.
 */
import * as dgram from 'node:dgram';
import * as path from 'node:path';
import { generate, parse, type ParsedPacket } from 'coap-packet';

export interface TestServer {
  readonly port: number;
  /** Every datagram received, parsed (unparsable ones are skipped). */
  readonly received: Array<{ packet: ParsedPacket; port: number }>;
  /** Sends a datagram from the server's socket to a port on 127.0.0.1 (as a server talks to its clients). */
  sendTo(datagram: Buffer, port: number): void;
  close(): Promise<void>;
}

export type Reply = (packet: ParsedPacket, send: (datagram: Buffer) => void, rinfo: dgram.RemoteInfo) => void;

export async function udpServer(reply: Reply): Promise<TestServer> {
  const sock = dgram.createSocket('udp4');
  const received: TestServer['received'] = [];
  sock.on('message', (msg, rinfo) => {
    let packet: ParsedPacket;
    try {
      packet = parse(msg);
    } catch {
      return;
    }
    received.push({ packet, port: rinfo.port });
    reply(packet, (d) => sock.send(d, rinfo.port, rinfo.address), rinfo);
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  return {
    port: sock.address().port,
    received,
    sendTo: (datagram, port) => sock.send(datagram, port, '127.0.0.1'),
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
}

/** A piggybacked ACK answering `req` with `code` (and options/payload). */
export function ack(req: ParsedPacket, code: string, extra: { options?: Array<{ name: string; value: Buffer }>; payload?: Buffer } = {}): Buffer {
  return generate({
    ack: true,
    code,
    messageId: req.messageId,
    token: req.token,
    options: (extra.options ?? []) as never,
    ...(extra.payload ? { payload: extra.payload } : {}),
  });
}

export function queryOf(packet: ParsedPacket): string[] {
  return packet.options.filter((o) => o.name === 'Uri-Query').map((o) => o.value.toString());
}

export function uriPathOf(packet: ParsedPacket): string[] {
  return packet.options.filter((o) => o.name === 'Uri-Path').map((o) => o.value.toString());
}

/** Where the compiled bench is (<out>/bench), seen from the compiled test (<out>/test/bench). */
export const BENCH_DIR = path.resolve(__dirname, '..', '..', 'bench');
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
