/**
 * Every multi-value format must carry the same tree: random object
 * instances (typed by a model with one resource of every type, single and
 * multiple) go through TLV, SenML JSON, SenML CBOR, LwM2M CBOR and the
 * LwM2M 1.0 JSON format and must decode to exactly the tree that went in.
 */
import assert from 'node:assert/strict';
import { codecFor, ContentFormat } from '../../src/formats/index.js';
import type { ModelLookup, ObjectDefinition, ResourceDefinition, ResourceType } from '../../src/model/definitions.js';
import {
  instanceNode,
  multipleResourceNode,
  objectNode,
  resourceInstanceNode,
  resourceNode,
  type Lwm2mValue,
  type ObjectInstanceNode,
  type ResourceNode,
} from '../../src/model/value.js';

const TYPES: Exclude<ResourceType, 'none'>[] = ['string', 'integer', 'unsigned', 'float', 'boolean', 'opaque', 'time', 'objlnk', 'corelnk'];
const OBJECT_ID = 9990;

// resource r (0..8) single of TYPES[r]; r + 100 multiple of the same type
const resources = new Map<number, ResourceDefinition>();
TYPES.forEach((type, r) => {
  resources.set(r, { id: r, name: `single ${type}`, type, multiple: false, operations: 'RW', mandatory: false });
  resources.set(r + 100, { id: r + 100, name: `multiple ${type}`, type, multiple: true, operations: 'RW', mandatory: false });
});
const definition: ObjectDefinition = {
  id: OBJECT_ID, name: 'all types', version: '1.0', lwm2mVersion: '1.1', urn: '', multiple: true, mandatory: false, resources,
};
const model: ModelLookup = {
  object: (id) => (id === OBJECT_ID ? definition : undefined),
  resource: (o, r) => (o === OBJECT_ID ? resources.get(r) : undefined),
};

/** Small deterministic generator (mulberry32) so failures can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomValue(type: Exclude<ResourceType, 'none'>, rnd: () => number): Lwm2mValue {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  switch (type) {
    case 'string': return { type, value: pick(['', 'a', 'héllo wörld', '✓ ünïcode', 'x'.repeat(300)]) };
    case 'corelnk': return { type, value: pick(['</3/0>', '</1/0>;ver=1.1,</3303/0>']) };
    case 'integer': return { type, value: pick<number | bigint>([0, -1, 127, -129, 65536, -(2 ** 31), 2 ** 53 - 1, -(2n ** 63n), 2n ** 63n - 1n, Math.floor(rnd() * 1e9) - 5e8]) };
    case 'unsigned': return { type, value: pick<number | bigint>([0, 255, 65535, 2 ** 32, 2 ** 53 - 1, 2n ** 64n - 1n]) };
    case 'float': return { type, value: pick([0, 1.5, -2.25, 3.4028234663852886e38, Math.PI, -1e-300, 21.5]) };
    case 'boolean': return { type, value: rnd() < 0.5 };
    case 'opaque': return { type, value: Buffer.from(Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256))) };
    case 'time': return { type, value: new Date(Math.floor(rnd() * 2_000_000_000) * 1000) };
    case 'objlnk': return { type, value: { objectId: Math.floor(rnd() * 65535), instanceId: Math.floor(rnd() * 65535) } };
  }
}

function randomInstance(id: number, rnd: () => number): ObjectInstanceNode {
  const out: ResourceNode[] = [];
  TYPES.forEach((type, r) => {
    if (rnd() < 0.8) out.push(resourceNode(r, randomValue(type, rnd)));
    if (rnd() < 0.5) {
      const count = 1 + Math.floor(rnd() * 3);
      out.push(multipleResourceNode(r + 100, Array.from({ length: count }, (_, i) => resourceInstanceNode(i * 7, randomValue(type, rnd)))));
    }
  });
  if (out.length === 0) out.push(resourceNode(0, { type: 'string', value: 'x' }));
  return instanceNode(id, out);
}

const FORMATS = [
  ['TLV', ContentFormat.TLV],
  ['SenML JSON', ContentFormat.SENML_JSON],
  ['SenML CBOR', ContentFormat.SENML_CBOR],
  ['LwM2M CBOR', ContentFormat.LWM2M_CBOR],
  ['LwM2M JSON (1.0)', ContentFormat.OLD_JSON],
] as const;

describe('content formats: cross-format equivalence', () => {
  for (const [name, format] of FORMATS) {
    it(`${name}: 200 random instances round-trip exactly (with the model)`, () => {
      const rnd = random(format);
      const codec = codecFor(format);
      for (let i = 0; i < 200; i++) {
        const node = randomInstance(Math.floor(rnd() * 10), rnd);
        const path = [OBJECT_ID, node.id];
        const bytes = codec.encode([{ path, node }], { model });
        const decoded = codec.decode(bytes, { path, model });
        assert.equal(decoded.length, 1);
        assert.deepEqual(decoded[0]?.node, node, `iteration ${i}`);
      }
    });
  }

  it('the same object decodes identically from TLV, SenML CBOR and LwM2M CBOR', () => {
    const rnd = random(7);
    for (let i = 0; i < 50; i++) {
      const obj = objectNode(OBJECT_ID, [randomInstance(0, rnd), randomInstance(3, rnd)]);
      const decoded = [ContentFormat.TLV, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_CBOR].map((format) => {
        const codec = codecFor(format);
        return codec.decode(codec.encode([{ path: [OBJECT_ID], node: obj }], { model }), { path: [OBJECT_ID], model });
      });
      assert.deepEqual(decoded[1], decoded[0]);
      assert.deepEqual(decoded[2], decoded[0]);
      assert.deepEqual(decoded[0]?.[0]?.node, obj);
    }
  });
});
