/**
 * LwM2M CBOR (11544, Core TS 1.2 §7.4.6): nested maps keyed by ids or
 * path fragments. Vectors are written out byte by byte here.
 */
import assert from 'node:assert/strict';
import {
  decodeLwm2mCborWriteComposite,
  encodeLwm2mCborWriteComposite,
  lwm2mCborCodec as codec,
} from '../../src/formats/lwm2m-cbor.js';
import { flattenNode } from '../../src/model/tree.js';
import {
  instanceNode,
  multipleResourceNode,
  objectNode,
  resourceInstanceNode,
  resourceNode,
  value,
  type ObjectInstanceNode,
  type PathNode,
  type SingleResourceNode,
} from '../../src/model/value.js';
import { ALL_TYPES, assertFormatError, assertUnsupported, hex, model } from './helpers.js';
import { assertDeviceInstance } from './vectors.js';

function tx(s: string): string {
  const bytes = Buffer.from(s, 'utf8');
  assert.ok(bytes.length < 24);
  return (0x60 + bytes.length).toString(16) + bytes.toString('hex');
}

/** Read /3/0: {3: {0: {0: "Open Mobile Alliance", ..., 6: {0: 1, 1: 5}, ..., 13: 1(1367491215), ...}}} */
const DEVICE_BODY =
  'ad' +
  `00 74${Buffer.from('Open Mobile Alliance').toString('hex')}` +
  `01 76${Buffer.from('Lightweight M2M Client').toString('hex')}` +
  `02 ${tx('345000123')} 03 ${tx('1.0')}` +
  '06 a2 00 01 01 05' +
  '07 a2 00 190ed8 01 191388' +
  '08 a2 00 187d 01 190384' +
  '09 1864 0a 0f 0b a1 00 00' +
  '0d c1 1a5182428f' +
  `0e ${tx('+02:00')} 10 ${tx('U')}`;
const DEVICE_NESTED = hex(`a1 03 a1 00 ${DEVICE_BODY}`);

const leavesOf = (entries: PathNode[]) => entries.flatMap((e) => flattenNode(e.path, e.node));

