import assert from 'node:assert/strict';
import type { IncomingRequest, OutgoingResponse } from '../../src/coap/api.js';
import { codecFor, ContentFormat, decodeSenmlPaths } from '../../src/formats/index.js';
import { formatPath } from '../../src/model/path.js';
import { flattenNode } from '../../src/model/tree.js';
import { instanceNode, resourceNode, value, type PathNode } from '../../src/model/value.js';
import type { ScriptedClient } from '../server/helpers.js';
import { errors, eventually, helper, Inbox, lastStatus, loadFlow, registerDevice, serverConfig, TAB } from './helpers.js';

const DEVICE: PathNode = {
  path: [3, 0],
  node: instanceNode(0, [
    resourceNode(0, value.string('ACME')),
    resourceNode(9, value.integer(95)),
    resourceNode(13, value.time(new Date(1_700_000_000_000))),
  ]),
};

function requestFlow(defaults: Record<string, unknown> = {}): object[] {
  return [
    TAB,
    serverConfig(),
    { id: 'req', type: 'lwm2m-request', z: 'flow1', server: 'srv', operation: 'read', endpoint: 'dev', path: '', format: '', timeout: '', ...defaults, wires: [['out']] },
    { id: 'out', type: 'helper', z: 'flow1' },
    { id: 'catch', type: 'catch', z: 'flow1', scope: ['req'], uncaught: false, x: 100, y: 100, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'flow1' },
  ];
}

/** A device that serves /3/0 and /3303/0/5700 and records every request. */
function answerLikeADevice(client: ScriptedClient, overrides: (req: IncomingRequest) => OutgoingResponse | undefined = () => undefined): void {
  client.answer((req) => {
    const special = overrides(req);
    if (special) return special;
    const path = req.path.join('/');
    const format = req.accept ?? ContentFormat.SENML_CBOR;
    if (req.method === 'GET' && path === '3/0') return { code: '2.05', contentFormat: format, payload: codecFor(format).encode([DEVICE]) };
    if (req.method === 'GET' && path === '3/0/9') {
      return { code: '2.05', contentFormat: format, payload: codecFor(format).encode([{ path: [3, 0, 9], node: resourceNode(9, value.integer(95)) }]) };
    }
    return { code: '4.04' };
  });
}

