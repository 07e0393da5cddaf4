/**
 * What the server does with hostile or broken input: wrong keys, unknown
 * identities, replayed, altered and spoofed records, garbage, floods of
 * ClientHellos. Nothing crashes, no state grows before the cookie round trip,
 * and a legitimate session keeps working throughout.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type * as dgram from 'node:dgram';
import { once } from 'node:events';
import { AlertDescription, ContentType, DTLS_1_0, DTLS_1_2, HandshakeType } from '../../src/dtls/constants.js';
import { DtlsAlertReceived } from '../../src/dtls/errors.js';
import { encodeHandshake, parseHandshakeFragments } from '../../src/dtls/handshake.js';
import { decodeHelloVerifyRequest } from '../../src/dtls/messages.js';
import { encodeRecord, parseDatagram } from '../../src/dtls/record.js';
import type { DtlsClientTransport } from '../../src/dtls/client-transport.js';
import type { DtlsServerTransport, HandshakeFailure } from '../../src/dtls/server-transport.js';
import { clientHelloDatagram, closeSocket, connectClient, delay, IDENTITY, KEY, rawSocket, Relay, startServer, waitFor } from './helpers.js';

/** Sends a datagram and waits for the next one back. */
async function exchange(socket: dgram.Socket, port: number, datagram: Buffer, timeoutMs = 1000): Promise<Buffer> {
  const reply = once(socket, 'message', { signal: AbortSignal.timeout(timeoutMs) }) as Promise<[Buffer]>;
  socket.send(datagram, port, '127.0.0.1');
  return (await reply)[0];
}

function handshakeMessagesOf(datagram: Buffer): Array<{ type: number; data: Buffer; messageSeq: number; epoch: number; recordSeq: number }> {
  return parseDatagram(datagram).records
    .filter((r) => r.type === ContentType.Handshake && r.epoch === 0)
    .flatMap((r) => parseHandshakeFragments(r.fragment).map((f) => ({ type: f.type, data: f.data, messageSeq: f.messageSeq, epoch: r.epoch, recordSeq: r.seq })));
}

