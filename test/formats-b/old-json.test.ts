/**
 * The LwM2M 1.0 JSON format (11543), against the examples of the 1.0 Core
 * TS §6.4.4 (Device instance, base name variants, timestamped values).
 */
import assert from 'node:assert/strict';
import { createOldJsonCodec, oldJsonCodec } from '../../src/formats/old-json.js';
import { flattenNode } from '../../src/model/tree.js';
import {
  instanceNode,
  resourceNode,
  value,
  type ObjectInstanceNode,
  type PathNode,
  type SingleResourceNode,
} from '../../src/model/value.js';
import { ALL_TYPES, assertFormatError, assertUnsupported, model } from './helpers.js';
import { assertDeviceInstance } from './vectors.js';

const NOW = 1_700_000_000;
const codec = createOldJsonCodec({ now: () => NOW });
const text = (s: string) => Buffer.from(s, 'utf8');

const DEVICE_ENTRIES =
  '{"n":"0","sv":"Open Mobile Alliance"},{"n":"1","sv":"Lightweight M2M Client"},{"n":"2","sv":"345000123"},' +
  '{"n":"3","sv":"1.0"},{"n":"6/0","v":1},{"n":"6/1","v":5},{"n":"7/0","v":3800},{"n":"7/1","v":5000},' +
  '{"n":"8/0","v":125},{"n":"8/1","v":900},{"n":"9","v":100},{"n":"10","v":15},{"n":"11/0","v":0},' +
  '{"n":"13","v":1367491215},{"n":"14","sv":"+02:00"},{"n":"16","sv":"U"}';
const DEVICE = `{"bn":"/3/0/","e":[${DEVICE_ENTRIES}]}`;

describe('formats-b / old LwM2M JSON: specification examples', () => {
  it('decodes the Device instance and encodes it back to the same text', () => {
    const entries = codec.decode(text(DEVICE), { path: [3, 0], model });
    assertDeviceInstance(entries);
    assert.equal(codec.encode(entries).toString(), DEVICE);
  });

  it('accepts the base name variants: "/", "/3/0/", none with full names, none with names relative to the request', () => {
    const withRoot = `{"bn":"/","e":[${DEVICE_ENTRIES.replace(/"n":"/g, '"n":"3/0/')}]}`;
    const fullNames = `{"e":[${DEVICE_ENTRIES.replace(/"n":"/g, '"n":"/3/0/')}]}`;
    const relative = `{"e":[${DEVICE_ENTRIES}]}`;
    for (const payload of [withRoot, fullNames, relative]) assertDeviceInstance(codec.decode(text(payload), { path: [3, 0], model }));
  });

  it('accepts a resource as base name, with "/ri" names or none', () => {
    const multi = codec.decode(text('{"bn":"/3/0/6","e":[{"n":"/0","v":1},{"n":"/1","v":5}]}'), { path: [3, 0, 6], model });
    assert.deepEqual(multi.flatMap((e) => flattenNode(e.path, e.node)), [
      { path: [3, 0, 6, 0], value: value.integer(1) },
      { path: [3, 0, 6, 1], value: value.integer(5) },
    ]);
    const one = codec.decode(text('{"bn":"/3/0/9","e":[{"v":95}]}'), { path: [3, 0, 9] });
    assert.deepEqual(one, [{ path: [3, 0, 9], node: resourceNode(9, value.integer(95)) }]);
  });

  it('reads timestamped values: bt + t, absolute even when small (no 2^28 rule in 1.0)', () => {
    const payload = '{"bn":"/1024/0/1","e":[{"v":22.9,"t":-30},{"v":22.4,"t":-5},{"v":24.1,"t":-50}],"bt":25462634}';
    const entries = codec.decode(text(payload), { path: [1024, 0, 1] });
    assert.deepEqual(
      entries.map((e) => [(e.node as SingleResourceNode).value.value, (e.node as SingleResourceNode).time]),
      [[22.9, 25462604], [22.4, 25462629], [24.1, 25462584]],
    );
  });

  it('reads a negative time without base time as relative to now', () => {
    const entries = codec.decode(text('{"bn":"/3303/0/","e":[{"n":"5700","v":21.5,"t":-10}]}'), { path: [3303, 0] });
    const res = (entries[0]?.node as ObjectInstanceNode).resources.get(5700) as SingleResourceNode;
    assert.equal(res.time, NOW - 10);
  });

  it('reads object links (ov) and boolean (bv) values', () => {
    const payload = '{"bn":"/","e":[{"n":"65/0/0/0","ov":"66:0"},{"n":"65/0/0/1","ov":"66:1"},{"n":"3311/0/5850","bv":true}]}';
    const entries = codec.decode(text(payload), { model });
    assert.deepEqual(entries.flatMap((e) => flattenNode(e.path, e.node)), [
      { path: [65, 0, 0, 0], value: value.objlnk(66, 0) },
      { path: [65, 0, 0, 1], value: value.objlnk(66, 1) },
      { path: [3311, 0, 5850], value: value.boolean(true) },
    ]);
  });
});

