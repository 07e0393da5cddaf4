import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getBlock1 } from '../../src/coap/block.js';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import { udpPeer } from '../../src/coap/transport.js';
import { chooseDelivery, type DeliveryFacts } from '../../src/server/firmware-delivery.js';
import { CoapImageHost, HttpImageHost } from '../../src/server/firmware-host.js';
import { PushRefusedError, pushPackage } from '../../src/server/firmware-push.js';
import { failureOfResult, isFailureResult, resultName, stateName } from '../../src/server/firmware-results.js';
import { prepareImage } from '../../src/server/firmware.js';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { ScriptedClient } from '../server/helpers.js';
import { pseudoRandomBytes, RewritingRelay, sha256, startDevice, startServer, type TestDevice } from './helpers.js';

const IMAGE = pseudoRandomBytes(20_000, 41);

function httpGet(url: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('firmware building blocks', function () {
  this.timeout(20000);
  let server: Lwm2mServer;
  let closers: Array<() => unknown>;

  beforeEach(async () => {
    server = await startServer();
    closers = [];
  });

  afterEach(async () => {
    for (const c of closers.reverse()) await c();
    await server.stop();
  });

  describe('Lwm2mServer.serveResource', () => {
    it('serves a resource next to /rd (Block2 for large answers) until told to stop', async () => {
      const big = pseudoRandomBytes(300_000, 2);
      const stop = server.serveResource(['fw', 'abc'], (req) => (req.method === 'GET' ? { code: '2.05', payload: big, contentFormat: 42 } : { code: '4.05' }));
      const probe = await CoapEndpoint.udp({ address: '127.0.0.1' });
      closers.push(() => probe.close());
      const peer = udpPeer('127.0.0.1', server.address().port);
      const res = await probe.request(peer, { path: ['fw', 'abc'] });
      assert.equal(res.code, '2.05');
      assert.ok(res.payload.equals(big));
      assert.equal((await probe.request(peer, { method: 'POST', path: ['fw', 'abc'] })).code, '4.05');
      assert.equal((await probe.request(peer, { path: ['fw', 'abd'] })).code, '4.04');
      stop();
      assert.equal((await probe.request(peer, { path: ['fw', 'abc'] })).code, '4.04');
    });

    it('counts a fetch by a sleeping queue-mode device as the device being awake', async () => {
      const queued = await startServer({ queueMode: { awakeTimeMs: 150 } });
      closers.push(() => queued.stop());
      queued.serveResource(['fw', 'q'], () => ({ code: '2.05', payload: 'image' }));
      const client = await ScriptedClient.connect(queued);
      closers.push(() => client.close());
      assert.equal((await client.register(['ep=sleepy', 'lt=300', 'lwm2m=1.1', 'b=U', 'Q'], '</5/0>')).code, '2.01');
      const start = Date.now();
      while (queued.isAwake('sleepy') || Date.now() - start < 50) {
        if (Date.now() - start > 3000) throw new Error('the device never counted as asleep');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(queued.isAwake('sleepy'), false);
      assert.equal((await client.endpoint.request(client.server, { path: ['fw', 'q'] })).code, '2.05');
      assert.equal(queued.isAwake('sleepy'), true);
    });

    it('refuses paths of the LwM2M interfaces, empty paths and a second handler for one path', () => {
      assert.throws(() => server.serveResource(['rd'], () => ({ code: '2.05' })), (e: Error & { code?: string }) => e.code === '4.00');
      assert.throws(() => server.serveResource(['dp', 'x'], () => ({ code: '2.05' })), (e: Error & { code?: string }) => e.code === '4.00');
      assert.throws(() => server.serveResource([], () => ({ code: '2.05' })), (e: Error & { code?: string }) => e.code === '4.00');
      assert.throws(() => server.serveResource(['a', ''], () => ({ code: '2.05' })), (e: Error & { code?: string }) => e.code === '4.00');
      server.serveResource(['x'], () => ({ code: '2.05' }));
      assert.throws(() => server.serveResource(['x'], () => ({ code: '2.05' })), (e: Error & { code?: string }) => e.code === '4.09');
    });
  });

  describe('Lwm2mServer.rawRequest and RequestOptions.blockSize', () => {
    it('puts the alternate root path first and returns whatever the device answers', async () => {
      const client = await ScriptedClient.connect(server);
      closers.push(() => client.close());
      client.answer((req) => ({ code: '4.06', payload: `seen ${req.path.join('/')}` }));
      await client.register(['ep=rooted', 'lt=300', 'lwm2m=1.1', 'b=U'], '</lwm2m>;rt="oma.lwm2m",</lwm2m/5/0>');
      const res = await server.rawRequest('rooted', '/5/0/3', { method: 'GET' });
      assert.equal(res.code, '4.06');
      assert.equal(res.payload.toString(), 'seen lwm2m/5/0/3');
      await assert.rejects(server.rawRequest('nobody', '/5/0/3', {}), (e: Error & { code?: string }) => e.code === '4.04');
    });

    it('writes with the block size asked for', async () => {
      const relay = await RewritingRelay.start(server.address().port);
      closers.push(() => relay.close());
      const dev = await startDevice(server, { uri: relay.uri });
      closers.push(() => dev.stop());
      await server.write(dev.endpoint, '/5/0/0', IMAGE.subarray(0, 3000), { format: 42, blockSize: 128 });
      const sizes = relay.log.filter((e) => e.direction === 'toDevice' && e.message?.code === '0.03').map((e) => getBlock1(e.message!.options)?.szx);
      assert.equal(sizes.length, Math.ceil(3000 / 128));
      assert.ok(sizes.every((s) => s === 3));
    });
  });

  describe('pushPackage', () => {
    let relay: RewritingRelay;
    let dev: TestDevice;

    beforeEach(async () => {
      relay = await RewritingRelay.start(server.address().port);
      dev = await startDevice(server, { uri: relay.uri, acceptSha256: sha256(IMAGE) });
      closers.push(() => relay.close(), () => dev.stop());
    });

    it('follows a device that asks for smaller blocks (SZX in the 2.31 echo)', async () => {
      // the relay makes the device's echo say 256 bytes, as a device with small buffers would
      let first = true;
      relay.transform = (direction, msg) => {
        if (direction !== 'toServer' || msg.code !== '2.31' || !first) return msg;
        first = false;
        const echo = getBlock1(msg.options)!;
        const options = msg.options.filter((o) => o.number !== 27);
        options.push({ number: 27, value: Buffer.from([(echo.num << 4) | 8 | 4]) });
        return { ...msg, options };
      };
      // block 0 of 1024 bytes, then blocks of 256 from byte 1024 (number 4 onwards)
      const seen: number[] = [];
      const result = await pushPackage(server, dev.endpoint, IMAGE, { blockSize: 1024, onProgress: (sent) => seen.push(sent) });
      assert.equal(result.blockSize, 256);
      assert.deepEqual(seen.slice(0, 3), [1024, 1280, 1536]);
      assert.equal(seen.at(-1), IMAGE.length);
      assert.deepEqual(dev.received.map((r) => r.sha256), [sha256(IMAGE)]);
    });

    it('starts again from block 0 when a block gets no answer, within the restarts allowed', async () => {
      let firstToken: string | undefined; // every transmission of block 5 of the first transfer is lost
      relay.transform = (direction, msg) => {
        if (direction !== 'toDevice' || msg.code !== '0.03') return msg;
        firstToken ??= msg.token.toString('hex');
        return getBlock1(msg.options)?.num === 5 && msg.token.toString('hex') === firstToken ? null : msg;
      };
      const result = await pushPackage(server, dev.endpoint, IMAGE, { blockSize: 1024, timeoutMs: 400, restarts: 1 });
      assert.equal(result.restarts, 1);
      assert.deepEqual(dev.received.map((r) => r.sha256), [sha256(IMAGE)]);
      const tokens = new Set(relay.log.filter((e) => e.direction === 'toDevice' && e.message?.code === '0.03').map((e) => e.message!.token.toString('hex')));
      assert.equal(tokens.size, 2, 'the second transfer has a token of its own');
    });

    it('gives up with the timeout when no restart is left', async () => {
      relay.transform = (direction, msg) => (direction === 'toDevice' && msg.code === '0.03' && getBlock1(msg.options)?.num === 2 ? null : msg);
      await assert.rejects(pushPackage(server, dev.endpoint, IMAGE, { blockSize: 1024, timeoutMs: 300, restarts: 0 }), (e: Error & { code?: string }) => e.code === '5.04');
    });

    it('reports a refusal with the code and the device diagnostic', async () => {
      relay.transform = (direction, msg) =>
        direction === 'toServer' && msg.code === '2.31' ? { ...msg, code: '4.13', options: [], payload: Buffer.from('no room') } : msg;
      await assert.rejects(pushPackage(server, dev.endpoint, IMAGE, { blockSize: 1024 }), (e: Error) => {
        assert.ok(e instanceof PushRefusedError);
        assert.equal(e.code, '4.13');
        assert.match(e.message, /block 0: 4\.13 Request Entity Too Large: no room/);
        return true;
      });
    });

    it('stops between blocks when aborted', async () => {
      const abort = new AbortController();
      let blocks = 0;
      await assert.rejects(
        pushPackage(server, dev.endpoint, IMAGE, {
          blockSize: 1024,
          signal: abort.signal,
          onProgress: () => {
            if (++blocks === 3) abort.abort();
          },
        }),
        /stopped/,
      );
      assert.equal(blocks, 3);
    });
  });

  describe('image hosts', () => {
    it('CoapImageHost: the server address by default, a base URI when bound to a wildcard, 255 bytes at most', async () => {
      const host = new CoapImageHost(server);
      assert.equal(host.baseUri(), `coap://127.0.0.1:${server.address().port}`);
      const hosted = host.host(prepareImage(IMAGE));
      hosted.close();
      assert.throws(() => new CoapImageHost(server, { baseUri: 'http://x' }), /coap/);
      assert.throws(() => new CoapImageHost(server, { baseUri: 'not a uri' }), /not a URI/);
      const long = new CoapImageHost(server, { baseUri: `coap://${'a'.repeat(240)}.example` });
      assert.throws(() => long.host(prepareImage(IMAGE)), /255/);
      const wide = await startServer({ address: '0.0.0.0' });
      closers.push(() => wide.stop());
      assert.throws(() => new CoapImageHost(wide).baseUri(), /base URI/);
      assert.equal(new CoapImageHost(wide, { baseUri: 'coap://[::1]:5683/' }).baseUri(), 'coap://[::1]:5683');
    });

    it('HttpImageHost: GET and HEAD of a hosted image, 404 for others, 405 for other methods', async () => {
      const host = await HttpImageHost.listen({ address: '127.0.0.1' });
      closers.push(() => host.close());
      const image = prepareImage(IMAGE);
      const hosted = host.host(image);
      const got = await httpGet(hosted.uri);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(IMAGE));
      assert.equal(got.headers['content-type'], 'application/octet-stream');
      assert.equal(got.headers.etag, `"${image.sha256}"`);
      const head = await httpGet(hosted.uri, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String(IMAGE.length));
      assert.equal(head.body.length, 0);
      assert.equal((await httpGet(hosted.uri, 'POST')).status, 405);
      assert.equal((await httpGet(`http://127.0.0.1:${host.port}/fw/unknown`)).status, 404);
      assert.equal((await httpGet(`http://127.0.0.1:${host.port}/other`)).status, 404);
      hosted.close();
      assert.equal((await httpGet(hosted.uri)).status, 404);
    });

    it('HttpImageHost.handle plugs into a server of the caller, leaving other requests alone', async () => {
      const host = new HttpImageHost({ baseUrl: 'http://127.0.0.1:1' });
      const own = http.createServer((req, res) => {
        if (host.handle(req, res)) return;
        res.statusCode = 418;
        res.end();
      });
      await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
      closers.push(() => new Promise((resolve) => own.close(resolve)));
      const hosted = host.host(prepareImage(IMAGE));
      const path = new URL(hosted.uri).pathname;
      const port = (own.address() as AddressInfo).port;
      assert.ok((await httpGet(`http://127.0.0.1:${port}${path}`)).body.equals(IMAGE));
      assert.equal((await httpGet(`http://127.0.0.1:${port}/elsewhere`)).status, 418);
      assert.throws(() => new HttpImageHost().host(prepareImage(IMAGE)), /base URL/);
      await assert.rejects(HttpImageHost.listen({ address: '0.0.0.0' }), /base URL/);
    });
  });

  describe('delivery choice', () => {
    const facts = (f: Partial<DeliveryFacts>): DeliveryFacts => ({ deliveryMethod: undefined, protocols: undefined, coapProblem: undefined, httpHost: false, ...f });
    const reasonOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
        return undefined;
      } catch (err) {
        return (err as { reason?: string }).reason;
      }
    };

    it('auto follows /5/0/9 and prefers push when the device takes both', () => {
      assert.deepEqual(chooseDelivery({}, facts({ deliveryMethod: 1 })), { method: 'push' });
      assert.deepEqual(chooseDelivery({}, facts({ deliveryMethod: 0, protocols: [0] })), { method: 'pull', protocol: 'coap' });
      assert.deepEqual(chooseDelivery({}, facts({ deliveryMethod: 2, protocols: [0] })), { method: 'push' });
      assert.deepEqual(chooseDelivery({ prefer: 'pull' }, facts({ deliveryMethod: 2, protocols: [0] })), { method: 'pull', protocol: 'coap' });
      assert.deepEqual(chooseDelivery({}, facts({})), { method: 'push' }, '/5/0/9 unreadable: push');
    });

    it('picks the pull protocol from /5/0/8 and what the server can host', () => {
      assert.deepEqual(chooseDelivery({}, facts({ deliveryMethod: 0, protocols: [2], httpHost: true })), { method: 'pull', protocol: 'http' });
      assert.deepEqual(chooseDelivery({}, facts({ deliveryMethod: 0, protocols: [0, 2], coapProblem: 'no base', httpHost: true })), { method: 'pull', protocol: 'http' });
      assert.deepEqual(chooseDelivery({}, facts({ deliveryMethod: 0 })), { method: 'pull', protocol: 'coap' }, '/5/0/8 unreadable: CoAP');
      assert.equal(reasonOf(() => chooseDelivery({}, facts({ deliveryMethod: 0, protocols: [1, 3] }))), 'no-delivery-method', 'CoAPS and HTTPS only');
      assert.equal(reasonOf(() => chooseDelivery({}, facts({ deliveryMethod: 0, protocols: [2] }))), 'no-delivery-method', 'HTTP without an HTTP host');
      assert.deepEqual(chooseDelivery({}, facts({ deliveryMethod: 2, protocols: [2] })), { method: 'push' }, 'both, no usable pull: push');
    });

    it('explicit choices are checked', () => {
      assert.deepEqual(chooseDelivery({ method: 'push' }, facts({ deliveryMethod: 0 })), { method: 'push' });
      assert.deepEqual(chooseDelivery({ method: 'pull', pullProtocol: 'http' }, facts({ protocols: [0, 2], httpHost: true })), { method: 'pull', protocol: 'http' });
      assert.equal(reasonOf(() => chooseDelivery({ method: 'pull', pullProtocol: 'http' }, facts({ protocols: [0], httpHost: true }))), 'unsupported-protocol-choice');
      assert.equal(reasonOf(() => chooseDelivery({ method: 'pull', pullProtocol: 'http' }, facts({ protocols: [2] }))), 'configuration');
      assert.equal(reasonOf(() => chooseDelivery({ method: 'pull', pullProtocol: 'coap' }, facts({ coapProblem: 'no base URI' }))), 'configuration');
      assert.deepEqual(chooseDelivery({ packageUri: 'coap://10.0.0.1/fw.bin' }, facts({})), { method: 'pull', protocol: 'given' });
      assert.equal(reasonOf(() => chooseDelivery({ packageUri: 'coap://10.0.0.1/fw.bin', method: 'push' }, facts({}))), 'configuration');
      assert.equal(reasonOf(() => chooseDelivery({ packageUri: 'not a uri' }, facts({}))), 'configuration');
      assert.equal(reasonOf(() => chooseDelivery({ packageUri: `coap://h/${'x'.repeat(260)}` }, facts({}))), 'configuration');
    });
  });

  describe('result names', () => {
    it('names every State and Update Result value', () => {
      assert.deepEqual([0, 1, 2, 3, 4, undefined].map(stateName), ['idle', 'downloading', 'downloaded', 'updating', 'state 4', 'unknown']);
      const names = Array.from({ length: 13 }, (_, i) => resultName(i));
      assert.deepEqual(names, [
        'initial',
        'success',
        'not-enough-flash',
        'out-of-ram',
        'connection-lost',
        'integrity-check-failure',
        'unsupported-package-type',
        'invalid-uri',
        'update-failed',
        'unsupported-protocol',
        'cancelled',
        'deferred',
        'result 12',
      ]);
      assert.deepEqual(Array.from({ length: 13 }, (_, i) => isFailureResult(i)), [false, false, true, true, true, true, true, true, true, true, true, false, false]);
      assert.equal(failureOfResult(3), 'out-of-ram');
    });
  });
});