describe('dtls: hostile and broken input', function () {
  this.timeout(15000);
  let server: DtlsServerTransport;
  let relay: Relay;
  let legit: DtlsClientTransport;
  let received: string[];
  const failures: HandshakeFailure[] = [];

  async function setup(options: Parameters<typeof startServer>[0] = {}): Promise<void> {
    server = await startServer(options);
    server.on('handshake-failed', (f) => failures.push(f));
    received = [];
    server.setHandler((d, p) => {
      received.push(`${p.identity}:${d.toString()}`);
      server.send(Buffer.from(`echo ${d.toString()}`), p);
    });
    relay = await Relay.start(server.address().port);
    legit = await connectClient(relay.port);
  }

  /** The legitimate session still carries data both ways. */
  async function legitStillWorks(tag: string): Promise<void> {
    const echo = new Promise<string>((resolve) => legit.setHandler((d) => resolve(d.toString())));
    legit.send(Buffer.from(tag), legit.peer);
    assert.equal(await echo, `echo ${tag}`);
    assert.ok(received.includes(`${IDENTITY}:${tag}`));
  }

  beforeEach(() => {
    failures.length = 0;
  });

  afterEach(async () => {
    // (each test calls setup() first; closing twice is harmless)
    await legit?.close();
    await relay?.close();
    await server?.close();
  });

  it('fails the handshake on a wrong key: both sides know at once, no session is kept', async () => {
    await setup();
    await assert.rejects(connectClient(server.address().port, { psk: Buffer.from('not the key') }), (err: unknown) => {
      assert.ok(err instanceof DtlsAlertReceived, String(err));
      assert.equal(err.alert, AlertDescription.BadRecordMac);
      return true;
    });
    await waitFor(() => failures.length === 1);
    assert.match(failures[0]!.error.message, /did not authenticate/);
    assert.deepEqual(server.state, { sessions: 1, handshakes: 0 }); // only the legitimate one
    await legitStillWorks('after wrong key');
  });

  it('fails the handshake for an unknown identity with handshake_failure', async () => {
    await setup();
    await assert.rejects(connectClient(server.address().port, { identity: 'stranger' }), (err: unknown) => {
      assert.ok(err instanceof DtlsAlertReceived);
      assert.equal(err.alert, AlertDescription.HandshakeFailure);
      return true;
    });
    await waitFor(() => failures.length === 1);
    assert.match(failures[0]!.error.message, /unknown PSK identity "stranger"/);
    assert.deepEqual(server.state, { sessions: 1, handshakes: 0 });
  });

  it('treats a PSK lookup that throws as an internal error, not a crash', async () => {
    await setup({ psk: (id) => { if (id === 'broken') throw new Error('store offline'); return id === IDENTITY ? KEY : undefined; } });
    await assert.rejects(connectClient(server.address().port, { identity: 'broken' }), (err: unknown) => err instanceof DtlsAlertReceived && err.alert === AlertDescription.InternalError);
    await waitFor(() => failures.length === 1);
    assert.match(failures[0]!.error.message, /PSK lookup failed/);
    assert.deepEqual(server.state, { sessions: 1, handshakes: 0 });
    await legitStillWorks('after a failing lookup');
  });

  it('drops a replayed record', async () => {
    await setup();
    legit.send(Buffer.from('once'), legit.peer);
    await waitFor(() => received.length === 1);
    const captured = relay.seen.up[relay.seen.up.length - 1]!;
    assert.equal(parseDatagram(captured).records[0]!.type, ContentType.ApplicationData);
    relay.inject(captured);
    relay.inject(captured);
    await waitFor(() => server.stats.replayedRecords === 2);
    assert.deepEqual(received, [`${IDENTITY}:once`]);
    await legitStillWorks('after replay');
  });

  it('drops altered records (payload, tag or header), silently, without ending the session', async () => {
    await setup();
    legit.send(Buffer.from('original'), legit.peer);
    await waitFor(() => received.length === 1);
    const captured = relay.seen.up[relay.seen.up.length - 1]!;
    const seq = parseDatagram(captured).records[0]!.seq;
    const variants: Buffer[] = [];
    for (const offset of [13 + 8, 13 + 10, captured.length - 1]) { // ciphertext, ciphertext, tag
      const v = Buffer.from(captured);
      v.writeUIntBE(seq + 100 + offset, 5, 6); // a fresh sequence number, so it is not just a replay
      v[offset]! ^= 0x20;
      variants.push(v);
    }
    const renumbered = Buffer.from(captured);
    renumbered.writeUIntBE(seq + 1000, 5, 6); // header changed, body intact: the AAD no longer matches
    variants.push(renumbered);
    for (const v of variants) relay.inject(v);
    await waitFor(() => server.stats.unauthenticatedRecords === variants.length);
    assert.equal(received.length, 1);
    assert.equal(server.stats.alertsSent, 0, 'no alert for a bad record on an established session');
    await legitStillWorks('after tampering');
  });

  it('ignores unauthenticated alerts and handshake records spoofed in epoch 0 after the handshake', async () => {
    await setup();
    relay.inject(encodeRecord(ContentType.Alert, DTLS_1_2, 0, 99, Buffer.from([2, AlertDescription.HandshakeFailure])));
    relay.inject(encodeRecord(ContentType.Alert, DTLS_1_2, 0, 100, Buffer.from([1, AlertDescription.CloseNotify])));
    relay.inject(encodeRecord(ContentType.ChangeCipherSpec, DTLS_1_2, 0, 101, Buffer.from([1])));
    relay.inject(encodeRecord(ContentType.ApplicationData, DTLS_1_2, 0, 102, Buffer.from('plaintext data')));
    await delay(50);
    assert.equal(server.state.sessions, 1);
    assert.deepEqual(received, []);
    await legitStillWorks('after spoofed alerts');
  });

  it('survives garbage datagrams of every shape', async () => {
    await setup();
    const port = server.address().port;
    const sock = await rawSocket();
    try {
      const junk: Buffer[] = [
        Buffer.alloc(0),
        Buffer.from([22]),
        randomBytes(12),
        encodeRecord(ContentType.Handshake, DTLS_1_2, 0, 0, Buffer.alloc(0)),
        encodeRecord(ContentType.Handshake, DTLS_1_2, 0, 0, randomBytes(40)),
        encodeRecord(ContentType.Handshake, DTLS_1_2, 0, 0, encodeHandshake({ type: HandshakeType.ClientHello, messageSeq: 0, body: randomBytes(60) })),
        encodeRecord(ContentType.Handshake, DTLS_1_2, 0, 0, encodeHandshake({ type: HandshakeType.ClientKeyExchange, messageSeq: 2, body: randomBytes(10) })),
        encodeRecord(ContentType.ApplicationData, DTLS_1_2, 1, 5, randomBytes(100)),
        encodeRecord(ContentType.Handshake, DTLS_1_2, 7, 5, randomBytes(100)),
        Buffer.concat([encodeRecord(ContentType.Alert, DTLS_1_2, 0, 1, Buffer.from([2, 40])), randomBytes(7)]),
      ];
      const header = encodeRecord(ContentType.Handshake, DTLS_1_2, 0, 0, Buffer.alloc(0));
      header.writeUInt16BE(0xffff, 11); // length beyond the datagram
      junk.push(header);
      for (let i = 0; i < 300; i++) junk.push(randomBytes(1 + (i * 7) % 1500));
      for (let i = 0; i < 200; i++) {
        const r = randomBytes(13 + (i % 64));
        r[0] = 20 + (i % 4);
        r.writeUInt16BE(i % 2 ? DTLS_1_2 : DTLS_1_0, 1);
        r.writeUInt16BE(i % 3, 3);
        r.writeUInt16BE(r.length - 13, 11);
        junk.push(r);
      }
      for (const d of junk) {
        sock.send(d, port, '127.0.0.1');
        relay.inject(d); // and from the legitimate client's own address
      }
      await delay(200);
      assert.deepEqual(server.state, { sessions: 1, handshakes: 0 });
      assert.ok(server.stats.malformedDatagrams > 0);
      await legitStillWorks('after garbage');
    } finally {
      await closeSocket(sock);
    }
  });

  it('keeps no state for a burst of ClientHellos from many ports (stateless cookies)', async () => {
    await setup();
    const port = server.address().port;
    const sockets = await Promise.all(Array.from({ length: 100 }, () => rawSocket()));
    try {
      const replies = new Map<dgram.Socket, Buffer[]>();
      for (const s of sockets) {
        replies.set(s, []);
        s.on('message', (m) => replies.get(s)!.push(m));
      }
      const before = server.stats.helloVerifyRequests;
      for (let round = 0; round < 3; round++) {
        for (const s of sockets) {
          s.send(clientHelloDatagram({ recordSeq: round }).datagram, port, '127.0.0.1');
          s.send(clientHelloDatagram({ cookie: randomBytes(16) }).datagram, port, '127.0.0.1'); // forged cookies
        }
        assert.deepEqual(server.state, { sessions: 1, handshakes: 0 });
      }
      await waitFor(() => server.stats.helloVerifyRequests - before === 600, 3000, 'all HelloVerifyRequests');
      await delay(20);
      assert.deepEqual(server.state, { sessions: 1, handshakes: 0 });
      for (const s of sockets) {
        const got = replies.get(s)!;
        assert.equal(got.length, 6);
        const hvr = handshakeMessagesOf(got[0]!)[0]!;
        assert.equal(hvr.type, HandshakeType.HelloVerifyRequest);
        assert.ok(got[0]!.length < clientHelloDatagram().datagram.length, 'a HelloVerifyRequest is smaller than the ClientHello (no amplification)');
      }
      // The record sequence number of each ClientHello comes back in its HelloVerifyRequest (RFC 6347 §4.2.1).
      const firstReplies = replies.get(sockets[0]!)!.map((d) => parseDatagram(d).records[0]!);
      assert.deepEqual(firstReplies.map((r) => r.seq).sort(), [0, 0, 0, 0, 1, 2]); // rounds 0..2, forged ones at 0
      assert.ok(firstReplies.every((r) => r.version === DTLS_1_0));
      await legitStillWorks('after the flood');
    } finally {
      await Promise.all(sockets.map(closeSocket));
    }
  });

  it('retransmits its flight with a doubling timeout while the client stays silent', async () => {
    await setup({ retransmitInitialMs: 100, retransmitMaxMs: 2000, handshakeTimeoutMs: 3000 });
    const port = server.address().port;
    const s = await rawSocket();
    try {
      const first = clientHelloDatagram();
      const hvr = handshakeMessagesOf(await exchange(s, port, first.datagram))[0]!;
      const { cookie } = decodeHelloVerifyRequest(hvr.data);
      const arrivals: number[] = [];
      s.on('message', () => arrivals.push(Date.now()));
      s.send(clientHelloDatagram({ cookie, random: first.hello.random, messageSeq: 1, recordSeq: 1 }).datagram, port, '127.0.0.1');
      await delay(1200); // the flight at 0 ms, again at 100, 300 and 700 ms (next at 1500)
      assert.ok(arrivals.length >= 4 && arrivals.length <= 5, `${arrivals.length} copies`);
      const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
      for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i]! > gaps[i - 1]! * 1.3, `gaps ${gaps.join(', ')} should double`);
      assert.ok(gaps[0]! >= 90, `first gap ${gaps[0]}`);
    } finally {
      await closeSocket(s);
    }
  });

  it('bounds the handshakes in progress, and expires those that stall', async () => {
    await setup({ maxHandshakes: 2, handshakeTimeoutMs: 1500 });
    const port = server.address().port;
    const sockets = await Promise.all([rawSocket(), rawSocket(), rawSocket()]);
    try {
      const flights: Array<Buffer | undefined> = [];
      for (const s of sockets) {
        const first = clientHelloDatagram();
        const hvr = handshakeMessagesOf(await exchange(s, port, first.datagram))[0]!;
        const { cookie } = decodeHelloVerifyRequest(hvr.data);
        const second = clientHelloDatagram({ cookie, random: first.hello.random, messageSeq: 1, recordSeq: 1 });
        flights.push(await exchange(s, port, second.datagram, 150).catch(() => undefined));
      }
      assert.equal(flights.filter(Boolean).length, 2, 'two handshakes answered');
      const serverHello = handshakeMessagesOf(flights[0]!)[0]!;
      assert.equal(serverHello.type, HandshakeType.ServerHello);
      assert.equal(serverHello.messageSeq, 1);
      assert.equal(server.stats.handshakesRefused, 1);
      assert.equal(server.state.handshakes, 2);
      // Nobody continues: both handshakes time out and leave.
      await waitFor(() => server.state.handshakes === 0, 3000, 'stalled handshakes to expire');
      assert.equal(failures.filter((f) => /timed out/.test(f.error.message)).length, 2);
      assert.equal(server.state.sessions, 1);
      await legitStillWorks('after stalled handshakes');
    } finally {
      await Promise.all(sockets.map(closeSocket));
    }
  });

  it('answers a ClientHello without a common suite, or for DTLS 1.0 only, with a fatal alert and no state', async () => {
    await setup();
    const port = server.address().port;
    const s = await rawSocket();
    try {
      for (const variant of [{ suites: [0x002f] }, { version: DTLS_1_0 }]) {
        const first = clientHelloDatagram(variant);
        const hvr = handshakeMessagesOf(await exchange(s, port, first.datagram))[0]!;
        const { cookie } = decodeHelloVerifyRequest(hvr.data);
        const second = clientHelloDatagram({ ...variant, cookie, random: first.hello.random, messageSeq: 1, recordSeq: 1 });
        const reply = await exchange(s, port, second.datagram);
        const alert = parseDatagram(reply).records[0]!;
        assert.equal(alert.type, ContentType.Alert);
        assert.equal(alert.fragment[0], 2);
        assert.equal(alert.fragment[1], variant.version !== undefined ? AlertDescription.ProtocolVersion : AlertDescription.HandshakeFailure);
      }
      assert.deepEqual(server.state, { sessions: 1, handshakes: 0 });
    } finally {
      await closeSocket(s);
    }
  });
});
