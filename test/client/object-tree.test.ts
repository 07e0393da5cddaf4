import assert from 'node:assert/strict';
import { AttributeStore, checkAttributePlacement } from '../../src/client/attribute-store.js';
import { defaultReadFormat, encodeReadResponse } from '../../src/client/content.js';
import { registrationBody } from '../../src/client/links.js';
import { ObjectTree, type InstanceEvent } from '../../src/client/object-tree.js';
import { Lwm2mError } from '../../src/errors.js';
import { builtinRegistry } from '../../src/model/registry.js';
import { value } from '../../src/model/value.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof Lwm2mError ? err.code : `not a Lwm2mError: ${String(err)}`;
  }
  return undefined;
}

async function asyncCode(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return err instanceof Lwm2mError ? err.code : `not a Lwm2mError: ${String(err)}`;
  }
  return undefined;
}

describe('client object tree', () => {
  const server = { origin: 'server' as const, shortServerId: 1 };

  function tree(): ObjectTree {
    const t = new ObjectTree({ registry: builtinRegistry(), lwm2mVersion: '1.1', objectVersions: { 3303: '1.1' } });
    t.addInstance(3, 0, { 0: 'ACME', 11: { 0: 0 }, 16: 'U' });
    t.addInstance(3303, 0, { 5700: 20.5 });
    return t;
  }

  it('types local values through the model and refuses bad ones (4.00) and unknown resources (4.04)', async () => {
    const t = tree();
    t.setValue([3303, 0, 5700], '21.25');
    assert.equal(await t.getValue([3303, 0, 5700]), 21.25);
    assert.equal(codeOf(() => t.setValue([3303, 0, 5700], 'warm')), '4.00');
    assert.equal(codeOf(() => t.setValue([3303, 0, 9999], 1)), '4.04');
    assert.equal(codeOf(() => t.setValue([3303, 5, 5700], 1)), '4.04');
    assert.equal(codeOf(() => t.addInstance(3, 1)), '4.00', 'Device is single-instance');
    assert.equal(codeOf(() => t.addInstance(3303, 0)), '4.00', 'instance exists');
    assert.equal(codeOf(() => t.addInstance(3303, undefined, { 5605: 1 })), '4.05', 'Execute resources hold no value');
    assert.equal(codeOf(() => t.addObject(65000)), '4.04', 'no definition');
  });

  it('emits change only when a value really changes, and instance events', () => {
    const t = tree();
    const changes: string[] = [];
    const instances: InstanceEvent[] = [];
    t.on('change', (p) => changes.push(p.join('/')));
    t.on('instances', (e) => instances.push(e));
    t.setValue([3303, 0, 5700], 20.5);
    t.setValue([3303, 0, 5700], 22);
    t.setValue([3, 0, 11, 0], 0);
    t.setValue([3, 0, 11, 1], 2);
    assert.deepEqual(changes, ['3303/0/5700', '3/0/11']);
    const id = t.addInstance(3303);
    assert.equal(id, 1);
    t.removeInstance(3303, 1);
    assert.deepEqual(instances.map((e) => `${e.kind} ${e.objectId}/${e.instanceId}`), ['created 3303/1', 'deleted 3303/1']);
  });

  it('read handlers supply values; write handlers may refuse', async () => {
    const t = tree();
    let temp = 30;
    t.setHandlers([3303, 0, 5700], { read: () => temp });
    assert.equal(await t.getValue([3303, 0, 5700]), 30);
    temp = 31;
    assert.equal(await t.getValue([3303, 0, 5700]), 31);
    t.setHandlers([3303, 0, 5750], {
      write: (v) => {
        if (v === 'forbidden') throw new Lwm2mError('4.03', 'no');
      },
    });
    await t.write([3303, 0, 5750], { kind: 'resource', id: 5750, value: value.string('ok') }, 'replace', server);
    assert.equal(await t.getValue([3303, 0, 5750]), 'ok');
    assert.equal(await asyncCode(t.write([3303, 0, 5750], { kind: 'resource', id: 5750, value: value.string('forbidden') }, 'replace', server)), '4.03');
    assert.equal(await t.getValue([3303, 0, 5750]), 'ok', 'refused values are not stored');
  });

  it('checks server operations against the model', async () => {
    const t = tree();
    assert.equal(await asyncCode(t.read([3, 0, 4], server)), '4.05');
    assert.equal(await asyncCode(t.read([], server)), '4.05');
    assert.equal(await asyncCode(t.read([3, 0, 5], server)), '4.05', 'optional Execute');
    assert.equal(await asyncCode(t.read([3, 0, 1], server)), '4.04', 'absent optional resource');
    assert.equal(await asyncCode(t.write([3, 0, 0], { kind: 'resource', id: 0, value: value.string('x') }, 'replace', server)), '4.05');
    assert.equal(await asyncCode(t.write([3, 0, 13], { kind: 'resource', id: 0, value: value.string('x') }, 'replace', server)), '4.00', 'node does not match path');
    assert.equal(await asyncCode(t.execute([3, 0, 0], '', server)), '4.05');
    assert.equal(await asyncCode(t.execute([3, 0, 4], "0='x", server)), '4.00');
    assert.equal(codeOf(() => t.delete([3, 0], server)), '4.05');
    assert.equal(codeOf(() => t.delete([3303, 0, 5700], server)), '4.05');
    assert.equal(codeOf(() => t.create(3303, undefined, [{ kind: 'resource', id: 5700, value: value.float(1) }], server)), '4.05', 'read-only in Create');
    assert.equal(codeOf(() => t.create(3303, 0, [], server)), '4.00');
    // the same operations from the application are allowed
    assert.equal(await t.getValue([3, 0, 0]), 'ACME');
    t.delete([3303, 0], { origin: 'bootstrap' });
    assert.equal(t.hasInstance(3303, 0), false);
  });

  it('hosts Connectivity Monitoring (4) and Location (6)', async () => {
    const t = tree();
    t.addInstance(4, 0, { 0: 0, 1: { 0: 21 }, 2: -70, 4: { 0: '10.0.0.2' } });
    t.addInstance(6, 0, { 0: 48.8566, 1: 2.3522, 5: new Date(1_700_000_000_000) });
    assert.deepEqual(await t.read([4, 0, 4], server), { kind: 'multipleResource', id: 4, instances: new Map([[0, { kind: 'resourceInstance', id: 0, value: value.string('10.0.0.2') }]]) });
    assert.equal(await t.getValue([6, 0, 1]), 2.3522);
    assert.deepEqual(await t.getValue([6, 0, 5]), new Date(1_700_000_000_000));
  });

  it('registration body: versions, instances, no Security object', () => {
    const t = tree();
    t.addObject(0);
    t.addInstance(0, 0, { 0: 'coap://x', 1: false, 2: 3, 3: Buffer.alloc(0), 4: Buffer.alloc(0), 5: Buffer.alloc(0) });
    t.addObject(3306);
    assert.equal(registrationBody(t, '1.1', { preferredFormat: 112 }), '</>;rt="oma.lwm2m";ct=112,</3>;ver=1.1,</3/0>,</3303>;ver=1.1,</3303/0>,</3306>');
  });
});

