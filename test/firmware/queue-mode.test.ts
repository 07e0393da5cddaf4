import assert from 'node:assert/strict';
import { FirmwareUpdater } from '../../src/server/firmware.js';
import { PhaseTimer, type PhaseExpiry } from '../../src/server/firmware-phase-timer.js';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { delay, pseudoRandomBytes, sha256, startDevice, startServer, until, type TestDevice } from './helpers.js';

const IMAGE = pseudoRandomBytes(8 * 1024, 17);

describe('firmware phase timer', () => {
  function timer(options: { limitMs: number; sleepAllowanceMs: number; asleep: boolean }): { t: PhaseTimer; expired: Promise<PhaseExpiry & { at: number }> } {
    let t!: PhaseTimer;
    const expired = new Promise<PhaseExpiry & { at: number }>((resolve) => {
      t = new PhaseTimer({ ...options, onExpire: (info) => resolve({ ...info, at: Date.now() }) });
    });
    return { t, expired };
  }

  it('is a plain timeout for a device that does not sleep', async () => {
    const start = Date.now();
    const { expired } = timer({ limitMs: 80, sleepAllowanceMs: 0, asleep: false });
    const info = await expired;
    assert.ok(info.at - start >= 78, `${info.at - start} ms`);
    assert.equal(info.asleep, false);
  });

  it('does not count the time the device sleeps (until the allowance runs out)', async () => {
    const start = Date.now();
    const { t, expired } = timer({ limitMs: 100, sleepAllowanceMs: 1000, asleep: true });
    await delay(200);
    assert.ok(t.remainingMs() > 800 && t.remainingMs() <= 900, `remaining ${t.remainingMs()}`);
    t.awake();
    const info = await expired;
    const took = info.at - start;
    assert.ok(took >= 290 && took < 600, `expired after ${took} ms (200 asleep + 100 awake)`);
    assert.equal(info.asleep, false);
    assert.ok(info.sleptMs >= 190 && info.awakeMs >= 98, JSON.stringify(info));
  });

  it('expires when the device sleeps longer than the allowance', async () => {
    const start = Date.now();
    const { t, expired } = timer({ limitMs: 1000, sleepAllowanceMs: 100, asleep: false });
    await delay(50);
    t.sleeping();
    const info = await expired;
    assert.equal(info.asleep, true);
    assert.ok(info.at - start >= 140 && info.at - start < 500, `${info.at - start} ms`);
  });

  it('stop() cancels it', async () => {
    let fired = false;
    const t = new PhaseTimer({ limitMs: 30, sleepAllowanceMs: 0, asleep: false, onExpire: () => (fired = true) });
    t.stop();
    await delay(80);
    assert.equal(fired, false);
  });
});

describe('firmware updates of queue-mode devices', function () {
  this.timeout(20000);
  let server: Lwm2mServer;
  let updater: FirmwareUpdater;
  let dev: TestDevice;

  beforeEach(async () => {
    server = await startServer({ queueMode: { awakeTimeMs: 1000 } });
    updater = new FirmwareUpdater(server);
    dev = await startDevice(server, { queueMode: true, awakeTimeMs: 1000, acceptSha256: sha256(IMAGE) });
    // let it fall asleep on both sides
    await until(() => dev.client.sleeping && !server.isAwake(dev.endpoint), 5000, 'the device asleep');
  });

  afterEach(async () => {
    await updater.close();
    await dev.stop();
    await server.stop();
  });

  it('waits for the device to wake up without counting the sleep against the download deadline', async () => {
    const started = Date.now();
    const job = updater.start(dev.endpoint, { data: IMAGE, version: '2.0.0' }, { method: 'push', downloadTimeoutMs: 600, queueWaitMs: 10_000 });
    await delay(1500);
    assert.equal(job.phase, 'preparing', 'nothing can happen while it sleeps');
    await dev.client.wake(); // the device's Update: queued requests go out
    const outcome = await job.done;
    assert.equal(outcome.status, 'succeeded', outcome.message);
    assert.ok(Date.now() - started >= 1500);
    assert.ok(outcome.timings.preparingMs! >= 1400, `preparing took ${outcome.timings.preparingMs} ms, more than the 600 ms download deadline`);
  });

  it('gives up when the device sleeps longer than the queue wait allowance', async () => {
    const outcome = await updater.update(dev.endpoint, IMAGE, { method: 'push', downloadTimeoutMs: 600, queueWaitMs: 300 });
    assert.equal(outcome.reason, 'download-timeout', outcome.message);
    assert.match(outcome.message, /slept/);
    assert.ok(outcome.timings.totalMs >= 290 && outcome.timings.totalMs < 2000, `${outcome.timings.totalMs} ms`);
  });
});
