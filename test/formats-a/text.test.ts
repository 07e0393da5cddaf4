import assert from 'node:assert/strict';
import { textCodec, textToValue, valueToText } from '../../src/formats/text.js';
import type { Lwm2mPath } from '../../src/model/path.js';
import {
  instanceNode,
  multipleResourceNode,
  resourceInstanceNode,
  resourceNode,
  value,
  type Lwm2mValue,
  type PathNode,
} from '../../src/model/value.js';
import { ALL, assertFormatError, assertOnlyCodecErrors, assertUnsupported, model, prng, randomBytes } from './helpers.js';

const O = 9999;

function encodeAt(path: Lwm2mPath, v: Lwm2mValue, withModel = true): string {
  const id = path[path.length - 1] as number;
  const node = path.length === 3 ? resourceNode(id, v) : resourceInstanceNode(id, v);
  return textCodec.encode([{ path, node }], withModel ? { model } : {}).toString('utf8');
}

function decodeAt(path: Lwm2mPath, text: string | Buffer, withModel = true): Lwm2mValue {
  const payload = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const out = textCodec.decode(payload, withModel ? { path, model } : { path });
  assert.equal(out.length, 1);
  const entry = out[0] as PathNode;
  assert.deepEqual(entry.path, path);
  assert.ok(entry.node.kind === 'resource' || entry.node.kind === 'resourceInstance');
  assert.equal(entry.node.kind, path.length === 3 ? 'resource' : 'resourceInstance');
  assert.equal(entry.node.id, path[path.length - 1]);
  return entry.node.value;
}

