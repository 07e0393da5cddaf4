import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { OptionNumber, removeOption } from '../../src/coap/options.js';
import { FirmwareUpdater, type FirmwareOutcome, type JobPhase } from '../../src/server/firmware.js';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import {
  createDevice,
  delay,
  pseudoRandomBytes,
  registration,
  RewritingRelay,
  sha256,
  startDevice,
  startServer,
  until,
  type DeviceOptions,
  type TestDevice,
} from './helpers.js';

const IMAGE = pseudoRandomBytes(64 * 1024, 9);
const IMAGE_SHA = sha256(IMAGE);

/** An HTTP server that sends the headers and a first piece of the body, then nothing: a download that never ends. */
async function stalledHttp(): Promise<{ uri: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = http.createServer((_req, res) => {
    res.setHeader('Content-Length', String(IMAGE.length));
    res.write(IMAGE.subarray(0, 1000));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fw.bin`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('firmware job lifecycle: reboots, cancel, timeouts, busy devices, polling', function () {
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

  /**
   * A device whose update is a reboot: the running client de-registers, and
   * after `downMs` a new client with the same name registers, reporting the
   * given firmware version and Update Result (as a device that kept its
   * Firmware Update state across the reboot would).
   */
  let rebooters = 0;
  function rebootingDevice(after: { version: string; result: number } | null, downMs = 150): DeviceOptions {
    const endpoint = `rebooting-${++rebooters}`;
    return {
      endpoint,
      update: () => {
        const old = devices.find((d) => d.endpoint === endpoint && d.client.firmware?.state === 3);
        setImmediate(async () => {
          await old?.stop();
          if (!after) return;
          await delay(downMs);
          const next = createDevice(server, { endpoint: old!.endpoint, firmwareVersion: after.version });
          next.client.setValue('/5/0/5', after.result);
          devices.push(next);
          await next.client.start();
        });
        return new Promise<never>(() => {}); // the old firmware never finishes: the device restarts instead
      },
    };
  }

  it('follows a device that reboots: de-registers, registers again, reports Result 1 and the new version', async () => {
    const dev = await device(rebootingDevice({ version: '2.0.0', result: 1 }));
    const phases: JobPhase[] = [];
    const job = updater.start(dev.endpoint, { data: IMAGE, version: '2.0.0' }, { method: 'push' });
    job.on('phase', (p) => phases.push(p));
    const outcome = await job.done;
    assert.equal(outcome.status, 'succeeded', outcome.message);
    assert.equal(outcome.firmwareVersion, '2.0.0');
    assert.deepEqual(phases, ['downloading', 'downloaded', 'updating', 'rebooting', 'verifying']);
    assert.ok(outcome.timings.rebootMs !== undefined && outcome.timings.rebootMs >= 100, `reboot took ${outcome.timings.rebootMs} ms`);
  });

  it('a device that never comes back ends with reboot-timeout', async () => {
    const dev = await device(rebootingDevice(null));
    const started = Date.now();
    const outcome = await updater.update(dev.endpoint, IMAGE, { method: 'push', rebootTimeoutMs: 600 });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.reason, 'reboot-timeout', outcome.message);
    assert.equal(outcome.phase, 'rebooting');
    assert.ok(outcome.timings.rebootMs! >= 590 && outcome.timings.rebootMs! < 3000, `waited ${outcome.timings.rebootMs} ms`);
    assert.ok(Date.now() - started < 5000);
  });

  it('a device that goes silent after Update: update timeout, no answer to a last look, then reboot-timeout', async () => {
    const relay = await RewritingRelay.start(server.address().port);
    closers.push(() => relay.close());
    let silent = false;
    relay.transform = (_direction, msg) => (silent ? null : msg);
    const dev = await device({
      uri: relay.uri,
      update: () => {
        silent = true; // as if the device crashed: no de-registration, no answer
        return new Promise<never>(() => {});
      },
    });
    const phases: JobPhase[] = [];
    const job = updater.start(dev.endpoint, IMAGE, { method: 'push', updateTimeoutMs: 300, rebootTimeoutMs: 300, requestTimeoutMs: 300 });
    job.on('phase', (p) => phases.push(p));
    const outcome = await job.done;
    assert.equal(outcome.reason, 'reboot-timeout', outcome.message);
    assert.deepEqual(phases.slice(-2), ['updating', 'rebooting']);
    assert.ok(outcome.timings.updateMs! >= 290, `update phase ${outcome.timings.updateMs} ms`);
    assert.ok(outcome.timings.rebootMs! >= 290, `reboot phase ${outcome.timings.rebootMs} ms`);
  });

  it('a device back without any Update Result: success only when the expected version is there', async () => {
    const dev = await device(rebootingDevice({ version: '2.0.0', result: 0 }));
    const outcome = await updater.update(dev.endpoint, IMAGE, { method: 'push', expectedVersion: '2.0.0' });
    assert.equal(outcome.status, 'succeeded', outcome.message);
    assert.match(outcome.message, /no Update Result/);

    const other = await device(rebootingDevice({ version: '2.0.0', result: 0 }));
    const unsure = await updater.update(other.endpoint, IMAGE, { method: 'push' });
    assert.equal(unsure.status, 'failed');
    assert.equal(unsure.reason, 'result-lost', unsure.message);
  });

  it('a deferred update (Result 11) is waited for, with a warning, not taken as a failure', async () => {
    let dev!: TestDevice;
    dev = await device({
      update: async () => {
        // the user defers: back to Downloaded with Result 11, then accepts after a while
        dev.client.setValue('/5/0/3', 2);
        dev.client.setValue('/5/0/5', 11);
        await delay(300);
        return { firmwareVersion: '2.0.0' };
      },
    });
    const warnings: string[] = [];
    const job = updater.start(dev.endpoint, IMAGE, { method: 'push' });
    job.on('warning', (w) => warnings.push(w));
    const outcome = await job.done;
    assert.equal(outcome.status, 'succeeded', outcome.message);
    assert.ok(warnings.some((w) => /deferred the update/.test(w)), warnings.join('; '));
  });

  it('a device that stays Updating ends with update-timeout', async () => {
    const dev = await device({ update: () => new Promise<never>(() => {}) });
    const outcome = await updater.update(dev.endpoint, IMAGE, { method: 'push', updateTimeoutMs: 400 });
    assert.equal(outcome.reason, 'update-timeout', outcome.message);
    assert.equal(outcome.state, 3);
    assert.match(outcome.message, /still updating/);
  });

  it('cancels a pull in progress with Execute /5/0/10: the device reports Result 10', async () => {
    const stalled = await stalledHttp();
    closers.push(stalled.close);
    const dev = await device({ downloadTimeoutMs: 10_000 });
    const job = updater.start(dev.endpoint, IMAGE, { packageUri: stalled.uri });
    await until(() => dev.client.firmware?.state === 1, 5000, 'the device downloading');
    await delay(50);
    const outcome = await job.cancel();
    assert.equal(outcome.status, 'cancelled');
    assert.equal(outcome.reason, 'cancelled');
    assert.equal(outcome.result, 10);
    assert.equal(outcome.resultName, 'cancelled');
    assert.equal(dev.client.firmware?.state, 0);
    assert.equal(dev.client.firmware?.result, 10);
  });

  it('cancels a push between blocks: the rest of the package is not sent', async () => {
    const relay = await RewritingRelay.start(server.address().port);
    closers.push(() => relay.close());
    const dev = await device({ uri: relay.uri });
    const image = pseudoRandomBytes(512 * 1024, 3);
    const job = updater.start(dev.endpoint, image, { method: 'push' });
    let blocks = 0;
    const cancelled = new Promise<FirmwareOutcome>((resolve, reject) => {
      job.on('progress', () => {
        if (++blocks === 20) job.cancel().then(resolve, reject);
      });
    });
    const outcome = await cancelled;
    assert.equal(outcome.status, 'cancelled');
    const puts = (): number => relay.log.filter((e) => e.direction === 'toDevice' && e.message?.code === '0.03').length;
    const sent = puts();
    await delay(200);
    assert.equal(puts(), sent, 'no block after the cancel');
    assert.ok(sent < 25, `${sent} blocks sent`);
    assert.equal(dev.received.length, 0);
    assert.equal(dev.client.firmware?.state, 0);
  });

  it('refuses to cancel once Update was executed (4.05), and the update completes', async () => {
    let release!: () => void;
    const dev = await device({ update: () => new Promise<{ firmwareVersion: string }>((resolve) => (release = () => resolve({ firmwareVersion: '2.0.0' }))) });
    const job = updater.start(dev.endpoint, IMAGE, { method: 'push' });
    await until(() => job.phase === 'updating' && release !== undefined, 5000, 'the update running');
    await assert.rejects(job.cancel(), (err: Error & { code?: string }) => err.code === '4.05');
    release();
    const outcome = await job.done;
    assert.equal(outcome.status, 'succeeded', outcome.message);
  });

  it('a download that takes too long ends with download-timeout and is stopped on the device', async () => {
    const stalled = await stalledHttp();
    closers.push(stalled.close);
    const dev = await device({ downloadTimeoutMs: 10_000 });
    const outcome = await updater.update(dev.endpoint, IMAGE, { packageUri: stalled.uri, downloadTimeoutMs: 500 });
    assert.equal(outcome.reason, 'download-timeout', outcome.message);
    assert.equal(outcome.phase, 'downloading');
    assert.equal(dev.client.firmware?.state, 0, 'the device no longer downloads');
    assert.equal(dev.client.firmware?.result, 10);
  });

  it('a device already holding a package is busy, unless the job forces a reset', async () => {
    const dev = await device({ acceptSha256: undefined });
    await server.write(dev.endpoint, '/5/0/0', IMAGE.subarray(0, 100), { format: 42 });
    assert.equal(dev.client.firmware?.state, 2);
    const busy = await updater.update(dev.endpoint, IMAGE, { method: 'push' });
    assert.equal(busy.reason, 'device-busy', busy.message);
    assert.equal(dev.client.firmware?.state, 2, 'left alone');
    const forced = await updater.update(dev.endpoint, IMAGE, { method: 'push', force: true });
    assert.equal(forced.status, 'succeeded', forced.message);
  });

  it('goes on, with a warning, when the device refuses to reset an old result', async () => {
    // The relay sends the two reset writes (empty URI, '\0' package) to a resource the device does not have.
    const relay = await RewritingRelay.start(server.address().port, (direction, msg) => {
      if (direction !== 'toDevice' || msg.code !== '0.03') return msg;
      const path = msg.options.filter((o) => o.number === 11).map((o) => o.value.toString()).join('/');
      const reset = (path === '5/0/1' && !msg.payload.includes('coap://')) || (path === '5/0/0' && msg.payload.length <= 16);
      if (!reset) return msg;
      const last = msg.options.map((o) => o.number).lastIndexOf(11); // the resource id: 1 or 0 becomes 4
      return { ...msg, options: msg.options.map((o, i) => (i === last ? { number: 11, value: Buffer.from('4') } : o)) };
    });
    closers.push(() => relay.close());
    const dev = await device({ uri: relay.uri });
    const broken = Buffer.from(IMAGE);
    broken[0] ^= 1;
    assert.equal((await updater.update(dev.endpoint, broken, { method: 'push' })).reason, 'integrity-check-failure');
    const warnings: string[] = [];
    const job = updater.start(dev.endpoint, IMAGE, { method: 'pull' });
    job.on('warning', (w) => warnings.push(w));
    const outcome = await job.done;
    assert.equal(outcome.status, 'succeeded', outcome.message);
    assert.ok(warnings.some((w) => /refused the state machine reset: .*4\.04/.test(w)), warnings.join('; '));
    assert.deepEqual(dev.received.at(-1), { size: IMAGE.length, sha256: IMAGE_SHA, delivery: 'pull' });
  });

  it('polls State and Result when the device answers Observe without observing', async () => {
    // The relay removes the Observe option from requests to the device: it answers a plain 2.05.
    const relay = await RewritingRelay.start(server.address().port, (direction, msg) => {
      if (direction !== 'toDevice' || msg.code !== '0.01') return msg;
      const options = msg.options.slice();
      removeOption(options, OptionNumber.Observe);
      return { ...msg, options };
    });
    closers.push(() => relay.close());
    const dev = await device({ uri: relay.uri });
    const modes: string[] = [];
    const job = updater.start(dev.endpoint, IMAGE, { method: 'pull', pollIntervalMs: 50 });
    job.on('follow', (m) => modes.push(m));
    const outcome = await job.done;
    assert.equal(outcome.status, 'succeeded', outcome.message);
    assert.equal(modes[0], 'poll');
    assert.ok(!modes.includes('observe'));
    const stateReads = relay.log.filter((e) => e.direction === 'toDevice' && e.message?.code === '0.01' && e.message.options.some((o) => o.number === 11 && o.value.toString() === '3')).length;
    assert.ok(stateReads >= 3, `${stateReads} reads of State`);
  });

  it('observes State and Result when the device accepts it', async () => {
    const dev = await device();
    const modes: string[] = [];
    const job = updater.start(dev.endpoint, IMAGE, { method: 'push' });
    job.on('follow', (m) => modes.push(m));
    assert.equal((await job.done).status, 'succeeded');
    assert.equal(modes[0], 'observe');
    assert.equal(server.observations(dev.endpoint).length, 0, 'observations cancelled at the end');
  });

  it('auto: push for a push-only device, pull for a pull-only one, push by default when both', async () => {
    const pushOnly = await device({ pull: false });
    const pullOnly = await device({ push: false });
    const both = await device();
    assert.equal((await updater.update(pushOnly.endpoint, IMAGE)).method, 'push');
    assert.equal((await updater.update(pullOnly.endpoint, IMAGE)).method, 'pull');
    const auto = await updater.update(both.endpoint, IMAGE);
    assert.equal(auto.method, 'push');
    assert.equal(auto.status, 'succeeded', auto.message);
    const preferred = await updater.update(both.endpoint, IMAGE, { prefer: 'pull' });
    assert.equal(preferred.method, 'pull');
    assert.equal(preferred.status, 'succeeded', preferred.message);
  });

  it('cannot pull over CoAP from a server on a wildcard address without a base URI', async () => {
    const wide = await startServer({ address: '0.0.0.0' });
    closers.push(() => wide.stop());
    const dev = createDevice(wide, { push: false, acceptSha256: IMAGE_SHA });
    devices.push(dev);
    const registered = registration(wide, dev.endpoint);
    await dev.client.start();
    await registered;
    const blind = new FirmwareUpdater(wide);
    const outcome = await blind.update(dev.endpoint, IMAGE);
    assert.equal(outcome.reason, 'no-delivery-method', outcome.message);
    assert.match(outcome.message, /pull only/);
    const explicit = await blind.update(dev.endpoint, IMAGE, { method: 'pull', pullProtocol: 'coap' });
    assert.equal(explicit.reason, 'configuration', explicit.message);
    assert.match(explicit.message, /set the base URI/);
    const told = new FirmwareUpdater(wide, { coapBaseUri: `coap://127.0.0.1:${wide.address().port}` });
    const ok = await told.update(dev.endpoint, IMAGE);
    assert.equal(ok.status, 'succeeded', ok.message);
    assert.equal(ok.method, 'pull');
    await blind.close();
    await told.close();
  });

  it('one job per device; cancel of an unknown job is 4.04; bad images are refused', async () => {
    const dev = await device();
    const job = updater.start(dev.endpoint, IMAGE, { method: 'push' });
    assert.throws(() => updater.start(dev.endpoint, IMAGE), (err: Error & { code?: string }) => err.code === '4.09');
    assert.equal(updater.job(dev.endpoint), job);
    await job.done;
    assert.equal(updater.job(dev.endpoint), undefined);
    await assert.rejects(updater.cancel(dev.endpoint), (err: Error & { code?: string }) => err.code === '4.04');
    assert.throws(() => updater.start(dev.endpoint, Buffer.alloc(0)), /empty/);
    assert.throws(() => updater.start(dev.endpoint, 'not a buffer' as unknown as Buffer), /Buffer/);
  });
});
