/**
 * lwm2m-client, lwm2m-client-in and lwm2m-client-out against a real LwM2M
 * server engine (the test peer): the device registers, the server's
 * operations come out of client-in, and client-out drives values, Send,
 * Update, De-register and Register.
 */
import assert from 'node:assert/strict';
import { ContentFormat } from '../../src/formats/index.js';
import { flattenNode } from '../../src/model/tree.js';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { nextEvent, startServer } from '../server/helpers.js';
import { clientConfig, clientRuntimeOf, clientState, freeUdpPort } from './device-helpers.js';
import { delay, eventually, helper, Inbox, lastStatus, loadFlow, node, PACKAGE_NODES, statuses, TAB } from './helpers.js';

/** The temperature sensor and a light (3311) whose On/Off and Dimmer a server can write. */
const WITH_LIGHT = { objects: '3303/0 3311/0', values: '{"/3303/0": {"5700": 21.5, "5701": "Cel"}, "/3311/0": {"5850": false, "5851": 0}}' };

type Msg = Record<string, unknown> & { lwm2m: Record<string, unknown> };

/** client config + client-in (all events) → 'in' + client-out ← tests, failures → 'caught'. */
function deviceFlow(serverPort: number, configExtra: Record<string, unknown> = {}, inExtra: Record<string, unknown> = {}): object[] {
  return [
    TAB,
    clientConfig(serverPort, 'dev', configExtra),
    { id: 'cin', type: 'lwm2m-client-in', z: 'flow1', client: 'dev', ...inExtra, wires: [['in']] },
    { id: 'in', type: 'helper', z: 'flow1' },
    { id: 'cout', type: 'lwm2m-client-out', z: 'flow1', client: 'dev', operation: 'set', path: '', format: '' },
    { id: 'catch', type: 'catch', z: 'flow1', scope: ['cout'], uncaught: false, x: 100, y: 100, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'flow1' },
  ];
}

/** Next message of `inbox` whose lwm2m.event is `event` (others are skipped). */
async function nextEventMsg(inbox: Inbox, event: string, timeoutMs = 4000): Promise<Msg> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const msg = (await inbox.next(Math.max(50, until - Date.now()))) as Msg;
    if (msg.lwm2m['event'] === event) return msg;
  }
}

