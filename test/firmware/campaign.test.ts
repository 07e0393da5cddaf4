import assert from 'node:assert/strict';
import { FirmwareUpdater, type FirmwareOutcome } from '../../src/server/firmware.js';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { delay, pseudoRandomBytes, sha256, startDevice, startServer, type TestDevice } from './helpers.js';

const IMAGE = pseudoRandomBytes(64 * 1024, 31);
const IMAGE_SHA = sha256(IMAGE);

describe('firmware campaigns', function () {
  this.timeout(60000);
  let server: Lwm2mServer;
  let updater: FirmwareUpdater;
  let devices: TestDevice[];

  beforeEach(async () => {
    server = await startServer();
    updater = new FirmwareUpdater(server, { defaults: { pollIntervalMs: 100 } });
    devices = [];
  });

  afterEach(async () => {
    await updater.close();
    await Promise.all(devices.map((d) => d.stop()));
    await server.stop();
  });

  it('updates 20 devices five at a time, with per-device outcomes and a summary', async () => {
    const broken = new Set([3, 7]);
    for (let i = 0; i < 20; i++) {
      devices.push(
        await startDevice(server, {
          endpoint: `campaign-${String(i).padStart(2, '0')}`,
          // two devices expect another image: their integrity check fails
          acceptSha256: broken.has(i) ? sha256(Buffer.from('another image')) : IMAGE_SHA,
          // a little install time, so that jobs overlap
          update: async () => {
            await delay(30);
            return { firmwareVersion: '2.0.0' };
          },
          ...(i % 2 === 0 ? { push: false } : {}), // half of them pull
        }),
      );
    }
    const endpoints = [...devices.map((d) => d.endpoint), 'campaign-ghost', devices[0]!.endpoint];
    const campaign = updater.campaign(endpoints, { data: IMAGE, version: '2.0.0' }, { concurrency: 5 });
    let active = 0;
    let peak = 0;
    const doneOrder: string[] = [];
    let listeners = 0;
    campaign.on('jobStarted', () => {
      active++;
      peak = Math.max(peak, active);
      listeners = Math.max(listeners, server.listenerCount('notification'), server.listenerCount('registered'));
    });
    campaign.on('jobDone', (o: FirmwareOutcome) => {
      if (o.jobId !== '') active--;
      doneOrder.push(o.endpoint);
    });
    const summary = await campaign.done;
    assert.equal(listeners, 1, 'one listener per server event, whatever the number of jobs');
    assert.equal(server.listenerCount('notification') + server.listenerCount('registered'), 0, 'none left after the campaign');

    assert.equal(summary.total, 21, 'the repeated endpoint counts once');
    assert.equal(summary.succeeded, 18);
    assert.equal(summary.failed, 3);
    assert.equal(summary.cancelled, 0);
    assert.deepEqual(summary.reasons, { 'integrity-check-failure': 2, 'not-registered': 1 });
    assert.equal(summary.maxConcurrent, 5);
    assert.equal(peak, 5, 'never more than five at a time');
    assert.deepEqual(summary.outcomes.map((o) => o.endpoint), [...devices.map((d) => d.endpoint), 'campaign-ghost']);
    assert.equal(doneOrder.length, 21);
    for (const [i, d] of devices.entries()) {
      const outcome = summary.outcomes[i]!;
      if (broken.has(i)) {
        assert.equal(outcome.reason, 'integrity-check-failure');
        assert.equal(d.installed.length, 0);
      } else {
        assert.equal(outcome.status, 'succeeded', `${d.endpoint}: ${outcome.message}`);
        assert.equal(outcome.method, i % 2 === 0 ? 'pull' : 'push');
        assert.deepEqual(d.received.map((r) => r.sha256), [IMAGE_SHA]);
        assert.equal(await d.client.getValue('/3/0/3'), '2.0.0');
      }
    }
    assert.ok(summary.jobMs !== undefined && summary.jobMs.min <= summary.jobMs.average && summary.jobMs.average <= summary.jobMs.max);
    assert.ok(summary.durationMs >= summary.jobMs.max);
    console.log(`      20 devices, concurrency 5, 64 KiB: ${summary.durationMs} ms (job ${summary.jobMs.min}..${summary.jobMs.max} ms, average ${summary.jobMs.average} ms)`);
  });

  it('cancel: devices not started are cancelled, running downloads are cancelled', async () => {
    for (let i = 0; i < 8; i++) devices.push(await startDevice(server, { endpoint: `cancel-${i}`, acceptSha256: IMAGE_SHA }));
    const big = pseudoRandomBytes(2 * 1024 * 1024, 2);
    const campaign = updater.campaign(devices.map((d) => d.endpoint), big, { concurrency: 2, method: 'push', blockSize: 64 });
    let started = 0;
    await new Promise<void>((resolve) =>
      campaign.on('jobStarted', () => {
        if (++started === 2) resolve();
      }),
    );
    await delay(100); // the first two are pushing by now
    const summary = await campaign.cancel();
    assert.equal(summary.total, 8);
    assert.equal(summary.cancelled, 8);
    assert.equal(summary.succeeded + summary.failed, 0);
    assert.equal(summary.outcomes.filter((o) => o.jobId === '').length, 6, 'six never started');
    assert.ok(devices.every((d) => d.received.length === 0));
  });
});
