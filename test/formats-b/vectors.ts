/**
 * Vectors and checks shared by several test files of the flat formats.
 */
import assert from 'node:assert/strict';
import type { ObjectInstanceNode, PathNode, SingleResourceNode } from '../../src/model/value.js';

/** Table 7.4.4-2: Read /3/0, Device object instance. */
export const DEVICE_3_0 =
  '[{"bn":"/3/0/","n":"0","vs":"Open Mobile Alliance"},{"n":"1","vs":"Lightweight M2M Client"},' +
  '{"n":"2","vs":"345000123"},{"n":"3","vs":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},' +
  '{"n":"7/0","v":3800},{"n":"7/1","v":5000},{"n":"8/0","v":125},{"n":"8/1","v":900},' +
  '{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},{"n":"13","v":1367491215},' +
  '{"n":"14","vs":"+02:00"},{"n":"16","vs":"U"}]';

/** Checks the Device instance of the specification example. */
export function assertDeviceInstance(entries: PathNode[]): void {
  assert.equal(entries.length, 1);
  const [entry] = entries as [PathNode];
  assert.deepEqual(entry.path, [3, 0]);
  const inst = entry.node as ObjectInstanceNode;
  assert.equal(inst.kind, 'instance');
  const single = (id: number) => (inst.resources.get(id) as SingleResourceNode).value;
  assert.deepEqual(single(0), { type: 'string', value: 'Open Mobile Alliance' });
  assert.deepEqual(single(1), { type: 'string', value: 'Lightweight M2M Client' });
  assert.deepEqual(single(9), { type: 'integer', value: 100 });
  assert.deepEqual(single(13), { type: 'time', value: new Date(1367491215000) });
  assert.deepEqual(single(16), { type: 'string', value: 'U' });
  const power = inst.resources.get(6);
  assert.equal(power?.kind, 'multipleResource');
  if (power?.kind !== 'multipleResource') return;
  assert.deepEqual([...power.instances.values()].map((ri) => [ri.id, ri.value.value]), [[0, 1], [1, 5]]);
  assert.deepEqual([...inst.resources.keys()], [0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 13, 14, 16]);
}

