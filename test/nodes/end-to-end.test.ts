/**
 * Server nodes and device nodes in one flow, as a user builds it: the
 * simulated device (lwm2m-client, -in, -out) registers with the flow's
 * own server (lwm2m-server, -events, -request, -observe), and every
 * exchange shows on both sides.
 */
import assert from 'node:assert/strict';
import type { NodeMessage } from '../../nodes/node-red-types.js';
import { clientConfig, clientState, freeUdpPort } from './device-helpers.js';
import { eventually, helper, Inbox, loadFlow, node, serverConfig, serverOf, TAB } from './helpers.js';

type Lwm2m = Record<string, unknown>;

function lwm2mOf(msg: NodeMessage): Lwm2m {
  return msg.lwm2m as Lwm2m;
}

/** The next message that `match` accepts (others are skipped). */
async function nextMatching(inbox: Inbox, match: (msg: NodeMessage) => boolean, what: string, timeoutMs = 5000): Promise<NodeMessage> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const left = until - Date.now();
    if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms`);
    const msg = await inbox.next(left);
    if (match(msg)) return msg;
  }
}

describe('nodes: server and simulated device in one flow', function () {
  this.timeout(20_000);
  afterEach(() => helper.unload());

  it('registers, reads, writes, executes, observes, sends, de-registers and registers again', async () => {
    const port = await freeUdpPort();
    await loadFlow([
      TAB,
      serverConfig('srv', { port: String(port) }),
      clientConfig(port, 'dev', { endpoint: 'flow-device', objects: '3303/0 3311/0', values: '{"/3303/0": {"5700": 20, "5701": "Cel"}, "/3311/0": {"5850": false}}' }),
      { id: 'events', type: 'lwm2m-events', z: 'flow1', server: 'srv', wires: [['events-out']] },
      { id: 'events-out', type: 'helper', z: 'flow1' },
      { id: 'request', type: 'lwm2m-request', z: 'flow1', server: 'srv', operation: 'read', endpoint: 'flow-device', path: '', wires: [['request-out']] },
      { id: 'request-out', type: 'helper', z: 'flow1' },
      { id: 'observe', type: 'lwm2m-observe', z: 'flow1', server: 'srv', paths: '/3303/0/5700', auto: true, format: '', wires: [['observe-out']] },
      { id: 'observe-out', type: 'helper', z: 'flow1' },
      { id: 'device-in', type: 'lwm2m-client-in', z: 'flow1', client: 'dev', wires: [['device-in-out']] },
      { id: 'device-in-out', type: 'helper', z: 'flow1' },
      { id: 'device-out', type: 'lwm2m-client-out', z: 'flow1', client: 'dev', operation: 'set', path: '/3303/0/5700' },
    ]);
    const events = new Inbox('events-out');
    const answers = new Inbox('request-out');
    const observed = new Inbox('observe-out');
    const deviceIn = new Inbox('device-in-out');

    // registration, seen by both sides; the observe node observes the new device at once
    assert.equal((await nextMatching(events, (m) => m.topic === 'flow-device/registered', 'registered event')).endpoint, 'flow-device');
    assert.equal(lwm2mOf(await nextMatching(deviceIn, (m) => lwm2mOf(m)['event'] === 'registered', 'registered on the device')).event, 'registered');
    assert.equal((await observed.next()).payload, 20);
    assert.equal(lwm2mOf(await nextMatching(deviceIn, (m) => lwm2mOf(m)['event'] === 'observeStart', 'observe start')).path, '/3303/0/5700');

    // the device's temperature changes: a notification
    node('device-out').receive({ payload: 20.7 });
    const notified = await observed.next();
    assert.equal(notified.payload, 20.7);
    assert.equal(lwm2mOf(notified)['operation'], 'notify');

    // read and write from the server side; the write is seen on the device side
    node('request').receive({ path: '/3/0' });
    const device = (await answers.next()).payload as Record<string, unknown>;
    assert.equal(device[0], 'ACME');
    assert.equal(device[1], 'T-1000');
    node('request').receive({ operation: 'write', path: '/3311/0/5850', payload: true });
    assert.equal(lwm2mOf(await answers.next())['code'], '2.04');
    const written = await nextMatching(deviceIn, (m) => lwm2mOf(m)['event'] === 'write', 'write on the device');
    assert.equal(written.path, '/3311/0/5850');
    assert.equal(written.payload, true);
    node('request').receive({ path: '/3311/0/5850' });
    assert.equal((await answers.next()).payload, true);

    // create and delete an instance, write attributes
    node('request').receive({ operation: 'create', path: '/3311/1', payload: { 5850: true } });
    assert.equal((await answers.next()).path, '/3311/1');
    assert.deepEqual((await nextMatching(deviceIn, (m) => lwm2mOf(m)['event'] === 'create', 'create')).payload, { 5850: true });
    node('request').receive({ operation: 'delete', path: '/3311/1' });
    await answers.next();
    assert.equal((await nextMatching(deviceIn, (m) => lwm2mOf(m)['event'] === 'delete', 'delete')).path, '/3311/1');
    node('request').receive({ operation: 'write-attributes', path: '/3303/0/5700', payload: { pmin: 0, pmax: 300 } });
    await answers.next();
    assert.deepEqual((await nextMatching(deviceIn, (m) => lwm2mOf(m)['event'] === 'attributes', 'attributes')).payload, { pmin: 0, pmax: 300 });

    // Send: from the device to the server's events
    node('device-out').receive({ operation: 'send', path: '/3303/0/5700' });
    assert.deepEqual((await nextMatching(events, (m) => m.topic === 'flow-device/send', 'send event')).payload, { '/3303/0': { 5700: 20.7 } });

    // Execute (reboot) from the server, seen on the device side
    node('request').receive({ operation: 'execute', path: '/3/0/4' });
    assert.equal(lwm2mOf(await answers.next())['code'], '2.04');
    assert.equal((await nextMatching(deviceIn, (m) => lwm2mOf(m)['event'] === 'execute', 'execute')).path, '/3/0/4');

    // De-register, then register again: the observe node observes the device again
    node('device-out').receive({ operation: 'deregister' });
    await nextMatching(events, (m) => m.topic === 'flow-device/deregistered', 'deregistered event');
    await clientState('deregistered');
    const server = await serverOf('srv');
    await eventually(() => server.observations('flow-device').length === 0, 'the observation ended with the registration');
    node('device-out').receive({ payload: 19.5 });
    node('device-out').receive({ operation: 'register' });
    await nextMatching(events, (m) => m.topic === 'flow-device/registered', 'registered again');
    assert.equal((await observed.next()).payload, 19.5, 'observed again, with the value set while away');
  });
});
