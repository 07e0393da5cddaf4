import assert from 'node:assert/strict';
import { Lwm2mError } from '../../src/errors.js';
import type { ModelLookup, ResourceDefinition, ResourceType } from '../../src/model/definitions.js';
import { fromPlain, toPlain } from '../../src/model/plain.js';
import { instanceNode, multipleResourceNode, resourceInstanceNode, resourceNode, value } from '../../src/model/value.js';

function def(id: number, name: string, type: ResourceType, multiple = false): ResourceDefinition {
  return { id, name, type, multiple, operations: 'RW', mandatory: false };
}
const defs = new Map<number, ResourceDefinition>([
  [0, def(0, 'Manufacturer', 'string')],
  [4, def(4, 'Reboot', 'none')],
  [6, def(6, 'Available Power Sources', 'integer', true)],
  [9, def(9, 'Battery Level', 'integer')],
  [13, def(13, 'Current Time', 'time')],
  [20, def(20, 'Flag', 'boolean')],
  [21, def(21, 'Blob', 'opaque')],
  [22, def(22, 'Link', 'objlnk')],
  [23, def(23, 'Counter', 'unsigned')],
  [24, def(24, 'Ratio', 'float')],
]);
const model: ModelLookup = { object: () => undefined, resource: (o, r) => (o === 3 ? defs.get(r) : undefined) };

function assertBad(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof Lwm2mError && err.code === code && pattern.test(err.message));
}

describe('plain values ↔ value tree', () => {
  it('gives flows the documented plain shapes', () => {
    const node = instanceNode(0, [
      resourceNode(0, value.string('ACME')),
      multipleResourceNode(6, [resourceInstanceNode(0, value.integer(1)), resourceInstanceNode(2, value.integer(5))]),
      resourceNode(22, value.objlnk(3, 0)),
      resourceNode(21, value.opaque(Buffer.from([1, 2]))),
      resourceNode(13, value.time(new Date(1_700_000_000_000))),
    ]);
    assert.deepEqual(toPlain(node), {
      0: 'ACME',
      6: { 0: 1, 2: 5 },
      22: '3:0',
      21: Buffer.from([1, 2]),
      13: new Date(1_700_000_000_000),
    });
  });

  it('types plain input through the model', () => {
    const node = fromPlain([3, 0], {
      0: 'ACME', 6: [1, 5], 9: '95', 13: 1_700_000_000, 20: 'true', 21: 'hi', 22: '3:1', 23: '18446744073709551615', 24: 2,
    }, model);
    assert.deepEqual(toPlain(node), {
      0: 'ACME', 6: { 0: 1, 1: 5 }, 9: 95, 13: new Date(1_700_000_000_000), 20: true, 21: Buffer.from('hi'),
      22: '3:1', 23: 18446744073709551615n, 24: 2,
    });
    const r = fromPlain([3, 0, 24], 2, model);
    assert.equal(r.kind === 'resource' && r.value.type, 'float');
  });

  it('infers types without a model', () => {
    assert.deepEqual(fromPlain([9999, 0, 1], 2.5), resourceNode(1, value.float(2.5)));
    assert.deepEqual(fromPlain([9999, 0, 1], 7), resourceNode(1, value.integer(7)));
    assert.deepEqual(fromPlain([9999, 0, 1], { 0: 'a' }), multipleResourceNode(1, [resourceInstanceNode(0, value.string('a'))]));
    assert.deepEqual(fromPlain([9999, 0, 1, 3], true), resourceInstanceNode(3, value.boolean(true)));
  });

  it('names path, resource and expected type in errors', () => {
    assertBad(() => fromPlain([3, 0, 9], 'lots', model), '4.00', /\/3\/0\/9 \(Battery Level\): expected an integer, got "lots"/);
    assertBad(() => fromPlain([3, 0, 9], 1.5, model), '4.00', /expected an integer/);
    assertBad(() => fromPlain([3, 0, 9], 2n ** 64n, model), '4.00', /64-bit range/);
    assertBad(() => fromPlain([3, 0, 23], -1, model), '4.00', /unsigned/);
    assertBad(() => fromPlain([3, 0, 20], 'yes', model), '4.00', /boolean/);
    assertBad(() => fromPlain([3, 0, 13], 'not a date', model), '4.00', /Date/);
    assertBad(() => fromPlain([3, 0, 22], '3-0', model), '4.00', /object link/);
    assertBad(() => fromPlain([3, 0, 6], 5, model), '4.00', /expected an object of resource instance values/);
    assertBad(() => fromPlain([3, 0], { x: 1 }, model), '4.00', /bad key "x"/);
    assertBad(() => fromPlain([3, 0, 4], 1, model), '4.05', /Execute resource/);
    assertBad(() => fromPlain([], 1, model), '4.00', /not the root/);
    assertBad(() => fromPlain([3, 0, 24], NaN, model), '4.00', /finite number/);
  });
});
