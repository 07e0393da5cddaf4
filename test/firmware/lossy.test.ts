import assert from 'node:assert/strict';
import { LossyRelay } from '../coap/helpers.js';
import type { TransmissionParameters } from '../../src/coap/params.js';
import { FirmwareUpdater } from '../../src/server/firmware.js';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { pseudoRandomBytes, seededRandom, sha256, startDevice, startServer, type TestDevice } from './helpers.js';

const IMAGE = pseudoRandomBytes(1024 * 1024, 23);
const IMAGE_SHA = sha256(IMAGE);
const LOSS = 0.2;

/**
 * Short timeouts and many retransmissions: at 20 % loss each way an
 * exchange fails once in 1.56 tries, and a block must not give up.
 */
const LOSSY: Partial<TransmissionParameters> = { ackTimeoutMs: 4, ackRandomFactor: 1.25, maxRetransmit: 12, nstart: Infinity, maxLatencyMs: 1000 };

describe('firmware delivery through a relay that drops 20 % of the datagrams', function () {
  this.timeout(90000);
  let server: Lwm2mServer;
  let relay: LossyRelay;
  let device: TestDevice;
  let updater: FirmwareUpdater;

  beforeEach(async () => {
    server = await startServer({ transmission: LOSSY, requestTimeoutMs: 20000 });
    const random = seededRandom(4242);
    relay = await LossyRelay.start(server.address().port, () => random() < LOSS);
    // The relay decides per datagram; registration goes through it too.
    device = await startDevice(server, {
      uri: `coap://127.0.0.1:${relay.peer.port}`,
      acceptSha256: IMAGE_SHA,
      transmission: LOSSY,
      requestTimeoutMs: 20000,
      downloadTimeoutMs: 20000,
    });
    // Pull goes through the relay as well: the package URI names the relay's address.
    updater = new FirmwareUpdater(server, { coapBaseUri: `coap://127.0.0.1:${relay.peer.port}` });
  });

  afterEach(async () => {
    await updater.close();
    await device.stop();
    relay.close();
    await server.stop();
  });

  function dropRate(): { rate: number; total: number } {
    const total = relay.log.length;
    const dropped = relay.log.filter((e) => e.dropped).length;
    return { rate: dropped / total, total };
  }

  for (const method of ['push', 'pull'] as const) {
    it(`${method}: the device gets the whole image intact`, async () => {
      const started = Date.now();
      const outcome = await updater.update(device.endpoint, IMAGE, { method, requestTimeoutMs: 20000, pollIntervalMs: 200, expectedVersion: '2.0.0' });
      const took = Date.now() - started;
      assert.equal(outcome.status, 'succeeded', outcome.message);
      assert.equal(outcome.method, method);
      assert.deepEqual(device.received, [{ size: IMAGE.length, sha256: IMAGE_SHA, delivery: method }]);
      const { rate, total } = dropRate();
      assert.ok(total > 2000, `${total} datagrams through the relay`);
      assert.ok(rate > 0.15 && rate < 0.25, `drop rate ${rate.toFixed(3)}`);
      // the figure for the report
      console.log(`      ${method} 1 MiB at ${(rate * 100).toFixed(1)} % loss: ${took} ms, ${total} datagrams`);
    });
  }
});