describe('client content defaults and attributes', () => {
  it('answers 1.0 reads in text, opaque or TLV and 1.1 reads in the preferred format', () => {
    const single = { kind: 'resource' as const, id: 0, value: value.string('x') };
    const opaque = { kind: 'resource' as const, id: 0, value: value.opaque(Buffer.from('x')) };
    const inst = { kind: 'instance' as const, id: 0, resources: new Map() };
    assert.equal(defaultReadFormat('1.0', single), 0);
    assert.equal(defaultReadFormat('1.0', opaque), 42);
    assert.equal(defaultReadFormat('1.0', inst), 11542);
    assert.equal(defaultReadFormat('1.1', single), 112);
    assert.equal(defaultReadFormat('1.2', inst, 110), 110);
    const model = builtinRegistry().latestLookup();
    assert.throws(() => encodeReadResponse([3, 0], inst, '1.1', 0, model), (e: Lwm2mError) => e.code === '4.06');
  });

  it('inherits attributes object → instance → resource over the server defaults', () => {
    const store = new AttributeStore();
    store.write(1, [3303], { pmin: 5, pmax: 100 });
    store.write(1, [3303, 0], { pmax: 50 });
    store.write(1, [3303, 0, 5700], { gt: 30 });
    store.write(2, [3303, 0, 5700], { pmin: 1 });
    assert.deepEqual(store.effective(1, [3303, 0, 5700], { pmin: 0, pmax: 600 }), { pmin: 5, pmax: 50, gt: 30 });
    assert.deepEqual(store.effective(2, [3303, 0, 5700], { pmin: 2 }), { pmin: 1 });
    assert.deepEqual(store.effective(1, [3303, 1, 5700], {}), { pmin: 5, pmax: 100 });
    store.write(1, [3303, 0], { pmax: null });
    assert.deepEqual(store.effective(1, [3303, 0, 5700]), { pmin: 5, pmax: 100, gt: 30 });
    assert.throws(() => store.write(1, [3303], { pmin: 200 }), (e: Lwm2mError) => e.code === '4.00', 'pmin above pmax at that level');
    assert.deepEqual(store.attached(1, [3303]), { pmin: 5, pmax: 100 }, 'unchanged after a refused write');
    store.removeBelow([3303, 0]);
    assert.deepEqual(store.effective(1, [3303, 0, 5700]), { pmin: 5, pmax: 100 });
  });

  it('places attributes where the specification allows them', () => {
    const model = builtinRegistry().latestLookup();
    const float = model.resource(3303, 5700);
    const text = model.resource(3303, 5701);
    assert.doesNotThrow(() => checkAttributePlacement({ gt: 1 }, [3303, 0, 5700], float, '1.0'));
    assert.throws(() => checkAttributePlacement({ gt: 1 }, [3303, 0, 5701], text, '1.1'), /numeric/);
    assert.throws(() => checkAttributePlacement({ st: 1 }, [3303, 0], undefined, '1.1'), /numeric/);
    assert.throws(() => checkAttributePlacement({ epmin: 1 }, [3303], undefined, '1.0'), /1\.0/);
    assert.throws(() => checkAttributePlacement({ hqmax: 1 }, [3303], undefined, '1.1'), /1\.1/);
    assert.throws(() => checkAttributePlacement({ pmin: 1 }, [3303, 0, 5700, 0], float, '1.1'));
    assert.throws(() => checkAttributePlacement({ pmin: 1 }, [], undefined, '1.2'));
  });
});