describe('formats-b / LwM2M CBOR: decoding', () => {
  it('decodes the Device instance in nested form and encodes the same bytes', () => {
    const entries = codec.decode(DEVICE_NESTED, { path: [3, 0], model });
    assertDeviceInstance(entries);
    assert.equal(codec.encode(entries).toString('hex'), DEVICE_NESTED.toString('hex'));
  });

  it('decodes the same content with path fragments, mixed keys and indefinite lengths', () => {
    const forms = [
      hex(`a1 82 03 00 ${DEVICE_BODY}`), // {[3, 0]: {...}}
      hex(`a1 81 03 a1 81 00 ${DEVICE_BODY}`), // {[3]: {[0]: {...}}}
      hex(`bf 9f 03 00 ff ${DEVICE_BODY} ff`), // {_ [_ 3, 0]: {...}}
    ];
    for (const form of forms) assertDeviceInstance(codec.decode(form, { path: [3, 0], model }));
    // {[3, 0]: {9: 100}, [3, 0, 10]: 15, 3: {0: {[6, 1]: 5}}}
    const mixed = hex('a3 82 03 00 a1 09 1864 83 03 00 0a 0f 03 a1 00 a1 82 06 01 05');
    assert.deepEqual(leavesOf(codec.decode(mixed, { path: [3, 0], model })), [
      { path: [3, 0, 9], value: value.integer(100) },
      { path: [3, 0, 10], value: value.integer(15) },
      { path: [3, 0, 6, 1], value: value.integer(5) },
    ]);
  });

  it('groups a composite payload per requested path, and a Send payload per instance', () => {
    // {3: {0: {9: 100}}, 3303: {0: {5700: 21.5}, 1: {5700: 19.5}}}
    const payload = hex('a2 03 a1 00 a1 09 1864 19 0ce7 a2 00 a1 19 1644 f9 4d60 01 a1 19 1644 f9 4ce0');
    const composite = codec.decode(payload, { paths: [[3, 0, 9], [3303]], model });
    assert.deepEqual(composite.map((e) => [e.path, e.node.kind]), [[[3, 0, 9], 'resource'], [[3303], 'object']]);
    const send = codec.decode(payload, { model });
    assert.deepEqual(send.map((e) => e.path), [[3, 0], [3303, 0], [3303, 1]]);
    assert.deepEqual(((send[2]?.node as ObjectInstanceNode).resources.get(5700) as SingleResourceNode).value, value.float(19.5));
  });

  it('reads time as tag 1 or as a plain integer, and text as object link or string by the model', () => {
    // {[10999, 0]: {6: 1(1700000000), 7: "3:0", 0: "3:0"}} and {[3, 0, 13]: 1367491215}
    const payload = hex(`a1 82 192af7 00 a3 06 c1 1a6553f100 07 ${tx('3:0')} 00 ${tx('3:0')}`);
    const [entry] = codec.decode(payload, { path: [10999, 0], model });
    const res = (id: number) => ((entry?.node as ObjectInstanceNode).resources.get(id) as SingleResourceNode).value;
    assert.deepEqual(res(ALL_TYPES.time), value.time(new Date(1_700_000_000_000)));
    assert.deepEqual(res(ALL_TYPES.objlnk), value.objlnk(3, 0));
    assert.deepEqual(res(ALL_TYPES.string), value.string('3:0'));
    const [plain] = codec.decode(hex('a1 83 03 00 0d 1a5182428f'), { path: [3, 0, 13], model });
    assert.deepEqual((plain?.node as SingleResourceNode).value, value.time(new Date(1_367_491_215_000)));
    // without a model: tag 1 is a time, text a string
    const [inferred] = codec.decode(payload, { path: [10999, 0] });
    assert.deepEqual(((inferred?.node as ObjectInstanceNode).resources.get(6) as SingleResourceNode).value.type, 'time');
    assert.deepEqual(((inferred?.node as ObjectInstanceNode).resources.get(7) as SingleResourceNode).value, value.string('3:0'));
  });

  it('reads empty maps as empty objects, instances and multiple resources', () => {
    assert.deepEqual(codec.decode(hex('a0'), { path: [3303] }), [{ path: [3303], node: objectNode(3303, []) }]);
    assert.deepEqual(codec.decode(hex('a1 19 0ce7 a0'), { path: [3303] }), [{ path: [3303], node: objectNode(3303, []) }]);
    assert.deepEqual(codec.decode(hex('a1 82 19 0ce7 00 a0'), { path: [3303, 0] }), [{ path: [3303, 0], node: instanceNode(0, []) }]);
    assert.deepEqual(codec.decode(hex('a1 82 19 0ce7 00 a0'), { path: [3303] }), [
      { path: [3303], node: objectNode(3303, [instanceNode(0, [])]) },
    ]);
    // {[3, 0, 11]: {}} read at /3/0/11, and {[3, 0]: {9: 100, 11: {}}} read at /3/0 (no model needed)
    assert.deepEqual(codec.decode(hex('a1 83 03 00 0b a0'), { path: [3, 0, 11] }), [
      { path: [3, 0, 11], node: multipleResourceNode(11, []) },
    ]);
    assert.deepEqual(codec.decode(hex('a1 82 03 00 a2 09 1864 0b a0'), { path: [3, 0] }), [
      { path: [3, 0], node: instanceNode(0, [resourceNode(9, value.integer(100)), multipleResourceNode(11, [])]) },
    ]);
    assert.deepEqual(codec.decode(hex('a1 83 03 00 0b a0'), { paths: [[3, 0, 11], [3, 0, 9]] }), [
      { path: [3, 0, 11], node: multipleResourceNode(11, []) },
    ]);
  });

  it('keeps 64-bit integers exact', () => {
    const payload = hex('a1 82 192af7 00 a2 01 3b7fffffffffffffff 02 1bffffffffffffffff');
    const [entry] = codec.decode(payload, { path: [10999, 0] });
    const res = (id: number) => ((entry?.node as ObjectInstanceNode).resources.get(id) as SingleResourceNode).value;
    assert.deepEqual(res(1), value.integer(-(2n ** 63n)));
    assert.deepEqual(res(2), value.unsigned(2n ** 64n - 1n));
  });

  it('refuses malformed LwM2M CBOR', () => {
    const bad: Array<[string, RegExp]> = [
      ['80', /must be a map/],
      [`a1 ${tx('3')} a0`, /keys must be ids/],
      ['a1 20 a0', /not a valid id/],
      ['a1 19ffff a0', /not a valid id/],
      ['a1 80 a0', /empty path fragment/],
      ['a1 82 03 20 a0', /invalid id/],
      ['a1 85 03 00 06 00 01 05', /longer than/],
      ['a1 84 03 00 06 00 a1 01 05', /cannot hold a map/],
      ['a1 82 03 00 05', /not a resource or resource instance/],
      ['a2 03 a0 03 a0', /repeats the key/],
      ['a2 83 03 00 09 01 03 a1 00 a1 09 02', /more than once/],
      ['a2 83 03 00 09 01 84 03 00 09 00 01', /lies below|both/],
      ['a2 83 03 00 06 a1 00 01 03 a1 00 a1 06 05', /both as a value and as a map/],
      ['a1 83 03 00 09 82 01 02', /must be a number/],
      ['a1 83 03 00 09 d8 20 01', /must be a number/],
      ['a1 83 03 00 09 c1 ' + tx('x'), /tag 1/],
      ['a1 83 03 00 09 f6', /null value .* only allowed in Write-Composite/],
      ['a1 83 03 00 09 f7', /must be a number/],
      ['a1 83 03 00 09', /CBOR/],
    ];
    for (const [h, pattern] of bad) assertFormatError(() => codec.decode(hex(h), { path: [3, 0] }), pattern);
  });

  it('refuses values of the wrong type for the model', () => {
    assertFormatError(() => codec.decode(hex(`a1 83 03 00 09 ${tx('100')}`), { model }), /cannot be a integer/);
    assertFormatError(() => codec.decode(hex('a1 83 03 00 00 01'), { model }), /cannot be a string/);
    assertFormatError(() => codec.decode(hex('a1 83 05 00 00 ' + tx('AQID')), { model }), /cannot be a opaque/);
    assertFormatError(() => codec.decode(hex(`a1 83 19 2af7 00 07 ${tx('3-0')}`), { model }), /invalid object link/);
    assertFormatError(() => codec.decode(hex('a1 83 03 00 09 a0'), { model }), /single resource/);
  });
});

