/**
 * System under test of the round-trip scenarios, one kind per process:
 *   echo      raw dgram: every datagram is sent straight back (the limit);
 *   node-coap the `coap` package's server answering 2.05 + a small payload;
 *   endpoint  our CoapEndpoint answering the same.
 * All listen on 127.0.0.1 with a 4 MiB receive buffer (the same footing
 * for all three; the kernel default drops bursts of a few hundred datagrams).
 *
 * argv[2]: {"kind": "..."}. Sends {type:'ready', port}; answers
 * {type:'figures'} with its CPU and memory figures.
 */
import * as dgram from 'node:dgram';
import { fail, params, processFigures, send, serve } from '../lib/child.js';

export type RoundTripServerKind = 'echo' | 'node-coap' | 'endpoint';

/** The body every CoAP server under test answers with. */
export const RESPONSE_PAYLOAD = 'hello from bench';
const RECV_BUFFER = 4 * 1024 * 1024;

async function boundSocket(): Promise<dgram.Socket> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => {
      sock.off('error', reject);
      resolve();
    });
  });
  sock.setRecvBufferSize(RECV_BUFFER);
  return sock;
}

async function startEcho(): Promise<{ port: number; close: () => Promise<void> }> {
  const sock = await boundSocket();
  sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
  sock.on('error', () => {});
  return { port: sock.address().port, close: () => new Promise((resolve) => sock.close(() => resolve())) };
}

async function startNodeCoap(): Promise<{ port: number; close: () => Promise<void> }> {
  // Loaded only in this kind of process, so the others do not pay for it.
  const coap = require('coap') as typeof import('coap');
  const sock = await boundSocket();
  const server = coap.createServer({ type: 'udp4' }, (_req, res) => {
    res.code = '2.05';
    res.setOption('Content-Format', 'text/plain');
    res.end(RESPONSE_PAYLOAD);
  });
  // A given socket keeps node-coap's duplicate cache working (it checks instanceof dgram.Socket).
  await new Promise<void>((resolve, reject) => server.listen(sock, (err?: Error) => (err ? reject(err) : resolve())));
  return {
    port: sock.address().port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function startEndpoint(): Promise<{ port: number; close: () => Promise<void> }> {
  const { CoapEndpoint } = require('../../src/coap/index.js') as typeof import('../../src/coap/index.js');
  const endpoint = await CoapEndpoint.udp({ address: '127.0.0.1', port: 0, recvBufferSize: RECV_BUFFER });
  const payload = Buffer.from(RESPONSE_PAYLOAD);
  endpoint.onRequest(() => ({ code: '2.05', payload, contentFormat: 0 }));
  return { port: endpoint.address().port, close: () => endpoint.close() };
}

async function main(): Promise<void> {
  const { kind } = params<{ kind: RoundTripServerKind }>();
  const starters: Record<RoundTripServerKind, () => Promise<{ port: number; close: () => Promise<void> }>> = {
    echo: startEcho,
    'node-coap': startNodeCoap,
    endpoint: startEndpoint,
  };
  const start = starters[kind];
  if (!start) throw new Error(`unknown server kind "${String(kind)}"`);
  const server = await start();
  serve({ figures: () => send(processFigures(false)) }, () => server.close());
  send({ type: 'ready', port: server.port });
}

if (require.main === module) main().catch(fail);
