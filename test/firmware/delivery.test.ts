import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getBlock1 } from '../../src/coap/block.js';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import { udpPeer } from '../../src/coap/transport.js';
import { FirmwareUpdater, HttpImageHost, type FirmwareProgress, type JobPhase } from '../../src/server/firmware.js';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { pseudoRandomBytes, RewritingRelay, sha256, startDevice, startServer, type TestDevice } from './helpers.js';

const IMAGE = pseudoRandomBytes(1024 * 1024, 11);
const IMAGE_SHA = sha256(IMAGE);

describe('firmware delivery: push and pull of a 1 MiB image', function () {
  this.timeout(30000);
  let server: Lwm2mServer;
  let updater: FirmwareUpdater;
  let devices: TestDevice[];
  let closers: Array<() => unknown>;

  beforeEach(async () => {
    server = await startServer();
    updater = new FirmwareUpdater(server);
    devices = [];
    closers = [];
  });

  afterEach(async () => {
    await updater.close();
    for (const d of devices) await d.stop();
    for (const c of closers) await c();
    await server.stop();
  });

  async function device(options: Parameters<typeof startDevice>[1] = {}): Promise<TestDevice> {
    const d = await startDevice(server, { acceptSha256: IMAGE_SHA, ...options });
    devices.push(d);
    return d;
  }

  it('pushes with Block1, reports progress per block, updates and checks the new version', async () => {
    const dev = await device();
    const phases: JobPhase[] = [];
    const progress: FirmwareProgress[] = [];
    const job = updater.start(dev.endpoint, { data: IMAGE, version: '2.0.0' }, { method: 'push' });
    job.on('phase', (p) => phases.push(p));
    job.on('progress', (p) => progress.push(p));
    const outcome = await job.done;
    assert.equal(outcome.status, 'succeeded', outcome.message);
    assert.equal(outcome.method, 'push');
    assert.equal(outcome.firmwareVersion, '2.0.0');
    assert.equal(outcome.result, 1);
    assert.equal(outcome.resultName, 'success');
    assert.deepEqual(dev.received, [{ size: IMAGE.length, sha256: IMAGE_SHA, delivery: 'push' }]);
    assert.equal(dev.installed.length, 1);
    assert.deepEqual(phases, ['downloading', 'downloaded', 'updating', 'verifying']);
    // one progress report per acknowledged 1024-byte block, increasing, ending at 100 %
    const pushed = progress.filter((p) => p.method === 'push');
    assert.equal(pushed.length, IMAGE.length / 1024);
    for (let i = 1; i < pushed.length; i++) assert.ok(pushed[i]!.bytes >= pushed[i - 1]!.bytes);
    assert.equal(pushed[0]!.bytes, 1024);
    assert.equal(pushed.at(-1)!.bytes, IMAGE.length);
    assert.equal(pushed.at(-1)!.percent, 100);
    assert.ok(outcome.timings.downloadMs !== undefined && outcome.timings.updateMs !== undefined);
    assert.ok(outcome.timings.totalMs >= outcome.timings.downloadMs);
  });

  it('uses the block size asked for (256 bytes on the wire)', async () => {
    const relay = await RewritingRelay.start(server.address().port);
    closers.push(() => relay.close());
    const image = IMAGE.subarray(0, 10_000);
    const dev = await device({ uri: relay.uri, acceptSha256: sha256(image) });
    const outcome = await updater.update(dev.endpoint, image, { method: 'push', blockSize: 256 });
    assert.equal(outcome.status, 'succeeded', outcome.message);
    const blocks = relay.log
      .filter((e) => e.direction === 'toDevice' && e.message?.code === '0.03')
      .map((e) => getBlock1(e.message!.options))
      .filter((b) => b !== undefined);
    assert.equal(blocks.length, Math.ceil(image.length / 256));
    assert.ok(blocks.every((b) => b!.szx === 4), 'every block of 256 bytes');
    assert.deepEqual(blocks.map((b) => b!.num), blocks.map((_, i) => i));
    assert.throws(() => updater.start(dev.endpoint, image, { blockSize: 300 }), /power of two/);
    assert.throws(() => updater.start(dev.endpoint, image, { blockSize: 2048 }), /power of two/);
  });

  it('pulls over CoAP from a one-time path on the server, which is gone after the job', async () => {
    const dev = await device();
    const outcome = await updater.update(dev.endpoint, IMAGE, { method: 'pull', expectedVersion: '2.0.0' });
    assert.equal(outcome.status, 'succeeded', outcome.message);
    assert.equal(outcome.method, 'pull');
    const port = server.address().port;
    assert.match(outcome.packageUri!, new RegExp(`^coap://127\\.0\\.0\\.1:${port}/fw/[A-Za-z0-9_-]{22}$`));
    assert.deepEqual(dev.received, [{ size: IMAGE.length, sha256: IMAGE_SHA, delivery: 'pull' }]);
    // the path expired with the job
    const probe = await CoapEndpoint.udp({ address: '127.0.0.1' });
    try {
      const path = new URL(outcome.packageUri!).pathname.split('/').filter((s) => s !== '');
      const res = await probe.request(udpPeer('127.0.0.1', port), { path });
      assert.equal(res.code, '4.04');
    } finally {
      await probe.close();
    }
  });

  it('pulls over HTTP from an image host, with byte progress', async () => {
    const host = await HttpImageHost.listen({ address: '127.0.0.1' });
    closers.push(() => host.close());
    const httpUpdater = new FirmwareUpdater(server, { http: host });
    closers.push(() => httpUpdater.close());
    const dev = await device();
    const progress: FirmwareProgress[] = [];
    httpUpdater.on('progress', (p) => progress.push(p));
    const outcome = await httpUpdater.update(dev.endpoint, IMAGE, { method: 'pull', pullProtocol: 'http' });
    assert.equal(outcome.status, 'succeeded', outcome.message);
    assert.match(outcome.packageUri!, new RegExp(`^http://127\\.0\\.0\\.1:${host.port}/fw/[A-Za-z0-9_-]{22}$`));
    assert.deepEqual(dev.received, [{ size: IMAGE.length, sha256: IMAGE_SHA, delivery: 'pull' }]);
    const served = progress.filter((p) => p.bytes > 0 && p.bytes < IMAGE.length);
    assert.ok(served.length >= 10, `byte progress while serving (${served.length} reports)`);
    assert.equal(progress.at(-1)!.bytes, IMAGE.length);
    const status = await new Promise<number>((resolve, reject) => {
      http.get(outcome.packageUri!, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    assert.equal(status, 404, 'the HTTP path expired with the job');
  });

  it('pulls from a URI the caller gives', async () => {
    const files = http.createServer((req, res) => {
      if (req.url !== '/images/v2.bin') {
        res.statusCode = 404;
        res.end();
        return;
      }
      res.setHeader('Content-Length', String(IMAGE.length));
      res.end(IMAGE);
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => files.close(resolve)));
    const uri = `http://127.0.0.1:${(files.address() as AddressInfo).port}/images/v2.bin`;
    const dev = await device();
    const outcome = await updater.update(dev.endpoint, IMAGE, { packageUri: uri });
    assert.equal(outcome.status, 'succeeded', outcome.message);
    assert.equal(outcome.method, 'pull');
    assert.equal(outcome.packageUri, uri);
    assert.deepEqual(dev.received, [{ size: IMAGE.length, sha256: IMAGE_SHA, delivery: 'pull' }]);
  });
});
