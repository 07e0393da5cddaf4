import assert from 'node:assert/strict';
import { cborCodec, decodeCborValue, encodeCborValue } from '../../src/formats/cbor.js';
import type { ResourceType } from '../../src/model/definitions.js';
import type { Lwm2mPath } from '../../src/model/path.js';
import { resourceInstanceNode, resourceNode, value, type Lwm2mValue } from '../../src/model/value.js';
import {
  ALL,
  assertFormatError,
  assertOnlyCodecErrors,
  assertUnsupported,
  hex,
  model,
  prng,
  randomBytes,
  toHex,
} from './helpers.js';

const O = 9999;

function encodeAt(path: Lwm2mPath, v: Lwm2mValue, withModel = true): string {
  const id = path[path.length - 1] as number;
  const node = path.length === 3 ? resourceNode(id, v) : resourceInstanceNode(id, v);
  return toHex(cborCodec.encode([{ path, node }], withModel ? { model } : {}));
}

function decodeAt(path: Lwm2mPath, hexText: string, withModel = true): Lwm2mValue {
  const out = cborCodec.decode(hex(hexText), withModel ? { path, model } : { path });
  assert.equal(out.length, 1);
  const node = out[0]?.node;
  assert.ok(node && (node.kind === 'resource' || node.kind === 'resourceInstance'));
  assert.equal(node.id, path[path.length - 1]);
  return node.value;
}

