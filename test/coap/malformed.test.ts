import assert from 'node:assert/strict';
import type { CoapEndpoint } from '../../src/coap/endpoint.js';
import { encodeMessage, EMPTY_BUFFER } from '../../src/coap/packet.js';
import { delay, endpoint, exchangeRaw, peerOf, pseudoRandomBytes, rawSocket, recordingLogger, waitFor } from './helpers.js';

describe('coap/endpoint: malformed input', function () {
  this.timeout(10000);
  let server: CoapEndpoint;
  let client: CoapEndpoint;
  const { logger, lines } = recordingLogger();

  before(async () => {
    server = await endpoint({ logger });
    client = await endpoint();
    server.onRequest((req) => ({ code: '2.05', payload: req.path.join('/') }));
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  it('drops random datagrams and truncated headers without crashing, counts them and logs each kind once', async () => {
    const sock = await rawSocket();
    const port = server.address().port;
    const sent: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      let d: Buffer;
      switch (i % 4) {
        case 0:
          d = pseudoRandomBytes(i % 3, i + 1); // shorter than a header
          break;
        case 1: {
          // A valid request cut short somewhere after the header.
          const full = encodeMessage({ type: 'CON', code: '0.01', messageId: i, token: Buffer.from('abcd'), options: [{ number: 11, value: Buffer.from('sensor') }], payload: EMPTY_BUFFER });
          d = full.subarray(0, [5, 6, 7, 9, 10, 11, 12, 13, 14][i % 9]); // inside the token or the option
          break;
        }
        default:
          d = pseudoRandomBytes(4 + (i % 60), i + 1);
          d[0] = (d[0]! & 0x3f) | 0x40; // version 1, so that the deeper checks run
          d[1] = d[1]! & 0x1f; // a request code
          d[0] = (d[0]! & 0xf0) | (9 + (i % 7)); // reserved token length: always malformed
      }
      sent.push(d);
      sock.send(d, port, '127.0.0.1');
      if (i % 250 === 249) await delay(5);
    }
    await waitFor(() => server.stats.received >= 2000, 5000, 'all datagrams received');
    assert.equal(server.stats.malformed, 2000);
    assert.equal(server.stats.requestsHandled, 0);
    // Logged once per peer and kind, not per datagram.
    const warnings = lines.filter((l) => l.level === 'warn' && l.message.startsWith('dropping malformed'));
    assert.ok(warnings.length >= 3 && warnings.length <= 8, `${warnings.length} log lines`);
    assert.equal(new Set(warnings.map((w) => w.message.match(/\((.+?)\)/)![1])).size, warnings.length);
    sock.close();
    // A malformed CON whose header is readable is rejected with RST (fresh socket: no late RSTs from the flood).
    const fresh = await rawSocket();
    const broken = Buffer.from([0x40, 0x01, 0x12, 0x34, 0xb5, 0x61]); // Uri-Path value runs past the end
    const reply = await exchangeRaw(fresh, broken, port);
    assert.equal(reply?.type, 'RST');
    assert.equal(reply?.messageId, 0x1234);
    fresh.close();
  });

  it('keeps serving legitimate requests afterwards', async () => {
    const res = await client.request(peerOf(server), { path: '/still/here' });
    assert.equal(res.code, '2.05');
    assert.equal(res.payload.toString(), 'still/here');
  });

  it('drops requests sent as ACK or RST, and non-empty RSTs', async () => {
    const sock = await rawSocket();
    const before = server.stats.malformed;
    for (const type of ['ACK', 'RST'] as const) {
      sock.send(encodeMessage({ type, code: '0.01', messageId: 9, token: Buffer.from('x'), options: [], payload: EMPTY_BUFFER }), server.address().port, '127.0.0.1');
    }
    sock.send(encodeMessage({ type: 'RST', code: '2.05', messageId: 9, token: Buffer.from('x'), options: [], payload: EMPTY_BUFFER }), server.address().port, '127.0.0.1');
    await waitFor(() => server.stats.malformed === before + 3, 1000, 'three drops');
    assert.equal(server.stats.requestsHandled, 1);
    sock.close();
  });
});