describe('nodes: lwm2m-client, lwm2m-client-in, lwm2m-client-out', function () {
  this.timeout(15_000);
  let server: Lwm2mServer;

  beforeEach(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await server.stop();
  });

  async function loadDevice(configExtra: Record<string, unknown> = {}, inExtra: Record<string, unknown> = {}): Promise<{ events: Inbox; caught: Inbox }> {
    await loadFlow(deviceFlow(server.address().port, configExtra, inExtra));
    return { events: new Inbox('in'), caught: new Inbox('caught') };
  }

  it('registers with its settings and reports it, with the state in the status', async () => {
    const registered = nextEvent(server, 'registered');
    const { events } = await loadDevice();
    const [reg] = await registered;
    assert.equal(reg.endpoint, 'dev-1');
    assert.equal(reg.lifetime, 60);
    assert.equal(reg.lwm2mVersion, '1.1');
    assert.ok(reg.objects.some((o) => o.id === 3303 && o.instances.includes(0)), 'the configured instance is announced');

    const msg = (await events.next()) as Msg;
    assert.equal(msg.topic, 'dev-1/registered');
    assert.equal(msg['endpoint'], 'dev-1');
    const payload = msg['payload'] as Record<string, unknown>;
    assert.equal(payload['server'], `coap://127.0.0.1:${server.address().port}`);
    assert.equal(payload['version'], '1.1');
    assert.equal(payload['lifetime'], 60);
    assert.equal(payload['location'], `/rd/${reg.id}`);
    assert.equal(msg.lwm2m['event'], 'registered');
    assert.equal(msg.lwm2m['shortServerId'], 1);

    assert.equal((await server.read('dev-1', '/3/0/0')).value, 'ACME');
    assert.equal((await server.read('dev-1', '/3/0/2')).value, 'dev-1', 'the serial number defaults to the endpoint name');
    assert.equal((await server.read('dev-1', '/3303/0/5701')).value, 'Cel');
    await eventually(() => lastStatus('cin')?.text === `registered 127.0.0.1:${server.address().port} (1.1)`, 'registered status');
    assert.equal(lastStatus('cin')?.fill, 'green');
    assert.equal(lastStatus('cout')?.fill, 'green', 'client-out follows the state too');
  });

  it('emits what the server does: write, execute, create, delete, attributes, observe and its end', async () => {
    const { events } = await loadDevice(WITH_LIGHT);
    await nextEventMsg(events, 'registered');

    await server.write('dev-1', '/3311/0/5850', true);
    const write = await nextEventMsg(events, 'write');
    assert.equal(write.topic, 'dev-1/3311/0/5850');
    assert.equal(write['path'], '/3311/0/5850');
    assert.equal(write['payload'], true);
    assert.equal(write.lwm2m['operation'], 'write');
    assert.equal(write.lwm2m['name'], 'On/Off');
    assert.equal(write.lwm2m['objectName'], 'Light Control');

    await server.write('dev-1', '/3311/0', { 5851: 40 }, { mode: 'update' });
    const update = await nextEventMsg(events, 'write');
    assert.equal(update.lwm2m['operation'], 'write-update');
    assert.deepEqual(update['payload'], { 5851: 40 });

    await server.execute('dev-1', '/3/0/4', "0='soft'");
    const exec = await nextEventMsg(events, 'execute');
    assert.equal(exec.topic, 'dev-1/3/0/4');
    assert.deepEqual(exec['payload'], [{ digit: 0, value: 'soft' }]);
    assert.equal(exec.lwm2m['arguments'], "0='soft'");
    assert.equal(exec.lwm2m['name'], 'Reboot');

    const id = await server.create('dev-1', 3311, { 5850: true, 5851: 70 }, { instanceId: 4 });
    assert.equal(id, 4);
    const create = await nextEventMsg(events, 'create');
    assert.equal(create['path'], '/3311/4');
    assert.deepEqual(create['payload'], { 5850: true, 5851: 70 });

    await server.delete('dev-1', '/3311/4');
    const del = await nextEventMsg(events, 'delete');
    assert.equal(del['path'], '/3311/4');
    assert.equal(del.lwm2m['operation'], 'delete');

    await server.writeAttributes('dev-1', '/3303/0/5700', { pmin: 1, pmax: 30 });
    const attrs = await nextEventMsg(events, 'attributes');
    assert.deepEqual(attrs['payload'], { pmin: 1, pmax: 30 });
    assert.equal(attrs.lwm2m['operation'], 'write-attributes');

    const { observation } = await server.observe('dev-1', '/3303/0/5700');
    const start = await nextEventMsg(events, 'observeStart');
    assert.equal(start['path'], '/3303/0/5700');
    assert.equal(start.lwm2m['operation'], 'observe');
    assert.deepEqual((start['payload'] as { paths: string[] }).paths, ['/3303/0/5700']);
    assert.equal((start['payload'] as { composite: boolean }).composite, false);

    await server.cancelObservation('dev-1', { id: observation.id }, 'active');
    const stop = await nextEventMsg(events, 'observeStop');
    assert.equal(stop['path'], '/3303/0/5700');
    assert.equal(stop.lwm2m['operation'], 'cancel-observe');
  });

  it('emits only the ticked events', async () => {
    const { events } = await loadDevice(WITH_LIGHT, { registered: false, write: false });
    await clientState('registered');
    await server.write('dev-1', '/3311/0/5850', true);
    await server.execute('dev-1', '/3/0/4');
    const got = (await events.next()) as Msg;
    assert.equal(got.lwm2m['event'], 'execute', 'neither the registration nor the write came out');
    assert.deepEqual(await events.drain(100), []);
  });

  it('sets values from msg.path + msg.payload or a path map, which notifies the observing server', async () => {
    await loadDevice();
    await clientState('registered');
    await server.observe('dev-1', '/3303/0/5700');

    const notified = nextEvent(server, 'notification');
    node('cout').receive({ path: '/3303/0/5700', payload: 23.5 });
    const [first] = await notified;
    assert.deepEqual(first.value, { '/3303/0/5700': 23.5 });
    await eventually(() => lastStatus('cout')?.text === 'set /3303/0/5700 = 23.5', 'set status');

    const again = nextEvent(server, 'notification');
    node('cout').receive({ payload: { '/3303/0/5700': 24, '/3303/0/5701': 'K' } });
    assert.deepEqual((await again)[0].value, { '/3303/0/5700': 24 });
    assert.equal((await server.read('dev-1', '/3303/0/5701')).value, 'K');
    await eventually(() => lastStatus('cout')?.text === 'set 2 values', 'set status');
  });

  it('sends current values or given readings (LwM2M Send) to the server', async () => {
    await loadDevice();
    await clientState('registered');
    const sent = nextEvent(server, 'send');
    node('cout').receive({ operation: 'send', path: ['/3303/0/5700', '/3303/0/5701'] });
    const [event] = await sent;
    assert.deepEqual(event.value, { '/3303/0': { 5700: 21.5, 5701: 'Cel' } });
    assert.equal(event.format, ContentFormat.SENML_CBOR);

    const readings = nextEvent(server, 'send');
    node('cout').receive({ operation: 'send', format: 'senml-json', payload: { '/3303/0/5700': [{ value: 19, time: 1_700_000_000 }, { value: 20, time: 1_700_000_060 }] } });
    const [batch] = await readings;
    assert.equal(batch.format, ContentFormat.SENML_JSON);
    assert.deepEqual(batch.value, { '/3303/0': { 5700: 20 } });
    const times = batch.entries.flatMap((e) => flattenNode(e.path, e.node).map((leaf) => leaf.time));
    assert.deepEqual(times, [1_700_000_000, 1_700_000_060]);
  });

  it('updates, de-registers (keeping values that are still set) and registers again', async () => {
    const { events } = await loadDevice();
    await nextEventMsg(events, 'registered');

    const updated = nextEvent(server, 'updated');
    node('cout').receive({ operation: 'update' });
    await updated;
    assert.equal((await nextEventMsg(events, 'updated')).topic, 'dev-1/updated');

    const gone = nextEvent(server, 'deregistered');
    node('cout').receive({ operation: 'deregister' });
    await gone;
    await nextEventMsg(events, 'deregistered');
    await clientState('deregistered');
    await eventually(() => lastStatus('cin')?.text === 'de-registered', 'de-registered status');

    node('cout').receive({ path: '/3303/0/5700', payload: 30.5 });
    await eventually(() => lastStatus('cout')?.text === 'set /3303/0/5700 = 30.5', 'set while de-registered');

    const back = nextEvent(server, 'registered');
    node('cout').receive({ operation: 'register' });
    await back;
    assert.equal((await server.read('dev-1', '/3303/0/5700')).value, 30.5, 'the value set while away is kept');
    assert.equal((await server.read('dev-1', '/3303/0/5701')).value, 'Cel');

    // register while registered: a fresh registration (as after a reboot)
    const fresh = nextEvent(server, 'registered');
    node('cout').receive({ operation: 'register' });
    const [, info] = await fresh;
    assert.ok(info.replaced, 'the new registration replaced the old one');
  });

  it('sends failures to done(err) with msg.lwm2m.code, and sets all values or none', async () => {
    const { caught } = await loadDevice();
    await clientState('registered');
    const failure = async (msg: Record<string, unknown>): Promise<{ code: unknown; message: string }> => {
      node('cout').receive(msg);
      const got = (await caught.next()) as Msg & { error: { message: string } };
      return { code: got.lwm2m['code'], message: got.error.message };
    };
    assert.deepEqual(await failure({ path: '/3303/7/5700', payload: 1 }), {
      code: '4.04',
      message: 'Lwm2mError: /3303/7/5700: the device has no instance /3303/7 (add it to the client\'s objects)',
    });
    assert.equal((await failure({ path: '/3303/0/5700', payload: 'hot' })).code, '4.00');
    assert.match((await failure({ path: '/3303/0/5700' })).message, /msg\.payload is missing/);
    assert.match((await failure({ payload: 5 })).message, /set needs msg\.path/);
    assert.match((await failure({ operation: 'fly' })).message, /unknown operation "fly"/);
    assert.equal((await failure({ operation: 'send', path: '/3303/0/5700', format: 'tlv' })).code, '4.00');

    assert.equal((await failure({ payload: { '/3303/0/5700': 30, '/3303/9/5700': 1 } })).code, '4.04');
    assert.equal((await server.read('dev-1', '/3303/0/5700')).value, 21.5, 'nothing was set');
    assert.equal(lastStatus('cout')?.fill, 'red');
    assert.match(lastStatus('cout')?.text ?? '', /^4\.04 /);
  });

  it('refuses Send from a 1.0 device with 4.04', async () => {
    const { caught } = await loadDevice({ version: '1.0' });
    await clientState('registered');
    node('cout').receive({ operation: 'send', path: '/3303/0/5700' });
    const got = (await caught.next()) as Msg;
    assert.equal(got.lwm2m['code'], '4.04');
    assert.equal(got.lwm2m['operation'], 'send');
  });

  it('reports a refused registration and keeps retrying', async () => {
    await server.stop();
    server = await startServer({ authorize: () => false });
    const { events } = await loadDevice();
    const failed = await nextEventMsg(events, 'registrationFailed');
    assert.equal(failed.lwm2m['code'], '4.03');
    const payload = failed['payload'] as Record<string, unknown>;
    assert.equal(payload['attempt'], 1);
    assert.equal(payload['retryInMs'], 5000);
    assert.equal(payload['operation'], 'register');
    await eventually(() => /^4\.03 .*retry in 5 s$/.test(lastStatus('cin')?.text ?? ''), 'retrying status');
    assert.equal(lastStatus('cin')?.fill, 'red');
  });

  it('goes to sleep and wakes up in queue mode', async () => {
    const { events } = await loadDevice({ queue: true, awake: '0.3' });
    await nextEventMsg(events, 'registered');
    const sleeping = await nextEventMsg(events, 'sleeping');
    assert.deepEqual(sleeping['payload'], { sleeping: true });
    await eventually(() => lastStatus('cin')?.text === 'sleeping (queue mode)', 'sleeping status');
    assert.equal(server.getRegistration('dev-1')?.queueMode, true);
    node('cout').receive({ operation: 'update' });
    const awake = await nextEventMsg(events, 'awake');
    assert.deepEqual(awake['payload'], { sleeping: false });
    await eventually(() => lastStatus('cin')?.fill === 'green', 'registered again after waking');
  });

  it('shows unusable settings in the status and fails messages with 5.03', async () => {
    const { caught } = await loadDevice({ values: '{"/3303/0": 5' });
    assert.equal(clientRuntimeOf().state.status, 'failed');
    assert.match(lastStatus('cin')?.text ?? '', /^initial values is not valid JSON/);
    node('cout').receive({ path: '/3303/0/5700', payload: 1 });
    const got = (await caught.next()) as Msg;
    assert.equal(got.lwm2m['code'], '5.03');
  });

  it('shows values the object model refuses as a failed start', async () => {
    await loadDevice({ values: '{"/3303/0/5700": "warm"}' });
    await clientState('failed');
    assert.match(lastStatus('cin')?.text ?? '', /5700/);
  });

  it('shows "no LwM2M client configured" without a config node', async () => {
    await loadFlow([TAB, { id: 'cin', type: 'lwm2m-client-in', z: 'flow1', client: '', wires: [[]] }]);
    assert.equal(lastStatus('cin')?.text, 'no LwM2M client configured');
  });

  it('does not start a device that no flow node uses', async () => {
    await loadFlow([TAB, clientConfig(server.address().port)]);
    await delay(200);
    assert.equal(clientRuntimeOf().state.status, 'idle');
    assert.equal(server.registrations().length, 0);
  });

  it('de-registers and releases its socket on close, so the next flow binds the same port', async () => {
    const port = await freeUdpPort();
    await loadDevice({ port: String(port) });
    await clientState('registered');
    const gone = nextEvent(server, 'deregistered');
    await helper.unload();
    await gone;
    const back = nextEvent(server, 'registered');
    await loadDevice({ port: String(port) });
    const [reg] = await back;
    assert.equal(reg.peer.port, port);
    assert.equal(statuses('cin')[0]?.text, 'starting', 'the first status is already "starting"');
  });

  it('keeps the PSK identity and key as credentials, out of the flow and the admin API', async () => {
    const flow = deviceFlow(server.address().port);
    helper.settings({ userDir: undefined });
    await helper.load(PACKAGE_NODES, flow, { dev: { identity: 'dev-1-id', key: 'c2VjcmV0' } });
    await clientState('registered');
    assert.deepEqual(clientRuntimeOf().settings?.psk, { identity: 'dev-1-id', key: 'c2VjcmV0' });
    const res = await helper.request().get('/lwm2m/clients');
    assert.equal(res.status, 200);
    const list = res.body as Record<string, unknown>[];
    assert.equal(list.length, 1);
    assert.deepEqual(list[0], {
      id: 'dev',
      name: '',
      endpoint: 'dev-1',
      server: `coap://127.0.0.1:${server.address().port}`,
      version: '1.1',
      objects: ['/3303/0'],
      state: 'registered',
      text: `registered 127.0.0.1:${server.address().port} (1.1)`,
    });
    assert.doesNotMatch(JSON.stringify(res.body), /c2VjcmV0|dev-1-id/);
  });
});
