/**
 * lwm2m-bootstrap-server and lwm2m-bootstrap: configurations managed from
 * a flow, and the bootstrap sessions of a scripted device (a CoapEndpoint
 * that sends Bootstrap-Request and answers the Bootstrap-Server's
 * Delete / Write / Finish) reported as messages.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BootstrappingDevice, bootstrapRuntimeOfNode, freeUdpPort } from './device-helpers.js';
import { eventually, helper, Inbox, lastStatus, loadFlow, node, TAB, tempDir } from './helpers.js';

type Msg = Record<string, unknown> & { lwm2m: Record<string, unknown> };

const CONFIG = {
  objects: {
    0: { 1: { 0: 'coap://127.0.0.1:5683', 1: false, 2: 3, 10: 101 } },
    1: { 0: { 0: 101, 1: 300, 6: false, 7: 'U' } },
  },
};

function bootstrapServerConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'bs', type: 'lwm2m-bootstrap-server', address: '127.0.0.1', port: '0', timeout: '0.5', sessionTimeout: '3', persist: false, template: '', ...extra };
}

function bootstrapFlow(serverExtra: Record<string, unknown> = {}, nodeExtra: Record<string, unknown> = {}): object[] {
  return [
    TAB,
    bootstrapServerConfig(serverExtra),
    { id: 'b', type: 'lwm2m-bootstrap', z: 'flow1', server: 'bs', operation: 'set', endpoint: '', ...nodeExtra, wires: [['out']] },
    { id: 'out', type: 'helper', z: 'flow1' },
    { id: 'catch', type: 'catch', z: 'flow1', scope: ['b'], uncaught: false, x: 100, y: 100, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'flow1' },
  ];
}

async function port(): Promise<number> {
  return (await bootstrapRuntimeOfNode().ready()).address().port;
}

describe('nodes: lwm2m-bootstrap-server and lwm2m-bootstrap', function () {
  this.timeout(10_000);
  let device: BootstrappingDevice | undefined;
  afterEach(async () => {
    await device?.close();
    device = undefined;
    await helper.unload();
  });

  it('adds, replaces, reads, lists and removes configurations from messages', async () => {
    await loadFlow(bootstrapFlow());
    const out = new Inbox('out');
    node('b').receive({ endpoint: 'dev-a', payload: CONFIG });
    const added = (await out.next()) as Msg;
    assert.equal(added.lwm2m['operation'], 'set');
    assert.equal(added.lwm2m['code'], '2.01');
    assert.equal(added.lwm2m['replaced'], false);
    assert.equal(added['endpoint'], 'dev-a');
    assert.deepEqual(added['payload'], CONFIG, 'set keeps the payload');
    await eventually(() => lastStatus('b')?.text === 'added dev-a', 'added status');

    node('b').receive({ operation: 'replace', endpoint: 'dev-a', payload: JSON.stringify({ ...CONFIG, read: ['/1'] }) });
    assert.equal(((await out.next()) as Msg).lwm2m['code'], '2.04');

    node('b').receive({ operation: 'get', endpoint: 'dev-a' });
    const got = (await out.next()) as Msg;
    assert.deepEqual(got['payload'], JSON.parse(JSON.stringify({ ...CONFIG, read: ['/1'] })));
    assert.equal(got.lwm2m['code'], '2.05');

    node('b').receive({ operation: 'set', endpoint: 'dev-b', payload: CONFIG });
    await out.next();
    node('b').receive({ operation: 'list' });
    const list = (await out.next()) as Msg;
    assert.deepEqual(list['payload'], ['dev-a', 'dev-b']);
    assert.equal(list.lwm2m['hasDefault'], false);

    node('b').receive({ operation: 'remove', endpoint: 'dev-a' });
    const removed = (await out.next()) as Msg;
    assert.equal(removed['payload'], true);
    assert.equal(removed.lwm2m['code'], '2.02');
    node('b').receive({ operation: 'remove', endpoint: 'dev-a' });
    assert.equal(((await out.next()) as Msg)['payload'], false, 'removing twice is not an error');

    node('b').receive({ operation: 'default', payload: { ...CONFIG, objects: { ...CONFIG.objects, 1: { 0: { 0: 101, 1: 60, 7: 'U' } } } } });
    assert.equal(((await out.next()) as Msg).lwm2m['code'], '2.04');
    node('b').receive({ operation: 'get' });
    assert.equal((((await out.next()) as Msg)['payload'] as typeof CONFIG).objects[1][0][1], 60, 'get without endpoint reads the default');
    node('b').receive({ operation: 'default', payload: null });
    assert.equal(((await out.next()) as Msg).lwm2m['code'], '2.02');

    const res = await helper.request().get('/lwm2m-bootstrap-server/bs/endpoints');
    assert.deepEqual(res.body, { endpoints: ['dev-b'], hasDefault: false, active: [] });
    assert.equal((await helper.request().get('/lwm2m-bootstrap-server/nope/endpoints')).status, 404);
  });

  it('sends bad input and missing configurations to done(err) with msg.lwm2m.code', async () => {
    await loadFlow(bootstrapFlow());
    const caught = new Inbox('caught');
    const failure = async (msg: Record<string, unknown>): Promise<{ code: unknown; message: string }> => {
      node('b').receive(msg);
      const got = (await caught.next()) as Msg & { error: { message: string } };
      return { code: got.lwm2m['code'], message: got.error.message };
    };
    assert.deepEqual(await failure({ payload: CONFIG }), { code: '4.00', message: 'Lwm2mError: no endpoint given (msg.endpoint or the node\'s setting)' });
    assert.match((await failure({ endpoint: 'x', payload: { objects: [] } })).message, /"objects" must be an object/);
    assert.match((await failure({ endpoint: 'x', payload: '{nope' })).message, /not valid JSON/);
    assert.match((await failure({ endpoint: 'x', payload: 1700000000 })).message, /must be a bootstrap configuration/);
    assert.match((await failure({ endpoint: 'x', payload: { objects: { 0: { abc: {} } } } })).message, /instance id "abc"/);
    assert.deepEqual(await failure({ operation: 'get', endpoint: 'nobody' }), { code: '4.04', message: 'Lwm2mError: no bootstrap configuration for endpoint "nobody"' });
    assert.equal((await failure({ operation: 'teleport' })).code, '4.00');
    assert.equal(lastStatus('b')?.fill, 'red');
  });

  it('emits started and finished for a device provisioned with its configuration', async () => {
    await loadFlow(bootstrapFlow({}, { endpoint: 'dev-b' }));
    const out = new Inbox('out');
    node('b').receive({ payload: CONFIG });
    await out.next();
    device = await BootstrappingDevice.open();
    assert.equal(await device.request(await port(), 'dev-b'), '2.04');

    const started = (await out.next()) as Msg;
    assert.equal(started.topic, 'dev-b/bootstrap/started');
    assert.equal(started.lwm2m['event'], 'started');
    assert.equal((started['payload'] as { mode: string }).mode, 'request');
    assert.match((started['payload'] as { address: string }).address, /^127\.0\.0\.1:\d+$/);

    const finished = (await out.next()) as Msg;
    assert.equal(finished.topic, 'dev-b/bootstrap/finished');
    assert.equal(finished['endpoint'], 'dev-b');
    assert.deepEqual((finished['payload'] as { written: string[] }).written, ['/0/1', '/1/0']);
    assert.equal(finished.lwm2m['code'], '2.04');
    assert.equal(finished.lwm2m['format'], 'tlv', 'a request without pct is taken for a 1.0 client');
    assert.deepEqual(device.seen, ['DELETE /', 'PUT /0/1', 'PUT /1/0', 'POST /bs']);
    await eventually(() => lastStatus('b')?.text === 'bootstrapped dev-b', 'bootstrapped status');
  });

  it('emits failed with the step and the code: no configuration, a refused Finish', async () => {
    await loadFlow(bootstrapFlow({}, { started: false }));
    const out = new Inbox('out');
    device = await BootstrappingDevice.open();
    assert.equal(await device.request(await port(), 'stranger'), '4.04');
    const unknown = (await out.next()) as Msg;
    assert.equal(unknown.topic, 'stranger/bootstrap/failed');
    assert.equal(unknown.lwm2m['step'], 'request');
    assert.equal(unknown.lwm2m['code'], '4.04');

    node('b').receive({ endpoint: 'picky', payload: CONFIG });
    await out.next();
    device.answer = (req) => (req.method === 'POST' ? { code: '4.06', payload: 'no usable server account' } : undefined);
    assert.equal(await device.request(await port(), 'picky'), '2.04');
    const failed = (await out.next()) as Msg;
    assert.equal(failed.lwm2m['event'], 'failed', 'started is not ticked: the next message is the failure');
    assert.equal(failed.lwm2m['step'], 'finish');
    assert.equal(failed.lwm2m['code'], '4.06');
    assert.match((failed['payload'] as { reason: string }).reason, /Bootstrap-Finish/);
    await eventually(() => /^4\.06 picky: /.test(lastStatus('b')?.text ?? ''), 'failure status');
  });

  it('provisions endpoints without their own configuration from the editor template, with {endpoint} replaced', async () => {
    const template = { objects: { ...CONFIG.objects, 0: { 1: { ...CONFIG.objects[0][1], 0: 'coap://127.0.0.1:5683/{endpoint}' } } } };
    await loadFlow(bootstrapFlow({ template: JSON.stringify(template) }));
    const out = new Inbox('out');
    const server = await bootstrapRuntimeOfNode().ready();
    assert.equal(server.configs.resolve('any-1')?.objects[0]?.[1]?.[0], 'coap://127.0.0.1:5683/any-1');
    device = await BootstrappingDevice.open();
    assert.equal(await device.request(await port(), 'any-1'), '2.04');
    await out.next();
    const finished = (await out.next()) as Msg;
    assert.equal(finished.lwm2m['event'], 'finished');
  });

  it('refuses an unusable template at deploy, in the status, and fails messages with 5.03', async () => {
    await loadFlow(bootstrapFlow({ template: '{"delete": 3, "objects": {}}' }));
    assert.equal(bootstrapRuntimeOfNode().state.status, 'failed');
    assert.match(lastStatus('b')?.text ?? '', /"delete" must be a list of paths/);
    const caught = new Inbox('caught');
    node('b').receive({ endpoint: 'x', payload: CONFIG });
    assert.equal(((await caught.next()) as Msg).lwm2m['code'], '5.03');
  });

  it('keeps configurations in a file under the user directory across a restart, and deletes it with the node', async () => {
    const tmp = tempDir('lwm2m-bs-');
    try {
      await loadFlow(bootstrapFlow({ persist: true }), { userDir: tmp.dir });
      const out = new Inbox('out');
      node('b').receive({ endpoint: 'kept-1', payload: CONFIG });
      await out.next();
      const file = bootstrapRuntimeOfNode().storeFile;
      assert.equal(file, join(tmp.dir, 'lwm2m', 'bootstrap-bs.json'));
      await helper.unload();
      assert.deepEqual(Object.keys((JSON.parse(readFileSync(file!, 'utf8')) as { endpoints: object }).endpoints), ['kept-1']);

      await loadFlow(bootstrapFlow({ persist: true }), { userDir: tmp.dir });
      const again = new Inbox('out');
      node('b').receive({ operation: 'list' });
      assert.deepEqual(((await again.next()) as Msg)['payload'], ['kept-1']);
      await bootstrapRuntimeOfNode().stop(true);
      assert.equal(existsSync(file!), false);
    } finally {
      await helper.unload();
      tmp.remove();
    }
  });

  it('releases its socket on close, so the next flow binds the same port', async () => {
    const fixed = await freeUdpPort();
    await loadFlow(bootstrapFlow({ port: String(fixed) }));
    assert.equal(await port(), fixed);
    await helper.unload();
    await loadFlow(bootstrapFlow({ port: String(fixed) }));
    assert.equal(await port(), fixed);
    await eventually(() => lastStatus('b')?.text === `listening 127.0.0.1:${fixed}`, 'listening status');
  });

  it('shows "no LwM2M bootstrap server configured" without a config node', async () => {
    await loadFlow([TAB, { id: 'b', type: 'lwm2m-bootstrap', z: 'flow1', server: '', wires: [[]] }]);
    assert.equal(lastStatus('b')?.text, 'no LwM2M bootstrap server configured');
  });
});
