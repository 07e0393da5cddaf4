import assert from 'node:assert/strict';
import { ModelError } from '../../src/errors.js';
import { RESOURCE_TYPES } from '../../src/model/definitions.js';
import type { ObjectDefinition, Operations, ResourceDefinition } from '../../src/model/definitions.js';
import { decodeObject, decodeResource, encodeObject, encodeResource } from '../../src/model/facts.js';
import type { ObjectFact, ResourceFact } from '../../src/model/facts.js';

describe('model/facts compact encoding', () => {
  it('round-trips every type, operation, flag and optional text', () => {
    const operations: Operations[] = ['', 'R', 'W', 'RW', 'E'];
    const resources: ResourceDefinition[] = [];
    let id = 0;
    for (const type of RESOURCE_TYPES) {
      for (const ops of operations) {
        resources.push({ id: id++, name: `r ${type} ${ops}`, operations: ops, type, multiple: id % 2 === 0, mandatory: id % 3 === 0 });
      }
    }
    resources.push({ id: id++, name: 'range only', operations: 'R', type: 'integer', multiple: false, mandatory: false, range: '0..7' });
    resources.push({ id: id++, name: 'units only', operations: 'R', type: 'float', multiple: false, mandatory: false, units: 'Cel' });
    resources.push({ id: id++, name: 'both "quoted" | piped', operations: 'R', type: 'float', multiple: true, mandatory: true, range: '<7 to >12.5', units: '%' });
    const def: ObjectDefinition = {
      id: 3303, name: 'Temperature', version: '1.1', lwm2mVersion: '1.0', urn: 'urn:oma:lwm2m:ext:3303:1.1',
      multiple: true, mandatory: false, resources: new Map(resources.map((r) => [r.id, r])),
    };
    const fact = encodeObject(def);
    assert.deepEqual(JSON.parse(JSON.stringify(fact)), fact, 'facts are plain JSON data');
    assert.deepEqual(decodeObject(fact), def);
  });

  it('uses the documented codes', () => {
    const battery: ResourceDefinition = { id: 9, name: 'Battery Level', operations: 'R', type: 'integer', multiple: false, mandatory: false, range: '0..100', units: '%' };
    assert.deepEqual(encodeResource(battery), [9, 'Battery Level', 'R i SO', '0..100', '%']);
    const reboot: ResourceDefinition = { id: 4, name: 'Reboot', operations: 'E', type: 'none', multiple: false, mandatory: true };
    assert.deepEqual(encodeResource(reboot), [4, 'Reboot', 'E n SM']);
    const key: ResourceDefinition = { id: 5, name: 'Secret Key', operations: '', type: 'opaque', multiple: true, mandatory: false, units: 'B' };
    assert.deepEqual(encodeResource(key), [5, 'Secret Key', '- o MO', '', 'B']);
  });

  it('sorts resources by id', () => {
    const def: ObjectDefinition = {
      id: 1, name: 'x', version: '1.0', lwm2mVersion: '1.0', urn: '', multiple: false, mandatory: false,
      resources: new Map([[5, { id: 5, name: 'b', operations: 'R', type: 'string', multiple: false, mandatory: false }],
        [2, { id: 2, name: 'a', operations: 'R', type: 'string', multiple: false, mandatory: false }]]),
    };
    assert.deepEqual(encodeObject(def)[6].map((r) => r[0]), [2, 5]);
  });

  it('rejects bad codes with a ModelError naming object and resource', () => {
    const bad: ResourceFact[] = [
      [1, 'x', 'R integer SO'],
      [1, 'x', 'X i SO'],
      [1, 'x', 'R i'],
      [1, 'x', 'R i SX'],
      [1, 'x', ' i SO'],
      [1, 'x', 'R  i SO'],
    ];
    for (const fact of bad) {
      assert.throws(() => decodeResource(fact, 'object 9 version 1.0'), (err: unknown) =>
        err instanceof ModelError && err.message.includes('object 9 version 1.0, resource 1'), fact[2]);
    }
    const badObject: ObjectFact = [9, '1.0', '1.0', 'x', '', 'QQ', []];
    assert.throws(() => decodeObject(badObject), (err: unknown) => err instanceof ModelError && err.message.includes('"QQ"'));
  });
});
