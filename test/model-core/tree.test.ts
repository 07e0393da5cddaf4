import assert from 'node:assert/strict';
import { FormatError } from '../../src/errors.js';
import type { ModelLookup, ResourceDefinition } from '../../src/model/definitions.js';
import { buildNode, flattenNode, groupLeaves } from '../../src/model/tree.js';
import {
  instanceNode,
  multipleResourceNode,
  objectNode,
  resourceInstanceNode,
  resourceNode,
  value,
} from '../../src/model/value.js';

const device = instanceNode(0, [
  resourceNode(0, value.string('Open Mobile Alliance')),
  multipleResourceNode(6, [resourceInstanceNode(0, value.integer(1)), resourceInstanceNode(1, value.integer(5))]),
  resourceNode(9, value.integer(95), 1700000000),
]);

const model: ModelLookup = {
  object: () => undefined,
  resource: (o, r) =>
    o === 3 && r === 6
      ? ({ id: 6, multiple: true } as ResourceDefinition)
      : o === 3 && r === 9
        ? ({ id: 9, multiple: false } as ResourceDefinition)
        : undefined,
};

describe('value tree ↔ leaves', () => {
  it('flattens an instance into leaves in tree order, keeping times', () => {
    const leaves = flattenNode([3, 0], device);
    assert.deepEqual(leaves.map((l) => l.path.join('/')), ['3/0/0', '3/0/6/0', '3/0/6/1', '3/0/9']);
    assert.equal(leaves[3]?.time, 1700000000);
  });

  it('rebuilds the same instance from its leaves', () => {
    assert.deepEqual(buildNode([3, 0], flattenNode([3, 0], device)), device);
  });

  it('builds objects, resources and resource instances at their level', () => {
    const obj = objectNode(3, [device]);
    assert.deepEqual(buildNode([3], flattenNode([3], obj)), obj);
    const leaves = flattenNode([3, 0], device);
    assert.deepEqual(buildNode([3, 0, 6], leaves.filter((l) => l.path[2] === 6)), device.resources.get(6));
    assert.deepEqual(buildNode([3, 0, 6, 1], leaves.filter((l) => l.path[3] === 1)), resourceInstanceNode(1, value.integer(5)));
  });

  it('returns an empty multiple resource when the model says the resource is multiple', () => {
    assert.deepEqual(buildNode([3, 0, 6], [], model), multipleResourceNode(6, []));
    assert.throws(() => buildNode([3, 0, 6], []), FormatError);
  });

  it('rejects leaves outside the path, duplicates and single/multiple conflicts', () => {
    const v = value.integer(1);
    assert.throws(() => buildNode([3, 0], [{ path: [4, 0, 1], value: v }]), /outside requested path/);
    assert.throws(() => buildNode([3, 0], [{ path: [3, 0, 1], value: v }, { path: [3, 0, 1], value: v }]), /more than once/);
    assert.throws(() => buildNode([3, 0], [{ path: [3, 0, 1], value: v }, { path: [3, 0, 1, 0], value: v }]), /both/);
    assert.throws(() => buildNode([3, 0], [{ path: [3, 0, 6], value: v }], model), /is multiple/);
    assert.throws(() => buildNode([3, 0], [{ path: [3, 0, 9, 0], value: v }], model), /is single/);
    assert.throws(() => buildNode([3, 0], [{ path: [3, 0], value: v }]), /not a resource/);
  });

  it('groups leaves under the deepest requested path (composite)', () => {
    const v = value.integer(1);
    const groups = groupLeaves(
      [{ path: [3, 0, 9], value: v }, { path: [3, 0, 0], value: v }, { path: [3303, 0, 5700], value: value.float(21.5) }],
      [[3, 0], [3, 0, 9], [3303, 0, 5700]],
    );
    assert.deepEqual(groups.map((g) => g.path.join('/')), ['3/0', '3/0/9', '3303/0/5700']);
    assert.equal((groups[0]?.node as ReturnType<typeof instanceNode>).resources.size, 1);
    assert.throws(() => groupLeaves([{ path: [4, 0, 0], value: v }], [[3]]), /was not requested/);
  });
});