describe('text/plain codec', () => {
  describe('encodes each type as the Core TS says', () => {
    const cases: [string, number, Lwm2mValue, string][] = [
      ['integer', ALL.integer, value.integer(-42), '-42'],
      ['integer 0', ALL.integer, value.integer(0), '0'],
      ['integer as BigInt (int64 max)', ALL.integer, value.integer(9223372036854775807n), '9223372036854775807'],
      ['integer int64 min', ALL.integer, value.integer(-9223372036854775808n), '-9223372036854775808'],
      ['unsigned uint64 max', ALL.unsigned, value.unsigned(18446744073709551615n), '18446744073709551615'],
      ['float shortest round trip', ALL.float, value.float(0.1), '0.1'],
      ['float with many digits', ALL.float, value.float(1 / 3), '0.3333333333333333'],
      ['float integral', ALL.float, value.float(20), '20'],
      ['float negative zero', ALL.float, value.float(-0), '-0'],
      ['float large', ALL.float, value.float(1.5e300), '1.5e+300'],
      ['boolean true', ALL.boolean, value.boolean(true), '1'],
      ['boolean false', ALL.boolean, value.boolean(false), '0'],
      ['time', ALL.time, value.time(new Date(1367491215000)), '1367491215'],
      ['time drops milliseconds', ALL.time, value.time(new Date(1367491215999)), '1367491215'],
      ['time before the epoch', ALL.time, value.time(new Date(-1500)), '-2'],
      ['objlnk', ALL.objlnk, value.objlnk(3, 0), '3:0'],
      ['objlnk null link', ALL.objlnk, value.objlnk(65535, 65535), '65535:65535'],
      ['string UTF-8', ALL.string, value.string('Grüße ✓'), 'Grüße ✓'],
      ['empty string', ALL.string, value.string(''), ''],
      ['opaque as base64', ALL.opaque, value.opaque(Buffer.from([0, 1, 2, 0xfe, 0xff])), 'AAEC/v8='],
      ['empty opaque', ALL.opaque, value.opaque(Buffer.alloc(0)), ''],
      ['corelnk as is', ALL.corelnk, value.corelnk('</3/0>;pmin=1,</3/0/9>'), '</3/0>;pmin=1,</3/0/9>'],
    ];
    for (const [name, rid, v, text] of cases) {
      it(name, () => {
        assert.equal(encodeAt([O, 0, rid], v), text);
        assert.equal(encodeAt([O, 0, rid], v, false), text);
      });
    }
  });

  it('writes UTF-8 bytes', () => {
    const buf = textCodec.encode([{ path: [3, 0, 0], node: resourceNode(0, value.string('é')) }]);
    assert.deepEqual([...buf], [0xc3, 0xa9]);
  });

  describe('round trips every type through decode with the model', () => {
    const values: [string, number, Lwm2mValue][] = [
      ['small integer', ALL.integer, value.integer(7)],
      ['negative integer', ALL.integer, value.integer(-123456789)],
      ['2^53 + 1 stays BigInt', ALL.integer, value.integer(9007199254740993n)],
      ['int64 min', ALL.integer, value.integer(-9223372036854775808n)],
      ['uint64 max', ALL.unsigned, value.unsigned(18446744073709551615n)],
      ['float', ALL.float, value.float(-273.15)],
      ['float tiny', ALL.float, value.float(5e-324)],
      ['float32-exact', ALL.float, value.float(0.5)],
      ['NaN', ALL.float, value.float(NaN)],
      ['Infinity', ALL.float, value.float(-Infinity)],
      ['boolean', ALL.boolean, value.boolean(true)],
      ['time', ALL.time, value.time(new Date(1700000000000))],
      ['objlnk', ALL.objlnk, value.objlnk(3303, 12)],
      ['string', ALL.string, value.string('a;b,c "d"\n')],
      ['empty string', ALL.string, value.string('')],
      ['opaque', ALL.opaque, value.opaque(Buffer.from('00ff10ab', 'hex'))],
      ['empty opaque', ALL.opaque, value.opaque(Buffer.alloc(0))],
      ['corelnk', ALL.corelnk, value.corelnk('</1>;ver=1.1')],
    ];
    for (const [name, rid, v] of values) {
      it(name, () => {
        const path = [O, 0, rid];
        assert.deepEqual(decodeAt(path, encodeAt(path, v)), v);
      });
    }
  });

  it('decodes a resource instance with the type of its multiple resource', () => {
    assert.deepEqual(decodeAt([3, 0, 6, 1], '5'), value.integer(5));
    assert.deepEqual(decodeAt([O, 0, ALL.multiString, 0], 'x'), value.string('x'));
  });

  it('without a model, decodes to a string value', () => {
    assert.deepEqual(decodeAt([3, 0, 9], '100', false), value.string('100'));
    assert.deepEqual(decodeAt([1234, 0, 5, 2], '', false), value.string(''));
  });

  it('unknown resources of a known model decode as strings', () => {
    assert.deepEqual(decodeAt([3, 0, 999], '12'), value.string('12'));
  });

  it('tolerates whitespace around numbers, keeps it in strings', () => {
    assert.deepEqual(decodeAt([3, 0, 9], ' 80\n'), value.integer(80));
    assert.deepEqual(decodeAt([3, 0, 0], ' ACME \n'), value.string(' ACME \n'));
  });

  it('returns numbers for safe integers and BigInt beyond', () => {
    assert.equal(decodeAt([O, 0, ALL.integer], '9007199254740991').value, 9007199254740991);
    assert.equal(decodeAt([O, 0, ALL.integer], '9007199254740992').value, 9007199254740992n);
    assert.equal(decodeAt([O, 0, ALL.unsigned], '+12').value, 12);
  });

  it('accepts base64 without padding', () => {
    assert.deepEqual(decodeAt([O, 0, ALL.opaque], 'AAEC/v8'), value.opaque(Buffer.from([0, 1, 2, 0xfe, 0xff])));
  });

  it('converts values to the model type when that loses nothing', () => {
    assert.equal(encodeAt([O, 0, ALL.float], value.integer(3)), '3');
    assert.equal(encodeAt([O, 0, ALL.time], value.integer(1000)), '1000');
    assert.equal(encodeAt([O, 0, ALL.integer], value.unsigned(5)), '5');
    assertFormatError(() => encodeAt([O, 0, ALL.integer], value.float(1.5)), /cannot be written|not an integer/);
    assertFormatError(() => encodeAt([O, 0, ALL.integer], value.string('1')), /string value cannot be written/);
    assertFormatError(() => encodeAt([O, 0, ALL.unsigned], value.integer(-1)), /unsigned range/);
    assertFormatError(() => encodeAt([O, 0, ALL.float], value.integer(2n ** 60n + 1n)), /not exact|cannot/);
  });

  describe('rejects bad text for the type with FormatError', () => {
    const bad: [string, number, string][] = [
      ['letters for integer', ALL.integer, 'abc'],
      ['decimal for integer', ALL.integer, '1.5'],
      ['empty integer', ALL.integer, ''],
      ['integer above int64', ALL.integer, '9223372036854775808'],
      ['integer below int64', ALL.integer, '-9223372036854775809'],
      ['negative unsigned', ALL.unsigned, '-1'],
      ['unsigned above uint64', ALL.unsigned, '18446744073709551616'],
      ['hex float', ALL.float, '0x10'],
      ['float garbage', ALL.float, '1.2.3'],
      ['boolean 2', ALL.boolean, '2'],
      ['boolean true', ALL.boolean, 'true'],
      ['time as date', ALL.time, '2024-01-01'],
      ['time beyond Date range', ALL.time, '99999999999999999'],
      ['objlnk 3:x', ALL.objlnk, '3:x'],
      ['objlnk one id', ALL.objlnk, '3'],
      ['objlnk id above 65535', ALL.objlnk, '70000:0'],
      ['bad base64 character', ALL.opaque, 'AA*B'],
      ['bad base64 length', ALL.opaque, 'AAAAA'],
      ['base64 padding in the middle', ALL.opaque, 'AA==AA=='],
      ['base64 with non-zero trailing bits', ALL.opaque, 'AB=='],
    ];
    for (const [name, rid, text] of bad) {
      it(name, () => assertFormatError(() => decodeAt([O, 0, rid], text)));
    }
  });

  it('rejects invalid UTF-8', () => {
    assertFormatError(() => decodeAt([3, 0, 0], Buffer.from([0x41, 0xc3, 0x28])), /UTF-8/);
  });

  it('needs a resource or resource-instance path to decode', () => {
    assertFormatError(() => textCodec.decode(Buffer.from('1')), /without the path/);
    assertFormatError(() => textCodec.decode(Buffer.from('1'), { path: [3, 0] }), /neither/);
    assertFormatError(() => textCodec.decode(Buffer.from('1'), { path: [] }), /neither/);
  });

  it('refuses a whole multiple resource, an executable resource, and instances of a single resource', () => {
    assertUnsupported(() => decodeAt([3, 0, 6], '1'), /multiple resource/);
    assertUnsupported(() => decodeAt([3, 0, 4], ''), /executable/);
    assertFormatError(() => decodeAt([3, 0, 9, 0], '1'), /single/);
  });

  it('encodes one single resource or resource instance only', () => {
    const leaf: PathNode = { path: [3, 0, 9], node: resourceNode(9, value.integer(1)) };
    assertUnsupported(() => textCodec.encode([]), /exactly one/);
    assertUnsupported(() => textCodec.encode([leaf, leaf]), /exactly one/);
    assertUnsupported(
      () => textCodec.encode([{ path: [3, 0], node: instanceNode(0, [resourceNode(9, value.integer(1))]) }]),
      /object instance/,
    );
    assertUnsupported(
      () =>
        textCodec.encode([
          { path: [3, 0, 6], node: multipleResourceNode(6, [resourceInstanceNode(0, value.integer(1))]) },
        ]),
      /multiple resource/,
    );
    assertFormatError(() => textCodec.encode([{ path: [3, 0, 8], node: resourceNode(9, value.integer(1)) }]), /does not sit/);
  });

  it('exposes the per-value helpers', () => {
    assert.equal(valueToText(value.unsigned(255)), '255');
    assert.deepEqual(textToValue('1:2', 'objlnk'), value.objlnk(1, 2));
  });

  it('throws nothing but codec errors on random bytes (bounded fuzz)', () => {
    const rand = prng(0x7e57);
    const rids = Object.values(ALL);
    const alphabet = '0123456789+-.:eE =AZaz/\n';
    for (let i = 0; i < 3000; i++) {
      // half raw bytes, half text close to valid values (digits, signs, colons, base64 characters)
      let bytes = randomBytes(rand, 24);
      if (i % 2 === 1) bytes = Buffer.from([...bytes].map((b) => alphabet.charCodeAt(b % alphabet.length)));
      const rid = rids[i % rids.length] as number;
      assertOnlyCodecErrors(
        () => textCodec.decode(bytes, { path: [O, 0, rid], model }),
        () => `${bytes.toString('hex')} at /${O}/0/${rid}`,
      );
    }
  });
});
