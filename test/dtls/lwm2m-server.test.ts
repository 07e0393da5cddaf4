/**
 * The LwM2M server on a CoAP endpoint over our DTLS server transport: a
 * device registers through DTLS, the `authorize` hook sees the PSK identity
 * and refuses an endpoint name that does not belong to it, and downlink
 * requests travel through the same session.
 */
import assert from 'node:assert/strict';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import { getLocationPath } from '../../src/coap/options.js';
import type { DtlsClientTransport } from '../../src/dtls/client-transport.js';
import type { DtlsServerTransport } from '../../src/dtls/server-transport.js';
import { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { connectClient, KEYS, startServer } from './helpers.js';

const COAP_FAST = { ackTimeoutMs: 200, ackRandomFactor: 1.5, maxRetransmit: 2 };

describe('dtls: LwM2M server over DTLS', function () {
  this.timeout(15000);
  let transport: DtlsServerTransport;
  let serverEndpoint: CoapEndpoint;
  let lwm2m: Lwm2mServer;
  const seenIdentities: Array<string | undefined> = [];
  const devices: Array<{ transport: DtlsClientTransport; endpoint: CoapEndpoint }> = [];

  beforeEach(async () => {
    seenIdentities.length = 0;
    transport = await startServer();
    serverEndpoint = new CoapEndpoint({ transport, parameters: COAP_FAST, requestTimeoutMs: 2000 });
    lwm2m = new Lwm2mServer({
      endpoint: serverEndpoint,
      requestTimeoutMs: 2000,
      // The DTLS identity must be the endpoint name it registers.
      authorize: ({ endpoint, identity }) => {
        seenIdentities.push(identity);
        return identity === endpoint || `identity ${identity} may not register as ${endpoint}`;
      },
    });
    await lwm2m.start();
  });

  afterEach(async () => {
    for (const d of devices.splice(0)) {
      await d.endpoint.close();
    }
    await lwm2m.stop();
    await serverEndpoint.close();
  });

  async function device(identity: string): Promise<{ transport: DtlsClientTransport; endpoint: CoapEndpoint }> {
    const t = await connectClient(transport.address().port, { identity, psk: KEYS[identity]! });
    const endpoint = new CoapEndpoint({ transport: t, parameters: COAP_FAST, requestTimeoutMs: 2000 });
    endpoint.onRequest((req) => ({ code: '2.05', contentFormat: 0, payload: `${identity}:/${req.path.join('/')}` }));
    const d = { transport: t, endpoint };
    devices.push(d);
    return d;
  }

  function register(d: { transport: DtlsClientTransport; endpoint: CoapEndpoint }, ep: string) {
    return d.endpoint.request(d.transport.peer, {
      method: 'POST', path: '/rd', query: { ep, lt: 60, lwm2m: '1.1', b: 'U' }, contentFormat: 40, payload: '</1/0>,</3/0>',
    });
  }

  it('registers a device whose PSK identity is its endpoint name, then reads it through the session', async () => {
    const d = await device('device-1');
    const res = await register(d, 'device-1');
    assert.equal(res.code, '2.01');
    assert.equal(getLocationPath(res.options)[0], 'rd');
    assert.deepEqual(seenIdentities, ['device-1']);
    const read = await lwm2m.read('device-1', '/3/0/0', { format: 0 });
    assert.equal(read.value, 'device-1:/3/0/0');
  });

  it('refuses (4.03) a device registering under an endpoint name of another identity', async () => {
    const d = await device('device-2');
    const res = await register(d, 'device-1');
    assert.equal(res.code, '4.03');
    assert.deepEqual(seenIdentities, ['device-2']);
  });
});
