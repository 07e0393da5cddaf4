import assert from 'node:assert/strict';
import type { CoapEndpoint } from '../../src/coap/endpoint.js';
import { CoapTimeoutError } from '../../src/coap/errors.js';
import { encodeMessage, parseMessage, type CoapMessage } from '../../src/coap/packet.js';
import { setUriPath } from '../../src/coap/options.js';
import { delay, endpoint, exchangeRaw, LossyRelay, rawSocket, waitFor, type DropRule } from './helpers.js';

describe('coap/endpoint: retransmission and the duplicate cache', function () {
  this.timeout(15000);
  const open: CoapEndpoint[] = [];
  const closers: (() => void)[] = [];
  async function ep(options: Parameters<typeof endpoint>[0] = {}): Promise<CoapEndpoint> {
    const e = await endpoint(options);
    open.push(e);
    return e;
  }
  async function relayTo(server: CoapEndpoint, drop: DropRule): Promise<LossyRelay> {
    const r = await LossyRelay.start(server.address().port, drop);
    closers.push(() => r.close());
    return r;
  }
  afterEach(async () => {
    for (const c of closers.splice(0)) c();
    await Promise.all(open.splice(0).map((e) => e.close()));
  });

  it('retransmits a lost request', async () => {
    const server = await ep();
    const client = await ep();
    server.onRequest(() => ({ code: '2.05', payload: 'ok' }));
    const relay = await relayTo(server, (dir, _d, i) => dir === 'toServer' && i < 2);
    const res = await client.request(relay.peer, { path: 'x' });
    assert.equal(res.payload.toString(), 'ok');
    assert.equal(client.stats.retransmissions, 2);
    const sent = relay.log.filter((l) => l.direction === 'toServer').map((l) => l.message!.messageId);
    assert.equal(new Set(sent).size, 1, 'retransmissions keep the message id');
  });

  it('runs an Execute once when its ACK is lost, and resends the same response', async () => {
    const server = await ep();
    const client = await ep();
    let executions = 0;
    server.onRequest(() => {
      executions++;
      return { code: '2.04', payload: `run ${executions}` };
    });
    const relay = await relayTo(server, (dir, _d, i) => dir === 'toClient' && i === 0);
    const res = await client.request(relay.peer, { method: 'POST', path: '/3/0/4' });
    assert.equal(res.code, '2.04');
    assert.equal(res.payload.toString(), 'run 1');
    assert.equal(executions, 1);
    assert.equal(server.stats.duplicates, 1);
    const replies = relay.log.filter((l) => l.direction === 'toClient');
    assert.equal(replies.length, 2);
    assert.deepEqual(encodeMessage(replies[0]!.message!), encodeMessage(replies[1]!.message!), 'byte-identical resend');
  });

  it('never calls the handler twice while it is still working, and switches to a separate response', async () => {
    const server = await ep({ separateResponseDelayMs: 5000 }); // only the duplicate triggers the empty ACK
    const client = await ep();
    let executions = 0;
    server.onRequest(async () => {
      executions++;
      await delay(200);
      return { code: '2.04' };
    });
    const relay = await relayTo(server, () => false);
    const res = await client.request(relay.peer, { method: 'POST', path: '/3/0/4' });
    assert.equal(res.code, '2.04');
    assert.equal(res.type, 'CON', 'separate response after the duplicate');
    assert.equal(executions, 1);
    assert.ok(server.stats.duplicates >= 1);
    const toClient = relay.log.filter((l) => l.direction === 'toClient').map((l) => `${l.message!.type}:${l.message!.code}`);
    assert.equal(toClient[0], 'ACK:0.00');
    assert.ok(client.stats.retransmissions >= 1);
  });

  it('acknowledges a retransmitted separate response again without resolving twice', async () => {
    const server = await ep({ separateResponseDelayMs: 10 });
    const client = await ep();
    server.onRequest(async () => {
      await delay(50);
      return { code: '2.05', payload: 'late' };
    });
    // Drop the client's first ACK of the separate CON response.
    const relay = await relayTo(server, (dir, d) => dir === 'toServer' && parseMessage(d).type === 'ACK' && !dropped++);
    let dropped = 0;
    const res = await client.request(relay.peer, { path: 'x' });
    assert.equal(res.payload.toString(), 'late');
    await waitFor(() => relay.log.filter((l) => l.direction === 'toServer' && l.message!.type === 'ACK').length === 2, 2000, 'the second ACK');
    assert.equal(client.stats.duplicates, 1);
    assert.equal(server.stats.retransmissions, 1);
    await delay(200);
    assert.equal(server.stats.retransmissions, 1, 'the second ACK stopped the retransmissions');
    assert.equal(server.state.timers, 0);
  });

  it('survives heavy loss in both directions', async () => {
    const server = await ep();
    const client = await ep();
    let executions = 0;
    server.onRequest((req) => {
      executions++;
      return { code: '2.05', payload: req.path.join('/') };
    });
    // Deterministic loss: every third datagram each way.
    const relay = await relayTo(server, (_dir, _d, i) => i % 3 === 1);
    for (let i = 0; i < 12; i++) {
      const res = await client.request(relay.peer, { path: ['n', String(i)], timeoutMs: 3000 });
      assert.equal(res.payload.toString(), `n/${i}`);
    }
    assert.equal(executions, 12, 'each request handled once despite retransmissions');
    assert.ok(server.stats.duplicates > 0);
  });

  it('keeps the duplicate cache small per peer under many message ids', async () => {
    const server = await ep({ dedup: { perPeer: 8 } });
    server.onRequest(() => ({ code: '2.05', payload: 'x'.repeat(50) }));
    const sock = await rawSocket();
    closers.push(() => sock.close());
    let answers = 0;
    sock.on('message', () => answers++);
    const options: CoapMessage['options'] = [];
    setUriPath(options, ['3', '0']);
    for (let mid = 0; mid < 3000; mid++) {
      const m: CoapMessage = { type: 'CON', code: '0.01', messageId: mid, token: Buffer.from([mid & 0xff]), options, payload: Buffer.alloc(0) };
      sock.send(encodeMessage(m), server.address().port, '127.0.0.1');
      if (mid % 200 === 199) await delay(5);
    }
    await waitFor(() => answers === 3000, 5000, 'all answers');
    assert.equal(server.state.dedupEntries, 8);
    assert.ok(server.state.dedupBytes < 8 * 100);
    // An old message id is forgotten (handled again), a recent one is still a duplicate.
    const before = server.stats.requestsHandled;
    const dupReply = await exchangeRaw(sock, encodeMessage({ type: 'CON', code: '0.01', messageId: 2999, token: Buffer.from([2999 & 0xff]), options, payload: Buffer.alloc(0) }), server.address().port);
    assert.equal(dupReply?.code, '2.05');
    assert.equal(server.stats.requestsHandled, before);
    await exchangeRaw(sock, encodeMessage({ type: 'CON', code: '0.01', messageId: 5, token: Buffer.from([5]), options, payload: Buffer.alloc(0) }), server.address().port);
    assert.equal(server.stats.requestsHandled, before + 1);
  });

  it('caps the duplicate cache over many peers', async () => {
    const server = await ep({ dedup: { perPeer: 8, maxEntries: 100 } });
    server.onRequest(() => ({ code: '2.05' }));
    const sockets = await Promise.all(Array.from({ length: 30 }, () => rawSocket()));
    closers.push(() => sockets.forEach((s) => s.close()));
    let answers = 0;
    for (const s of sockets) s.on('message', () => answers++);
    for (let mid = 0; mid < 20; mid++) {
      for (const s of sockets) {
        s.send(encodeMessage({ type: 'NON', code: '0.01', messageId: mid, token: Buffer.from([1]), options: [], payload: Buffer.alloc(0) }), server.address().port, '127.0.0.1');
      }
      await delay(2);
    }
    await waitFor(() => answers === 600, 5000, 'all answers');
    assert.equal(server.state.dedupEntries, 100);
    assert.equal(server.stats.requestsHandled, 600);
  });

  it('fails with CoapTimeoutError after the last retransmission when every datagram is lost', async () => {
    const server = await ep();
    const client = await ep({ parameters: { ackTimeoutMs: 20, ackRandomFactor: 1, maxRetransmit: 3 } });
    server.onRequest(() => ({ code: '2.05' }));
    const relay = await relayTo(server, (dir) => dir === 'toServer');
    await assert.rejects(client.request(relay.peer, { path: 'x', timeoutMs: 10000 }), CoapTimeoutError);
    assert.equal(relay.log.length, 4);
    assert.equal(client.stats.retransmissions, 3);
    assert.equal(server.stats.received, 0);
  });
});
