import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelError } from '../../src/errors.js';
import type { ObjectDefinition, ResourceDefinition } from '../../src/model/definitions.js';
import {
  ObjectRegistry,
  builtinRegistry,
  compareVersions,
  defaultObjectVersion,
  selectVersion,
} from '../../src/model/registry.js';
import { ddfXml } from './ddf-fixtures.js';

function res(id: number, name: string, extra: Partial<ResourceDefinition> = {}): ResourceDefinition {
  return { id, name, operations: 'R', type: 'integer', multiple: false, mandatory: false, ...extra };
}

function obj(id: number, version: string, resources: ResourceDefinition[], name = `Object ${id}`): ObjectDefinition {
  return {
    id, name, version, lwm2mVersion: '1.1', urn: `urn:oma:lwm2m:x:${id}`, multiple: true, mandatory: false,
    resources: new Map(resources.map((r) => [r.id, r])),
  };
}

describe('model/registry version selection', () => {
  it('compareVersions orders major.minor numerically', () => {
    assert.deepEqual(['1.10', '1.9', '2.0', '1.0', '10.0'].sort(compareVersions), ['1.0', '1.9', '1.10', '2.0', '10.0']);
    assert.equal(compareVersions('1.1', '1.1'), 0);
    assert.ok(compareVersions('junk', '9.9') > 0, 'unparsable versions sort last');
  });

  it('no version named means 1.0', () => {
    assert.equal(selectVersion(['1.0', '1.1', '1.2'], undefined), '1.0');
    assert.equal(selectVersion(['1.0', '1.1', '1.2'], ''), '1.0');
    assert.equal(selectVersion(['1.2', '1.0', '1.1'], '  '), '1.0');
  });

  it('a version we have is used as is (quotes and spaces tolerated)', () => {
    assert.equal(selectVersion(['1.0', '1.1', '1.2'], '1.1'), '1.1');
    assert.equal(selectVersion(['1.0', '1.1', '1.2'], '"1.2"'), '1.2');
    assert.equal(selectVersion(['1.0', '1.1', '1.2'], ' 1.1 '), '1.1');
  });

  it('a version we lack falls back to the closest lower version of the same major', () => {
    assert.equal(selectVersion(['1.0', '1.1', '1.2'], '1.3'), '1.2');
    assert.equal(selectVersion(['1.0', '1.2', '2.0'], '1.1'), '1.0');
    assert.equal(selectVersion(['1.2', '1.9', '2.0'], '1.10'), '1.9');
    assert.equal(selectVersion(['1.0', '2.0', '2.1'], '2.5'), '2.1');
  });

  it('else to the latest version we have', () => {
    assert.equal(selectVersion(['1.1', '2.0'], undefined), '2.0', 'no 1.0 and nothing lower in major 1');
    assert.equal(selectVersion(['1.0', '1.1'], '2.0'), '1.1', 'other major');
    assert.equal(selectVersion(['1.0', '1.10', '1.9'], 'abc'), '1.10', 'unreadable version');
    assert.equal(selectVersion(['1.0'], '0.5'), '1.0');
  });

  it('nothing available gives undefined', () => {
    assert.equal(selectVersion([], '1.0'), undefined);
  });

  it('a missing ver means 1.0 for objects that are not core objects', () => {
    for (const lwm2m of [undefined, '1.0', '1.1', '1.2']) {
      assert.equal(defaultObjectVersion(3303, lwm2m), '1.0');
      assert.equal(defaultObjectVersion(10241, lwm2m), '1.0');
    }
  });

  it('a missing ver means the version of core objects that comes with the client LwM2M version', () => {
    assert.equal(defaultObjectVersion(3), '1.0');
    assert.equal(defaultObjectVersion(3, '1.0'), '1.0');
    assert.equal(defaultObjectVersion(3, '1.1'), '1.1');
    assert.equal(defaultObjectVersion(4, '1.1'), '1.2');
    assert.equal(defaultObjectVersion(2, '1.1'), '1.0');
    assert.equal(defaultObjectVersion(21, '1.1'), '1.0');
    assert.equal(defaultObjectVersion(0, '1.2'), '1.2');
    assert.equal(defaultObjectVersion(2, '1.2'), '1.1');
    assert.equal(defaultObjectVersion(4, '1.2'), '1.3');
    assert.equal(defaultObjectVersion(5, '1.2'), '1.1');
    assert.equal(defaultObjectVersion(21, '1.2'), '2.0');
  });

  it('reads patch, quoted, newer and unreadable LwM2M versions sensibly', () => {
    assert.equal(defaultObjectVersion(3, '1.1.1'), '1.1');
    assert.equal(defaultObjectVersion(3, ' "1.2" '), '1.2');
    assert.equal(defaultObjectVersion(4, '1.3'), '1.3', 'newer than we know: newest table');
    assert.equal(defaultObjectVersion(4, '2.0'), '1.3');
    assert.equal(defaultObjectVersion(3, 'junk'), '1.0');
    assert.equal(defaultObjectVersion(3, ''), '1.0');
    assert.equal(defaultObjectVersion(3, '0.9'), '1.0');
  });
});

