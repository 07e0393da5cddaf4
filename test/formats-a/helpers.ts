/**
 * Shared test fixtures for the text, opaque, CBOR, TLV and link-format
 * tests: a small model (Device, Server, Access Control, the spec's example
 * objects 65/66, and an object with one resource of every type), hex
 * helpers, error assertions and a seeded random generator for fuzz loops.
 */
import assert from 'node:assert/strict';
import { FormatError, Lwm2mError, UnsupportedFormatError } from '../../src/errors.js';
import type {
  ModelLookup,
  ObjectDefinition,
  ResourceDefinition,
  ResourceType,
} from '../../src/model/definitions.js';

type Res = [id: number, type: ResourceType, multiple?: boolean];

function objectDef(id: number, name: string, resources: Res[]): ObjectDefinition {
  const map = new Map<number, ResourceDefinition>();
  for (const [rid, type, multiple] of resources) {
    map.set(rid, {
      id: rid,
      name: `r${rid}`,
      operations: type === 'none' ? 'E' : 'RW',
      type,
      multiple: multiple === true,
      mandatory: false,
    });
  }
  return {
    id,
    name,
    version: '1.0',
    lwm2mVersion: '1.1',
    urn: `urn:oma:lwm2m:x:${id}`,
    multiple: true,
    mandatory: false,
    resources: map,
  };
}

/** Object 9999: one resource of each type, single and multiple. */
export const ALL = {
  string: 0,
  integer: 1,
  unsigned: 2,
  float: 3,
  boolean: 4,
  opaque: 5,
  time: 6,
  objlnk: 7,
  corelnk: 8,
  execute: 9,
  multiInteger: 10,
  multiString: 11,
  multiOpaque: 12,
} as const;

const OBJECTS: ObjectDefinition[] = [
  objectDef(1, 'LwM2M Server', [
    [0, 'integer'],
    [1, 'integer'],
    [2, 'integer'],
    [3, 'integer'],
    [4, 'none'],
    [6, 'boolean'],
    [7, 'string'],
  ]),
  objectDef(2, 'Access Control', [
    [0, 'integer'],
    [1, 'integer'],
    [2, 'integer', true],
    [3, 'integer'],
  ]),
  objectDef(3, 'Device', [
    [0, 'string'],
    [1, 'string'],
    [2, 'string'],
    [3, 'string'],
    [4, 'none'],
    [5, 'none'],
    [6, 'integer', true],
    [7, 'integer', true],
    [8, 'integer', true],
    [9, 'integer'],
    [10, 'integer'],
    [11, 'integer', true],
    [12, 'none'],
    [13, 'time'],
    [14, 'string'],
    [15, 'string'],
    [16, 'string'],
  ]),
  // the Core TS Objlnk examples use two hypothetical objects
  objectDef(65, 'Example 65', [
    [0, 'objlnk', true],
    [1, 'string'],
    [2, 'integer'],
  ]),
  objectDef(66, 'Example 66', [
    [0, 'string'],
    [1, 'string'],
    [2, 'objlnk'],
  ]),
  objectDef(9999, 'All types', [
    [ALL.string, 'string'],
    [ALL.integer, 'integer'],
    [ALL.unsigned, 'unsigned'],
    [ALL.float, 'float'],
    [ALL.boolean, 'boolean'],
    [ALL.opaque, 'opaque'],
    [ALL.time, 'time'],
    [ALL.objlnk, 'objlnk'],
    [ALL.corelnk, 'corelnk'],
    [ALL.execute, 'none'],
    [ALL.multiInteger, 'integer', true],
    [ALL.multiString, 'string', true],
    [ALL.multiOpaque, 'opaque', true],
  ]),
];

export const model: ModelLookup = {
  object: (id) => OBJECTS.find((o) => o.id === id),
  resource: (o, r) => OBJECTS.find((obj) => obj.id === o)?.resources.get(r),
};

/** Bytes from hex text; spaces and newlines are ignored. */
export function hex(text: string): Buffer {
  const clean = text.replace(/\s+/g, '');
  assert.match(clean, /^(?:[0-9a-fA-F]{2})*$/, 'bad hex in test');
  return Buffer.from(clean, 'hex');
}

export function toHex(buf: Buffer): string {
  return buf.toString('hex');
}

export function assertFormatError(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FormatError, `expected FormatError, got ${String(err)}`);
    assert.equal(err.code, '4.00');
    if (message) assert.match(err.message, message);
    return true;
  });
}

export function assertUnsupported(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UnsupportedFormatError, `expected UnsupportedFormatError, got ${String(err)}`);
    assert.equal(err.code, '4.15');
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** Runs fn; returns normally when it succeeds or throws one of the codec errors, fails on anything else. */
export function assertOnlyCodecErrors(fn: () => unknown, describeInput: () => string): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof FormatError || err instanceof UnsupportedFormatError) return;
    const kind = err instanceof Lwm2mError ? `Lwm2mError ${err.code}` : String(err);
    assert.fail(`unexpected ${kind} for input ${describeInput()}: ${(err as Error)?.stack ?? ''}`);
  }
}

/** Small deterministic PRNG (mulberry32) so that a failing fuzz case can be replayed. */
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

export function randomBytes(rand: () => number, maxLength: number): Buffer {
  const len = Math.floor(rand() * (maxLength + 1));
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i++) out[i] = Math.floor(rand() * 256);
  return out;
}
