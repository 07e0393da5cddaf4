import assert from 'node:assert/strict';
import type { CoapResponse } from '../../src/coap/api.js';
import { getContentFormat } from '../../src/coap/options.js';
import type { Lwm2mClient } from '../../src/client/client.js';
import { ManualClock } from '../../src/client/clock.js';
import { senmlJsonCodec } from '../../src/formats/senml-json.js';
import { encodeSenmlPaths } from '../../src/formats/senml-composite.js';
import { toPlain, valueToPlain } from '../../src/model/plain.js';
import { flattenNode } from '../../src/model/tree.js';
import { ScriptedServer, settle, startRegistered, testClient, until } from './helpers.js';

describe('client observations', function () {
  this.timeout(15000);
  let server: ScriptedServer;
  let client: Lwm2mClient;
  let clock: ManualClock;

  beforeEach(async () => {
    server = await ScriptedServer.start();
    clock = new ManualClock();
    client = testClient(server, {
      clock,
      objectVersions: { 3303: '1.1' },
      lwm2mVersion: '1.2',
      objects: { 3303: { 0: { 5700: 20, 5701: 'Cel' } }, 3342: { 0: { 5500: false } } },
      servers: [{ uri: server.uri, lifetime: 86400, defaultPmin: 1, defaultPmax: 60 }],
    });
    await startRegistered(client);
  });
  afterEach(async () => {
    await client.stop({ timeoutMs: 300 });
    await server.close();
  });

  function values(list: CoapResponse[]): unknown[] {
    return list.map((n) => {
      const leaves = senmlJsonCodec.decode(n.payload, { model: client.tree.model }).flatMap((e) => flattenNode(e.path, e.node));
      return leaves.length === 1 ? valueToPlain(leaves[0]!.value) : leaves.map((l) => valueToPlain(l.value));
    });
  }

  async function observe(path: string, attrs: string[] = []): Promise<CoapResponse[]> {
    if (attrs.length > 0) assert.equal((await server.request({ method: 'PUT', path, query: attrs })).code, '2.04');
    const obs = server.observe({ path, accept: 110 });
    const got: CoapResponse[] = [];
    obs.on('notification', (n) => got.push(n));
    const first = await obs.ready;
    assert.equal(first.code, '2.05');
    assert.equal(getContentFormat(first.options), 110);
    return got;
  }

  /** Moves the virtual clock and gives the network time to deliver. */
  async function tick(ms: number): Promise<void> {
    clock.advance(ms);
    await client.observations.idle();
    await settle(20);
  }

  it('notifies changes no sooner than the server default pmin, and at pmax', async () => {
    const starts: string[][] = [];
    client.on('observeStart', (e) => starts.push(e.paths));
    const got = await observe('/3303/0/5700');
    assert.deepEqual(starts, [['/3303/0/5700']]);
    client.setValue('/3303/0/5700', 21);
    await tick(0);
    assert.equal(got.length, 0, 'default pmin 1 s');
    await tick(1000);
    await until(() => got.length === 1);
    assert.deepEqual(values(got), [21]);
    await tick(59_999);
    assert.equal(got.length, 1);
    await tick(1);
    await until(() => got.length === 2, 3000, 'pmax notification');
    assert.deepEqual(values(got), [21, 21]);
  });

  it('uses written gt/lt/st attributes over the defaults', async () => {
    const got = await observe('/3303/0/5700', ['pmin=0', 'gt=30', 'lt=10', 'st=9']);
    for (const v of [25, 28, 27]) {
      client.setValue('/3303/0/5700', v);
      await tick(0);
    }
    assert.equal(got.length, 0);
    client.setValue('/3303/0/5700', 31);
    await tick(0);
    await until(() => got.length === 1);
    client.setValue('/3303/0/5700', 35);
    await tick(0);
    client.setValue('/3303/0/5700', 9);
    await tick(0);
    await until(() => got.length === 2);
    assert.deepEqual(values(got), [31, 9]);
  });

  it('inherits pmin/pmax from instance and object levels', async () => {
    assert.equal((await server.request({ method: 'PUT', path: '/3303', query: ['pmin=0', 'pmax=5'] })).code, '2.04');
    assert.equal((await server.request({ method: 'PUT', path: '/3303/0', query: ['pmax=3'] })).code, '2.04');
    const got = await observe('/3303/0/5700');
    await tick(2999);
    assert.equal(got.length, 0);
    await tick(1);
    await until(() => got.length === 1, 3000, 'instance-level pmax');
  });

  it('edge=1 notifies the rising edge of a boolean only', async () => {
    const got = await observe('/3342/0/5500', ['pmin=0', 'edge=1']);
    client.setValue('/3342/0/5500', true);
    await tick(0);
    await until(() => got.length === 1);
    client.setValue('/3342/0/5500', false);
    await tick(0);
    client.setValue('/3342/0/5500', true);
    await tick(0);
    await until(() => got.length === 2);
    assert.deepEqual(values(got), [true, true]);
  });

  it('epmin/epmax: a read handler is polled at epmax', async () => {
    let reading = 40;
    client.onRead('/3303/0/5700', () => reading);
    const got = await observe('/3303/0/5700', ['pmin=0', 'epmin=1', 'epmax=10']);
    reading = 41;
    await tick(9999);
    assert.equal(got.length, 0, 'nobody said it changed');
    await tick(1);
    await until(() => got.length === 1, 3000, 'epmax evaluation');
    assert.deepEqual(values(got), [41]);
  });

  it('client.changed() re-evaluates a value that a read handler supplies', async () => {
    let reading = 50;
    client.onRead('/3303/0/5700', () => reading);
    const got = await observe('/3303/0/5700', ['pmin=0']);
    reading = 51;
    await tick(0);
    assert.equal(got.length, 0, 'the client cannot know by itself');
    client.changed('/3303/0/5700');
    await tick(0);
    await until(() => got.length === 1);
    assert.deepEqual(values(got), [51]);
  });

  it('observes an instance and notifies when any resource below changes', async () => {
    const got = await observe('/3303/0', ['pmin=0']);
    client.setValue('/3303/0/5701', 'K');
    await tick(0);
    await until(() => got.length === 1);
    const last = senmlJsonCodec.decode(got[0]!.payload, { path: [3303, 0], model: client.tree.model });
    assert.deepEqual(toPlain(last[0]!.node), { 5700: 20, 5701: 'K' });
  });

  it('observe-composite notifies with every observed path', async () => {
    const body = encodeSenmlPaths([[3303, 0, 5700], [3342, 0, 5500]], 110);
    const obs = server.observe({ method: 'FETCH', path: '/', payload: body, contentFormat: 110, accept: 110 });
    const got: CoapResponse[] = [];
    obs.on('notification', (n) => got.push(n));
    assert.equal((await obs.ready).code, '2.05');
    client.setValue('/3342/0/5500', true);
    await tick(1000);
    await until(() => got.length === 1);
    assert.deepEqual(values(got), [[20, true]]);
  });

  it('con=1 makes notifications confirmable, con=0 non-confirmable', async () => {
    const got = await observe('/3303/0/5700', ['pmin=0', 'con=1']);
    client.setValue('/3303/0/5700', 22);
    await tick(0);
    await until(() => got.length === 1);
    assert.equal(got[0]!.type, 'CON');
    assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5700', query: ['con=0'] })).code, '2.04');
    client.setValue('/3303/0/5700', 23);
    await tick(0);
    await until(() => got.length === 2);
    assert.equal(got[1]!.type, 'NON');
  });

  it('stops on cancel (Observe=1) and on RST', async () => {
    const stops: string[] = [];
    client.on('observeStop', (e) => stops.push(e.reason));
    const obs = server.observe({ path: '/3303/0/5700', accept: 110 });
    await obs.ready;
    await obs.cancel('deregister');
    await until(() => stops.length === 1);
    assert.deepEqual(stops, ['deregistered']);
    assert.equal(client.observations.list().length, 0);

    const obs2 = server.observe({ path: '/3303/0/5700', accept: 110 });
    await obs2.ready;
    await obs2.cancel('forget'); // the next notification is answered with RST
    client.setValue('/3303/0/5700', 99);
    await tick(1000);
    await until(() => stops.length === 2, 3000, 'RST ends the observation');
    assert.equal(stops[1], 'reset');
  });

  it('refuses to observe an Execute resource and the Security object', async () => {
    const exec = server.observe({ path: '/3303/0/5605', accept: 110 });
    assert.equal((await exec.ready).code, '4.05');
    const dev = server.observe({ path: '/3/0/4' });
    assert.equal((await dev.ready).code, '4.05');
    const sec = server.observe({ path: '/0/0' });
    assert.equal((await sec.ready).code, '4.01');
  });

  it('sends 4.04 and ends the observation when the observed instance is deleted', async () => {
    const got = await observe('/3303/0', ['pmin=0']);
    const ended: string[] = [];
    client.on('observeStop', (e) => ended.push(e.reason));
    client.removeInstance(3303, 0);
    await tick(0);
    await until(() => ended.length === 1, 3000, 'end');
    assert.equal(got.length, 0);
  });
});