describe('plain CBOR codec', () => {
  describe('encodes with the major types of the Core TS', () => {
    const cases: [string, number, Lwm2mValue, string][] = [
      ['integer 0', ALL.integer, value.integer(0), '00'],
      ['integer 23', ALL.integer, value.integer(23), '17'],
      ['integer 24', ALL.integer, value.integer(24), '1818'],
      ['integer 1000', ALL.integer, value.integer(1000), '1903e8'],
      ['integer 1000000', ALL.integer, value.integer(1000000), '1a000f4240'],
      ['integer 10^12', ALL.integer, value.integer(1000000000000), '1b000000e8d4a51000'],
      ['integer -1', ALL.integer, value.integer(-1), '20'],
      ['integer -1000', ALL.integer, value.integer(-1000), '3903e7'],
      ['integer int64 max', ALL.integer, value.integer(2n ** 63n - 1n), '1b7fffffffffffffff'],
      ['integer int64 min', ALL.integer, value.integer(-(2n ** 63n)), '3b7fffffffffffffff'],
      ['unsigned uint64 max', ALL.unsigned, value.unsigned(2n ** 64n - 1n), '1bffffffffffffffff'],
      ['float exact in single', ALL.float, value.float(100000), 'fa47c35000'],
      ['float 1.5 in single', ALL.float, value.float(1.5), 'fa3fc00000'],
      ['float 1.1 needs double', ALL.float, value.float(1.1), 'fb3ff199999999999a'],
      ['float -4.1', ALL.float, value.float(-4.1), 'fbc010666666666666'],
      ['float 1e300', ALL.float, value.float(1.0e300), 'fb7e37e43c8800759c'],
      ['float Infinity', ALL.float, value.float(Infinity), 'fa7f800000'],
      ['float NaN', ALL.float, value.float(NaN), 'fa7fc00000'],
      ['boolean false', ALL.boolean, value.boolean(false), 'f4'],
      ['boolean true', ALL.boolean, value.boolean(true), 'f5'],
      ['string', ALL.string, value.string('IETF'), '6449455446'],
      ['empty string', ALL.string, value.string(''), '60'],
      ['string UTF-8', ALL.string, value.string('水'), '63e6b0b4'],
      ['corelnk as text', ALL.corelnk, value.corelnk('</3/0>'), '663c2f332f303e'],
      ['opaque as byte string', ALL.opaque, value.opaque(hex('01020304')), '4401020304'],
      ['empty opaque', ALL.opaque, value.opaque(Buffer.alloc(0)), '40'],
      ['objlnk as text', ALL.objlnk, value.objlnk(3, 0), '63333a30'],
      ['time as tag 1 over integer', ALL.time, value.time(new Date(1363896240000)), 'c11a514b67b0'],
    ];
    for (const [name, rid, v, expected] of cases) {
      it(name, () => assert.equal(encodeAt([O, 0, rid], v), expected));
    }
  });

  describe('decodes the RFC 8949 appendix A examples', () => {
    const cases: [string, ResourceType, string, Lwm2mValue][] = [
      ['uint 100', 'integer', '1864', value.integer(100)],
      ['uint 10^12', 'integer', '1b000000e8d4a51000', value.integer(1000000000000)],
      ['uint64 max as unsigned', 'unsigned', '1bffffffffffffffff', value.unsigned(18446744073709551615n)],
      ['nint -100', 'integer', '3863', value.integer(-100)],
      ['half 0.0', 'float', 'f90000', value.float(0)],
      ['half -0.0', 'float', 'f98000', value.float(-0)],
      ['half 1.0', 'float', 'f93c00', value.float(1)],
      ['half 65504', 'float', 'f97bff', value.float(65504)],
      ['half smallest subnormal', 'float', 'f90001', value.float(5.960464477539063e-8)],
      ['half smallest normal', 'float', 'f90400', value.float(0.00006103515625)],
      ['half -4.0', 'float', 'f9c400', value.float(-4)],
      ['half Infinity', 'float', 'f97c00', value.float(Infinity)],
      ['half -Infinity', 'float', 'f9fc00', value.float(-Infinity)],
      ['half NaN', 'float', 'f97e00', value.float(NaN)],
      ['single 3.4028234663852886e+38', 'float', 'fa7f7fffff', value.float(3.4028234663852886e38)],
      ['double 1.1', 'float', 'fb3ff199999999999a', value.float(1.1)],
      ['integer for a float resource', 'float', '1903e8', value.float(1000)],
      ['false', 'boolean', 'f4', value.boolean(false)],
      ['true', 'boolean', 'f5', value.boolean(true)],
      ['text', 'string', '62c3bc', value.string('ü')],
      ['indefinite text', 'string', '7f657374726561646d696e67ff', value.string('streaming')],
      ['bytes', 'opaque', '4401020304', value.opaque(hex('01020304'))],
      ['indefinite bytes', 'opaque', '5f42010243030405ff', value.opaque(hex('0102030405'))],
      ['time tag 1 integer', 'time', 'c11a514b67b0', value.time(new Date(1363896240000))],
      ['time tag 1 float', 'time', 'c1fb41d452d9ec200000', value.time(new Date(1363896240500))],
      ['time untagged integer', 'time', '1a514b67b0', value.time(new Date(1363896240000))],
      [
        'time tag 0 string',
        'time',
        'c074323031332d30332d32315432303a30343a30305a',
        value.time(new Date('2013-03-21T20:04:00Z')),
      ],
      ['self-described tag is unwrapped', 'integer', 'd9d9f70a', value.integer(10)],
    ];
    const rids: Record<string, number> = {
      integer: ALL.integer,
      unsigned: ALL.unsigned,
      float: ALL.float,
      boolean: ALL.boolean,
      string: ALL.string,
      opaque: ALL.opaque,
      time: ALL.time,
    };
    for (const [name, type, hexText, expected] of cases) {
      it(name, () => assert.deepEqual(decodeAt([O, 0, rids[type] as number], hexText), expected));
    }
  });

  it('reads a time written by a client as tag 0 with an offset (as Zephyr does)', () => {
    const text = Buffer.from('2013-05-02T10:40:15-00:00');
    const payload = Buffer.concat([hex('c0'), Buffer.from([0x60 | 24, text.length]), text]);
    assert.deepEqual(decodeAt([3, 0, 13], toHex(payload)), value.time(new Date(1367491215000)));
  });

  it('reads an objlnk whose text carries a terminating NUL', () => {
    assert.deepEqual(decodeAt([O, 0, ALL.objlnk], '64333a3000'), value.objlnk(3, 0));
  });

  it('without a model, guesses the type from the data item', () => {
    const guess: [string, Lwm2mValue][] = [
      ['1864', value.integer(100)],
      ['3863', value.integer(-100)],
      ['1b7fffffffffffffff', value.integer(2n ** 63n - 1n)],
      ['1bffffffffffffffff', value.unsigned(2n ** 64n - 1n)],
      ['f93e00', value.float(1.5)],
      ['f5', value.boolean(true)],
      ['6161', value.string('a')],
      ['4101', value.opaque(hex('01'))],
      ['c11a514b67b0', value.time(new Date(1363896240000))],
      ['63333a30', value.string('3:0')],
    ];
    for (const [h, v] of guess) assert.deepEqual(decodeAt([1234, 0, 1], h, false), v, h);
  });

  describe('round trips every type', () => {
    const values: [number, Lwm2mValue][] = [
      [ALL.integer, value.integer(-9007199254740993n)],
      [ALL.integer, value.integer(-9223372036854775808n)],
      [ALL.integer, value.integer(42)],
      [ALL.unsigned, value.unsigned(18446744073709551615n)],
      [ALL.unsigned, value.unsigned(9007199254740993n)],
      [ALL.float, value.float(0.1)],
      [ALL.float, value.float(-0)],
      [ALL.float, value.float(3.4028234663852886e38)],
      [ALL.float, value.float(5e-324)],
      [ALL.boolean, value.boolean(false)],
      [ALL.string, value.string('')],
      [ALL.string, value.string('x'.repeat(70000))],
      [ALL.opaque, value.opaque(Buffer.alloc(0))],
      [ALL.opaque, value.opaque(Buffer.alloc(300, 7))],
      [ALL.time, value.time(new Date(-86400000))],
      [ALL.time, value.time(new Date(4102444800000))],
      [ALL.objlnk, value.objlnk(65535, 65535)],
      [ALL.corelnk, value.corelnk('</3/0/1>')],
    ];
    values.forEach(([rid, v], idx) => {
      it(`${v.type} #${idx}`, () => {
        const path = [O, 0, rid];
        const out = decodeAt(path, encodeAt(path, v));
        assert.deepEqual(out, v);
        // 64-bit integers must come back exact
        if (typeof v.value === 'bigint') assert.equal(typeof out.value, 'bigint');
      });
    });
  });

  it('exposes the value helpers', () => {
    assert.equal(toHex(encodeCborValue(value.unsigned(500))), '1901f4');
    assert.deepEqual(decodeCborValue(hex('1901f4'), 'unsigned'), value.unsigned(500));
    assert.deepEqual(decodeCborValue(hex('1901f4')), value.integer(500));
  });

  it('decodes a resource instance at its path', () => {
    assert.deepEqual(decodeAt([3, 0, 7, 1], '191388'), value.integer(5000));
  });

  describe('rejects mismatching or malformed items with FormatError', () => {
    const bad: [string, number, string][] = [
      ['text for integer', ALL.integer, '6131'],
      ['float for integer', ALL.integer, 'f93c00'],
      ['integer below int64', ALL.integer, '3b8000000000000000'],
      ['negative for unsigned', ALL.unsigned, '20'],
      ['integer for boolean', ALL.boolean, '01'],
      ['bytes for string', ALL.string, '4161'],
      ['text for opaque', ALL.opaque, '6161'],
      ['bad objlnk text', ALL.objlnk, '63333a78'],
      ['text time without tag', ALL.time, '6131'],
      ['tag 0 over a non-date', ALL.time, 'c06161'],
      ['tag 1 over text', ALL.time, 'c16161'],
      ['tag 1 over NaN', ALL.time, 'c1f97e00'],
      ['time beyond Date range', ALL.time, '1b7fffffffffffffff'],
      ['big integer not exact as float', ALL.float, '1b0020000000000001'],
      ['unknown tag', ALL.integer, 'c20101'],
      ['null', ALL.string, 'f6'],
      ['undefined', ALL.string, 'f7'],
      ['array', ALL.integer, '820102'],
      ['map', ALL.integer, 'a10102'],
      ['empty payload', ALL.integer, ''],
      ['trailing bytes', ALL.integer, '0101'],
      ['truncated uint16', ALL.integer, '1901'],
      ['truncated uint64', ALL.integer, '1b00000000'],
      ['truncated string', ALL.string, '64494554'],
      ['string length beyond payload', ALL.string, '7b00000000ffffffff41'],
      ['truncated double', ALL.float, 'fb3ff1'],
      ['reserved additional info', ALL.integer, '1c'],
      ['indefinite integer', ALL.integer, '1f'],
      ['lone break', ALL.integer, 'ff'],
      ['unterminated indefinite string', ALL.string, '7f6161'],
      ['nested indefinite chunk', ALL.string, '7f7f6161ffff'],
      ['wrong chunk type', ALL.string, '7f4161ff'],
      ['invalid UTF-8', ALL.string, '62c328'],
      ['two-byte simple below 32', ALL.boolean, 'f814'],
      ['tag nesting', ALL.time, 'c1c1c1c1c1c101'],
    ];
    for (const [name, rid, h] of bad) {
      it(name, () => assertFormatError(() => cborCodec.decode(hex(h), { path: [O, 0, rid], model })));
    }
  });

  it('rejects items that are no LwM2M value when guessing without a model', () => {
    assertFormatError(() => cborCodec.decode(hex('f6'), { path: [1234, 0, 0] }), /null/);
    assertFormatError(() => cborCodec.decode(hex('3b8000000000000000'), { path: [1234, 0, 0] }), /64-bit/);
  });

  it('checks path and shape', () => {
    assertFormatError(() => cborCodec.decode(hex('01')), /without the path/);
    assertFormatError(() => cborCodec.decode(hex('01'), { path: [3] }), /neither/);
    assertUnsupported(() => cborCodec.decode(hex('01'), { path: [3, 0, 6], model }), /multiple/);
    assertUnsupported(() => cborCodec.encode([]), /exactly one/);
  });

  it('throws nothing but codec errors on random and truncated input (bounded fuzz)', () => {
    const rand = prng(0xc0b0);
    const types = Object.values(ALL);
    const seeds = [
      'c11a514b67b0',
      '7f657374726561646d696e67ff',
      '5f42010243030405ff',
      'fb3ff199999999999a',
      '1bffffffffffffffff',
      'c074323031332d30332d32315432303a30343a30305a',
    ].map(hex);
    const inputs: Buffer[] = [];
    for (const s of seeds) for (let n = 0; n <= s.length; n++) inputs.push(s.subarray(0, n));
    for (let i = 0; i < 1500; i++) inputs.push(randomBytes(rand, 16));
    inputs.forEach((bytes, i) => {
      const rid = types[i % types.length] as number;
      for (const ctx of [{ path: [O, 0, rid], model }, { path: [O, 0, rid] }]) {
        assertOnlyCodecErrors(() => cborCodec.decode(bytes, ctx), () => bytes.toString('hex'));
      }
    });
  });
});