describe('formats-b / LwM2M CBOR: encoding', () => {
  it('collapses chains of three or more ids into a path fragment, and only those', () => {
    const r = (path: number[], v: number): PathNode => ({ path, node: resourceNode(path[2] as number, value.integer(v)) });
    assert.equal(codec.encode([r([3, 0, 9], 100)]).toString('hex'), 'a1' + '83030009' + '1864'); // {[3, 0, 9]: 100}
    const ri: PathNode = { path: [3, 0, 6, 1], node: resourceInstanceNode(1, value.integer(5)) };
    assert.equal(codec.encode([ri]).toString('hex'), 'a1' + '8403000601' + '05'); // {[3, 0, 6, 1]: 5}
    // two objects: {[3, 0, 9]: 100, [1, 0, 1]: 86400}
    assert.equal(codec.encode([r([3, 0, 9], 100), r([1, 0, 1], 86400)]).toString('hex'), 'a2830300091864830100011a00015180');
    // an instance with several resources stays nested: {3: {0: {9: 100, 10: 15}}}
    assert.equal(codec.encode([r([3, 0, 9], 100), r([3, 0, 10], 15)]).toString('hex'), 'a103a100a2' + '091864' + '0a0f');
  });

  it('round-trips every value type with the model', () => {
    const entry: PathNode = {
      path: [10999, 0],
      node: instanceNode(0, [
        resourceNode(ALL_TYPES.string, value.string('héllo')),
        resourceNode(ALL_TYPES.integer, value.integer(-(2n ** 63n))),
        resourceNode(ALL_TYPES.unsigned, value.unsigned(2n ** 64n - 1n)),
        resourceNode(ALL_TYPES.float, value.float(20)),
        resourceNode(ALL_TYPES.boolean, value.boolean(true)),
        resourceNode(ALL_TYPES.opaque, value.opaque(Buffer.from([0, 0xff]))),
        resourceNode(ALL_TYPES.time, value.time(new Date(1_700_000_000_000))),
        resourceNode(ALL_TYPES.objlnk, value.objlnk(65535, 65535)),
        resourceNode(ALL_TYPES.corelnk, value.corelnk('</3/0>')),
        multipleResourceNode(ALL_TYPES.multiInt, [resourceInstanceNode(3, value.integer(-1))]),
      ]),
    };
    const encoded = codec.encode([entry]);
    assert.match(encoded.toString('hex'), /03fa41a00000/); // resource 3: float 20 written as a float
    assert.match(encoded.toString('hex'), /06c11a6553f100/); // resource 6: tag 1 time
    assert.deepEqual(codec.decode(encoded, { path: [10999, 0], model }), [entry]);
  });

  it('writes empty containers and reads them back', () => {
    const entries: PathNode[] = [
      { path: [3303], node: objectNode(3303, []) },
      { path: [3, 0], node: instanceNode(0, [resourceNode(9, value.integer(1)), multipleResourceNode(11, [])]) },
    ];
    const encoded = codec.encode(entries);
    assert.equal(encoded.toString('hex'), 'a2' + '190ce7a0' + '03a100a2' + '0901' + '0ba0');
    assert.deepEqual(codec.decode(encoded, { paths: [[3303], [3, 0]] }), entries);
  });

  it('drops timestamps (the format has none) but refuses a time series', () => {
    const timed: PathNode = { path: [3, 0, 9], node: resourceNode(9, value.integer(1), 1_700_000_000) };
    assert.deepEqual(codec.decode(codec.encode([timed]), { path: [3, 0, 9] }), [
      { path: [3, 0, 9], node: resourceNode(9, value.integer(1)) },
    ]);
    const later: PathNode = { path: [3, 0, 9], node: resourceNode(9, value.integer(2), 1_700_000_060) };
    assertUnsupported(() => codec.encode([timed, later]), /time series/);
  });

  it('refuses invalid values', () => {
    assertFormatError(() => codec.encode([{ path: [3, 0, 9], node: resourceNode(9, value.integer(2n ** 63n)) }]), /64-bit/);
    assertFormatError(() => codec.encode([{ path: [3, 0, 13], node: resourceNode(13, value.time(new Date(NaN))) }]), /valid Date/);
    assertFormatError(() => codec.encode([{ path: [3, 0, 9], node: resourceNode(9, value.objlnk(70000, 0)) }]), /object link/);
  });
});

