import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { once } from 'node:events';
import { FirmwareUpdater, type FirmwareOutcome } from '../../src/server/firmware.js';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { pseudoRandomBytes, RewritingRelay, sha256, startDevice, startServer, type DeviceOptions, type TestDevice } from './helpers.js';

const IMAGE = pseudoRandomBytes(64 * 1024, 5);
const IMAGE_SHA = sha256(IMAGE);

describe('firmware failures are reported by name', function () {
  this.timeout(20000);
  let server: Lwm2mServer;
  let updater: FirmwareUpdater;
  let devices: TestDevice[];
  let closers: Array<() => unknown>;

  beforeEach(async () => {
    server = await startServer();
    updater = new FirmwareUpdater(server, { defaults: { pollIntervalMs: 100 } });
    devices = [];
    closers = [];
  });

  afterEach(async () => {
    await updater.close();
    for (const d of devices) await d.stop();
    for (const c of closers) await c();
    await server.stop();
  });

  async function device(options: DeviceOptions = {}): Promise<TestDevice> {
    const d = await startDevice(server, { acceptSha256: IMAGE_SHA, ...options });
    devices.push(d);
    return d;
  }

  function assertFailed(outcome: FirmwareOutcome, reason: string, result?: number): void {
    assert.equal(outcome.status, 'failed', `expected a failure, got ${outcome.status}: ${outcome.message}`);
    assert.equal(outcome.reason, reason, outcome.message);
    if (result !== undefined) assert.equal(outcome.result, result);
  }

  for (const method of ['push', 'pull'] as const) {
    it(`${method}: an image that fails the device's check ends with integrity-check-failure (Result 5)`, async () => {
      const dev = await device();
      const broken = Buffer.from(IMAGE);
      broken[1000] ^= 0x01;
      const outcome = await updater.update(dev.endpoint, broken, { method });
      assertFailed(outcome, 'integrity-check-failure', 5);
      assert.equal(outcome.resultName, 'integrity-check-failure');
      assert.equal(outcome.phase, 'downloading');
      assert.match(outcome.message, /Update Result 5 \(integrity-check-failure\)/);
      assert.equal(dev.received.length, 1);
      assert.equal(dev.installed.length, 0, 'nothing installed');
    });

    it(`${method}: a package too large for the device ends with not-enough-flash (Result 2)`, async () => {
      const dev = await device({ maxSize: 10_000 });
      assertFailed(await updater.update(dev.endpoint, IMAGE, { method }), 'not-enough-flash', 2);
    });

    it(`${method}: a device that refuses the write ends with write-refused and the CoAP code`, async () => {
      const dev = await device(method === 'push' ? { push: false } : { pull: false });
      const outcome = await updater.update(dev.endpoint, IMAGE, { method });
      assertFailed(outcome, 'write-refused');
      assert.equal(outcome.code, '4.05');
      assert.match(outcome.message, /4\.05/);
    });
  }

  it('an unsupported package type ends with unsupported-package-type (Result 6)', async () => {
    const dev = await device({ verdict: 'unsupported-type' });
    assertFailed(await updater.update(dev.endpoint, IMAGE, { method: 'push' }), 'unsupported-package-type', 6);
  });

  it('a package URI that names nothing ends with invalid-uri (Result 7)', async () => {
    const dev = await device();
    const uri = `coap://127.0.0.1:${server.address().port}/fw/no-such-image`;
    assertFailed(await updater.update(dev.endpoint, IMAGE, { packageUri: uri }), 'invalid-uri', 7);
  });

  it('a package URI of a protocol the device lacks ends with unsupported-protocol (Result 9)', async () => {
    const dev = await device();
    assertFailed(await updater.update(dev.endpoint, IMAGE, { packageUri: 'ftp://127.0.0.1/fw.bin' }), 'unsupported-protocol', 9);
  });

  it('a package server that never answers ends with connection-lost (Result 4)', async () => {
    const silent = dgram.createSocket('udp4');
    silent.bind(0, '127.0.0.1');
    await once(silent, 'listening');
    closers.push(() => silent.close());
    const dev = await device({ downloadTimeoutMs: 300 });
    const uri = `coap://127.0.0.1:${silent.address().port}/fw.bin`;
    assertFailed(await updater.update(dev.endpoint, IMAGE, { packageUri: uri }), 'connection-lost', 4);
  });

  it('a failing installation ends with update-failed (Result 8)', async () => {
    const dev = await device({ update: () => Promise.reject(new Error('flash write error')) });
    const outcome = await updater.update(dev.endpoint, IMAGE, { method: 'push' });
    assertFailed(outcome, 'update-failed', 8);
    assert.equal(outcome.phase, 'updating');
    assert.ok(outcome.timings.downloadMs !== undefined && outcome.timings.updateMs !== undefined);
  });

  /** Uri-Path of a request as "5/0/2". */
  function pathOf(msg: { options: readonly { number: number; value: Buffer }[] }): string {
    return msg.options.filter((o) => o.number === 11).map((o) => o.value.toString()).join('/');
  }

  it('a refused Execute Update ends with execute-refused and the code', async () => {
    // The relay sends the Execute to a resource the device does not have: it answers 4.04 and installs nothing.
    const relay = await RewritingRelay.start(server.address().port, (direction, msg) => {
      if (direction !== 'toDevice' || msg.code !== '0.02' || pathOf(msg) !== '5/0/2') return msg;
      return { ...msg, options: msg.options.map((o) => (o.number === 11 && o.value.toString() === '2' ? { number: 11, value: Buffer.from('4') } : o)) };
    });
    closers.push(() => relay.close());
    const dev = await device({ uri: relay.uri });
    const outcome = await updater.update(dev.endpoint, IMAGE, { method: 'push' });
    assertFailed(outcome, 'execute-refused');
    assert.equal(outcome.code, '4.04');
    assert.equal(dev.installed.length, 0);
  });

  it('a 4.05 to Execute Update from a device that is updating anyway (automatic upgrade) is followed to the end', async () => {
    // The relay turns the device's 2.04 into 4.05, while the device does run the update.
    const relay = await RewritingRelay.start(server.address().port);
    closers.push(() => relay.close());
    const executeTokens = new Set<string>();
    relay.transform = (direction, msg) => {
      if (direction === 'toDevice' && msg.code === '0.02' && pathOf(msg) === '5/0/2') executeTokens.add(msg.token.toString('hex'));
      if (direction === 'toServer' && msg.code === '2.04' && executeTokens.has(msg.token.toString('hex'))) return { ...msg, code: '4.05' };
      return msg;
    };
    const dev = await device({ uri: relay.uri, update: () => new Promise((resolve) => setTimeout(() => resolve({ firmwareVersion: '2.0.0' }), 100)) });
    const outcome = await updater.update(dev.endpoint, IMAGE, { method: 'push' });
    assert.equal(executeTokens.size, 1);
    assert.equal(outcome.status, 'succeeded', outcome.message);
  });

  it('a firmware version other than the expected one ends with version-mismatch', async () => {
    const dev = await device({ newVersion: '2.0.0' });
    const outcome = await updater.update(dev.endpoint, IMAGE, { method: 'push', expectedVersion: '3.0.0' });
    assertFailed(outcome, 'version-mismatch');
    assert.equal(outcome.result, 1, 'the device itself reported success');
    assert.match(outcome.message, /reports firmware version 2\.0\.0, expected 3\.0\.0/);
  });

  it('a device that is not registered, or has no /5, fails before anything is sent', async () => {
    assertFailed(await updater.update('nobody', IMAGE), 'not-registered');
    const dev = await device({ noFirmware: true });
    assertFailed(await updater.update(dev.endpoint, IMAGE), 'no-firmware-object');
  });

  it('an earlier failure result does not fail the next job: the state machine is reset first', async () => {
    const dev = await device();
    const broken = Buffer.from(IMAGE);
    broken[0] ^= 0xff;
    assertFailed(await updater.update(dev.endpoint, broken, { method: 'push' }), 'integrity-check-failure', 5);
    assert.equal(await dev.client.getValue('/5/0/5'), 5);
    const events: string[] = [];
    dev.client.on('firmware', (s) => events.push(s.event));
    const outcome = await updater.update(dev.endpoint, IMAGE, { method: 'pull' });
    assert.equal(outcome.status, 'succeeded', outcome.message);
    assert.deepEqual(events, ['reset', 'downloading', 'downloaded', 'updating', 'updated']);
  });
});
