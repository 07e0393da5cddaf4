/**
 * Every example flow under examples/ loads in Node-RED with no unknown node
 * type, and does what its comment says: the server-side examples against a
 * scripted device named "demo-device", the device-side examples against a
 * server engine, the bootstrap example against a device asking for a
 * bootstrap, and the end-to-end demo on its own (its server and its
 * simulated device in one flow). Debug nodes are swapped for helper nodes
 * to see their messages, servers move to free loopback ports, and inject
 * nodes fire only when a test says so.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { codecFor, ContentFormat } from '../../src/formats/index.js';
import { instanceNode, resourceNode, value } from '../../src/model/value.js';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { nextEvent, startServer, type ScriptedClient } from '../server/helpers.js';
import { BootstrappingDevice, bootstrapRuntimeOfNode, freeUdpPort } from './device-helpers.js';
import type { NodeMessage } from '../../nodes/node-red-types.js';
import { coreNode, eventually, helper, Inbox, node, PACKAGE_NODES, registerDevice, serverOf } from './helpers.js';

const ROOT = resolve(__dirname, '..', '..', '..');
const EXAMPLES = join(ROOT, 'examples');

interface FlowNode {
  id: string;
  type: string;
  name?: string;
  z?: string;
  [key: string]: unknown;
}

/** Core node types the examples use, and their modules in @node-red/nodes. */
const CORE_NODES: Record<string, string> = {
  inject: 'common/20-inject.js',
  debug: 'common/21-debug.js',
  comment: 'common/90-comment.js',
  switch: 'function/10-switch.js',
  function: 'function/10-function.js',
};
/** Config node types of the package: no example of their own, they come with the flow nodes. */
const CONFIG_TYPES = new Set(['lwm2m-server', 'lwm2m-client', 'lwm2m-bootstrap-server']);
/** Types Node-RED itself provides (flow containers, and nodes the helper preloads). */
const BUILT_IN = new Set(['tab', 'catch', 'status', 'complete']);

function packageTypes(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
  return Object.keys(pkg['node-red'].nodes);
}

function loadExample(file: string): FlowNode[] {
  return JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as FlowNode[];
}

interface Ports {
  /** Port of the example's LwM2M server (default: any). */
  readonly server?: number;
  /** Where the example's simulated devices register: coap://127.0.0.1:<port>. */
  readonly devicesTo?: number;
}

/**
 * The example made testable: servers on 127.0.0.1 without a file, devices
 * pointed at the test's server, inject nodes without timers (tests fire
 * them), debug → helper unless kept.
 */
function testable(flow: FlowNode[], keepDebug: boolean, ports: Ports = {}): FlowNode[] {
  return flow.map((n) => {
    if (n.type === 'debug' && !keepDebug) return { id: n.id, type: 'helper', z: n.z, name: n.name } as FlowNode;
    if (n.type === 'lwm2m-server') return { ...n, address: '127.0.0.1', port: String(ports.server ?? 0), persist: false };
    if (n.type === 'lwm2m-bootstrap-server') return { ...n, address: '127.0.0.1', port: '0', persist: false };
    if (n.type === 'lwm2m-client' && ports.devicesTo !== undefined) return { ...n, uri: `coap://127.0.0.1:${ports.devicesTo}` };
    if (n.type === 'inject') return { ...n, once: false, repeat: '' };
    return n;
  });
}

function byName(flow: FlowNode[], type: string, name: string): string {
  const found = flow.find((n) => n.type === type && n.name === name);
  if (!found) throw new Error(`no ${type} named "${name}"`);
  return found.id;
}

async function loadTestable(flow: FlowNode[], keepDebug = false, ports: Ports = {}): Promise<FlowNode[]> {
  const flowNodes = [
    ...PACKAGE_NODES,
    ...Object.values(CORE_NODES).map((f) => coreNode(f)),
  ];
  const ready = testable(flow, keepDebug, ports);
  helper.settings({ userDir: undefined });
  await helper.load(flowNodes, ready);
  return ready;
}

/**
 * Ticks a random-walk thermometer until the observer hears of it: a tick
 * may draw the value it already had, and an unchanged value notifies nobody.
 */
async function untilChanged<T>(tick: () => void, heard: () => Promise<T>, ticks = 20): Promise<T> {
  for (let i = 1; ; i++) {
    tick();
    try {
      return await heard();
    } catch (err) {
      if (i >= ticks) throw err;
    }
  }
}

/** The next message with this topic (others are skipped: Updates, say). */
async function nextWithTopic(inbox: Inbox, topic: string, timeoutMs = 5000): Promise<NodeMessage> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const msg = await inbox.next(Math.max(50, until - Date.now()));
    if (msg.topic === topic) return msg;
  }
}

