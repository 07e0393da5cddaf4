/**
 * Our DTLS client against our DTLS server on loopback: CoAP over the
 * transports, every suite, fragmentation, retransmission, closing, session
 * table bounds. (Interop with OpenSSL and libcoap is in interop-*.test.ts.)
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import type { IncomingRequest } from '../../src/coap/api.js';
import type { Peer } from '../../src/coap/transport.js';
import { DtlsClientTransport } from '../../src/dtls/client-transport.js';
import { ContentType, HandshakeType } from '../../src/dtls/constants.js';
import { DtlsAlertReceived } from '../../src/dtls/errors.js';
import { parseHandshakeFragments } from '../../src/dtls/handshake.js';
import { decodeServerHello } from '../../src/dtls/messages.js';
import { parseDatagram } from '../../src/dtls/record.js';
import type { DtlsServerTransport } from '../../src/dtls/server-transport.js';
import type { CipherSuiteName } from '../../src/dtls/suites-option.js';
import { connectClient, delay, IDENTITY, KEY, Relay, startServer, waitFor } from './helpers.js';

const COAP_FAST = { ackTimeoutMs: 200, ackRandomFactor: 1.5, maxRetransmit: 2 };

describe('dtls: our client and our server', function () {
  this.timeout(15000);
  let server: DtlsServerTransport;
  const clients: DtlsClientTransport[] = [];
  const endpoints: CoapEndpoint[] = [];
  const relays: Relay[] = [];

  beforeEach(async () => {
    server = await startServer();
  });

  afterEach(async () => {
    for (const ep of endpoints.splice(0)) await ep.close();
    for (const c of clients.splice(0)) await c.close();
    for (const r of relays.splice(0)) await r.close();
    await server.close();
  });

  async function client(options: Parameters<typeof connectClient>[1] = {}, port = server.address().port): Promise<DtlsClientTransport> {
    const c = await connectClient(port, options);
    clients.push(c);
    return c;
  }

  function coap(transport: DtlsServerTransport | DtlsClientTransport): CoapEndpoint {
    const ep = new CoapEndpoint({ transport, parameters: COAP_FAST, requestTimeoutMs: 3000 });
    endpoints.push(ep);
    return ep;
  }

  it('answers a CoAP GET through DTLS, with the PSK identity on the peer', async () => {
    const serverEp = coap(server);
    const seen: IncomingRequest[] = [];
    serverEp.onRequest((req) => {
      seen.push(req);
      return { code: '2.05', contentFormat: 0, payload: `hello ${req.peer.identity} at /${req.path.join('/')}` };
    });
    const c = await client();
    const clientEp = coap(c);
    const res = await clientEp.request(c.peer, { method: 'GET', path: '/3/0/0' });
    assert.equal(res.code, '2.05');
    assert.equal(res.payload.toString(), `hello ${IDENTITY} at /3/0/0`);
    assert.equal(seen.length, 1);
    const peer = seen[0]!.peer;
    assert.equal(peer.identity, IDENTITY);
    assert.equal(peer.key, `dtls:[127.0.0.1]:${c.address().port}`);
    assert.equal(peer.port, c.address().port);
    assert.deepEqual(server.state, { sessions: 1, handshakes: 0 });
    assert.equal(server.peer(peer.key)?.identity, IDENTITY);
  });

  it('lets the server request the client (both roles on one DTLS session)', async () => {
    const serverEp = coap(server);
    let peer: Peer | undefined;
    server.on('session', (p) => (peer = p));
    const c = await client();
    const clientEp = coap(c);
    clientEp.onRequest((req) => ({ code: '2.05', payload: `device answers ${req.path.join('/')}` }));
    await waitFor(() => peer !== undefined);
    const res = await serverEp.request(peer!, { method: 'GET', path: '/3/0/9' });
    assert.equal(res.payload.toString(), 'device answers 3/0/9');
  });

  for (const suite of ['TLS_PSK_WITH_AES_128_CCM_8', 'TLS_PSK_WITH_AES_128_GCM_SHA256', 'TLS_PSK_WITH_AES_128_CBC_SHA256'] as CipherSuiteName[]) {
    it(`negotiates ${suite} and carries 1 to 16384 bytes`, async () => {
      const received: Buffer[] = [];
      server.setHandler((d, p) => {
        received.push(d);
        server.send(d, p);
      });
      const c = await client({ cipherSuites: [suite] });
      assert.equal(c.cipherSuite, suite);
      const echoes: Buffer[] = [];
      c.setHandler((d) => echoes.push(d));
      const sizes = [1, 100, 1400, 16384];
      for (const n of sizes) c.send(Buffer.alloc(n, n & 0xff), c.peer);
      await waitFor(() => echoes.length === sizes.length);
      assert.deepEqual(received.map((b) => b.length), sizes);
      assert.deepEqual(echoes.map((b) => b.length), sizes);
      assert.ok(echoes.every((b, i) => b.every((x) => x === (sizes[i]! & 0xff))));
    });
  }

  it('delivers every record of a datagram that carries several', async () => {
    const relay = await Relay.start(server.address().port);
    relays.push(relay);
    const c = await client({}, relay.port);
    const held: Buffer[] = [];
    relay.filter = (d, direction) => {
      if (direction === 'up' && parseDatagram(d).records[0]!.type === ContentType.ApplicationData) {
        held.push(d);
        return null;
      }
      return d;
    };
    const received: string[] = [];
    server.setHandler((d) => received.push(d.toString()));
    for (const text of ['first', 'second', 'third']) c.send(Buffer.from(text), c.peer);
    await waitFor(() => held.length === 3);
    relay.inject(Buffer.concat(held));
    await waitFor(() => received.length === 3);
    assert.deepEqual(received, ['first', 'second', 'third']);
  });

  it('does not send a datagram larger than one record can carry (2^14 bytes)', async () => {
    const received: number[] = [];
    server.setHandler((d) => received.push(d.length));
    const c = await client();
    c.send(Buffer.alloc(16385), c.peer);
    c.send(Buffer.alloc(16384), c.peer);
    await waitFor(() => received.length === 1);
    await delay(20);
    assert.deepEqual(received, [16384]);
  });

  it('prefers CCM_8 when the client offers all suites', async () => {
    const c = await client({ cipherSuites: ['TLS_PSK_WITH_AES_128_CBC_SHA256', 'TLS_PSK_WITH_AES_128_GCM_SHA256', 'TLS_PSK_WITH_AES_128_CCM_8'] });
    assert.equal(c.cipherSuite, 'TLS_PSK_WITH_AES_128_CCM_8');
  });

  it('sends a PSK identity hint only when configured', async () => {
    const c1 = await client();
    assert.equal(c1.identityHint, undefined);
    await server.close();
    server = await startServer({ pskIdentityHint: 'lwm2m-server' });
    const c2 = await client();
    assert.equal(c2.identityHint, 'lwm2m-server');
  });

  it('answers with extended master secret and renegotiation_info, and encrypt-then-MAC for CBC', async () => {
    const relay = await Relay.start(server.address().port);
    relays.push(relay);
    await client({ cipherSuites: ['TLS_PSK_WITH_AES_128_CBC_SHA256'] }, relay.port);
    const serverHello = relay.seen.down
      .flatMap((d) => parseDatagram(d).records)
      .filter((r) => r.type === ContentType.Handshake && r.epoch === 0)
      .flatMap((r) => parseHandshakeFragments(r.fragment))
      .find((f) => f.type === HandshakeType.ServerHello)!;
    assert.equal(serverHello.messageSeq, 1, 'after the cookie exchange the ServerHello takes the second ClientHello message_seq');
    const types = decodeServerHello(serverHello.data).extensions.map((e) => e.type).sort((a, b) => a - b);
    assert.deepEqual(types, [22, 23, 0xff01]);
  });

  it('fragments handshake messages to the MTU and reassembles them', async () => {
    await server.close();
    server = await startServer({ mtu: 64, pskIdentityHint: 'h'.repeat(300) });
    const relay = await Relay.start(server.address().port);
    relays.push(relay);
    const longIdentity = 'device-2';
    const c = await client({ identity: longIdentity, psk: Buffer.from('secret-of-device-2'), mtu: 256 }, relay.port);
    assert.equal(c.identityHint, 'h'.repeat(300));
    const serverFragments = relay.seen.down.flatMap((d) => parseDatagram(d).records).filter((r) => r.epoch === 0 && r.type === ContentType.Handshake).flatMap((r) => parseHandshakeFragments(r.fragment));
    const keyExchangeFragments = serverFragments.filter((f) => f.type === HandshakeType.ServerKeyExchange);
    assert.ok(keyExchangeFragments.length >= 8, `ServerKeyExchange in ${keyExchangeFragments.length} fragments`);
    const handshakeDatagrams = relay.seen.down.filter((d) => parseDatagram(d).records.some((r) => r.type === ContentType.Handshake));
    assert.ok(handshakeDatagrams.every((d) => d.length <= 64), `sizes ${handshakeDatagrams.map((d) => d.length).join(',')}`);
    const got = new Promise<Buffer>((resolve) => server.setHandler((d) => resolve(d)));
    c.send(Buffer.from('after fragments'), c.peer);
    assert.equal((await got).toString(), 'after fragments');
  });

  it('completes the handshake when datagrams are lost, by retransmitting flights', async () => {
    const relay = await Relay.start(server.address().port);
    relays.push(relay);
    // Lose the first copy of each of the client's ClientHello-with-cookie, its last flight, and the server's flights.
    const lostUp = new Set([1, 2]);
    const lostDown = new Set([1, 2]);
    relay.filter = (d, direction, index) => ((direction === 'up' ? lostUp : lostDown).has(index) ? null : d);
    const c = await client({}, relay.port);
    assert.ok(c.isConnected);
    assert.ok(server.stats.retransmissions + c.stats.retransmissions >= 2, `retransmissions: server ${server.stats.retransmissions}, client ${c.stats.retransmissions}`);
    const got = new Promise<Buffer>((resolve) => server.setHandler((d) => resolve(d)));
    c.send(Buffer.from('made it'), c.peer);
    assert.equal((await got).toString(), 'made it');
  });

  it('resends its last flight when the client repeats its Finished flight', async () => {
    const relay = await Relay.start(server.address().port);
    relays.push(relay);
    // The server's Finished flight is lost once: the client repeats its flight 5, the server answers it again.
    let serverFinishedLost = false;
    relay.filter = (d, direction) => {
      if (direction === 'down' && !serverFinishedLost && parseDatagram(d).records.some((r) => r.type === ContentType.ChangeCipherSpec)) {
        serverFinishedLost = true;
        return null;
      }
      return d;
    };
    const c = await client({}, relay.port);
    assert.ok(serverFinishedLost);
    assert.ok(c.isConnected);
    assert.ok(server.stats.retransmissions >= 1);
  });

  it('ends the session on close_notify, in both directions', async () => {
    const closed: Array<{ peer: Peer; reason: Error | undefined }> = [];
    server.on('session-closed', (peer, reason) => closed.push({ peer, reason }));
    const c1 = await client();
    await c1.close();
    await waitFor(() => server.state.sessions === 0, 2000, 'server to drop the session');
    assert.equal(closed.length, 1);
    assert.equal(closed[0]!.peer.identity, IDENTITY);
    const reason1 = closed[0]!.reason;
    assert.ok(reason1 instanceof DtlsAlertReceived && !reason1.fatal && reason1.alert === 0, 'closed by the client close_notify');

    const c2 = await client();
    const clientClosed = once(c2, 'closed');
    assert.ok(server.closeSession(`dtls:[127.0.0.1]:${c2.address().port}`));
    const [reason] = await clientClosed;
    assert.ok(reason instanceof DtlsAlertReceived && reason.alert === 0, 'closed by the server close_notify');
    assert.equal(c2.isConnected, false);
    assert.equal(server.state.sessions, 0);
    assert.equal(closed.length, 2);
    assert.equal(closed[1]!.reason, undefined, 'a local close has no error');
  });

  it('replaces a session when the same address completes a new handshake (client restart)', async () => {
    const relay = await Relay.start(server.address().port);
    relays.push(relay);
    const c1 = await client({}, relay.port);
    // The first client vanishes without a close_notify (its datagrams no longer reach the server).
    relay.filter = (d, direction) => (direction === 'up' && parseDatagram(d).records.some((r) => r.type === ContentType.Alert) ? null : d);
    await c1.close();
    assert.equal(server.state.sessions, 1);
    relay.filter = (d) => d;
    const events: string[] = [];
    server.on('session-closed', () => events.push('closed'));
    server.on('session', () => events.push('session'));
    const c2 = await client({ identity: 'device-2', psk: Buffer.from('secret-of-device-2') }, relay.port);
    assert.deepEqual(events, ['closed', 'session']);
    assert.equal(server.state.sessions, 1);
    const got = new Promise<Peer>((resolve) => server.setHandler((_d, p) => resolve(p)));
    c2.send(Buffer.from('x'), c2.peer);
    assert.equal((await got).identity, 'device-2');
  });

  it('closes the least recently active session when the table is full', async () => {
    await server.close();
    server = await startServer({ maxSessions: 2 });
    const c1 = await client();
    await delay(5);
    const c2 = await client();
    await delay(5);
    c1.send(Buffer.from('keep me'), c1.peer); // c1 is now more recent than c2
    await delay(50);
    const c2Closed = once(c2, 'closed');
    await client();
    await c2Closed;
    assert.equal(server.state.sessions, 2);
    assert.ok(c1.isConnected);
  });

  it('expires idle sessions', async () => {
    await server.close();
    server = await startServer({ sessionIdleMs: 200 });
    const c = await client();
    const closed = once(c, 'closed');
    await closed; // the sweep runs every second at most
    assert.equal(server.state.sessions, 0);
  });

  it('works over IPv6', async () => {
    await server.close();
    server = await startServer({ address: '::1' });
    const got = new Promise<Peer>((resolve) => server.setHandler((d, p) => {
      server.send(d, p);
      resolve(p);
    }));
    const c = await client({ host: '::1' });
    const echo = new Promise<string>((resolve) => c.setHandler((d) => resolve(d.toString())));
    c.send(Buffer.from('v6'), c.peer);
    const peer = await got;
    assert.equal(peer.host, '::1');
    assert.equal(peer.key, `dtls:[::1]:${c.address().port}`);
    assert.equal(await echo, 'v6');
  });

  it('refuses to connect with a bad PSK argument', async () => {
    await assert.rejects(DtlsClientTransport.connect({ host: '127.0.0.1', port: server.address().port, identity: IDENTITY, psk: Buffer.alloc(0) }), /psk/);
    await assert.rejects(DtlsClientTransport.connect({ host: 'localhost', port: 1, identity: IDENTITY, psk: KEY }), /not an IP address/);
  });
});