describe('nodes: lwm2m-request', function () {
  this.timeout(10_000);
  let client: ScriptedClient;
  let out: Inbox;
  let caught: Inbox;

  async function setup(defaults: Record<string, unknown> = {}, version = '1.1'): Promise<void> {
    await loadFlow(requestFlow(defaults));
    out = new Inbox('out');
    caught = new Inbox('caught');
    client = await registerDevice('srv', 'dev', { version });
    answerLikeADevice(client);
  }

  afterEach(async () => {
    await client?.close();
    await helper.unload();
  });

  it('reads an instance: plain payload, topic, and msg.lwm2m with names from the model', async () => {
    await setup({ path: '/3/0' });
    helper.getNode('req')!.receive({ payload: 'go' });
    const msg = await out.next();
    assert.deepEqual(msg.payload, { 0: 'ACME', 9: 95, 13: new Date(1_700_000_000_000) });
    assert.equal(msg.topic, 'dev/3/0');
    assert.equal(msg.endpoint, 'dev');
    assert.equal(msg.path, '/3/0');
    const lwm2m = msg.lwm2m as Record<string, unknown>;
    assert.equal(lwm2m['operation'], 'read');
    assert.equal(lwm2m['code'], '2.05');
    assert.equal(lwm2m['format'], 'senml-cbor');
    assert.equal(lwm2m['contentFormat'], ContentFormat.SENML_CBOR);
    assert.equal(lwm2m['objectName'], 'Device');
    assert.equal(typeof lwm2m['registration'], 'string');
    assert.equal(typeof lwm2m['timestamp'], 'number');
    assert.deepEqual((lwm2m['resources'] as Record<string, unknown>)['/3/0/9'], { name: 'Battery Level', type: 'integer', units: '%' });
    assert.equal(lastStatus('req')?.fill, 'green');
    assert.match(lastStatus('req')?.text ?? '', /^2\.05 read dev\/3\/0/);
  });

  it('lets the message override operation, endpoint, path and format', async () => {
    await setup({ endpoint: 'someone-else', path: '/3/0', operation: 'discover' });
    helper.getNode('req')!.receive({ operation: 'Read', endpoint: 'dev', path: '/3/0/9', format: 'text' });
    const msg = await out.next();
    assert.equal(msg.payload, 95);
    const lwm2m = msg.lwm2m as Record<string, unknown>;
    assert.equal(lwm2m['name'], 'Battery Level');
    assert.equal(lwm2m['units'], '%');
    assert.equal(lwm2m['format'], 'text');
    assert.equal(client.requests.at(-1)?.accept, ContentFormat.TEXT, 'the device was asked for text');
  });

  it('writes a value typed by the model and keeps the payload', async () => {
    await setup({ operation: 'write', path: '/1/0/1' });
    let written: IncomingRequest | undefined;
    answerLikeADevice(client, (req) => (req.method === 'PUT' ? ((written = req), { code: '2.04' }) : undefined));
    helper.getNode('req')!.receive({ payload: 300 });
    const msg = await out.next();
    assert.equal(msg.payload, 300);
    assert.equal((msg.lwm2m as { code: string }).code, '2.04');
    assert.deepEqual(written?.path, ['1', '0', '1']);
    const decoded = codecFor(written!.contentFormat!).decode(written!.payload, { path: [1, 0, 1] });
    assert.deepEqual(decoded[0]?.node, resourceNode(1, value.integer(300)));
  });

  it('executes with arguments, writes attributes, creates and deletes', async () => {
    await setup();
    const seen: IncomingRequest[] = [];
    answerLikeADevice(client, (req) => {
      seen.push(req);
      if (req.method === 'POST' && req.path.join('/') === '3303') return { code: '2.01', locationPath: ['3303', '7'] };
      if (req.method === 'DELETE') return { code: '2.02' };
      return { code: '2.04' };
    });
    const req = helper.getNode('req')!;
    req.receive({ operation: 'execute', path: '/3/0/4', payload: "0='soft'" });
    assert.equal((await out.next()).topic, 'dev/3/0/4');
    assert.equal(seen[0]?.method, 'POST');
    assert.equal(seen[0]?.payload.toString(), "0='soft'");

    req.receive({ operation: 'execute', path: '/3/0/4', payload: 1_700_000_000_000 });
    await out.next();
    assert.equal(seen[1]?.payload.length, 0, 'an inject timestamp is no argument');

    req.receive({ operation: 'write-attributes', path: '/3303/0/5700', payload: { pmin: 10, pmax: 60, st: null } });
    await out.next();
    assert.deepEqual([...(seen[2]?.query ?? [])].sort(), ['pmax=60', 'pmin=10', 'st']);

    req.receive({ operation: 'create', path: '/3303', payload: { 5700: 19.5, 5701: 'Cel' } });
    const created = await out.next();
    assert.equal((created.lwm2m as { instanceId: number }).instanceId, 7);
    assert.equal(created.path, '/3303/7');
    assert.equal(created.topic, 'dev/3303/7');

    req.receive({ operation: 'delete', path: '/3303/7' });
    const deleted = await out.next();
    assert.equal((deleted.lwm2m as { code: string }).code, '2.02');
    assert.equal(seen[4]?.method, 'DELETE');
  });

  it('discovers, and reads and writes composite paths', async () => {
    await setup();
    let patched: IncomingRequest | undefined;
    answerLikeADevice(client, (req) => {
      if (req.accept === ContentFormat.LINK_FORMAT) return { code: '2.05', contentFormat: 40, payload: '</3/0>,</3/0/9>;pmax=60,</3/0/13>' };
      if (req.method === 'FETCH') {
        assert.deepEqual(decodeSenmlPaths(req.payload, req.contentFormat ?? 0), [[3, 0, 9], [3303, 0, 5700]]);
        return {
          code: '2.05',
          contentFormat: ContentFormat.SENML_CBOR,
          payload: codecFor(ContentFormat.SENML_CBOR).encode([
            { path: [3, 0, 9], node: resourceNode(9, value.integer(80)) },
            { path: [3303, 0, 5700], node: resourceNode(5700, value.float(22.5)) },
          ]),
        };
      }
      if (req.method === 'iPATCH') return (patched = req), { code: '2.04' };
      return undefined;
    });
    const req = helper.getNode('req')!;
    req.receive({ operation: 'discover', path: '/3/0' });
    const discovered = await out.next();
    assert.deepEqual(discovered.payload, [
      { path: '/3/0', attributes: {} },
      { path: '/3/0/9', name: 'Battery Level', attributes: { pmax: 60 } },
      { path: '/3/0/13', name: 'Current Time', attributes: {} },
    ]);
    assert.equal((discovered.lwm2m as { format: string }).format, 'link');

    req.receive({ operation: 'read-composite', path: '/3/0/9, /3303/0/5700' });
    const composite = await out.next();
    assert.deepEqual(composite.payload, { '/3/0/9': 80, '/3303/0/5700': 22.5 });
    assert.equal(composite.topic, 'dev/composite');
    assert.deepEqual(composite.path, ['/3/0/9', '/3303/0/5700']);

    req.receive({ operation: 'write-composite', payload: { '/3/0/13': new Date(1_700_000_000_000), '/1/0/1': 120 } });
    await out.next();
    const entries = codecFor(patched!.contentFormat!).decode(patched!.payload, {});
    const leaves = entries.flatMap((e) => flattenNode(e.path, e.node).map((leaf) => formatPath(leaf.path)));
    assert.deepEqual(leaves.sort(), ['/1/0/1', '/3/0/13']);
  });

  it('sends failures to done(err) with msg.lwm2m.code, a red status and no stack trace', async () => {
    await setup();
    const req = helper.getNode('req')!;
    const before = client.requests.length;

    req.receive({ endpoint: 'nobody', path: '/3/0' });
    const unknown = await caught.next();
    assert.equal((unknown.lwm2m as { code: string }).code, '4.04');
    assert.equal((unknown.lwm2m as { endpoint: string }).endpoint, 'nobody');
    assert.match((unknown.error as { message: string }).message, /no registered client with endpoint name "nobody"/);
    assert.equal(lastStatus('req')?.fill, 'red');
    assert.match(lastStatus('req')?.text ?? '', /^4\.04 no registered client/);

    req.receive({ path: '/3/x/9' });
    const badPath = await caught.next();
    assert.equal((badPath.lwm2m as { code: string }).code, '4.00');
    assert.match((badPath.error as { message: string }).message, /segment "x" is not a number/);

    req.receive({ operation: 'write', path: '/1/0/1', payload: 'soon' });
    const badValue = await caught.next();
    assert.equal((badValue.lwm2m as { code: string }).code, '4.00');
    assert.match((badValue.error as { message: string }).message, /Lifetime/);

    req.receive({ operation: 'fly', path: '/3/0' });
    assert.match(((await caught.next()).error as { message: string }).message, /unknown operation "fly"/);
    assert.equal(client.requests.length, before, 'nothing bad reached the device');

    req.receive({ path: '/5/0' });
    const refused = await caught.next();
    assert.equal((refused.lwm2m as { code: string }).code, '4.04', 'the device\'s own code');

    const logged = errors('req');
    assert.equal(logged.length, 5);
    for (const { error } of logged) {
      assert.ok(error instanceof Error);
      assert.doesNotMatch(String(error.stack), /\n\s+at /, 'no stack frames for expected failures');
    }
    assert.deepEqual(await out.drain(50), [], 'no output for failures');
  });

  it('fails with 5.04 when the device does not answer within msg.timeout', async () => {
    await setup();
    client.answer(() => new Promise<OutgoingResponse>(() => undefined)); // never answers
    helper.getNode('req')!.receive({ path: '/3/0', timeout: 0.3 });
    const started = Date.now();
    const failed = await caught.next();
    assert.equal((failed.lwm2m as { code: string }).code, '5.04');
    assert.ok(Date.now() - started < 2000, 'the message deadline applies, not the server default');
    await eventually(() => /^5\.04/.test(lastStatus('req')?.text ?? ''), 'timeout status');
  });
});
