import assert from 'node:assert/strict';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import { CoapClosedError, CoapConfigError, CoapTimeoutError } from '../../src/coap/errors.js';
import { getContentFormat, getLocationPath, OptionNumber, getUriPath } from '../../src/coap/options.js';
import { encodeEmpty, encodeMessage, parseMessage, type CoapMessage } from '../../src/coap/packet.js';
import { udpPeer } from '../../src/coap/transport.js';
import type { IncomingRequest } from '../../src/coap/api.js';
import { Lwm2mError } from '../../src/errors.js';
import { delay, endpoint, exchangeRaw, LossyRelay, peerOf, rawSocket, recordingLogger, waitFor } from './helpers.js';

describe('coap/endpoint: our endpoint with our endpoint', function () {
  this.timeout(10000);
  const open: CoapEndpoint[] = [];
  const closers: (() => void)[] = [];
  async function ep(options: Parameters<typeof endpoint>[0] = {}): Promise<CoapEndpoint> {
    const e = await endpoint(options);
    open.push(e);
    return e;
  }
  afterEach(async () => {
    for (const c of closers.splice(0)) c();
    await Promise.all(open.splice(0).map((e) => e.close()));
  });

  it('serves every method with piggybacked responses', async () => {
    const server = await ep();
    const client = await ep();
    const seen: IncomingRequest[] = [];
    server.onRequest((req) => {
      seen.push(req);
      return {
        code: req.method === 'POST' ? '2.01' : '2.05',
        contentFormat: 0,
        locationPath: req.method === 'POST' ? ['rd', 'a1b2'] : undefined,
        payload: `${req.method} /${req.path.join('/')}?${req.query.join('&')} cf=${req.contentFormat} accept=${req.accept} ${req.payload.toString()}`,
      };
    });
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'FETCH', 'PATCH', 'iPATCH'] as const) {
      const res = await client.request(peerOf(server), {
        method,
        path: '/3/0/1',
        query: { ep: 'dev1', Q: null },
        contentFormat: 110,
        accept: 112,
        payload: method === 'GET' || method === 'DELETE' ? undefined : 'body',
      });
      assert.equal(res.type, 'ACK', `${method} answered piggybacked`);
      assert.equal(res.code, method === 'POST' ? '2.01' : '2.05');
      assert.equal(getContentFormat(res.options), 0);
      const body = method === 'GET' || method === 'DELETE' ? '' : 'body';
      assert.equal(res.payload.toString(), `${method} /3/0/1?ep=dev1&Q cf=110 accept=112 ${body}`);
      if (method === 'POST') {
        assert.deepEqual(getLocationPath(res.options), ['rd', 'a1b2']);
        assert.equal(res.options.filter((o) => o.number === OptionNumber.LocationPath).length, 2);
      }
    }
    assert.deepEqual(
      seen.map((r) => r.code),
      ['0.01', '0.02', '0.03', '0.04', '0.05', '0.06', '0.07'],
    );
    assert.ok(seen.every((r) => r.peer.key === `udp:[127.0.0.1]:${client.address().port}` && r.confirmable));
    assert.equal(server.stats.requestsHandled, 7);
  });

  it('answers a slow handler with an empty ACK, then a CON response', async () => {
    const server = await ep({ separateResponseDelayMs: 20 });
    const client = await ep();
    server.onRequest(async () => {
      await delay(120);
      return { code: '2.04', payload: 'done' };
    });
    const relay = await LossyRelay.start(server.address().port);
    closers.push(() => relay.close());
    const res = await client.request(relay.peer, { method: 'POST', path: '/3/0/4' });
    assert.equal(res.code, '2.04');
    assert.equal(res.type, 'CON');
    assert.equal(res.payload.toString(), 'done');
    await waitFor(() => relay.log.length >= 4, 1000, 'the ACK of the separate response');
    const flow = relay.log.map((l) => `${l.direction}:${l.message!.type}:${l.message!.code}`);
    assert.deepEqual(flow.slice(0, 4), ['toServer:CON:0.02', 'toClient:ACK:0.00', 'toClient:CON:2.04', 'toServer:ACK:0.00']);
    assert.equal(relay.log[3]!.message!.messageId, relay.log[2]!.message!.messageId);
    assert.deepEqual(relay.log[2]!.message!.token, relay.log[0]!.message!.token);
  });

  it('answers NON requests with NON responses', async () => {
    const server = await ep();
    const client = await ep();
    server.onRequest((req) => ({ code: '2.05', payload: String(req.confirmable) }));
    const res = await client.request(peerOf(server), { path: 'x', confirmable: false });
    assert.equal(res.type, 'NON');
    assert.equal(res.payload.toString(), 'false');
  });

  it('pings, and answers pings with RST', async () => {
    const a = await ep();
    const b = await ep();
    const rtt = await a.ping(peerOf(b));
    assert.ok(rtt >= 0 && rtt < 1000);
    assert.equal(b.stats.resetsSent, 1);
    assert.equal(a.stats.resetsReceived, 1);
    const sock = await rawSocket();
    closers.push(() => sock.close());
    const reply = await exchangeRaw(sock, encodeEmpty('CON', 0x4242), b.address().port);
    assert.equal(reply?.type, 'RST');
    assert.equal(reply?.messageId, 0x4242);
  });

  it('rejects a ping to a silent peer with CoapTimeoutError', async () => {
    const a = await ep();
    const silent = await rawSocket();
    closers.push(() => silent.close());
    const started = Date.now();
    await assert.rejects(a.ping(udpPeer('127.0.0.1', silent.address().port), 150), CoapTimeoutError);
    assert.ok(Date.now() - started < 1000);
  });

  it('sends RST for CON and NON responses nobody asked for', async () => {
    const server = await ep();
    const sock = await rawSocket();
    closers.push(() => sock.close());
    for (const type of ['CON', 'NON'] as const) {
      const stray: CoapMessage = { type, code: '2.05', messageId: 77, token: Buffer.from('deadbeef', 'hex'), options: [], payload: Buffer.from('x') };
      const reply = await exchangeRaw(sock, encodeMessage(stray), server.address().port);
      assert.equal(reply?.type, 'RST');
      assert.equal(reply?.messageId, 77);
    }
  });

  it('matches responses by token and peer', async () => {
    const client = await ep();
    const device = await rawSocket();
    closers.push(() => device.close());
    const impostor = await rawSocket();
    closers.push(() => impostor.close());
    device.on('message', (buf, rinfo) => {
      const req = parseMessage(buf);
      // 1: a piggybacked ACK with the wrong token is ignored (the request keeps waiting)
      const wrong = { ...req, type: 'ACK' as const, code: '2.05', token: Buffer.from('00'), payload: Buffer.from('wrong') };
      device.send(encodeMessage(wrong), rinfo.port, rinfo.address);
      // 2: the right token from another port is not a response for this request (answered with RST)
      const spoofed = { ...req, type: 'NON' as const, code: '2.05', messageId: 1, payload: Buffer.from('spoofed') };
      impostor.send(encodeMessage(spoofed), rinfo.port, rinfo.address);
      // 3: the real separate response
      setTimeout(() => {
        const right = { ...req, type: 'NON' as const, code: '2.05', messageId: 2, payload: Buffer.from('right') };
        device.send(encodeMessage(right), rinfo.port, rinfo.address);
      }, 30);
    });
    const res = await client.request(udpPeer('127.0.0.1', device.address().port), { path: 'x' });
    assert.equal(res.payload.toString(), 'right');
    assert.equal(client.stats.resetsSent, 1);
  });

  it('gives every request its own deadline, far below EXCHANGE_LIFETIME', async () => {
    const client = await ep({ parameters: { ackTimeoutMs: 40, maxRetransmit: 4 } });
    const silent = await rawSocket();
    closers.push(() => silent.close());
    let received = 0;
    silent.on('message', () => received++);
    const started = Date.now();
    const err = await client.request(udpPeer('127.0.0.1', silent.address().port), { path: 'x', timeoutMs: 250 }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    assert.ok(err instanceof CoapTimeoutError, String(err));
    assert.equal(err.code, '5.04');
    assert.ok(elapsed >= 240 && elapsed < 1500, `elapsed ${elapsed}`);
    assert.ok(received >= 2, 'retransmitted before the deadline');
    assert.equal(client.stats.timeouts, 1);
    assert.equal(client.stats.retransmissions, received - 1);
    assert.equal(client.state.pendingRequests, 0);
    assert.equal(client.state.timers, 0);
  });

  it('gives up after MAX_RETRANSMIT retransmissions when the deadline is later', async () => {
    const client = await ep({ parameters: { ackTimeoutMs: 20, ackRandomFactor: 1, maxRetransmit: 2 } });
    const silent = await rawSocket();
    closers.push(() => silent.close());
    let received = 0;
    silent.on('message', () => received++);
    const started = Date.now();
    await assert.rejects(client.request(udpPeer('127.0.0.1', silent.address().port), { path: 'x', timeoutMs: 5000 }), CoapTimeoutError);
    // 20 + 40 + 80 ms of waiting: well before the 5 s deadline
    assert.ok(Date.now() - started < 1000);
    assert.equal(received, 3);
  });

  it('keeps the deadline after an empty ACK when the separate response never comes', async () => {
    const server = await ep({ separateResponseDelayMs: 10 });
    const client = await ep();
    server.onRequest(() => new Promise(() => {})); // never answers
    const started = Date.now();
    await assert.rejects(client.request(peerOf(server), { path: 'x', timeoutMs: 200 }), CoapTimeoutError);
    assert.ok(Date.now() - started >= 190);
    assert.equal(client.stats.retransmissions, 0, 'the empty ACK stopped retransmissions');
  });

  it('turns handler failures into response codes, logged once', async () => {
    const { logger, lines } = recordingLogger();
    const server = await ep({ logger });
    const client = await ep();
    server.onRequest((req) => {
      switch (req.path[0]) {
        case 'throw':
          throw new Error('kaboom');
        case 'reject':
          return Promise.reject(new Error('async kaboom'));
        case 'lwm2m':
          throw new Lwm2mError('4.04', 'no such instance');
        case 'invalid':
          return { code: 'nonsense' };
        default:
          return undefined as never;
      }
    });
    const p = peerOf(server);
    assert.equal((await client.request(p, { path: 'throw' })).code, '5.00');
    assert.equal((await client.request(p, { path: 'reject' })).code, '5.00');
    const notFound = await client.request(p, { path: 'lwm2m' });
    assert.equal(notFound.code, '4.04');
    assert.equal(notFound.payload.toString(), 'no such instance');
    assert.equal((await client.request(p, { path: 'invalid' })).code, '5.00');
    assert.equal((await client.request(p, { path: 'nothing' })).code, '5.00');
    const errors = lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 4);
    assert.equal((errors[0]!.error as Error).message, 'kaboom');
    assert.equal((errors[1]!.error as Error).message, 'async kaboom');
  });

  it('answers 4.04 without a handler, 4.02 for unknown critical options, 4.05 for unknown methods, 5.05 for proxying', async () => {
    const server = await ep();
    const client = await ep();
    const p = peerOf(server);
    assert.equal((await client.request(p, { path: 'x' })).code, '4.04');
    server.onRequest(() => ({ code: '2.05' }));
    assert.equal((await client.request(p, { path: 'x', options: [{ number: 2051, value: Buffer.from('x') }] })).code, '4.02');
    assert.equal((await client.request(p, { path: 'x', options: [{ number: 2050, value: Buffer.from('x') }] })).code, '2.05');
    assert.equal((await client.request(p, { method: '0.09', path: 'x' })).code, '4.05');
    assert.equal((await client.request(p, { path: 'x', options: [{ number: OptionNumber.ProxyUri, value: Buffer.from('coap://h/') }] })).code, '5.05');
    assert.equal((await client.request(p, { path: 'x', options: [{ number: OptionNumber.ContentFormat, value: Buffer.alloc(3) }] })).code, '4.02');
  });

  it('serves and requests on the same port at the same time', async () => {
    const a = await ep();
    const b = await ep();
    a.onRequest((req) => ({ code: '2.05', payload: `a:${req.path.join('/')}` }));
    b.onRequest(async (req) => {
      // b asks a something while handling a's request
      const inner = await b.request(peerOf(a), { path: ['inner', ...req.path] });
      return { code: '2.05', payload: `b:${inner.payload.toString()}` };
    });
    const [r1, r2] = await Promise.all([a.request(peerOf(b), { path: 'x' }), b.request(peerOf(a), { path: 'y' })]);
    assert.equal(r1.payload.toString(), 'b:a:inner/x');
    assert.equal(r2.payload.toString(), 'a:y');
  });

  it('limits outstanding requests per peer with NSTART=1', async () => {
    const server = await ep();
    const client = await ep({ parameters: { nstart: 1 } });
    let inHandler = 0;
    let maxInHandler = 0;
    server.onRequest(async (req) => {
      inHandler++;
      maxInHandler = Math.max(maxInHandler, inHandler);
      await delay(15);
      inHandler--;
      return { code: '2.05', payload: req.path[0] };
    });
    const results = await Promise.all(['1', '2', '3', '4'].map((n) => client.request(peerOf(server), { path: n })));
    assert.deepEqual(
      results.map((r) => r.payload.toString()),
      ['1', '2', '3', '4'],
    );
    assert.equal(maxInHandler, 1);
    const free = await ep();
    let maxFree = 0;
    inHandler = 0;
    server.onRequest(async () => {
      inHandler++;
      maxFree = Math.max(maxFree, inHandler);
      await delay(15);
      inHandler--;
      return { code: '2.05' };
    });
    await Promise.all(['1', '2', '3'].map((n) => free.request(peerOf(server), { path: n })));
    assert.equal(maxFree, 3, 'without NSTART the requests overlap');
  });

  it('rejects pending requests and frees every timer on close', async () => {
    const server = await ep({ separateResponseDelayMs: 10 });
    const client = await CoapEndpoint.udp({ address: '127.0.0.1', parameters: { ackTimeoutMs: 40 } });
    server.onRequest(() => new Promise(() => {}));
    const pending = client.request(peerOf(server), { path: 'x', timeoutMs: 5000 });
    await delay(30);
    assert.equal(client.state.pendingRequests, 1);
    await client.close();
    await assert.rejects(pending, CoapClosedError);
    assert.equal(client.state.timers, 0);
    assert.equal(client.state.pendingRequests, 0);
    await assert.rejects(client.request(peerOf(server), { path: 'x' }), CoapClosedError);
    await client.close(); // idempotent
  });

  it('refuses out-of-range configuration with CoapConfigError', async () => {
    await assert.rejects(ep({ tokenLength: 0 }), CoapConfigError);
    await assert.rejects(ep({ tokenLength: 9 }), CoapConfigError);
    await assert.rejects(ep({ requestTimeoutMs: -1 }), CoapConfigError);
    await assert.rejects(ep({ parameters: { ackTimeoutMs: 0 } }), CoapConfigError);
    await assert.rejects(ep({ parameters: { ackRandomFactor: 0.5 } }), CoapConfigError);
    await assert.rejects(ep({ parameters: { maxRetransmit: 1.5 } }), CoapConfigError);
    await assert.rejects(ep({ parameters: { nstart: 0 } }), CoapConfigError);
    await assert.rejects(ep({ tickMs: 0 }), CoapConfigError);
  });

  it('works over IPv6', async () => {
    const server = await ep({ address: '::1' });
    const client = await ep({ address: '::1' });
    server.onRequest((req) => ({ code: '2.05', payload: req.peer.key }));
    const res = await client.request(udpPeer('::1', server.address().port), { path: 'v6' });
    assert.equal(res.payload.toString(), `udp:[::1]:${client.address().port}`);
  });

  it('reaches IPv4 peers from a dual-stack socket under their plain IPv4 key', async () => {
    const server = await ep({ address: '::' });
    const client = await ep();
    server.onRequest((req) => ({ code: '2.05', payload: req.peer.key }));
    const res = await client.request(udpPeer('127.0.0.1', server.address().port), { path: 'x' });
    assert.equal(res.payload.toString(), `udp:[127.0.0.1]:${client.address().port}`);
    const back = await server.request(udpPeer('127.0.0.1', client.address().port), { path: 'y' }).catch((e: Error) => e);
    assert.equal((back as { code: string }).code, '4.04'); // the client has no handler: 4.04, but it got there
  });

  it('keeps the Uri-Path segments as separate options, and refuses bad arguments with typed errors', async () => {
    const server = await ep();
    const client = await ep();
    let path: string[] = [];
    server.onRequest((req) => {
      path = getUriPath(req.options);
      return { code: '2.05' };
    });
    await client.request(peerOf(server), { path: ['a/b', 'c'] });
    assert.deepEqual(path, ['a/b', 'c']);
    await assert.rejects(client.request(peerOf(server), { method: 'BREW' }), Lwm2mError);
    await assert.rejects(client.request(peerOf(server), { token: Buffer.alloc(9) }), Lwm2mError);
    await assert.rejects(client.request(peerOf(server), { timeoutMs: 0 }), Lwm2mError);
    assert.throws(() => udpPeer('not-an-ip', 5683), Lwm2mError);
  });
});