describe('model/registry ObjectRegistry', () => {
  const v10 = obj(40000, '1.0', [res(0, 'A'), res(1, 'B')]);
  const v11 = obj(40000, '1.1', [res(0, 'A'), res(1, 'B'), res(2, 'C')]);
  const v12 = obj(40000, '1.2', [res(0, 'A', { units: 'm' }), res(2, 'C')]);
  const other = obj(40001, '2.0', [res(5, 'E')]);

  function sample(): ObjectRegistry {
    return new ObjectRegistry([v12, other, v10, v11]);
  }

  it('keeps versions of an object apart', () => {
    const r = sample();
    assert.equal(r.get(40000, '1.0'), v10);
    assert.equal(r.get(40000, '1.1'), v11);
    assert.equal(r.get(40000, '1.2'), v12);
    assert.equal(r.get(40000, '1.3'), undefined);
    assert.deepEqual(r.versions(40000), ['1.0', '1.1', '1.2']);
    assert.deepEqual(r.versions(99), []);
  });

  it('get without a version gives the latest (numeric order)', () => {
    const r = new ObjectRegistry([obj(7, '1.9', []), obj(7, '1.10', []), obj(7, '1.2', [])]);
    assert.equal(r.get(7)?.version, '1.10');
    assert.equal(r.get(8), undefined);
  });

  it('has, ids, size and iteration', () => {
    const r = sample();
    assert.equal(r.has(40000), true);
    assert.equal(r.has(40000, '1.1'), true);
    assert.equal(r.has(40000, '3.0'), false);
    assert.equal(r.has(1), false);
    assert.deepEqual(r.ids(), [40000, 40001]);
    assert.equal(r.size, 4);
    assert.deepEqual([...r].map((d) => `${d.id}@${d.version}`), ['40000@1.0', '40000@1.1', '40000@1.2', '40001@2.0']);
  });

  it('add replaces the definition of the same id and version', () => {
    const r = sample();
    const replacement = obj(40000, '1.1', [res(9, 'Z')], 'Replaced');
    r.add(replacement);
    assert.equal(r.get(40000, '1.1'), replacement);
    assert.equal(r.get(40000, '1.0'), v10);
    assert.equal(r.size, 4);
  });

  it('add rejects invalid ids and versions with a ModelError', () => {
    const r = new ObjectRegistry();
    assert.throws(() => r.add(obj(65535, '1.0', [])), ModelError);
    assert.throws(() => r.add(obj(-1, '1.0', [])), ModelError);
    assert.throws(() => r.add(obj(5, 'one', [])), (err: unknown) => err instanceof ModelError && err.message.includes('"one"'));
    assert.equal(r.size, 0);
  });

  it('resolve applies the version rules to one object', () => {
    const r = sample();
    assert.equal(r.resolve(40000)?.version, '1.0');
    assert.equal(r.resolve(40000, '1.2')?.version, '1.2');
    assert.equal(r.resolve(40000, '1.7')?.version, '1.2');
    assert.equal(r.resolve(40001)?.version, '2.0');
    assert.equal(r.resolve(12345, '1.0'), undefined);
  });

  describe('lookupFor', () => {
    it('serves each object in the version the client registered', () => {
      const lookup = sample().lookupFor(new Map([[40000, '1.1']]));
      assert.equal(lookup.object(40000), v11);
      assert.equal(lookup.resource(40000, 2)?.name, 'C');
      assert.equal(lookup.resource(40000, 7), undefined);
      assert.equal(lookup.object(555), undefined);
      assert.equal(lookup.resource(555, 0), undefined);
    });

    it('reads a missing or empty version as 1.0, and an object not listed the same way', () => {
      const r = sample();
      assert.equal(r.lookupFor(new Map([[40000, '']])).object(40000), v10);
      assert.equal(r.lookupFor(new Map()).object(40000), v10);
      assert.equal(r.lookupFor(new Map()).resource(40000, 2), undefined, 'resource 2 is not in 1.0');
    });

    it('falls back for versions we do not have', () => {
      const r = sample();
      assert.equal(r.lookupFor(new Map([[40000, '1.5']])).object(40000), v12);
      assert.equal(r.lookupFor(new Map([[40001, '1.0']])).object(40001), other);
    });

    it('keeps its choice once made, while new lookups see later additions', () => {
      const r = sample();
      const lookup = r.lookupFor(new Map([[40000, '1.3']]));
      assert.equal(lookup.object(40000), v12);
      const v13 = obj(40000, '1.3', [res(3, 'D')]);
      r.add(v13);
      assert.equal(lookup.object(40000), v12);
      assert.equal(r.lookupFor(new Map([[40000, '1.3']])).object(40000), v13);
    });

    it('latestLookup uses the latest version of every object', () => {
      const lookup = sample().latestLookup();
      assert.equal(lookup.object(40000), v12);
      assert.equal(lookup.resource(40000, 0)?.units, 'm');
      assert.equal(lookup.object(1), undefined);
    });

    it('resolves objects without ver from the client LwM2M version', () => {
      const builtin = builtinRegistry();
      const v11 = builtin.lookupFor(new Map([[3, ''], [3303, '']]), '1.1');
      assert.equal(v11.object(3)?.version, '1.1');
      assert.equal(v11.object(4)?.version, '1.2', 'not listed at all');
      assert.equal(v11.object(3303)?.version, '1.0');
      const v12 = builtin.lookupFor(new Map([[3, '1.0']]), '1.2');
      assert.equal(v12.object(3)?.version, '1.0', 'an explicit ver wins');
      assert.equal(v12.object(1)?.version, '1.2');
      assert.equal(v12.resource(1, 24)?.name, 'Alternate APN Links');
      assert.equal(builtin.lookupFor(new Map()).object(1)?.version, '1.0', 'no lwm2m= means 1.0');
      assert.equal(builtin.resolve(5, undefined, '1.2')?.version, '1.1');
      assert.equal(builtin.resolve(5, '', '1.2')?.version, '1.1');
    });

    it('works on the built-in registry: </3>;ver=1.1 gets Device 1.1', () => {
      const builtin = builtinRegistry();
      const lookup = builtin.lookupFor(new Map([[3, '1.1'], [5, '1.2']]));
      assert.equal(lookup.object(3)?.version, '1.1');
      assert.equal(lookup.resource(3, 9)?.units, '%');
      assert.equal(lookup.object(5)?.version, '1.2');
      const plain = builtin.lookupFor(new Map());
      assert.equal(plain.object(3)?.version, '1.0');
      assert.equal(plain.resource(3, 9)?.range, '0-100');
      assert.equal(builtin.lookupFor(new Map([[3, '1.9']])).object(3)?.version, '1.2');
    });
  });

  describe('read-only registries and user folders', () => {
    let dir: string;

    beforeEach(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'lwm2m-registry-'));
    });

    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('the built-in registry refuses changes; a clone accepts them without touching it', async () => {
      const builtin = builtinRegistry();
      const before = builtin.size;
      assert.throws(() => builtin.add(obj(40000, '1.0', [])), (err: unknown) => err instanceof ModelError && /clone/.test(err.message));
      await assert.rejects(builtin.loadFolder(dir), ModelError);
      const copy = builtin.clone();
      assert.equal(copy.frozen, false);
      assert.equal(copy.size, before);
      copy.add(obj(40000, '1.0', []));
      assert.equal(copy.size, before + 1);
      assert.equal(builtin.size, before);
      assert.equal(builtin.has(40000), false);
    });

    it('user DDF files override built-ins of the same id and version and add new objects', async () => {
      await writeFile(path.join(dir, 'device.xml'), ddfXml({
        id: '3', name: 'My Device', objectVersion: '1.1', multiple: 'Single', mandatory: 'Mandatory',
        items: [{ id: '9', name: 'Battery Percent', type: 'Float', units: '%' }],
      }));
      await writeFile(path.join(dir, 'pump.xml'), ddfXml({ id: '40500', name: 'Pump', objectVersion: null }));
      await writeFile(path.join(dir, 'DDF.xml'), '<DDFList/>');

      const registry = builtinRegistry().clone();
      const { definitions, skipped } = await registry.loadFolder(dir);
      assert.deepEqual(definitions.map((d) => d.id), [3, 40500]);
      assert.deepEqual(skipped.map((s) => path.basename(s.file)), ['DDF.xml']);

      assert.equal(registry.get(3, '1.1')?.name, 'My Device');
      assert.equal(registry.get(3, '1.1')?.resources.get(9)?.type, 'float');
      assert.equal(registry.get(3, '1.0')?.name, 'Device', 'other versions stay built-in');
      assert.equal(registry.get(3, '1.2')?.name, 'Device');
      assert.equal(registry.get(40500, '1.0')?.name, 'Pump');
      assert.equal(registry.lookupFor(new Map([[3, '1.1']])).resource(3, 9)?.name, 'Battery Percent');
      assert.equal(builtinRegistry().get(3, '1.1')?.resources.get(9)?.name, 'Battery Level');
    });

    it('a broken user file adds nothing and names the file', async () => {
      await writeFile(path.join(dir, 'a-good.xml'), ddfXml({ id: '40600' }));
      await writeFile(path.join(dir, 'b-bad.xml'), ddfXml({ id: '40601', items: [{ type: 'Decimal' }] }));
      const registry = new ObjectRegistry();
      await assert.rejects(registry.loadFolder(dir), (err: unknown) => {
        assert.ok(err instanceof ModelError);
        assert.ok(err.message.includes('b-bad.xml') && err.message.includes('"Decimal"'));
        return true;
      });
      assert.equal(registry.size, 0);
    });
  });
});
