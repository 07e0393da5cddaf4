/**
 * Behaviour shared by SenML JSON and SenML CBOR, run against both: value
 * types, timestamps, base names, grouping, and refusal of inconsistent or
 * mistyped records. Payloads are built with each wire's record writer
 * (checked byte by byte against the specification in the other files).
 */
import assert from 'node:assert/strict';
import type { Codec } from '../../src/formats/codec.js';
import { createSenmlCborCodec, senmlCborWire } from '../../src/formats/senml-cbor.js';
import { createSenmlJsonCodec, senmlJsonWire } from '../../src/formats/senml-json.js';
import type { SenmlRecord, SenmlWire } from '../../src/formats/senml.js';
import { flattenNode } from '../../src/model/tree.js';
import {
  instanceNode,
  multipleResourceNode,
  resourceInstanceNode,
  resourceNode,
  value,
  type ObjectInstanceNode,
  type PathNode,
  type SingleResourceNode,
} from '../../src/model/value.js';
import { ALL_TYPES, assertFormatError, model } from './helpers.js';

const NOW = 1_700_000_000;

const variants: Array<{ name: string; codec: Codec; wire: SenmlWire }> = [
  { name: 'SenML JSON', codec: createSenmlJsonCodec({ now: () => NOW }), wire: senmlJsonWire },
  { name: 'SenML CBOR', codec: createSenmlCborCodec({ now: () => NOW }), wire: senmlCborWire },
];

/** Object 10999 instance 0 with a value of every type, at the edges of their ranges. */
function allTypesInstance(): PathNode {
  return {
    path: [10999, 0],
    node: instanceNode(0, [
      resourceNode(ALL_TYPES.string, value.string('héllo "wörld"')),
      resourceNode(ALL_TYPES.integer, value.integer(2n ** 63n - 1n)),
      resourceNode(ALL_TYPES.unsigned, value.unsigned(2n ** 64n - 1n)),
      resourceNode(ALL_TYPES.float, value.float(-3.25e-7)),
      resourceNode(ALL_TYPES.boolean, value.boolean(true)),
      resourceNode(ALL_TYPES.opaque, value.opaque(Buffer.from([0, 1, 0xfe, 0xff]))),
      resourceNode(ALL_TYPES.time, value.time(new Date(1_700_000_123_000))),
      resourceNode(ALL_TYPES.objlnk, value.objlnk(3, 0)),
      resourceNode(ALL_TYPES.corelnk, value.corelnk('</3/0>;ct=110,</1/0>')),
      multipleResourceNode(ALL_TYPES.multiInt, [
        resourceInstanceNode(0, value.integer(-(2n ** 63n))),
        resourceInstanceNode(7, value.integer(-42)),
      ]),
    ]),
  };
}

const single = (entry: PathNode | undefined, id: number) =>
  ((entry?.node as ObjectInstanceNode).resources.get(id) as SingleResourceNode).value;

