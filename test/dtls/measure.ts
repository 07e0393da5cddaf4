/**
 * One-off measurement (not a test): PSK handshakes per second and CoAP
 * request round trips per second through DTLS, client and server in this
 * one process on loopback. Run after a build:
 *   node dist/test/dtls/measure.js [seconds]
 */
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import { DtlsClientTransport } from '../../src/dtls/client-transport.js';
import { DtlsServerTransport } from '../../src/dtls/server-transport.js';
import type { CipherSuiteName } from '../../src/dtls/suites-option.js';

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

async function handshakes(server: DtlsServerTransport, seconds: number, concurrency: number): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      const c = await DtlsClientTransport.connect({ host: '127.0.0.1', port: server.address().port, identity: 'bench', psk: KEY });
      done++;
      await c.close();
    }
  };
  const start = Date.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return done / ((Date.now() - start) / 1000);
}

async function roundTrips(server: DtlsServerTransport, suite: CipherSuiteName, seconds: number, concurrency: number): Promise<number> {
  const transport = await DtlsClientTransport.connect({ host: '127.0.0.1', port: server.address().port, identity: 'bench', psk: KEY, cipherSuites: [suite] });
  const client = new CoapEndpoint({ transport, requestTimeoutMs: 5000 });
  const end = Date.now() + seconds * 1000;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (Date.now() < end) {
      await client.request(transport.peer, { method: 'GET', path: '/3/0/0' });
      done++;
    }
  };
  const start = Date.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const rate = done / ((Date.now() - start) / 1000);
  await client.close();
  return rate;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 3);
  const server = await DtlsServerTransport.listen({ address: '127.0.0.1', port: 0, psk: (id) => (id === 'bench' ? KEY : undefined) });
  const endpoint = new CoapEndpoint({ transport: server });
  endpoint.onRequest(() => ({ code: '2.05', contentFormat: 0, payload: 'Open Mobile Alliance' }));
  for (const concurrency of [1, 8]) {
    console.log(`PSK handshakes/s (CCM_8, cookie exchange, ${concurrency} at a time): ${(await handshakes(server, seconds, concurrency)).toFixed(0)}`);
  }
  for (const suite of ['TLS_PSK_WITH_AES_128_CCM_8', 'TLS_PSK_WITH_AES_128_GCM_SHA256', 'TLS_PSK_WITH_AES_128_CBC_SHA256'] as CipherSuiteName[]) {
    for (const concurrency of [1, 32]) {
      console.log(`CoAP GET round trips/s over DTLS, ${suite}, ${concurrency} outstanding: ${(await roundTrips(server, suite, seconds, concurrency)).toFixed(0)}`);
    }
  }
  const mem = process.memoryUsage();
  console.log(`heap used ${(mem.heapUsed / 1048576).toFixed(1)} MiB, rss ${(mem.rss / 1048576).toFixed(1)} MiB; sessions left ${server.state.sessions}`);
  await endpoint.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
