/**
 * libcoap's coap-client (Debian package libcoap3-bin) reading and writing
 * resources of our CoapEndpoint through our DTLS server, with PSK, both the
 * OpenSSL and the GnuTLS builds. In CI a missing binary fails the suite.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import type { IncomingRequest } from '../../src/coap/api.js';
import { OptionNumber } from '../../src/coap/options.js';
import type { DtlsServerTransport } from '../../src/dtls/server-transport.js';
import { findTool, requireTool, startServer, waitFor } from './helpers.js';

const IDENTITY = 'urn:imei:490154203237518';
const KEY = 'secretPSK';

function run(binary: string, args: string[], timeoutMs = 10_000): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

for (const flavour of ['openssl', 'gnutls'] as const) {
  describe(`dtls: libcoap coap-client-${flavour} → our CoAP endpoint over DTLS`, function () {
    this.timeout(20000);
    const binary = findTool(`coap-client-${flavour}`);
    let transport: DtlsServerTransport;
    let endpoint: CoapEndpoint;
    let requests: IncomingRequest[];

    before(function () {
      requireTool(this, binary, `coap-client-${flavour} (apt-get install -y libcoap3-bin)`);
    });

    beforeEach(async () => {
      transport = await startServer({ psk: (id) => (id === IDENTITY ? Buffer.from(KEY) : undefined), retransmitInitialMs: 1000 });
      endpoint = new CoapEndpoint({ transport, parameters: { ackTimeoutMs: 2000 } });
      requests = [];
      endpoint.onRequest((req) => {
        requests.push(req);
        if (req.method === 'PUT') return { code: '2.04' };
        return { code: '2.05', contentFormat: 0, payload: `${req.peer.identity} reads /${req.path.join('/')}` };
      });
    });

    afterEach(async () => {
      await endpoint.close();
    });

    const uri = (p: string): string => `coaps://127.0.0.1:${transport.address().port}${p}`;

    it('GETs a resource with PSK; the request carries the DTLS identity', async () => {
      const { stdout } = await run(binary!, ['-U', '-m', 'get', '-u', IDENTITY, '-k', KEY, uri('/3/0/0')]);
      assert.equal(stdout.trim(), `${IDENTITY} reads /3/0/0`);
      assert.equal(requests.length, 1);
      assert.equal(requests[0]!.peer.identity, IDENTITY);
      assert.match(requests[0]!.peer.key, /^dtls:\[127\.0\.0\.1\]:\d+$/);
      assert.ok(!requests[0]!.options.some((o) => o.number === OptionNumber.UriPort));
      await waitFor(() => transport.state.sessions === 0, 3000, 'coap-client to close its session');
    });

    it('PUTs a payload', async () => {
      await run(binary!, ['-U', '-m', 'put', '-u', IDENTITY, '-k', KEY, '-e', 'new value', uri('/1/0/1')]);
      assert.equal(requests.length, 1);
      assert.equal(requests[0]!.method, 'PUT');
      assert.equal(requests[0]!.payload.toString(), 'new value');
    });

    it('gets no answer with a wrong key, and leaves no session', async () => {
      const failures: string[] = [];
      transport.on('handshake-failed', (f) => failures.push(f.error.message));
      // coap-client exits with 0 even when the handshake fails; what it printed tells.
      const { stdout } = await run(binary!, ['-U', '-m', 'get', '-B', '3', '-u', IDENTITY, '-k', 'wrong', uri('/3/0/0')], 8000)
        .catch((err: { stdout: string }) => err);
      assert.doesNotMatch(stdout, /reads/);
      assert.equal(requests.length, 0);
      assert.ok(failures.length >= 1);
      assert.match(failures[0]!, /did not authenticate/, 'the client Finished failed under our keys');
      assert.deepEqual(transport.state, { sessions: 0, handshakes: 0 });
    });
  });
}
