/**
 * node-dtls-client (the DTLS client most Node.js CoAP code uses) as an
 * independent peer of our DTLS server: for each PSK suite it offers, it
 * completes a handshake with DtlsServerTransport and exchanges a CoAP GET
 * through a CoapEndpoint on it. A wrong key must fail the handshake.
 */
import assert from 'node:assert/strict';
import { generate, parse } from 'coap-packet';
import { dtls } from 'node-dtls-client';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import { DtlsServerTransport } from '../../src/dtls/server-transport.js';

const IDENTITY = 'node-dtls-client-1';
const KEY = Buffer.from('6e6f64652d64746c732d6b6579', 'hex');

type Suite = 'TLS_PSK_WITH_AES_128_CCM_8' | 'TLS_PSK_WITH_AES_128_GCM_SHA256' | 'TLS_PSK_WITH_AES_128_CBC_SHA256';

/** Opens a node-dtls-client socket; resolves once connected, rejects on error or close before that. */
function connect(port: number, psk: Buffer, suite: Suite): Promise<dtls.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dtls.createSocket({
      type: 'udp4',
      address: '127.0.0.1',
      port,
      psk: { [IDENTITY]: psk.toString('binary') },
      timeout: 3000,
      ciphers: [suite],
    } as dtls.Options);
    socket.once('connected', () => resolve(socket));
    socket.once('error', (err: Error) => reject(err));
    socket.once('close', () => reject(new Error('closed before the handshake completed')));
  });
}

function getOnce(socket: dtls.Socket, path: string): Promise<{ code: string; payload: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no CoAP answer')), 3000);
    socket.once('message', (msg: Buffer) => {
      clearTimeout(timer);
      const packet = parse(msg);
      resolve({ code: packet.code, payload: packet.payload.toString() });
    });
    socket.send(generate({ messageId: 7, token: Buffer.from([1, 2]), code: '0.01', confirmable: true,
      options: [{ name: 'Uri-Path', value: Buffer.from(path) }] }));
  });
}

describe('interop: node-dtls-client against our DTLS server', function () {
  this.timeout(15000);
  let transport: DtlsServerTransport;
  let endpoint: CoapEndpoint;
  const identities: string[] = [];

  before(async () => {
    transport = await DtlsServerTransport.listen({
      address: '127.0.0.1', port: 0, psk: (id) => (id === IDENTITY ? KEY : undefined),
      retransmitInitialMs: 200, handshakeTimeoutMs: 3000,
    });
    endpoint = new CoapEndpoint({ transport });
    endpoint.onRequest((req) => {
      identities.push(req.peer.identity ?? '');
      return { code: '2.05', contentFormat: 0, payload: `hello ${req.peer.identity} /${req.path.join('/')}` };
    });
  });
  after(async () => {
    await endpoint.close();
  });

  for (const suite of ['TLS_PSK_WITH_AES_128_CCM_8', 'TLS_PSK_WITH_AES_128_GCM_SHA256', 'TLS_PSK_WITH_AES_128_CBC_SHA256'] as const) {
    it(`completes a ${suite} handshake and answers a CoAP GET through it`, async () => {
      const socket = await connect(transport.address().port, KEY, suite);
      try {
        const answer = await getOnce(socket, 'temp');
        assert.equal(answer.code, '2.05');
        assert.equal(answer.payload, `hello ${IDENTITY} /temp`);
        assert.equal(identities.at(-1), IDENTITY);
      } finally {
        socket.close();
      }
    });
  }

  it('fails the handshake when the key is wrong, and the server keeps serving', async () => {
    const before = identities.length;
    await assert.rejects(connect(transport.address().port, Buffer.from('not the key'), 'TLS_PSK_WITH_AES_128_CCM_8'));
    assert.equal(identities.length, before);
    const socket = await connect(transport.address().port, KEY, 'TLS_PSK_WITH_AES_128_CCM_8');
    try {
      assert.equal((await getOnce(socket, 'again')).code, '2.05');
    } finally {
      socket.close();
    }
  });
});
