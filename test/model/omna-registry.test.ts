/**
 * The loader against the real OMNA registry files, and the generated
 * built-in facts against both the files and a few facts checked by hand.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { NotAnObjectDefinitionError, loadDdfFile } from '../../src/model/ddf.js';
import type { ObjectDefinition, ResourceDefinition } from '../../src/model/definitions.js';
import { builtinRegistry } from '../../src/model/registry.js';
import { factsFile, readOmnaRegistry, renderFacts } from '../../scripts/generate-registry.js';
import type { OmnaRegistryData } from '../../scripts/generate-registry.js';
import { requireRegistryDir } from './registry-dir.js';

type Finder = (id: number, version: string) => ObjectDefinition | undefined;

function resource(find: Finder, id: number, version: string, rid: number): ResourceDefinition {
  const def = find(id, version);
  assert.ok(def, `object ${id} version ${version} should exist`);
  const res = def.resources.get(rid);
  assert.ok(res, `/${id}/x/${rid} should exist in version ${version}`);
  return res;
}

/** Facts checked by hand against the DDF files; run on every source of definitions. */
function checkKnownFacts(find: Finder, all: Iterable<ObjectDefinition>): void {
  // Device 1.1, Battery Level.
  const battery = resource(find, 3, '1.1', 9);
  assert.equal(battery.name, 'Battery Level');
  assert.equal(battery.type, 'integer');
  assert.equal(battery.operations, 'R');
  assert.equal(battery.units, '%');
  assert.equal(battery.range, '0..100');
  assert.equal(battery.multiple, false);
  assert.equal(battery.mandatory, false);

  // Reboot: Execute, no value, mandatory, in every Device version.
  for (const version of ['1.0', '1.1', '1.2']) {
    const reboot = resource(find, 3, version, 4);
    assert.equal(reboot.name, 'Reboot');
    assert.equal(reboot.operations, 'E');
    assert.equal(reboot.type, 'none');
    assert.equal(reboot.mandatory, true);
  }

  // Firmware Update Package: write-only opaque.
  for (const version of ['1.0', '1.2']) {
    const pkg = resource(find, 5, version, 0);
    assert.equal(pkg.name, 'Package');
    assert.equal(pkg.type, 'opaque');
    assert.equal(pkg.operations, 'W');
  }

  // Unsigned Integer (LwM2M 1.1) and Corelnk resources.
  const matching = resource(find, 0, '1.1', 13);
  assert.equal(matching.name, 'Matching Type');
  assert.equal(matching.type, 'unsigned');
  assert.equal(matching.operations, '');
  const observeLinks = resource(find, 22, '1.0', 0);
  assert.equal(observeLinks.name, 'ObserveLinks');
  assert.equal(observeLinks.type, 'corelnk');
  assert.equal(observeLinks.multiple, true);

  // Device versions kept apart, and really different.
  const device = ['1.0', '1.1', '1.2'].map((v) => find(3, v));
  assert.deepEqual(device.map((d) => d?.urn), ['urn:oma:lwm2m:oma:3', 'urn:oma:lwm2m:oma:3:1.1', 'urn:oma:lwm2m:oma:3:1.2']);
  assert.deepEqual(device.map((d) => d?.lwm2mVersion), ['1.0', '1.1', '1.1']);
  assert.equal(resource(find, 3, '1.0', 9).range, '0-100');
  assert.equal(resource(find, 3, '1.2', 9).units, '/100');
  assert.equal(resource(find, 3, '1.1', 11).range, '0..8');
  assert.equal(resource(find, 3, '1.2', 11).range, '0..32');

  // Server object: resources that exist in one version and not in another.
  assert.equal(find(1, '1.0')?.resources.has(9), false);
  assert.equal(resource(find, 1, '1.1', 9).name, 'Bootstrap-Request Trigger');
  assert.equal(find(1, '1.1')?.resources.has(24), false);
  assert.equal(resource(find, 1, '1.2', 24).name, 'Alternate APN Links');
  assert.equal(resource(find, 1, '1.2', 24).type, 'objlnk');

  // Every type appears somewhere.
  const types = new Set<string>();
  for (const def of all) for (const res of def.resources.values()) types.add(res.type);
  assert.deepEqual([...types].sort(), ['boolean', 'corelnk', 'float', 'integer', 'none', 'objlnk', 'opaque', 'string', 'time', 'unsigned']);
}

const OBJECT_FILE = /^(\d+)\.xml$/;
const HISTORY_FILE = /^(\d+)-(\d+)_(\d+)\.xml$/;