for (const { name, codec, wire } of variants) {
  const payload = (records: SenmlRecord[]) => wire.serialize(records);

  describe(`formats-b / ${name}: values and types`, () => {
    it('round-trips every value type with the model, exactly', () => {
      const entry = allTypesInstance();
      const decoded = codec.decode(codec.encode([entry]), { path: [10999, 0], model });
      assert.deepEqual(decoded, [entry]);
    });

    it('infers types without a model: integers, BigInt, unsigned beyond 2^63, floats, text, links, bytes', () => {
      const [decoded] = codec.decode(codec.encode([allTypesInstance()]), { path: [10999, 0] });
      assert.deepEqual(single(decoded, ALL_TYPES.integer), value.integer(2n ** 63n - 1n));
      assert.deepEqual(single(decoded, ALL_TYPES.unsigned), value.unsigned(2n ** 64n - 1n));
      assert.deepEqual(single(decoded, ALL_TYPES.float), value.float(-3.25e-7));
      assert.deepEqual(single(decoded, ALL_TYPES.time), value.integer(1_700_000_123)); // a time is a number on the wire
      assert.deepEqual(single(decoded, ALL_TYPES.corelnk), value.string('</3/0>;ct=110,</1/0>'));
      assert.deepEqual(single(decoded, ALL_TYPES.objlnk), value.objlnk(3, 0));
      assert.deepEqual(single(decoded, ALL_TYPES.opaque), value.opaque(Buffer.from([0, 1, 0xfe, 0xff])));
      // an integral float reads back as an integer when nothing says otherwise
      const [f] = codec.decode(payload([{ bn: '/3303/0/5700', v: 20, vFloat: true }]), { path: [3303, 0, 5700] });
      assert.deepEqual((f?.node as SingleResourceNode).value, value.integer(20));
      const [g] = codec.decode(payload([{ bn: '/3303/0/5700', v: 20, vFloat: true }]), { path: [3303, 0, 5700], model });
      assert.deepEqual((g?.node as SingleResourceNode).value, value.float(20));
    });

    it('refuses values of the wrong kind for the model type', () => {
      const cases: Array<[SenmlRecord, RegExp]> = [
        [{ n: '/3/0/9', vs: '100' }, /string value cannot be a integer/],
        [{ n: '/3/0/0', v: 1 }, /number value cannot be a string/],
        [{ n: '/3/0/9', v: 1.5 }, /not an integer/],
        [{ n: '/3/0/9', v: 2n ** 63n }, /64-bit signed/],
        [{ n: '/10999/0/2', v: -1 }, /64-bit unsigned/],
        [{ n: '/10999/0/4', v: 1 }, /cannot be a boolean/],
        [{ n: '/10999/0/5', vs: 'AQID' }, /cannot be a opaque/],
        [{ n: '/10999/0/7', vs: '3:0' }, /cannot be a objlnk/],
        [{ n: '/10999/0/7', vlo: '3-0' }, /invalid object link/],
        [{ n: '/10999/0/7', vlo: '3:65536' }, /invalid object link/],
        [{ n: '/10999/0/6', vb: true }, /cannot be a time/],
        [{ n: '/10999/0/10', v: 1 }, /executable/],
        [{ n: '/10999/0/9', v: 1 }, /multiple/],
        [{ n: '/3/0/13', v: 1e300 }, /out of range/],
      ];
      for (const [rec, pattern] of cases) assertFormatError(() => codec.decode(payload([rec]), { model }), pattern);
    });

    it('refuses records with no value, several values, or a value above resource level', () => {
      assertFormatError(() => codec.decode(payload([{ n: '/3/0/9' }])), /no value/);
      assertFormatError(() => codec.decode(payload([{ n: '/3/0/9', v: 1, vs: 'x' }])), /more than one value/);
      assertFormatError(() => codec.decode(payload([{ n: '/3/0', v: 1 }])), /above the resource level/);
    });

    it('applies a base value to v (RFC 8428 §4.6)', () => {
      const entries = codec.decode(payload([{ bn: '/3303/0/', bv: 20, n: '5700', v: 1.5 }, { n: '5701', vs: 'Cel' }]), {
        path: [3303, 0],
      });
      assert.deepEqual(single(entries[0], 5700), value.float(21.5));
      assert.deepEqual(single(entries[0], 5701), value.string('Cel'));
    });
  });

  describe(`formats-b / ${name}: names`, () => {
    const expectAt = (entries: PathNode[], path: number[], v: number) => {
      assert.deepEqual(entries.flatMap((e) => flattenNode(e.path, e.node)), [{ path, value: value.integer(v) }]);
    };

    it('resolves base name variations to the same path', () => {
      const variantsOfName: SenmlRecord[][] = [
        [{ bn: '/', n: '3/0/9', v: 7 }],
        [{ bn: '/3/', n: '0/9', v: 7 }],
        [{ bn: '/3/0/', n: '9', v: 7 }],
        [{ bn: '/3/0', n: '/9', v: 7 }],
        [{ bn: '/3/0/9', v: 7 }],
        [{ n: '/3/0/9', v: 7 }],
        [{ bn: '/3/0/9', n: '', v: 7 }],
      ];
      for (const records of variantsOfName) expectAt(codec.decode(payload(records), { path: [3, 0, 9] }), [3, 0, 9], 7);
    });

    it('carries bn over to later records until a new bn replaces it', () => {
      const entries = codec.decode(payload([{ bn: '/3/0/', n: '9', v: 1 }, { n: '10', v: 2 }, { bn: '/1/0/', n: '1', v: 3 }]));
      assert.deepEqual(entries.map((e) => e.path), [[3, 0], [1, 0]]);
      assert.deepEqual(single(entries[1], 1), value.integer(3));
    });

    it('refuses names that are not LwM2M paths', () => {
      const bad: SenmlRecord[] = [
        { n: 'temperature', v: 1 },
        { bn: 'urn:dev:ow:10e2073a01080063', n: 'temp', v: 1 },
        { n: '/3/0/x', v: 1 },
        { n: '/3/0/9/0/1', v: 1 },
        { n: '/3/0/65535', v: 1 },
        { n: '/3//9', v: 1 },
        { n: '/3/-1/9', v: 1 },
        { bn: '/3/0', n: '6/0', v: 1 }, // glued without a slash: "/3/06/0"
        { v: 1 },
      ];
      for (const rec of bad) assertFormatError(() => codec.decode(payload([rec])));
    });

    it('writes bn as the common prefix only where it shortens the output', () => {
      const records = (entries: PathNode[]) => wire.parse(codec.encode(entries));
      const r = (path: number[], v: number): PathNode => ({ path, node: resourceNode(path[2] as number, value.integer(v)) });
      // one resource: bn is its full path, no n (Table 7.4.4-5)
      assert.deepEqual(records([r([3, 0, 9], 1)]), [{ bn: '/3/0/9', v: 1 }]);
      // an instance: "/3/0/" + short names (Table 7.4.4-2) once that pays for the bn field
      const inst = (ids: number[]): PathNode => ({ path: [3, 0], node: instanceNode(0, ids.map((id) => resourceNode(id, value.integer(id)))) });
      assert.deepEqual(records([inst([9, 10, 11])]), [{ bn: '/3/0/', n: '9', v: 9 }, { n: '10', v: 10 }, { n: '11', v: 11 }]);
      assert.deepEqual(records([inst([9, 10])]), [{ n: '/3/0/9', v: 9 }, { n: '/3/0/10', v: 10 }]);
      // different objects: full names, no bn (Table 7.4.4-7)
      assert.deepEqual(records([r([3, 0, 9], 1), r([1, 0, 1], 2)]), [{ n: '/3/0/9', v: 1 }, { n: '/1/0/1', v: 2 }]);
      // a short common prefix costs more than it saves
      assert.deepEqual(records([r([3, 0, 9], 1), r([3, 1, 9], 2)]), [{ n: '/3/0/9', v: 1 }, { n: '/3/1/9', v: 2 }]);
    });
  });

  describe(`formats-b / ${name}: timestamps`, () => {
    const temp = (v: number, time?: number): PathNode => ({ path: [3303, 0, 5700], node: resourceNode(5700, value.float(v), time) });

    it('round-trips a time series as one entry per time, in payload order', () => {
      const series = [temp(21.5, 1_700_000_100), temp(22.5, 1_700_000_000), temp(23.5, 1_700_000_200)];
      assert.deepEqual(codec.decode(codec.encode(series), { path: [3303, 0, 5700], model }), series);
    });

    it('writes bt and relative t when a base time is given, and reads back absolute times', () => {
      const series = [temp(21.5, 1_700_000_000), temp(22.5, 1_700_000_010)];
      const encoded = codec.encode(series, { baseTime: 1_700_000_000 });
      assert.deepEqual(wire.parse(encoded), [
        { bn: '/3303/0/5700', bt: 1_700_000_000, v: 21.5 },
        { v: 22.5, t: 10 },
      ]);
      assert.deepEqual(codec.decode(encoded, { path: [3303, 0, 5700], model }), series);
    });

    it('does not use a base time when some values carry no time (they would inherit it)', () => {
      const encoded = codec.encode([temp(21.5, 1_700_000_000), temp(22.5)], { baseTime: 1_700_000_000 });
      const records = wire.parse(encoded);
      assert.equal(records[0]?.bt, undefined);
      assert.equal(records[0]?.t, 1_700_000_000);
      assert.equal(records[1]?.t, undefined);
    });

    it('reads small and negative times as relative to now, and large ones as absolute', () => {
      const at = (records: SenmlRecord[]) =>
        codec.decode(payload(records), { path: [3303, 0, 5700] }).map((e) => (e.node as SingleResourceNode).time);
      assert.deepEqual(at([{ bn: '/3303/0/5700', v: 1, t: -5 }]), [NOW - 5]);
      assert.deepEqual(at([{ bn: '/3303/0/5700', v: 1, t: 0 }]), [NOW]);
      assert.deepEqual(at([{ bn: '/3303/0/5700', v: 1, t: 1_600_000_000 }]), [1_600_000_000]);
      assert.deepEqual(at([{ bn: '/3303/0/5700', bt: 1_600_000_000, v: 1, t: -60 }, { v: 2 }]), [1_599_999_940, 1_600_000_000]);
      assert.deepEqual(at([{ bn: '/3303/0/5700', v: 1 }]), [undefined]);
    });

    it('refuses to write a timestamp that SenML would read as relative', () => {
      assertFormatError(() => codec.encode([temp(1, 1000)]), /cannot be expressed/);
    });
  });

  describe(`formats-b / ${name}: grouping`, () => {
    const records: SenmlRecord[] = [
      { n: '/3/0/9', v: 90 },
      { n: '/3303/0/5700', v: 21.5 },
      { n: '/3/0/6/0', v: 1 },
      { n: '/3303/1/5700', v: 19.5 },
      { n: '/3/0/10', v: 15 },
    ];

    it('without a path (Send): one entry per object instance, in first-appearance order', () => {
      const entries = codec.decode(payload(records), { model });
      assert.deepEqual(entries.map((e) => [e.path, e.node.kind]), [
        [[3, 0], 'instance'], [[3303, 0], 'instance'], [[3303, 1], 'instance'],
      ]);
      assert.deepEqual([...(entries[0]?.node as ObjectInstanceNode).resources.keys()], [9, 6, 10]);
    });

    it('Send with timestamps: one entry per instance and per time', () => {
      const timed: SenmlRecord[] = [
        { bn: '/3303/0/', bt: 1_700_000_000, n: '5700', v: 20 },
        { n: '5701', vs: 'Cel' },
        { n: '5700', v: 21, t: 60 },
        { bn: '/3/0/', n: '9', v: 80, t: 60 },
      ];
      const entries = codec.decode(payload(timed), { model });
      assert.deepEqual(
        entries.map((e) => [e.path, [...(e.node as ObjectInstanceNode).resources.values()].map((r) => [r.id, (r as SingleResourceNode).time])]),
        [
          [[3303, 0], [[5700, 1_700_000_000], [5701, 1_700_000_000]]],
          [[3303, 0], [[5700, 1_700_000_060]]],
          [[3, 0], [[9, 1_700_000_060]]],
        ],
      );
    });

    it('with composite paths: one entry per requested path, the deepest match winning', () => {
      const entries = codec.decode(payload(records), { paths: [[3, 0], [3, 0, 9], [3303]], model });
      assert.deepEqual(entries.map((e) => [e.path, e.node.kind]), [
        [[3, 0], 'instance'], [[3, 0, 9], 'resource'], [[3303], 'object'],
      ]);
      assert.deepEqual([...(entries[0]?.node as ObjectInstanceNode).resources.keys()], [6, 10]);
      assertFormatError(() => codec.decode(payload(records), { paths: [[3, 0]] }), /not requested/);
    });

    it('with a path: values outside it are refused', () => {
      assertFormatError(() => codec.decode(payload(records), { path: [3, 0] }), /outside requested path/);
    });

    it('an empty pack for an object or instance gives an empty node', () => {
      assert.deepEqual(codec.decode(payload([]), { path: [3303] }), [{ path: [3303], node: { kind: 'object', id: 3303, instances: new Map() } }]);
      assert.deepEqual(codec.decode(payload([]), {}), []);
      assertFormatError(() => codec.decode(payload([]), { path: [3, 0, 9] }), /no value/);
    });

    it('refuses inconsistent records', () => {
      const inconsistent: SenmlRecord[][] = [
        [{ n: '/3/0/6', v: 1 }, { n: '/3/0/6/0', v: 1 }],
        [{ bn: '/3/0/6', v: 1, t: 1_700_000_000 }, { n: '/0', v: 1, t: 1_700_000_060 }],
        [{ n: '/3/0/9', v: 1 }, { n: '/3/0/9', v: 2 }],
        [{ n: '/3/0/6/0', v: 1 }, { n: '/3/0/6/0', v: 2 }],
      ];
      for (const recs of inconsistent) assertFormatError(() => codec.decode(payload(recs), { path: [3, 0] }), /more than once|both/);
    });
  });
}
