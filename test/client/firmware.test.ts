import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import type { Lwm2mClient } from '../../src/client/client.js';
import type { FirmwareHooks, FirmwareStatus } from '../../src/client/firmware.js';
import { ScriptedServer, startRegistered, testClient, until } from './helpers.js';

const IMAGE = randomBytes(1024 * 1024);
const IMAGE_SHA256 = createHash('sha256').update(IMAGE).digest('hex');

describe('client firmware update', function () {
  this.timeout(30000);
  let server: ScriptedServer;
  let client: Lwm2mClient;
  let statuses: FirmwareStatus[];
  let verified: Array<{ size: number; sha256: string; delivery: string }>;
  let installed: Buffer[];

  async function setup(options: { version?: '1.0' | '1.1' | '1.2'; maxSize?: number; hooks?: FirmwareHooks; push?: boolean; pull?: boolean } = {}): Promise<void> {
    server = await ScriptedServer.start();
    verified = [];
    installed = [];
    client = testClient(server, {
      lwm2mVersion: options.version ?? '1.2',
      requestTimeoutMs: 3000,
      firmware: {
        maxSize: options.maxSize ?? 2 * 1024 * 1024,
        downloadTimeoutMs: 2000,
        ...(options.push !== undefined ? { push: options.push } : {}),
        ...(options.pull !== undefined ? { pull: options.pull } : {}),
        hooks: options.hooks ?? {
          verify: (pkg, info) => {
            const sha256 = createHash('sha256').update(pkg).digest('hex');
            verified.push({ size: info.size, sha256, delivery: info.delivery });
            return sha256 === IMAGE_SHA256 ? 'ok' : 'integrity';
          },
          update: (pkg) => {
            installed.push(pkg);
            return { firmwareVersion: '2.0.0' };
          },
        },
      },
    });
    statuses = [];
    client.on('firmware', (s) => statuses.push(s));
    await startRegistered(client);
  }

  afterEach(async () => {
    await client.stop({ timeoutMs: 300 });
    await server.close();
  });

  async function state(): Promise<[unknown, unknown]> {
    return [await client.getValue('/5/0/3'), await client.getValue('/5/0/5')];
  }

  async function waitState(s: number, r: number): Promise<void> {
    await until(() => client.firmware!.state === s && client.firmware!.result === r, 10000, `state ${s} result ${r} (now ${client.firmware!.state}/${client.firmware!.result})`);
  }

  it('exposes truthful protocol support and delivery method', async () => {
    await setup();
    assert.deepEqual(await client.getValue('/5/0/8'), { 0: 0, 1: 2, 2: 3 });
    assert.equal(await client.getValue('/5/0/9'), 2);
    assert.deepEqual(await state(), [0, 0]);
    assert.equal((await server.request({ path: '/5/0/0' })).code, '4.05', 'Package is write-only');
  });

  it('takes a 1 MiB pushed package (Block1), verifies it, updates and registers again', async () => {
    await setup();
    const res = await server.request({ method: 'PUT', path: '/5/0/0', payload: IMAGE, contentFormat: 42, timeoutMs: 3000 });
    assert.equal(res.code, '2.04');
    await waitState(2, 0);
    assert.deepEqual(verified, [{ size: IMAGE.length, sha256: IMAGE_SHA256, delivery: 'push' }]);
    assert.deepEqual(statuses.map((s) => s.event), ['downloading', 'downloaded']);
    const registrations = server.registrations().length;
    assert.equal((await server.request({ method: 'POST', path: '/5/0/2' })).code, '2.04');
    await waitState(0, 1);
    assert.equal(installed.length, 1);
    assert.ok(installed[0]!.equals(IMAGE));
    assert.equal(await client.getValue('/3/0/3'), '2.0.0');
    await until(() => server.registrations().length === registrations + 1, 3000, 'a new Register after the update');
  });

  it('reports an integrity failure (result 5) and refuses Update outside Downloaded', async () => {
    await setup();
    const broken = Buffer.from(IMAGE.subarray(0, 4096));
    broken[0] ^= 0xff;
    assert.equal((await server.request({ method: 'PUT', path: '/5/0/0', payload: broken, contentFormat: 42 })).code, '2.04');
    await waitState(0, 5);
    assert.equal((await server.request({ method: 'POST', path: '/5/0/2' })).code, '4.05');
  });

  it('reports a package over the size limit (result 2)', async () => {
    await setup({ maxSize: 1000 });
    assert.equal((await server.request({ method: 'PUT', path: '/5/0/0', payload: IMAGE.subarray(0, 5000), contentFormat: 42 })).code, '2.04');
    await waitState(0, 2);
  });

  it('reports a failed update (result 8)', async () => {
    await setup({ hooks: { update: () => Promise.reject(new Error('flash write failed')) } });
    assert.equal((await server.request({ method: 'PUT', path: '/5/0/0', payload: Buffer.from('small image'), contentFormat: 42 })).code, '2.04');
    await waitState(2, 0);
    assert.equal((await server.request({ method: 'POST', path: '/5/0/2' })).code, '2.04');
    await waitState(0, 8);
  });

  it('pulls a 1 MiB package over coap:// with Block2', async () => {
    const packageServer = await CoapEndpoint.udp({ address: '127.0.0.1' });
    let gets = 0;
    packageServer.onRequest((req) => {
      if (req.path.join('/') !== 'fw/image.bin') return { code: '4.04' };
      gets++;
      return { code: '2.05', payload: IMAGE, contentFormat: 42 };
    });
    try {
      await setup();
      const uri = `coap://127.0.0.1:${packageServer.address().port}/fw/image.bin`;
      const started = Date.now();
      assert.equal((await server.request({ method: 'PUT', path: '/5/0/1', payload: uri, contentFormat: 0 })).code, '2.04');
      await waitState(2, 0);
      const elapsed = Date.now() - started;
      assert.deepEqual(verified, [{ size: IMAGE.length, sha256: IMAGE_SHA256, delivery: 'pull' }]);
      const blocks = packageServer.stats.received;
      assert.equal(gets, 1, 'later blocks come from the Block2 cache');
      assert.ok(blocks >= 1024, `Block2: ${blocks} requests`);
      assert.equal(await client.getValue('/5/0/1'), uri);
      console.log(`      coap pull of 1 MiB: ${elapsed} ms, ${blocks} block requests`);
      // missing package on the same server: invalid URI
      assert.equal((await server.request({ method: 'PUT', path: '/5/0/1', payload: '', contentFormat: 0 })).code, '2.04');
      await waitState(0, 0);
      assert.equal((await server.request({ method: 'PUT', path: '/5/0/1', payload: uri + '.missing', contentFormat: 0 })).code, '2.04');
      await waitState(0, 7);
    } finally {
      await packageServer.close();
    }
  });

  it('pulls a 1 MiB package over http:// and maps HTTP failures to results', async () => {
    const httpServer = http.createServer((req, res) => {
      if (req.url === '/image.bin') {
        res.writeHead(200, { 'content-length': IMAGE.length });
        res.end(IMAGE);
      } else if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': IMAGE.length });
        res.write(IMAGE.subarray(0, 1000));
        setTimeout(() => res.destroy(), 20);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
    try {
      await setup();
      assert.equal((await server.request({ method: 'PUT', path: '/5/0/1', payload: `${base}/image.bin`, contentFormat: 0 })).code, '2.04');
      await waitState(2, 0);
      assert.deepEqual(verified, [{ size: IMAGE.length, sha256: IMAGE_SHA256, delivery: 'pull' }]);
      // cancel (1.2) while downloaded
      assert.equal((await server.request({ method: 'POST', path: '/5/0/10' })).code, '2.04');
      await waitState(0, 10);
      assert.equal((await server.request({ method: 'POST', path: '/5/0/10' })).code, '4.05', 'nothing to cancel');
      assert.equal((await server.request({ method: 'PUT', path: '/5/0/1', payload: `${base}/nothing`, contentFormat: 0 })).code, '2.04');
      await waitState(0, 7);
      assert.equal((await server.request({ method: 'PUT', path: '/5/0/1', payload: `${base}/cut`, contentFormat: 0 })).code, '2.04');
      await waitState(0, 4);
    } finally {
      await new Promise<void>((r) => httpServer.close(() => r()));
    }
  });

  it('maps URI problems to results: unsupported protocol 9, invalid URI 7, connection lost 4', async () => {
    await setup();
    assert.equal((await server.request({ method: 'PUT', path: '/5/0/1', payload: 'coaps://127.0.0.1:5684/fw', contentFormat: 0 })).code, '2.04');
    await waitState(0, 9);
    assert.equal((await server.request({ method: 'PUT', path: '/5/0/1', payload: 'not a uri', contentFormat: 0 })).code, '2.04');
    await waitState(0, 7);
    // nothing listens on that port: the download times out
    const closed = await CoapEndpoint.udp({ address: '127.0.0.1' });
    const port = closed.address().port;
    await closed.close();
    assert.equal((await server.request({ method: 'PUT', path: '/5/0/1', payload: `coap://127.0.0.1:${port}/fw`, contentFormat: 0 })).code, '2.04');
    await waitState(0, 4);
  });

  it('a push-only device refuses Package URIs and says so in /5/0/9', async () => {
    await setup({ pull: false });
    assert.equal(await client.getValue('/5/0/9'), 1);
    assert.equal((await server.request({ method: 'PUT', path: '/5/0/1', payload: 'http://x/y', contentFormat: 0 })).code, '4.05');
  });
});