describe('formats-b / old LwM2M JSON: encoding', () => {
  it('round-trips every value type with the model (opaque as standard base64 in sv)', () => {
    const entry: PathNode = {
      path: [10999, 0],
      node: instanceNode(0, [
        resourceNode(ALL_TYPES.string, value.string('a "test"')),
        resourceNode(ALL_TYPES.integer, value.integer(-(2n ** 63n))),
        resourceNode(ALL_TYPES.unsigned, value.unsigned(2n ** 64n - 1n)),
        resourceNode(ALL_TYPES.float, value.float(-52.0006)),
        resourceNode(ALL_TYPES.boolean, value.boolean(false)),
        resourceNode(ALL_TYPES.opaque, value.opaque(Buffer.from([0xfb, 0xff]))),
        resourceNode(ALL_TYPES.time, value.time(new Date(1_367_491_215_000))),
        resourceNode(ALL_TYPES.objlnk, value.objlnk(66, 1)),
        resourceNode(ALL_TYPES.corelnk, value.corelnk('</3/0>')),
      ]),
    };
    const encoded = codec.encode([entry]);
    assert.match(encoded.toString(), /"n":"5","sv":"\+\/8="/);
    assert.deepEqual(codec.decode(encoded, { path: [10999, 0], model }), [entry]);
    // without a model the opaque text stays a string
    const [plain] = codec.decode(encoded, { path: [10999, 0] });
    assert.deepEqual(((plain?.node as ObjectInstanceNode).resources.get(5) as SingleResourceNode).value, value.string('+/8='));
  });

  it('always writes bn and a non-empty n', () => {
    const r = (path: number[], v: number): PathNode => ({ path, node: resourceNode(path[2] as number, value.integer(v)) });
    assert.equal(codec.encode([r([3, 0, 9], 95)]).toString(), '{"bn":"/3/0/","e":[{"n":"9","v":95}]}');
    assert.equal(codec.encode([r([3, 0, 9], 1), r([1, 0, 1], 2)]).toString(), '{"bn":"/","e":[{"n":"3/0/9","v":1},{"n":"1/0/1","v":2}]}');
  });

  it('writes bt with relative times when a base time is given', () => {
    const series: PathNode[] = [
      { path: [3303, 0, 5700], node: resourceNode(5700, value.float(21.5), 1_700_000_000) },
      { path: [3303, 0, 5700], node: resourceNode(5700, value.float(22.5), 1_700_000_030) },
    ];
    const encoded = codec.encode(series, { baseTime: 1_700_000_000 });
    assert.equal(encoded.toString(), '{"bn":"/3303/0/","bt":1700000000,"e":[{"n":"5700","v":21.5},{"n":"5700","v":22.5,"t":30}]}');
    assert.deepEqual(codec.decode(encoded, { path: [3303, 0, 5700], model }), series);
  });

  it('refuses values it cannot write', () => {
    assertUnsupported(() => oldJsonCodec.encode([{ path: [3303, 0, 5700], node: resourceNode(5700, value.float(NaN)) }]));
    assertFormatError(() => oldJsonCodec.encode([{ path: [3303, 0, 5700], node: resourceNode(5700, value.float(1), -5) }]));
    assertFormatError(() => oldJsonCodec.encode([{ path: [3, 0, 9], node: resourceNode(9, value.integer(1.5)) }]));
  });
});

describe('formats-b / old LwM2M JSON: malformed input', () => {
  it('refuses payloads that are not LwM2M JSON', () => {
    const bad: Array<[string, RegExp]> = [
      ['[{"n":"/3/0/9","v":1}]', /must be an object/],
      ['{"bn":"/3/0/"}', /"e" array/],
      ['{"bn":3,"e":[]}', /"bn" must be a string/],
      ['{"bt":"x","e":[]}', /"bt" must be a number/],
      ['{"bn":"/3/0/","e":[{"n":"9"}]}', /exactly one/],
      ['{"bn":"/3/0/","e":[{"n":"9","v":1,"sv":"1"}]}', /exactly one/],
      ['{"bn":"/3/0/","e":[{"n":9,"v":1}]}', /"n" must be a string/],
      ['{"bn":"/3/0/","e":[{"n":"x","v":1}]}', /not an LwM2M path/],
      ['{"bn":"/3/","e":[{"n":"0","v":1}]}', /not a resource path/],
      ['{"bn":"/3/0/","e":[{"n":"9","v":"1"}]}', /"v" must be a number/],
      ['{"bn":"/3/0/","e":[{"n":"9","v":-1e400}]}', /out of range/],
      ['{"bn":"/3/0/","e":[{"n":"9","v":1,"t":"now"}]}', /"t" must be a number/],
      ['{"bn":"/3/0/","e":[7]}', /not an object/],
      ['{"bn":"/3/0/","e":[{"n":"9","v":1}]', /JSON/],
      ['{"e":[{"n":"/3/0/6","v":1},{"n":"/3/0/6/0","v":1}]}', /both/],
    ];
    for (const [payload, pattern] of bad) assertFormatError(() => codec.decode(text(payload), { path: [3, 0] }), pattern);
  });

  it('refuses mistyped values for the model', () => {
    const bad: Array<[string, RegExp]> = [
      ['{"bn":"/3/0/","e":[{"n":"9","sv":"100"}]}', /cannot be a integer/],
      ['{"bn":"/3/0/","e":[{"n":"13","sv":"2013-05-02"}]}', /cannot be a time/],
      ['{"bn":"/5/0/","e":[{"n":"0","sv":"not base64!"}]}', /base64/],
      ['{"bn":"/66/0/","e":[{"n":"2","sv":"67:0"}]}', /cannot be a objlnk/],
    ];
    for (const [payload, pattern] of bad) assertFormatError(() => codec.decode(text(payload), { model }), pattern);
  });
});
