import assert from 'node:assert/strict';
import { codecFor, ContentFormat } from '../../src/formats/index.js';
import { instanceNode, resourceNode, value } from '../../src/model/value.js';
import { ScriptedClient } from '../server/helpers.js';
import { helper, Inbox, loadFlow, registerDevice, serverConfig, serverOf, TAB } from './helpers.js';

function eventsFlow(flags: Record<string, boolean> = {}): object[] {
  return [
    TAB,
    serverConfig(),
    { id: 'ev', type: 'lwm2m-events', z: 'flow1', server: 'srv', ...flags, wires: [['out']] },
    { id: 'out', type: 'helper', z: 'flow1' },
  ];
}

describe('nodes: lwm2m-events', function () {
  this.timeout(10_000);
  let clients: ScriptedClient[] = [];
  afterEach(async () => {
    for (const c of clients) await c.close();
    clients = [];
    await helper.unload();
  });

  it('emits registered, updated and deregistered with a plain registration summary', async () => {
    await loadFlow(eventsFlow());
    const inbox = new Inbox('out');
    const client = await registerDevice('srv', 'sensor-1', { objects: '</1/0>,</3>;ver=1.1,</3/0>,</3303/0>,</3303/1>' });
    clients.push(client);

    const reg = await inbox.next();
    assert.equal(reg.topic, 'sensor-1/registered');
    assert.equal(reg.endpoint, 'sensor-1');
    const lwm2m = reg.lwm2m as Record<string, unknown>;
    assert.equal(lwm2m['event'], 'registered');
    assert.equal(lwm2m['endpoint'], 'sensor-1');
    assert.equal(typeof lwm2m['registration'], 'string');
    assert.equal(typeof lwm2m['timestamp'], 'number');
    const payload = reg.payload as Record<string, unknown>;
    assert.equal(payload['endpoint'], 'sensor-1');
    assert.equal(payload['lifetime'], 60);
    assert.equal(payload['version'], '1.1');
    assert.equal(payload['binding'], 'U');
    assert.equal(payload['queueMode'], false);
    assert.equal(payload['registrationId'], lwm2m['registration']);
    assert.match(String(payload['address']), /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(payload['objects'], [
      { id: 1, name: 'LwM2M Server', instances: [0] },
      { id: 3, name: 'Device', version: '1.1', instances: [0] },
      { id: 3303, name: 'Temperature', instances: [0, 1] },
    ]);
    assert.doesNotThrow(() => JSON.stringify(payload), 'the summary is plain JSON');

    assert.equal((await client.update(['lt=120'])).code, '2.04');
    const upd = await inbox.next();
    assert.equal(upd.topic, 'sensor-1/updated');
    assert.equal((upd.payload as { lifetime: number }).lifetime, 120);
    assert.deepEqual((upd.lwm2m as { changed: string[] }).changed, ['lifetime']);

    assert.equal((await client.deregister()).code, '2.02');
    const dereg = await inbox.next();
    assert.equal(dereg.topic, 'sensor-1/deregistered');
    assert.equal((dereg.lwm2m as { event: string }).event, 'deregistered');
  });

  it('emits Send data as plain values by path, with names from the model', async () => {
    await loadFlow(eventsFlow({ registered: false }));
    const inbox = new Inbox('out');
    const client = await registerDevice('srv', 'sensor-2');
    clients.push(client);
    const reading = [{ path: [3303, 0], node: instanceNode(0, [resourceNode(5700, value.float(21.5)), resourceNode(5701, value.string('Cel'))]) }];
    assert.equal((await client.send(codecFor(ContentFormat.SENML_CBOR).encode(reading), ContentFormat.SENML_CBOR)).code, '2.04');
    const msg = await inbox.next();
    assert.equal(msg.topic, 'sensor-2/send');
    assert.deepEqual(msg.payload, { '/3303/0': { 5700: 21.5, 5701: 'Cel' } });
    const lwm2m = msg.lwm2m as Record<string, unknown>;
    assert.equal(lwm2m['event'], 'send');
    assert.equal(lwm2m['format'], 'senml-cbor');
    assert.equal(lwm2m['contentFormat'], ContentFormat.SENML_CBOR);
    assert.deepEqual(lwm2m['resources'], {
      '/3303/0/5700': { name: 'Sensor Value', type: 'float' },
      '/3303/0/5701': { name: 'Sensor Units', type: 'string' },
    });
    assert.equal(lwm2m['records'], undefined, 'no timestamps, no records');
  });

  it('keeps the time series of a timestamped Send in msg.lwm2m.records', async () => {
    await loadFlow(eventsFlow({ registered: false }));
    const inbox = new Inbox('out');
    const client = await registerDevice('srv', 'sensor-3');
    clients.push(client);
    const series = [
      { path: [3303, 0, 5700], node: resourceNode(5700, value.float(20), 1_700_000_000) },
      { path: [3303, 0, 5700], node: resourceNode(5700, value.float(21), 1_700_000_060) },
    ];
    await client.send(codecFor(ContentFormat.SENML_JSON).encode(series), ContentFormat.SENML_JSON);
    const msg = await inbox.next();
    assert.deepEqual(msg.payload, { '/3303/0': { 5700: 21 } }, 'the payload holds the latest value');
    assert.deepEqual((msg.lwm2m as { records: unknown }).records, [
      { path: '/3303/0/5700', value: 20, time: new Date(1_700_000_000_000) },
      { path: '/3303/0/5700', value: 21, time: new Date(1_700_000_060_000) },
    ]);
  });

  it('emits only the ticked events', async () => {
    await loadFlow(eventsFlow({ registered: false, updated: true, deregistered: false }));
    const inbox = new Inbox('out');
    const client = await registerDevice('srv', 'sensor-4');
    clients.push(client);
    await client.update(['lt=90']);
    const msg = await inbox.next();
    assert.equal(msg.topic, 'sensor-4/updated', 'registered was skipped');
    await client.deregister();
    assert.deepEqual(await inbox.drain(150), [], 'deregistered was skipped');
  });

  it('reports expiry', async () => {
    await loadFlow([
      TAB,
      serverConfig('srv', { grace: '0' }),
      { id: 'ev', type: 'lwm2m-events', z: 'flow1', server: 'srv', wires: [['out']] },
      { id: 'out', type: 'helper', z: 'flow1' },
    ]);
    const inbox = new Inbox('out');
    const server = await serverOf();
    const client = await ScriptedClient.connect(server);
    clients.push(client);
    await client.register(['ep=short-lived', 'lt=1', 'lwm2m=1.1'], '</3/0>');
    assert.equal((await inbox.next()).topic, 'short-lived/registered');
    const expired = await inbox.next(4000);
    assert.equal(expired.topic, 'short-lived/expired');
    assert.equal((expired.lwm2m as { event: string }).event, 'expired');
  });

  it('reports a queue-mode device waking up and falling asleep after the configured awake time', async () => {
    await loadFlow([
      TAB,
      serverConfig('srv', { awake: '0.3' }),
      { id: 'ev', type: 'lwm2m-events', z: 'flow1', server: 'srv', registered: false, wires: [['out']] },
      { id: 'out', type: 'helper', z: 'flow1' },
    ]);
    const inbox = new Inbox('out');
    const client = await registerDevice('srv', 'sleepy', { query: ['Q'] });
    clients.push(client);
    const awake = await inbox.next();
    assert.equal(awake.topic, 'sleepy/awake');
    assert.equal((awake.payload as { queueMode: boolean }).queueMode, true);
    const started = Date.now();
    const sleeping = await inbox.next(3000);
    assert.equal(sleeping.topic, 'sleepy/sleeping');
    assert.ok(Date.now() - started >= 200, 'not before the awake time');
  });

  it('stops emitting once closed', async () => {
    await loadFlow(eventsFlow());
    const server = await serverOf();
    assert.ok(server.listenerCount('registered') > 0);
    const runtimeEvents = (helper.getNode('srv')?.runtime?.events)!;
    assert.equal(runtimeEvents.listenerCount('registered'), 1);
    await helper.unload();
    assert.equal(runtimeEvents.listenerCount('registered'), 0, 'the events node unsubscribed');
  });
});
