/**
 * Test helpers for the flat formats: a small resource model (the objects
 * the specification examples use, plus one object with every data type),
 * value builders and error assertions.
 */
import assert from 'node:assert/strict';
import { FormatError, UnsupportedFormatError } from '../../src/errors.js';
import type { ModelLookup, ObjectDefinition, ResourceDefinition, ResourceType } from '../../src/model/definitions.js';

type Spec = [id: number, type: ResourceType, multiple?: boolean];

function object(id: number, resources: Spec[]): ObjectDefinition {
  const defs = new Map<number, ResourceDefinition>(
    resources.map(([rid, type, multiple]) => [
      rid,
      { id: rid, name: `res${rid}`, operations: type === 'none' ? 'E' : 'RW', type, multiple: multiple === true, mandatory: false },
    ]),
  );
  return { id, name: `obj${id}`, version: '1.0', lwm2mVersion: '1.1', urn: `urn:oma:lwm2m:x:${id}`, multiple: true, mandatory: false, resources: defs };
}

/** Object 10999 has one resource of every type (ids: see ALL_TYPES). */
export const ALL_TYPES = {
  string: 0, integer: 1, unsigned: 2, float: 3, boolean: 4, opaque: 5, time: 6, objlnk: 7, corelnk: 8, multiInt: 9, execute: 10,
} as const;

const OBJECTS = [
  object(1, [[0, 'integer'], [1, 'integer']]),
  object(3, [
    [0, 'string'], [1, 'string'], [2, 'string'], [3, 'string'], [4, 'none'],
    [6, 'integer', true], [7, 'integer', true], [8, 'integer', true], [9, 'integer'], [10, 'integer'],
    [11, 'integer', true], [13, 'time'], [14, 'string'], [16, 'string'],
  ]),
  object(5, [[0, 'opaque'], [1, 'string'], [3, 'integer']]),
  object(65, [[0, 'objlnk', true], [1, 'string'], [2, 'integer']]),
  object(66, [[0, 'string'], [1, 'string'], [2, 'objlnk']]),
  object(67, [[0, 'string'], [1, 'string']]),
  object(3303, [[5700, 'float'], [5701, 'string']]),
  object(3308, [[5900, 'float']]),
  object(3311, [[5850, 'boolean'], [5851, 'integer']]),
  object(10999, [
    [0, 'string'], [1, 'integer'], [2, 'unsigned'], [3, 'float'], [4, 'boolean'], [5, 'opaque'],
    [6, 'time'], [7, 'objlnk'], [8, 'corelnk'], [9, 'integer', true], [10, 'none'],
  ]),
];

export const model: ModelLookup = {
  object: (id) => OBJECTS.find((o) => o.id === id),
  resource: (oid, rid) => OBJECTS.find((o) => o.id === oid)?.resources.get(rid),
};

/** Asserts that `fn` throws a FormatError (4.00) whose message matches `pattern`, when given. */
export function assertFormatError(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FormatError, `expected FormatError, got ${String(err)}`);
    assert.equal(err.code, '4.00');
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

export function assertUnsupported(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UnsupportedFormatError, `expected UnsupportedFormatError, got ${String(err)}`);
    assert.equal(err.code, '4.15');
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

/** Only our two typed errors may leave a decoder; anything else is a bug. */
export function assertOnlyTypedErrors(fn: () => unknown, label: string): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof FormatError || err instanceof UnsupportedFormatError) return;
    assert.fail(`${label}: unexpected ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
}

export const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** A deterministic PRNG (mulberry32), so fuzz failures can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
