import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ddfXml } from '../model/ddf-fixtures.js';
import type { ScriptedClient } from '../server/helpers.js';
import { helper, loadFlow, registerDevice, serverConfig, TAB, tempDir } from './helpers.js';

interface Json {
  [key: string]: unknown;
}

async function get(url: string): Promise<{ status: number; body: unknown }> {
  const res = await helper.request().get(url);
  return { status: res.status, body: res.body };
}

describe('nodes: admin endpoints for the editor', function () {
  this.timeout(10_000);
  const clients: ScriptedClient[] = [];
  const tmp = tempDir('lwm2m-admin-');

  before(async () => {
    mkdirSync(join(tmp.dir, 'models'));
    writeFileSync(join(tmp.dir, 'models', 'valve.xml'), ddfXml({ id: '33001', name: 'Valve', items: [{ id: '2', name: 'Flow', type: 'Float', units: 'l/min' }] }));
    await loadFlow([TAB, serverConfig('srv', { models: 'models' })], { userDir: tmp.dir });
    for (const ep of ['pump-2', 'pump-1', 'meter-1']) clients.push(await registerDevice('srv', ep, { objects: '</1/0>,</3>;ver=1.0,</3/0>,</33001/0>,</33001/1>' }));
  });
  after(async () => {
    for (const c of clients) await c.close();
    await helper.unload();
    tmp.remove();
  });

  it('lists the registered endpoints of a server node, sorted, filtered and bounded', async () => {
    const all = await get('/lwm2m-server/srv/endpoints');
    assert.equal(all.status, 200);
    const list = all.body as Json[];
    assert.deepEqual(list.map((e) => e['endpoint']), ['meter-1', 'pump-1', 'pump-2']);
    assert.equal(list[0]?.['version'], '1.1');
    assert.equal(list[0]?.['queueMode'], false);
    assert.equal(list[0]?.['awake'], true);
    assert.match(String(list[0]?.['address']), /^127\.0\.0\.1:\d+$/);

    const pumps = (await get('/lwm2m-server/srv/endpoints?q=PUMP&limit=1')).body as Json[];
    assert.deepEqual(pumps.map((e) => e['endpoint']), ['pump-1']);
  });

  it('describes one endpoint with its objects and instances', async () => {
    const res = await get('/lwm2m-server/srv/endpoints/pump-1');
    assert.equal(res.status, 200);
    const objects = (res.body as Json)['objects'] as Json[];
    assert.deepEqual(objects.find((o) => o['id'] === 33001), { id: 33001, name: 'Valve', instances: [0, 1] });
    assert.equal((await get('/lwm2m-server/srv/endpoints/nobody')).status, 404);
    assert.equal((await get('/lwm2m-server/no-such-node/endpoints')).status, 404);
  });

  it('lists objects with names and versions, the server\'s extra models included', async () => {
    const builtin = (await get('/lwm2m/objects')).body as Json[];
    const device = builtin.find((o) => o['id'] === 3);
    assert.equal(device?.['name'], 'Device');
    assert.ok((device?.['versions'] as string[]).includes('1.1'));
    assert.equal(builtin.some((o) => o['id'] === 33001), false, 'no server named: built-in objects only');

    const withModels = (await get('/lwm2m/objects?server=srv')).body as Json[];
    assert.deepEqual(withModels.find((o) => o['id'] === 33001), { id: 33001, name: 'Valve', versions: ['1.0'] });
  });

  it('describes the resources of an object, in the version a device registered with', async () => {
    const latest = (await get('/lwm2m/objects/3')).body as Json;
    assert.equal(latest['name'], 'Device');
    const resources = latest['resources'] as Json[];
    assert.deepEqual(resources.find((r) => r['id'] === 9), {
      id: 9,
      name: 'Battery Level',
      type: 'integer',
      operations: 'R',
      multiple: false,
      mandatory: false,
      units: '/100', // Device 1.2 changed the unit of the battery level
      range: '0..100',
    });
    const forDevice = (await get('/lwm2m/objects/3?server=srv&endpoint=pump-1')).body as Json;
    assert.equal(forDevice['version'], '1.0', 'pump-1 registered </3>;ver=1.0');
    assert.equal((forDevice['resources'] as Json[]).find((r) => r['id'] === 9)?.['units'], '%');
    const valve = (await get('/lwm2m/objects/33001?server=srv')).body as Json;
    assert.deepEqual((valve['resources'] as Json[]).map((r) => r['name']), ['Flow']);
    assert.equal((await get('/lwm2m/objects/99999')).status, 404);
    assert.equal((await get('/lwm2m/objects/abc')).status, 404);
  });
});
