import assert from 'node:assert/strict';
import type { CoapEndpoint } from '../../src/coap/endpoint.js';
import { CoapBlockError } from '../../src/coap/errors.js';
import { getBlock1, getBlock2, setBlock1, setBlock2 } from '../../src/coap/block.js';
import { getETag, getSize1, getSize2, setUriPath } from '../../src/coap/options.js';
import { encodeMessage, parseMessage, type CoapMessage } from '../../src/coap/packet.js';
import { udpPeer } from '../../src/coap/transport.js';
import { endpoint, exchangeRaw, LossyRelay, peerOf, pseudoRandomBytes, rawSocket, sha256, type DropRule } from './helpers.js';

const MiB = 1024 * 1024;

describe('coap/endpoint: block-wise transfers', function () {
  this.timeout(30000);
  const open: CoapEndpoint[] = [];
  const closers: (() => void)[] = [];
  async function ep(options: Parameters<typeof endpoint>[0] = {}): Promise<CoapEndpoint> {
    const e = await endpoint(options);
    open.push(e);
    return e;
  }
  async function relayTo(server: CoapEndpoint, drop: DropRule = () => false): Promise<LossyRelay> {
    const r = await LossyRelay.start(server.address().port, drop);
    closers.push(() => r.close());
    return r;
  }
  afterEach(async () => {
    for (const c of closers.splice(0)) c();
    await Promise.all(open.splice(0).map((e) => e.close()));
  });

  it('GETs a 1 MiB representation through Block2, calling the handler once', async () => {
    const server = await ep();
    const client = await ep();
    const body = pseudoRandomBytes(MiB, 42);
    let calls = 0;
    server.onRequest(() => {
      calls++;
      return { code: '2.05', contentFormat: 42, payload: body };
    });
    const res = await client.request(peerOf(server), { path: '/5/0/0', timeoutMs: 5000 });
    assert.equal(res.code, '2.05');
    assert.equal(res.payload.length, MiB);
    assert.equal(sha256(res.payload), sha256(body));
    assert.equal(getBlock2(res.options), undefined, 'the assembled response carries no Block2');
    assert.equal(calls, 1, 'later blocks come from the cached representation');
    assert.equal(server.state.block2Representations, 0, 'the representation is dropped after its last block');
    assert.equal(server.stats.requestsHandled, 1);
    assert.equal(server.stats.received, 1024);
  });

  it('PUTs a 1 MiB body through Block1 and hands the handler the whole body', async () => {
    const server = await ep();
    const client = await ep();
    const body = pseudoRandomBytes(MiB, 7);
    let got: Buffer | undefined;
    server.onRequest((req) => {
      got = req.payload;
      return { code: '2.04' };
    });
    const res = await client.request(peerOf(server), { method: 'PUT', path: '/5/0/0', contentFormat: 42, payload: body, timeoutMs: 5000 });
    assert.equal(res.code, '2.04');
    assert.deepEqual(getBlock1(res.options), { num: 1023, more: false, szx: 6 });
    assert.equal(sha256(got!), sha256(body));
    assert.equal(server.stats.requestsHandled, 1);
    assert.equal(server.state.block1Transfers, 0);
  });

  it('combines Block1 and Block2 in one POST, both ~1 MiB, through a lossy relay', async () => {
    const server = await ep();
    const client = await ep();
    const up = pseudoRandomBytes(MiB - 100, 3);
    const down = pseudoRandomBytes(MiB + 100, 4);
    let calls = 0;
    server.onRequest((req) => {
      calls++;
      assert.equal(sha256(req.payload), sha256(up));
      return { code: '2.04', payload: down };
    });
    const relay = await relayTo(server, (_dir, _d, i) => i % 300 === 150);
    const res = await client.request(relay.peer, { method: 'POST', path: '/x', payload: up, timeoutMs: 5000 });
    assert.equal(res.code, '2.04');
    assert.equal(sha256(res.payload), sha256(down));
    assert.equal(calls, 1);
    assert.ok(client.stats.retransmissions > 0, 'blocks were retransmitted');
  });

  it('follows a server that prefers smaller blocks', async () => {
    const server = await ep({ blockSize: 256 });
    const client = await ep({ blockSize: 1024 });
    const body = pseudoRandomBytes(5000, 9);
    let got: Buffer | undefined;
    server.onRequest((req) => {
      got = req.payload;
      return { code: '2.04', payload: body };
    });
    const relay = await relayTo(server);
    const res = await client.request(relay.peer, { method: 'PUT', path: 'x', payload: body });
    assert.equal(sha256(got!), sha256(body));
    assert.equal(sha256(res.payload), sha256(body));
    const requests = relay.log.filter((l) => l.direction === 'toServer' && l.message!.code === '0.03' && getBlock1(l.message!.options) !== undefined)
      .map((l) => getBlock1(l.message!.options)!);
    // First block at 1024 bytes, then numbered in 256-byte blocks from byte 1024.
    assert.deepEqual(requests[0], { num: 0, more: true, szx: 6 });
    assert.deepEqual(requests[1], { num: 4, more: true, szx: 4 });
    assert.equal(getSize1(relay.log[0]!.message!.options), 5000);
    const last = requests[requests.length - 1]!;
    assert.equal(last.more, false);
    assert.equal(last.num, Math.ceil(5000 / 256) - 1);
    // The response came in 256-byte blocks.
    const responses = relay.log.filter((l) => l.direction === 'toClient').map((l) => getBlock2(l.message!.options));
    assert.ok(responses.some((b) => b?.szx === 4));
  });

  it('negotiates a small Block2 size early and exposes Size2 and ETag', async () => {
    const server = await ep();
    const client = await ep();
    const body = pseudoRandomBytes(1000, 5);
    server.onRequest(() => ({ code: '2.05', payload: body }));
    const relay = await relayTo(server);
    const res = await client.request(relay.peer, { path: 'x', blockSize: 64 });
    assert.equal(sha256(res.payload), sha256(body));
    const blocks = relay.log.filter((l) => l.direction === 'toClient').map((l) => l.message!);
    assert.equal(blocks.length, Math.ceil(1000 / 64));
    assert.equal(getBlock2(blocks[0]!.options)!.szx, 2);
    assert.equal(getSize2(blocks[0]!.options), 1000);
    const tags = new Set(blocks.map((b) => getETag(b.options)!.toString('hex')));
    assert.equal(tags.size, 1, 'one ETag for the whole representation');
  });

  it('serves later blocks from fresh handler calls when the cached representation is gone', async () => {
    const server = await ep({ blockState: { idleMs: 0 } }); // every cached representation is stale at once
    const client = await ep();
    const body = pseudoRandomBytes(5000, 8);
    let calls = 0;
    server.onRequest(() => {
      calls++;
      return { code: '2.05', payload: body };
    });
    const res = await client.request(peerOf(server), { path: 'x' });
    assert.equal(sha256(res.payload), sha256(body));
    assert.equal(calls, 5, 'one handler call per block');
  });

  it('refuses blocks of a representation that changed between handler calls (ETag)', async () => {
    const server = await ep({ blockState: { idleMs: 0 } });
    const client = await ep();
    let calls = 0;
    server.onRequest(() => ({ code: '2.05', payload: pseudoRandomBytes(5000, ++calls) }));
    const err = await client.request(peerOf(server), { path: 'x' }).catch((e: unknown) => e);
    assert.ok(err instanceof CoapBlockError, String(err));
    assert.equal(err.code, '4.08');
  });

  it('answers 4.13 to a body over the server cap, and 4.08 to a block without its predecessors', async () => {
    const server = await ep({ maxBodySize: 10_000 });
    const client = await ep();
    server.onRequest(() => ({ code: '2.04' }));
    const tooLarge = await client.request(peerOf(server), { method: 'PUT', path: 'x', payload: Buffer.alloc(20_000) });
    assert.equal(tooLarge.code, '4.13');
    assert.equal(getSize1(tooLarge.options), 10_000);
    assert.equal(server.stats.requestsHandled, 0);

    const sock = await rawSocket();
    closers.push(() => sock.close());
    const options: CoapMessage['options'] = [];
    setUriPath(options, ['x']);
    setBlock1(options, { num: 3, more: true, szx: 6 });
    const m: CoapMessage = { type: 'CON', code: '0.03', messageId: 1, token: Buffer.from([1]), options, payload: Buffer.alloc(1024) };
    const reply = await exchangeRaw(sock, encodeMessage(m), server.address().port);
    assert.equal(reply?.code, '4.08');
    // A block request past the end of a representation: 4.02.
    const get: CoapMessage['options'] = [];
    setUriPath(get, ['x']);
    setBlock2(get, { num: 50, more: false, szx: 0 });
    const past = await exchangeRaw(sock, encodeMessage({ ...m, code: '0.01', messageId: 2, options: get, payload: Buffer.alloc(0) }), server.address().port);
    assert.equal(past?.code, '4.02');
  });

  it('restarts with the smaller size a 4.13 asks for', async () => {
    const device = await rawSocket();
    closers.push(() => device.close());
    const client = await ep();
    const sizes: number[] = [];
    device.on('message', (buf, rinfo) => {
      const req = parseMessage(buf);
      const b1 = getBlock1(req.options)!;
      sizes.push(req.payload.length);
      const options: CoapMessage['options'] = [];
      let code = '2.31';
      if (b1.szx > 4) {
        code = '4.13';
        setBlock1(options, { num: 0, more: false, szx: 4 });
      } else {
        setBlock1(options, { num: b1.num, more: b1.more, szx: 4 });
        if (!b1.more) code = '2.04';
      }
      device.send(encodeMessage({ type: 'ACK', code, messageId: req.messageId, token: req.token, options, payload: Buffer.alloc(0) }), rinfo.port, rinfo.address);
    });
    const res = await client.request(udpPeer('127.0.0.1', device.address().port), { method: 'PUT', path: 'x', payload: Buffer.alloc(3000) });
    assert.equal(res.code, '2.04');
    // 1024 refused, then the whole body again in 256-byte blocks (11 full ones and 184 bytes).
    assert.deepEqual(sizes, [1024, ...Array<number>(11).fill(256), 184]);
  });

  it('refuses a response body over the client cap with CoapBlockError 4.13', async () => {
    const server = await ep();
    const client = await ep();
    server.onRequest(() => ({ code: '2.05', payload: Buffer.alloc(50_000) }));
    const err = await client.request(peerOf(server), { path: 'x', maxBodySize: 20_000 }).catch((e: unknown) => e);
    assert.ok(err instanceof CoapBlockError);
    assert.equal(err.code, '4.13');
  });
});
