/**
 * Round trips per second on loopback: a raw dgram echo (the ceiling), our
 * CoapEndpoint (CON GET, piggybacked 2.05) and, for reference, node-coap.
 * Client and server run in this one process, `inFlight` requests at a time,
 * for `durationMs` each. Run: node dist/bench/coap-roundtrip.js [ms] [inFlight]
 */
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { CoapEndpoint } from '../src/coap/endpoint.js';
import { udpPeer } from '../src/coap/transport.js';

export interface RoundTripResult {
  name: string;
  roundTripsPerSecond: number;
  /** CPU time (user + system) of this process per round trip, both sides included (µs). */
  cpuMicrosPerRoundTrip: number;
  heapUsedMiB: number;
}

/** Measures rate and CPU over a run; `finish` returns both. */
function meter(): (count: number) => { rate: number; cpu: number } {
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  return (count) => {
    const elapsed = performance.now() - start;
    const cpu = process.cpuUsage(cpu0);
    return { rate: Math.round((count / elapsed) * 1000), cpu: Math.round(((cpu.user + cpu.system) / Math.max(1, count)) * 10) / 10 };
  };
}

const PAYLOAD = Buffer.from('22.5');

async function bindSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  try {
    s.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    // keep the default
  }
  return s;
}

function heapMiB(): number {
  return Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10;
}

/** Raw UDP: the server echoes each datagram, the client keeps `inFlight` datagrams outstanding. */
export async function rawDgram(durationMs: number, inFlight: number): Promise<RoundTripResult> {
  const server = await bindSocket();
  const client = await bindSocket();
  server.on('message', (msg, rinfo) => server.send(msg, rinfo.port, rinfo.address));
  const port = server.address().port;
  const request = Buffer.alloc(20, 1);
  let count = 0;
  let running = true;
  client.on('message', () => {
    count++;
    if (running) client.send(request, port, '127.0.0.1');
  });
  const finish = meter();
  for (let i = 0; i < inFlight; i++) client.send(request, port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, durationMs));
  running = false;
  const m = finish(count);
  const heap = heapMiB();
  server.close();
  client.close();
  return { name: 'raw dgram echo', roundTripsPerSecond: m.rate, cpuMicrosPerRoundTrip: m.cpu, heapUsedMiB: heap };
}

/** Our endpoint on both sides: CON GET /3303/0/5700, piggybacked 2.05. */
export async function ourEndpoint(durationMs: number, inFlight: number): Promise<RoundTripResult> {
  const server = await CoapEndpoint.udp({ address: '127.0.0.1' });
  const client = await CoapEndpoint.udp({ address: '127.0.0.1' });
  server.onRequest(() => ({ code: '2.05', contentFormat: 0, payload: PAYLOAD }));
  const peer = udpPeer('127.0.0.1', server.address().port);
  let count = 0;
  let running = true;
  const finish = meter();
  const loop = async (): Promise<void> => {
    while (running) {
      await client.request(peer, { method: 'GET', path: ['3303', '0', '5700'], accept: 0 });
      count++;
    }
  };
  const loops = Array.from({ length: inFlight }, loop);
  await new Promise((r) => setTimeout(r, durationMs));
  running = false;
  const m = finish(count);
  await Promise.all(loops);
  const heap = heapMiB();
  await client.close();
  await server.close();
  return { name: 'CoapEndpoint (ours)', roundTripsPerSecond: m.rate, cpuMicrosPerRoundTrip: m.cpu, heapUsedMiB: heap };
}

/** node-coap 1.5 on both sides, for reference (its agent and server share nothing with ours). */
export async function nodeCoap(durationMs: number, inFlight: number): Promise<RoundTripResult> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const coap = require('coap') as typeof import('coap');
  const serverSocket = await bindSocket();
  const clientSocket = await bindSocket();
  const server = coap.createServer();
  server.on('request', (_req: unknown, res: { end(p: Buffer): void }) => res.end(PAYLOAD));
  server.listen(serverSocket);
  const agent = new coap.Agent({ socket: clientSocket });
  const port = serverSocket.address().port;
  let count = 0;
  let running = true;
  const finish = meter();
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = agent.request({ hostname: '127.0.0.1', port, pathname: '/3303/0/5700', method: 'GET' });
      req.on('response', () => resolve());
      req.on('error', reject);
      req.end();
    });
  const loop = async (): Promise<void> => {
    while (running) {
      await one();
      count++;
    }
  };
  const loops = Array.from({ length: inFlight }, loop);
  await new Promise((r) => setTimeout(r, durationMs));
  running = false;
  const m = finish(count);
  await Promise.all(loops);
  const heap = heapMiB();
  server.close();
  serverSocket.close();
  clientSocket.close();
  return { name: 'node-coap 1.5', roundTripsPerSecond: m.rate, cpuMicrosPerRoundTrip: m.cpu, heapUsedMiB: heap };
}

/**
 * Runs each contender `rounds` times, interleaved (a neighbour process
 * loading the machine then hurts all of them alike), and keeps each one's
 * best round.
 */
export async function compare(durationMs: number, inFlight: number, rounds: number, withNodeCoap: boolean): Promise<RoundTripResult[]> {
  const runs: ((d: number, n: number) => Promise<RoundTripResult>)[] = [rawDgram, ourEndpoint];
  if (withNodeCoap) runs.push(nodeCoap);
  const best: RoundTripResult[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < runs.length; i++) {
      const result = await runs[i]!(durationMs, inFlight);
      if (best[i] === undefined || result.roundTripsPerSecond > best[i]!.roundTripsPerSecond) best[i] = result;
    }
  }
  return best;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const durationMs = Number(args[0] ?? 2000);
  const inFlight = Number(args[1] ?? 64);
  const rounds = Number(args[2] ?? 3);
  const results = await compare(durationMs, inFlight, rounds, process.argv.includes('--node-coap'));
  const base = results[0]!;
  console.log(`loopback round trips, ${inFlight} in flight, best of ${rounds} x ${durationMs} ms, Node ${process.version}`);
  for (const r of results) {
    const ratio = ((r.roundTripsPerSecond / base.roundTripsPerSecond) * 100).toFixed(0);
    console.log(
      `${r.name.padEnd(22)} ${String(r.roundTripsPerSecond).padStart(8)} rt/s ${ratio.padStart(4)} %` +
        `   CPU ${String(r.cpuMicrosPerRoundTrip).padStart(6)} µs/rt   heap ${r.heapUsedMiB} MiB`,
    );
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
