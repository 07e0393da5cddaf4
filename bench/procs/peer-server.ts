/**
 * Runs one peer LwM2M server (see lib/peers.ts) for the registration
 * scenario. argv[2]: {"peer": name, "modulePath": resolved main file}.
 * Sends {type:'ready', port}; answers {type:'figures'} with its memory
 * after a forced GC (start it with --expose-gc).
 */
import * as dgram from 'node:dgram';
import { fail, params, processFigures, send, serve } from '../lib/child.js';
import { PEERS } from '../lib/peers.js';

/** A UDP port free on 127.0.0.1 right now (for servers that cannot report the one they got). */
export async function freeUdpPort(): Promise<number> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = sock.address();
  await new Promise<void>((resolve) => sock.close(() => resolve()));
  return port;
}

async function main(): Promise<void> {
  const { peer, modulePath } = params<{ peer: string; modulePath: string }>();
  const adapter = PEERS.find((p) => p.name === peer);
  if (!adapter) throw new Error(`unknown peer "${peer}"`);
  const lib: unknown = require(modulePath);
  const port = await freeUdpPort();
  const running = await adapter.start(lib, port);
  serve({ figures: () => send(processFigures(true)) }, () => running.close());
  send({ type: 'ready', port });
}

if (require.main === module) main().catch(fail);