/** The next message whose msg.lwm2m.event is `event`. */
async function nextWithEvent(inbox: Inbox, event: string, timeoutMs = 5000): Promise<NodeMessage> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const msg = await inbox.next(Math.max(50, until - Date.now()));
    if ((msg.lwm2m as { event?: string } | undefined)?.event === event) return msg;
  }
}

/** demo-device: a 1.1 client with Device and Temperature that accepts every observation. */
async function demoDevice(serverId: string): Promise<ScriptedClient> {
  const client = await registerDevice(serverId, 'demo-device', { objects: '</1/0>,</3/0>,</3303/0>' });
  client.answer((req) => {
    const path = req.path.join('/');
    if (req.method === 'PUT') return { code: '2.04' };
    if (req.observe === 0) {
      req.acceptObservation();
      return { code: '2.05', contentFormat: ContentFormat.TEXT, payload: path === '3/0/9' ? '87' : '20.5' };
    }
    if (req.method === 'GET' && path === '3/0') {
      const format = req.accept ?? ContentFormat.SENML_CBOR;
      const device = instanceNode(0, [resourceNode(0, value.string('Demo Inc.')), resourceNode(9, value.integer(87))]);
      return { code: '2.05', contentFormat: format, payload: codecFor(format).encode([{ path: [3, 0], node: device }]) };
    }
    return { code: '4.04' };
  });
  return client;
}