describe('model: the OMNA registry files', function () {
  let dir: string;
  let data: OmnaRegistryData;

  before(async function () {
    dir = requireRegistryDir(this);
    data = await readOmnaRegistry(dir);
  });

  it('loads every top-level file: object files give definitions, the others are recognized', async () => {
    const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
    let objectFiles = 0;
    const reasons = new Map<string, string>();
    for (const name of names) {
      const file = path.join(dir, name);
      const match = OBJECT_FILE.exec(name);
      if (match) {
        const defs = await loadDdfFile(file);
        assert.ok(defs.length >= 1, `${name} gives no definition`);
        for (const def of defs) assert.equal(def.id, Number(match[1]), `${name} defines object ${def.id}`);
        objectFiles++;
      } else if (/\.(xml|xsd)$/.test(name)) {
        await assert.rejects(loadDdfFile(file), (err: unknown) => {
          assert.ok(err instanceof NotAnObjectDefinitionError, `${name}: ${String(err)}`);
          reasons.set(name, err.reason);
          return true;
        });
      }
    }
    assert.ok(objectFiles > 300, `only ${objectFiles} object files`);
    assert.match(reasons.get('DDF.xml') ?? '', /registry index/);
    assert.match(reasons.get('Common.xml') ?? '', /CommonResources/);
    assert.match(reasons.get('LWM2M_senml_units.xml') ?? '', /units list/);
    assert.match(reasons.get('LWM2M.xsd') ?? '', /XML schema/);
    assert.match(reasons.get('LWM2M-v1_1.xsd') ?? '', /XML schema/);
  });

  it('loads every version_history file with the id and version its name says', async () => {
    const history = path.join(dir, 'version_history');
    const names = await readdir(history);
    assert.ok(names.length > 300);
    for (const name of names) {
      const match = HISTORY_FILE.exec(name);
      assert.ok(match, `unexpected file version_history/${name}`);
      const defs = await loadDdfFile(path.join(history, name));
      assert.ok(defs.length >= 1, `${name} gives no definition`);
      for (const def of defs) {
        assert.equal(def.id, Number(match[1]), `${name} defines object ${def.id}`);
        assert.equal(def.version, `${match[2]}.${match[3]}`, `${name} defines version ${def.version}`);
      }
    }
  });

  it('lists every non-object file of the folder as skipped, with a reason', () => {
    const skipped = new Map(data.skipped.map((s) => [path.basename(s.file), s.reason]));
    for (const name of ['DDF.xml', 'Common.xml', 'LWM2M_senml_units.xml', 'LWM2M.xsd', 'LWM2M-v1_1.xsd', 'README.md']) {
      assert.ok(skipped.has(name), `${name} should be listed as skipped`);
      assert.ok((skipped.get(name) ?? '').length > 10, `${name} needs a reason`);
    }
    for (const name of skipped.keys()) assert.ok(!OBJECT_FILE.test(name), `${name} should have loaded`);
  });

  it('keeps one definition per object id and version, sorted', () => {
    const keys = data.definitions.map((d) => `${d.id}@${d.version}`);
    assert.equal(new Set(keys).size, keys.length);
    assert.ok(data.definitions.length > 400);
    const device = data.definitions.filter((d) => d.id === 3).map((d) => d.version);
    assert.deepEqual(device, ['1.0', '1.1', '1.2']);
  });

  it('matches the facts checked by hand', () => {
    const byKey = new Map(data.definitions.map((d) => [`${d.id}@${d.version}`, d]));
    checkKnownFacts((id, version) => byKey.get(`${id}@${version}`), data.definitions);
  });

  it('the committed omna-facts.ts is what the generator renders now', async () => {
    const committed = await readFile(factsFile(), 'utf8');
    const rendered = renderFacts(data);
    if (committed !== rendered) {
      const a = committed.split('\n');
      const b = rendered.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      assert.fail(`src/model/omna-facts.ts is out of date (first difference at line ${line + 1}): run npm run generate-registry`);
    }
  });

  it('the built-in registry holds exactly the definitions of the files', () => {
    const builtin = builtinRegistry();
    assert.equal(builtin.size, data.definitions.length);
    for (const def of data.definitions) assert.deepEqual(builtin.get(def.id, def.version), def);
  });
});

describe('model: built-in registry facts', () => {
  it('matches the facts checked by hand (no registry folder needed)', () => {
    const builtin = builtinRegistry();
    checkKnownFacts((id, version) => builtin.get(id, version), builtin);
  });

  it('is shared and read-only', () => {
    const builtin = builtinRegistry();
    assert.equal(builtinRegistry(), builtin);
    assert.equal(builtin.frozen, true);
  });
});
