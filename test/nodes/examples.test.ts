/**
 * Every example flow under examples/ loads in Node-RED with no unknown node
 * type, and does what its comment says against a scripted device named
 * "demo-device". Debug nodes are swapped for helper nodes to see their
 * messages, and the server is moved to a free loopback port.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { codecFor, ContentFormat } from '../../src/formats/index.js';
import { instanceNode, resourceNode, value } from '../../src/model/value.js';
import type { ScriptedClient } from '../server/helpers.js';
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
};
/** Types Node-RED itself provides (flow containers, and nodes the helper preloads). */
const BUILT_IN = new Set(['tab', 'catch', 'status', 'complete']);

function packageTypes(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };
  return Object.keys(pkg['node-red'].nodes);
}

function loadExample(file: string): FlowNode[] {
  return JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as FlowNode[];
}

/** The example made testable: server on 127.0.0.1 port 0 without a file; debug → helper unless kept. */
function testable(flow: FlowNode[], keepDebug: boolean): FlowNode[] {
  return flow.map((n) => {
    if (n.type === 'debug' && !keepDebug) return { id: n.id, type: 'helper', z: n.z, name: n.name } as FlowNode;
    if (n.type === 'lwm2m-server') return { ...n, address: '127.0.0.1', port: '0', persist: false };
    return n;
  });
}

function byName(flow: FlowNode[], type: string, name: string): string {
  const found = flow.find((n) => n.type === type && n.name === name);
  if (!found) throw new Error(`no ${type} named "${name}"`);
  return found.id;
}

async function loadTestable(flow: FlowNode[], keepDebug = false): Promise<FlowNode[]> {
  const flowNodes = [
    ...PACKAGE_NODES,
    ...Object.values(CORE_NODES).map((f) => coreNode(f)),
  ];
  const ready = testable(flow, keepDebug);
  helper.settings({ userDir: undefined });
  await helper.load(flowNodes, ready);
  return ready;
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
    for (const type of packageTypes().filter((t) => t !== 'lwm2m-server')) assert.ok(files.includes(`${type}.json`), `examples/${type}.json`);
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

  it('demo-end-to-end: events, a read of /3/0 and the temperature observation against demo-device', async () => {
    const flow = await loadTestable(loadExample('demo-end-to-end.json'));
    const serverId = flow.find((n) => n.type === 'lwm2m-server')!.id;
    assert.equal(loadExample('demo-end-to-end.json').find((n) => n.type === 'lwm2m-server')?.['address'], '127.0.0.1');
    const events = new Inbox(byName(flow, 'helper', 'events'));
    const deviceObject = new Inbox(byName(flow, 'helper', 'device object'));
    const temperature = new Inbox(byName(flow, 'helper', 'temperature'));
    client = await demoDevice(serverId);

    assert.equal((await events.next()).topic, 'demo-device/registered');
    const observed = await temperature.next();
    assert.equal(observed.payload, 20.5);

    node(byName(flow, 'inject', 'read /3/0')).receive({});
    const read = await deviceObject.next();
    assert.deepEqual(read.payload, { 0: 'Demo Inc.', 9: 87 });
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
});