describe('formats-b / LwM2M CBOR: Write-Composite', () => {
  it('reads null leaves as removals and keeps each written path', () => {
    // {[3, 0]: {9: 100, 6: {1: null}}, [1, 0, 1]: 86400}
    const payload = hex('a2 82 03 00 a2 09 1864 06 a1 01 f6 83 01 00 01 1a00015180');
    const { entries, removed } = decodeLwm2mCborWriteComposite(payload, model);
    assert.deepEqual(removed, [[3, 0, 6, 1]]);
    assert.deepEqual(entries, [
      { path: [3, 0, 9], node: resourceNode(9, value.integer(100)) },
      { path: [1, 0, 1], node: resourceNode(1, value.integer(86400)) },
    ]);
  });

  it('encodes removals as null and decodes them back', () => {
    const entries: PathNode[] = [{ path: [3311, 0, 5850], node: resourceNode(5850, value.boolean(true)) }];
    const body = encodeLwm2mCborWriteComposite(entries, [[3, 0, 7, 1]]);
    assert.equal(body.toString('hex'), 'a2' + '83190cef001916daf5' + '8403000701f6');
    assert.deepEqual(decodeLwm2mCborWriteComposite(body, model), { entries, removed: [[3, 0, 7, 1]] });
    assertFormatError(() => encodeLwm2mCborWriteComposite([], [[3, 0]]), /not a resource path/);
    // {[3, 0, 6]: 1, [3, 0, 6, 1]: null}: resource 6 cannot be both single and multiple
    assertFormatError(() => decodeLwm2mCborWriteComposite(hex('a2 83 03 00 06 01 84 03 00 06 01 f6')), /both/);
  });
});