describe('nodes: example flows', function () {
  this.timeout(15_000);
  let client: ScriptedClient | undefined;
  afterEach(async () => {
    await client?.close();
    client = undefined;
    await helper.unload();
  });

  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));

  it('has one example per flow node and the end-to-end demo', () => {
    for (const type of packageTypes().filter((t) => !CONFIG_TYPES.has(t))) assert.ok(files.includes(`${type}.json`), `examples/${type}.json`);
    assert.ok(files.includes('demo-end-to-end.json'));
  });

  for (const file of files) {
    it(`${file} uses known node types only, explains itself, and loads`, async () => {
      const flow = loadExample(file);
      const known = new Set([...packageTypes(), ...Object.keys(CORE_NODES), ...BUILT_IN]);
      for (const n of flow) assert.ok(known.has(n.type), `${file}: unknown node type ${n.type}`);
      assert.ok(flow.some((n) => n.type === 'comment' && typeof n['info'] === 'string' && n['info'].length > 40), `${file} has a comment that explains it`);
      const ids = new Set(flow.map((n) => n.id));
      assert.equal(ids.size, flow.length, 'ids are unique');
      for (const n of flow) {
        for (const out of (n['wires'] as string[][] | undefined) ?? []) for (const target of out) assert.ok(ids.has(target), `${file}: ${n.id} is wired to missing ${target}`);
      }
      const loaded = await loadTestable(flow, true);
      for (const n of loaded) if (n.type !== 'tab') assert.ok(helper.getNode(n.id), `${file}: node ${n.id} (${n.type}) was created`);
    });
  }

  it('demo-end-to-end: registration, device info, live temperature, Send, and a reboot the device answers', async () => {
    const original = loadExample('demo-end-to-end.json');
    const server = original.find((n) => n.type === 'lwm2m-server')!;
    const device = original.find((n) => n.type === 'lwm2m-client')!;
    assert.equal(server['address'], '127.0.0.1');
    assert.equal(server['port'], '5683');
    assert.equal(device['uri'], 'coap://127.0.0.1:5683', 'the simulated device registers with the demo server');
    const every5s = original.find((n) => n.type === 'inject' && n.name === 'every 5 s')!;
    assert.equal(every5s['repeat'], '5');
    assert.equal(every5s['once'], true, 'the temperature runs without a click');

    const port = await freeUdpPort();
    const flow = await loadTestable(original, false, { server: port, devicesTo: port });
    const events = new Inbox(byName(flow, 'helper', 'events'));
    const deviceObject = new Inbox(byName(flow, 'helper', 'device object'));
    const temperature = new Inbox(byName(flow, 'helper', 'temperature'));
    const deviceSide = new Inbox(byName(flow, 'helper', 'device side'));
    const rebootResult = new Inbox(byName(flow, 'helper', 'reboot result'));
    const failures = new Inbox(byName(flow, 'helper', 'failures'));

    const registered = await nextWithTopic(events, 'demo-device/registered');
    assert.deepEqual((registered.payload as { objects: { id: number }[] }).objects.map((o) => o.id), [1, 3, 3303]);
    assert.equal((await temperature.next()).payload, 21.5, 'observed from registration on');

    const notified = await untilChanged(() => node(byName(flow, 'inject', 'every 5 s')).receive({}), () => temperature.next(300));
    assert.equal((notified.lwm2m as { operation: string }).operation, 'notify');
    const t = notified.payload as number;
    assert.ok(t >= 15 && t <= 30 && t !== 21.5, `a drifting temperature, got ${t}`);

    node(byName(flow, 'inject', 'read /3/0')).receive({});
    const info = (await deviceObject.next()).payload as Record<string, unknown>;
    assert.equal(info[0], 'LwM2M toolkit demo');
    assert.equal(info[1], 'virtual thermometer');
    assert.equal(info[2], 'demo-device');
    assert.equal(info[3], '1.0.0');

    node(byName(flow, 'inject', 'send every 30 s')).receive({});
    const sent = await nextWithTopic(events, 'demo-device/send');
    assert.deepEqual(sent.payload, { '/3303/0': { 5700: t } });

    node(byName(flow, 'inject', 'reboot demo-device')).receive({});
    assert.equal(((await rebootResult.next()).lwm2m as { code: string }).code, '2.04');
    const executed = await nextWithEvent(deviceSide, 'execute');
    assert.equal(executed.path, '/3/0/4');
    const again = await nextWithTopic(events, 'demo-device/registered');
    assert.equal(typeof (again.lwm2m as { replaced?: string }).replaced, 'string', 'the device registered again, replacing its registration');
    assert.equal((await temperature.next()).payload, t, 'observed again after the new registration, with the current value');
    assert.deepEqual(await failures.drain(50), []);
  });

  it('lwm2m-events: registrations and Send data take different debug nodes', async () => {
    const flow = await loadTestable(loadExample('lwm2m-events.json'));
    const serverId = flow.find((n) => n.type === 'lwm2m-server')!.id;
    const registrations = new Inbox(byName(flow, 'helper', 'registrations'));
    const sent = new Inbox(byName(flow, 'helper', 'Send data'));
    client = await demoDevice(serverId);
    assert.equal((await registrations.next()).topic, 'demo-device/registered');
    const reading = [{ path: [3303, 0, 5700], node: resourceNode(5700, value.float(23)) }];
    await client.send(codecFor(ContentFormat.SENML_JSON).encode(reading), ContentFormat.SENML_JSON);
    assert.deepEqual((await sent.next()).payload, { '/3303/0': { 5700: 23 } });
  });

  it('lwm2m-request: the read inject reads /3/0 and an unknown device reaches the catch node', async () => {
    const flow = await loadTestable(loadExample('lwm2m-request.json'));
    const serverId = flow.find((n) => n.type === 'lwm2m-server')!.id;
    const answer = new Inbox(byName(flow, 'helper', 'answer'));
    const failure = new Inbox(byName(flow, 'helper', 'failure'));
    node(byName(flow, 'inject', 'read /3/0')).receive({});
    assert.equal(((await failure.next()).lwm2m as { code: string }).code, '4.04', 'before demo-device registered');
    client = await demoDevice(serverId);
    await serverOf(serverId);
    node(byName(flow, 'inject', 'read /3/0')).receive({});
    assert.deepEqual((await answer.next()).payload, { 0: 'Demo Inc.', 9: 87 });
  });

  it('lwm2m-observe: temperature of every device, battery on demand', async () => {
    const flow = await loadTestable(loadExample('lwm2m-observe.json'));
    const serverId = flow.find((n) => n.type === 'lwm2m-server')!.id;
    const temperature = new Inbox(byName(flow, 'helper', 'temperature'));
    const battery = new Inbox(byName(flow, 'helper', 'battery level'));
    client = await demoDevice(serverId);
    assert.equal((await temperature.next()).payload, 20.5);
    node(byName(flow, 'inject', 'observe battery')).receive({});
    assert.equal((await battery.next()).payload, 87);
    node(byName(flow, 'inject', 'cancel')).receive({});
    const server = await serverOf(serverId);
    const paths = () => server.observations('demo-device').map((o) => o.paths[0]?.join('/'));
    await eventually(() => !paths().includes('3/0/9'), 'the battery observation cancelled');
    assert.deepEqual(server.observations('demo-device').map((o) => o.paths[0]?.join('/')), ['3303/0/5700']);
  });
  describe('device-side and bootstrap examples', () => {
    let server: Lwm2mServer | undefined;
    let device: BootstrappingDevice | undefined;
    afterEach(async () => {
      await helper.unload();
      await server?.stop();
      await device?.close();
      server = device = undefined;
    });

    it('lwm2m-client-in: the device reports its registration and what the server does to it', async () => {
      server = await startServer();
      const flow = await loadTestable(loadExample('lwm2m-client-in.json'), false, { devicesTo: server.address().port });
      const connection = new Inbox(byName(flow, 'helper', 'connection'));
      const serverDid = new Inbox(byName(flow, 'helper', 'server did'));
      assert.equal((await connection.next()).topic, 'example-light/registered');
      await server.write('example-light', '/3311/0/5850', true);
      const write = await serverDid.next();
      assert.equal(write.topic, 'example-light/3311/0/5850');
      assert.equal(write.payload, true);
      await server.execute('example-light', '/3/0/4');
      assert.equal((await serverDid.next()).path, '/3/0/4');
      assert.deepEqual(await connection.drain(50), [], 'server operations stay off the connection output');
    });

    it('lwm2m-client-out: the random walk notifies, Send arrives, de-register and register work', async () => {
      server = await startServer();
      const registered = nextEvent(server, 'registered');
      const flow = await loadTestable(loadExample('lwm2m-client-out.json'), false, { devicesTo: server.address().port });
      const failures = new Inbox(byName(flow, 'helper', 'failures'));
      assert.equal((await registered)[0].endpoint, 'example-sensor');
      await server.observe('example-sensor', '/3303/0/5700');

      const peer = server;
      const [notification] = await untilChanged(() => node(byName(flow, 'inject', 'every 5 s')).receive({}), () => nextEvent(peer, 'notification', 300));
      const value = notification.value['/3303/0/5700'] as number;
      assert.ok(typeof value === 'number' && value >= 15 && value <= 30 && value !== 21.5, `a drifting temperature, got ${value}`);

      const sent = nextEvent(server, 'send');
      node(byName(flow, 'inject', 'send')).receive({});
      assert.deepEqual((await sent)[0].value, { '/3303/0': { 5700: value } });

      const updated = nextEvent(server, 'updated');
      node(byName(flow, 'inject', 'update')).receive({});
      await updated;
      const gone = nextEvent(server, 'deregistered');
      node(byName(flow, 'inject', 'de-register')).receive({});
      await gone;
      node(byName(flow, 'inject', 'update')).receive({});
      const failure = await failures.next();
      const lwm2m = failure.lwm2m as Record<string, unknown>;
      assert.deepEqual(lwm2m, { endpoint: 'example-sensor', operation: 'update', code: '5.03', timestamp: lwm2m['timestamp'] }, 'no Update while de-registered');
      const back = nextEvent(server, 'registered');
      node(byName(flow, 'inject', 'register')).receive({});
      await back;
      assert.equal((await server.read('example-sensor', '/3303/0/5700')).value, value, 'the value survived the de-registration');
    });

    it('lwm2m-bootstrap: provisions sensor-1, then any device from the default, and lists and removes', async () => {
      const flow = await loadTestable(loadExample('lwm2m-bootstrap.json'));
      const out = new Inbox(byName(flow, 'helper', 'bootstrap'));
      const port = (await bootstrapRuntimeOfNode(flow.find((n) => n.type === 'lwm2m-bootstrap-server')!.id).ready()).address().port;
      node(byName(flow, 'inject', 'provision sensor-1')).receive({});
      const added = await out.next();
      assert.equal((added.lwm2m as { code: string }).code, '2.01');
      assert.equal(added.endpoint, 'sensor-1');

      device = await BootstrappingDevice.open();
      assert.equal(await device.request(port, 'sensor-1'), '2.04');
      assert.equal((await out.next()).topic, 'sensor-1/bootstrap/started');
      const finished = await out.next();
      assert.equal(finished.topic, 'sensor-1/bootstrap/finished');
      assert.deepEqual((finished.payload as { written: string[] }).written, ['/0/1', '/1/0']);

      assert.equal(await device.request(port, 'other-7'), '4.04', 'no default yet');
      assert.equal(((await out.next()).lwm2m as { step: string }).step, 'request');
      node(byName(flow, 'inject', 'default for every device')).receive({});
      assert.equal(((await out.next()).lwm2m as { operation: string }).operation, 'default');
      assert.equal(await device.request(port, 'other-7'), '2.04');
      await out.next();
      assert.equal((await out.next()).topic, 'other-7/bootstrap/finished');

      node(byName(flow, 'inject', 'list')).receive({});
      assert.deepEqual((await out.next()).payload, ['sensor-1']);
      node(byName(flow, 'inject', 'remove sensor-1')).receive({});
      assert.equal((await out.next()).payload, true);
    });
  });
});
