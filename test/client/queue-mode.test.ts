import assert from 'node:assert/strict';
import type { CoapResponse } from '../../src/coap/api.js';
import type { Lwm2mClient } from '../../src/client/client.js';
import { ManualClock } from '../../src/client/clock.js';
import { ScriptedServer, settle, startRegistered, testClient, until } from './helpers.js';

describe('client queue mode', function () {
  this.timeout(15000);
  let server: ScriptedServer;
  let client: Lwm2mClient;
  let clock: ManualClock;

  async function setup(storing: boolean, version: '1.0' | '1.1' | '1.2' = '1.1'): Promise<void> {
    server = await ScriptedServer.start();
    clock = new ManualClock();
    client = testClient(server, {
      clock,
      lwm2mVersion: version,
      awakeTimeMs: 5000,
      objectVersions: { 3303: '1.1' },
      objects: { 3303: { 0: { 5700: 20 } } },
      servers: [{ uri: server.uri, lifetime: 600, queueMode: true, notificationStoring: storing }],
    });
    await startRegistered(client);
  }

  afterEach(async () => {
    await client.stop({ timeoutMs: 300 });
    await server.close();
  });

  async function observeSensor(): Promise<CoapResponse[]> {
    assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5700', query: ['pmin=0'] })).code, '2.04');
    const obs = server.observe({ path: '/3303/0/5700', accept: 0 });
    const got: CoapResponse[] = [];
    obs.on('notification', (n) => got.push(n));
    await obs.ready;
    return got;
  }

  it('sleeps after the awake window and answers nothing while asleep', async () => {
    await setup(true);
    const events: string[] = [];
    client.on('sleeping', () => events.push('sleeping'));
    client.on('awake', () => events.push('awake'));
    assert.equal((await server.request({ path: '/3303/0/5700', accept: 0 })).code, '2.05');
    clock.advance(4999);
    assert.equal(client.sleeping, false);
    clock.advance(1);
    assert.equal(client.sleeping, true);
    assert.deepEqual(events, ['sleeping']);
    await assert.rejects(server.request({ path: '/3303/0/5700', accept: 0, timeoutMs: 300 }), /timeout|respond|Timeout/i);
  });

  it('each exchange restarts the awake window', async () => {
    await setup(true);
    clock.advance(4000);
    await server.request({ path: '/3/0/0', accept: 0 });
    clock.advance(4000);
    assert.equal(client.sleeping, false);
    clock.advance(1000);
    assert.equal(client.sleeping, true);
  });

  it('stores notifications while asleep and sends them after the Update on wake', async () => {
    await setup(true);
    const got = await observeSensor();
    clock.advance(5000);
    assert.equal(client.sleeping, true);
    client.setValue('/3303/0/5700', 21);
    await client.observations.idle();
    client.setValue('/3303/0/5700', 22);
    await client.observations.idle();
    await settle(50);
    assert.equal(got.length, 0, 'nothing leaves while asleep');
    assert.equal(client.storedNotifications(1), 2);
    const updatesBefore = server.updates().length;
    const updateSeenWithNotifications: number[] = [];
    server.on('uplink', (u) => {
      if (u.path.startsWith('/rd/')) updateSeenWithNotifications.push(got.length);
    });
    await client.wake();
    assert.equal(server.updates().length, updatesBefore + 1, 'Update first');
    await until(() => got.length === 2, 3000, 'stored notifications');
    assert.deepEqual(updateSeenWithNotifications, [0], 'no notification before the Update');
    assert.deepEqual(got.map((n) => n.payload.toString()), ['21', '22'], 'in order, with their own values');
    assert.equal(client.storedNotifications(1), 0);
  });

  it('keeps at most hqmax stored notifications per observation (the newest)', async () => {
    await setup(true, '1.2');
    const got = await observeSensor();
    assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5700', query: ['hqmax=2'] })).code, '2.04');
    clock.advance(5000);
    for (const v of [41, 42, 43]) {
      client.setValue('/3303/0/5700', v);
      await client.observations.idle();
    }
    assert.equal(client.storedNotifications(1), 2);
    await client.wake();
    await until(() => got.length === 2, 3000, 'stored notifications');
    await settle(50);
    assert.deepEqual(got.map((n) => n.payload.toString()), ['42', '43']);
  });

  it('discards notifications while asleep when /1/x/6 is false', async () => {
    await setup(false);
    const got = await observeSensor();
    clock.advance(5000);
    client.setValue('/3303/0/5700', 30);
    await client.observations.idle();
    assert.equal(client.storedNotifications(1), 0);
    await client.wake();
    await settle(100);
    assert.deepEqual(got.map((n) => n.payload.toString()), []);
  });

  it('wakes up for its registration Update and flushes stored notifications then', async () => {
    await setup(true, '1.0');
    const got = await observeSensor();
    clock.advance(5000);
    assert.equal(client.sleeping, true);
    client.setValue('/3303/0/5700', 25);
    await client.observations.idle();
    const awake = new Promise<void>((r) => client.once('awake', () => r()));
    clock.advance(600_000 - 60_000 - 5000); // lt=600: update due at 540 s after registration
    await awake;
    await until(() => got.length === 1, 3000, 'flushed notification');
    assert.equal(got[0]!.payload.toString(), '25');
  });
});
