import assert from 'node:assert/strict';
import {
  decodeTlv,
  decodeTlvValue,
  encodeTlv,
  encodeTlvRecord,
  encodeTlvValue,
  readTlvRecords,
  tlvCodec,
} from '../../src/formats/tlv.js';
import type { Lwm2mPath } from '../../src/model/path.js';
import {
  instanceNode,
  multipleResourceNode,
  objectNode,
  resourceInstanceNode,
  resourceNode,
  value,
  type Lwm2mNode,
  type Lwm2mValue,
  type ObjectInstanceNode,
} from '../../src/model/value.js';
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

const ascii = (s: string) => Buffer.from(s, 'ascii').toString('hex');

/**
 * Core TS worked example "Single Object Instance Request": Read /3/0 answered
 * with the bare resource TLVs (121 bytes).
 */
const DEVICE_RESOURCES = hex(`
  c8 00 14 ${ascii('Open Mobile Alliance')}
  c8 01 16 ${ascii('Lightweight M2M Client')}
  c8 02 09 ${ascii('345000123')}
  c3 03 ${ascii('1.0')}
  86 06  41 00 01  41 01 05
  88 07 08  42 00 0e d8  42 01 13 88
  87 08  41 00 7d  42 01 03 84
  c1 09 64
  c1 0a 0f
  83 0b  41 00 00
  c4 0d 51 82 42 8f
  c6 0e ${ascii('+02:00')}
  c1 10 55
`);

/** The same instance wrapped in its object-instance TLV (as some clients answer /3/0, and as /3 is answered). */
const DEVICE_WRAPPED = Buffer.concat([hex('08 00 79'), DEVICE_RESOURCES]);

const DEVICE_INSTANCE: ObjectInstanceNode = instanceNode(0, [
  resourceNode(0, value.string('Open Mobile Alliance')),
  resourceNode(1, value.string('Lightweight M2M Client')),
  resourceNode(2, value.string('345000123')),
  resourceNode(3, value.string('1.0')),
  multipleResourceNode(6, [resourceInstanceNode(0, value.integer(1)), resourceInstanceNode(1, value.integer(5))]),
  multipleResourceNode(7, [resourceInstanceNode(0, value.integer(3800)), resourceInstanceNode(1, value.integer(5000))]),
  multipleResourceNode(8, [resourceInstanceNode(0, value.integer(125)), resourceInstanceNode(1, value.integer(900))]),
  resourceNode(9, value.integer(100)),
  resourceNode(10, value.integer(15)),
  multipleResourceNode(11, [resourceInstanceNode(0, value.integer(0))]),
  resourceNode(13, value.time(new Date(1367491215 * 1000))),
  resourceNode(14, value.string('+02:00')),
  resourceNode(16, value.string('U')),
]);

/** Core TS "Multiple Object Instance Request" example: Read /2 (Access Control). */
const ACCESS_CONTROL_OBJECT = hex(`
  08 00 0e  c1 00 01  c1 01 00  83 02 41 7f 07  c1 03 7f
  08 02 12  c1 00 03  c1 01 00  87 02 41 7f 07 61 01 36 01  c1 03 7f
`);

/** Core TS example: Read /1 (Server object, one instance). */
const SERVER_OBJECT = hex('08 00 0f  c1 00 01  c4 01 00 01 51 80  c1 06 01  c1 07 55');

/** Core TS Objlnk example 1: Read /65/0. */
const OBJ65_INSTANCE = hex(`
  88 00 0c  44 00 00 42 00 00  44 01 00 42 00 01
  c8 01 0d ${ascii('8613800755500')}
  c4 02 12 34 56 78
`);

/** Core TS Objlnk example 2: Read /66 (the second instance holds the null link 65535:65535). */
const OBJ66_OBJECT = hex(`
  08 00 26  c8 00 0b ${ascii('myService 1')}  c8 01 0f ${ascii('Internet.15.234')}  c4 02 00 43 00 00
  08 01 26  c8 00 0b ${ascii('myService 2')}  c8 01 0f ${ascii('Internet.15.235')}  c4 02 ff ff ff ff
`);

function decode(payload: Buffer, path: Lwm2mPath, withModel = true): Lwm2mNode {
  const out = tlvCodec.decode(payload, withModel ? { path, model } : { path });
  assert.equal(out.length, 1);
  assert.deepEqual(out[0]?.path, path);
  return (out[0] as { node: Lwm2mNode }).node;
}

function encode(path: Lwm2mPath, node: Lwm2mNode, withModel = true): Buffer {
  return tlvCodec.encode([{ path, node }], withModel ? { model } : {});
}

describe('LwM2M TLV codec', () => {
  describe('Core TS worked examples', () => {
    it('vector sizes match the spec (121-byte device instance)', () => {
      assert.equal(DEVICE_RESOURCES.length, 121);
    });

    it('decodes Read /3/0 given as bare resource TLVs', () => {
      assert.deepEqual(decode(DEVICE_RESOURCES, [3, 0]), DEVICE_INSTANCE);
    });

    it('decodes Read /3/0 given wrapped in one object-instance TLV', () => {
      assert.deepEqual(decode(DEVICE_WRAPPED, [3, 0]), DEVICE_INSTANCE);
    });

    it('decodes Read /3 as object-instance TLVs', () => {
      assert.deepEqual(decode(DEVICE_WRAPPED, [3]), objectNode(3, [DEVICE_INSTANCE]));
    });

    it('encodes the device instance byte for byte', () => {
      assert.equal(toHex(encode([3, 0], DEVICE_INSTANCE)), toHex(DEVICE_RESOURCES));
      assert.equal(toHex(encode([3, 0], DEVICE_INSTANCE, false)), toHex(DEVICE_RESOURCES));
    });

    it('encodes the device object wrapped', () => {
      assert.equal(toHex(encode([3], objectNode(3, [DEVICE_INSTANCE]))), toHex(DEVICE_WRAPPED));
    });

    it('decodes and re-encodes the Access Control object (16-bit resource instance id 310)', () => {
      const expected = objectNode(2, [
        instanceNode(0, [
          resourceNode(0, value.integer(1)),
          resourceNode(1, value.integer(0)),
          multipleResourceNode(2, [resourceInstanceNode(127, value.integer(7))]),
          resourceNode(3, value.integer(127)),
        ]),
        instanceNode(2, [
          resourceNode(0, value.integer(3)),
          resourceNode(1, value.integer(0)),
          multipleResourceNode(2, [resourceInstanceNode(127, value.integer(7)), resourceInstanceNode(310, value.integer(1))]),
          resourceNode(3, value.integer(127)),
        ]),
      ]);
      assert.deepEqual(decode(ACCESS_CONTROL_OBJECT, [2]), expected);
      assert.equal(toHex(encode([2], expected)), toHex(ACCESS_CONTROL_OBJECT));
    });

    it('decodes the Server object (4-byte lifetime, boolean)', () => {
      const expected = objectNode(1, [
        instanceNode(0, [
          resourceNode(0, value.integer(1)),
          resourceNode(1, value.integer(86400)),
          resourceNode(6, value.boolean(true)),
          resourceNode(7, value.string('U')),
        ]),
      ]);
      assert.deepEqual(decode(SERVER_OBJECT, [1]), expected);
      assert.equal(toHex(encode([1], expected)), toHex(SERVER_OBJECT));
      // the same bytes answer /1/0 (wrapped form)
      assert.deepEqual(decode(SERVER_OBJECT, [1, 0]), expected.instances.get(0));
    });

    it('decodes and re-encodes the Objlnk examples', () => {
      const inst65 = instanceNode(0, [
        multipleResourceNode(0, [resourceInstanceNode(0, value.objlnk(66, 0)), resourceInstanceNode(1, value.objlnk(66, 1))]),
        resourceNode(1, value.string('8613800755500')),
        resourceNode(2, value.integer(0x12345678)),
      ]);
      assert.deepEqual(decode(OBJ65_INSTANCE, [65, 0]), inst65);
      assert.equal(toHex(encode([65, 0], inst65)), toHex(OBJ65_INSTANCE));

      const obj66 = objectNode(66, [
        instanceNode(0, [
          resourceNode(0, value.string('myService 1')),
          resourceNode(1, value.string('Internet.15.234')),
          resourceNode(2, value.objlnk(67, 0)),
        ]),
        instanceNode(1, [
          resourceNode(0, value.string('myService 2')),
          resourceNode(1, value.string('Internet.15.235')),
          resourceNode(2, value.objlnk(65535, 65535)),
        ]),
      ]);
      assert.deepEqual(decode(OBJ66_OBJECT, [66]), obj66);
      assert.equal(toHex(encode([66], obj66)), toHex(OBJ66_OBJECT));
    });

    it('decodes single resource, multiple resource and resource instance reads', () => {
      assert.deepEqual(decode(hex(`c8 00 14 ${ascii('Open Mobile Alliance')}`), [3, 0, 0]), resourceNode(0, value.string('Open Mobile Alliance')));
      assert.deepEqual(decode(hex('86 06 41 00 01 41 01 05'), [3, 0, 6]), DEVICE_INSTANCE.resources.get(6));
      assert.deepEqual(decode(hex('41 01 05'), [3, 0, 6, 1]), resourceInstanceNode(1, value.integer(5)));
      assert.deepEqual(decode(hex('c4 0d 51 82 42 8f'), [3, 0, 13]), resourceNode(13, value.time(new Date(1367491215000))));
    });

    it('decodes several object instances of an unknown object as raw opaque leaves', () => {
      const payload = hex('03 0a c1 01 14  03 0b c1 01 15  03 0c c1 01 16');
      const node = decode(payload, [1024], false);
      assert.deepEqual(
        node,
        objectNode(1024, [
          instanceNode(10, [resourceNode(1, value.opaque(hex('14')))]),
          instanceNode(11, [resourceNode(1, value.opaque(hex('15')))]),
          instanceNode(12, [resourceNode(1, value.opaque(hex('16')))]),
        ]),
      );
      // raw leaves are written back unchanged
      assert.equal(toHex(encode([1024], node, false)), toHex(payload));
    });
  });

  it('without a model, every leaf is opaque holding the raw bytes', () => {
    const node = decode(DEVICE_RESOURCES, [3, 0], false);
    assert.equal(node.kind, 'instance');
    const r9 = node.kind === 'instance' ? node.resources.get(9) : undefined;
    assert.deepEqual(r9, resourceNode(9, value.opaque(hex('64'))));
    const r7 = node.kind === 'instance' ? node.resources.get(7) : undefined;
    assert.deepEqual(
      r7,
      multipleResourceNode(7, [resourceInstanceNode(0, value.opaque(hex('0ed8'))), resourceInstanceNode(1, value.opaque(hex('1388')))]),
    );
    // and re-encoding them with the model does not reinterpret them
    assert.equal(toHex(encode([3, 0], node)), toHex(DEVICE_RESOURCES));
  });

  describe('value encoding', () => {
    const cases: [string, Lwm2mValue, string][] = [
      ['int 0', value.integer(0), '00'],
      ['int 127 in 1 byte', value.integer(127), '7f'],
      ['int -128 in 1 byte', value.integer(-128), '80'],
      ['int 128 in 2 bytes', value.integer(128), '0080'],
      ['int -129 in 2 bytes', value.integer(-129), 'ff7f'],
      ['int 32767 in 2 bytes', value.integer(32767), '7fff'],
      ['int 32768 in 4 bytes', value.integer(32768), '00008000'],
      ['int -2^31 in 4 bytes', value.integer(-2147483648), '80000000'],
      ['int 2^31 in 8 bytes', value.integer(2147483648), '0000000080000000'],
      ['int64 max', value.integer(2n ** 63n - 1n), '7fffffffffffffff'],
      ['int64 min', value.integer(-(2n ** 63n)), '8000000000000000'],
      ['unsigned 255 in 1 byte', value.unsigned(255), 'ff'],
      ['unsigned 256 in 2 bytes', value.unsigned(256), '0100'],
      ['unsigned 65536 in 4 bytes', value.unsigned(65536), '00010000'],
      ['unsigned 2^32 in 8 bytes', value.unsigned(2 ** 32), '0000000100000000'],
      ['unsigned uint64 max', value.unsigned(2n ** 64n - 1n), 'ffffffffffffffff'],
      ['float exact in float32', value.float(1.5), '3fc00000'],
      ['float -0', value.float(-0), '80000000'],
      ['float needing float64', value.float(0.1), '3fb999999999999a'],
      ['float beyond float32 range', value.float(1e300), '7e37e43c8800759c'],
      ['boolean true', value.boolean(true), '01'],
      ['boolean false', value.boolean(false), '00'],
      ['time', value.time(new Date(1367491215000)), '5182428f'],
      ['time before epoch', value.time(new Date(-1000)), 'ff'],
      ['objlnk', value.objlnk(3, 1), '00030001'],
      ['string', value.string('U'), '55'],
      ['empty string', value.string(''), ''],
      ['corelnk', value.corelnk('</1>'), '3c2f313e'],
      ['opaque', value.opaque(hex('0001ff')), '0001ff'],
      ['empty opaque', value.opaque(Buffer.alloc(0)), ''],
    ];
    for (const [name, v, expected] of cases) {
      it(name, () => {
        assert.equal(toHex(encodeTlvValue(v)), expected);
        assert.deepEqual(decodeTlvValue(hex(expected), v.type), v);
      });
    }

    it('rejects values outside their range when encoding', () => {
      assertFormatError(() => encodeTlvValue(value.integer(2n ** 63n)), /64-bit signed/);
      assertFormatError(() => encodeTlvValue(value.unsigned(-1)), /unsigned/);
      assertFormatError(() => encodeTlvValue(value.integer(0.5)), /not an integer/);
      assertFormatError(() => encodeTlvValue(value.objlnk(70000, 0)), /0\.\.65535/);
      assertFormatError(() => encodeTlvValue(value.time(new Date(NaN))), /valid Date/);
    });
  });

  describe('value decoding validates lengths and contents', () => {
    const bad: [string, Parameters<typeof decodeTlvValue>[1], string][] = [
      ['3-byte integer', 'integer', '000001'],
      ['empty integer', 'integer', ''],
      ['16-byte integer', 'integer', '00'.repeat(16)],
      ['5-byte unsigned', 'unsigned', '0000000001'],
      ['2-byte float', 'float', '3c00'],
      ['boolean 2', 'boolean', '02'],
      ['2-byte boolean', 'boolean', '0001'],
      ['3-byte objlnk', 'objlnk', '000300'],
      ['3-byte time', 'time', '000001'],
      ['time beyond Date range', 'time', '7fffffffffffffff'],
      ['invalid UTF-8 string', 'string', 'c328'],
    ];
    for (const [name, type, h] of bad) {
      it(name, () => assertFormatError(() => decodeTlvValue(hex(h), type)));
    }

    it('typed leaves in a payload are validated too', () => {
      assertFormatError(() => decode(hex('c3 09 00 00 01'), [3, 0, 9]), /1, 2, 4 or 8/);
      assertFormatError(() => decode(hex('c1 06 02'), [1, 0, 6]), /0 or 1/);
    });
  });

  describe('record headers', () => {
    it('uses a 16-bit identifier above 255', () => {
      assert.equal(toHex(encodeTlvRecord('resource', 300, hex('01'))), 'e1012c01');
      assert.deepEqual(readTlvRecords(hex('e1012c01')), [{ kind: 'resource', id: 300, value: hex('01') }]);
    });

    it('uses the 3-bit length up to 7 bytes, then 8/16/24-bit length fields', () => {
      assert.equal(toHex(encodeTlvRecord('resource', 1, Buffer.alloc(7))).slice(0, 4), 'c701');
      assert.equal(toHex(encodeTlvRecord('resource', 1, Buffer.alloc(8))).slice(0, 6), 'c80108');
      assert.equal(toHex(encodeTlvRecord('resource', 1, Buffer.alloc(300))).slice(0, 8), 'd001012c');
      assert.equal(toHex(encodeTlvRecord('resourceInstance', 1, Buffer.alloc(70000))).slice(0, 10), '5801011170');
    });

    it('round trips long values through every length field size', () => {
      for (const size of [0, 7, 8, 255, 256, 65535, 65536, 100000]) {
        const v = value.opaque(Buffer.alloc(size, size & 0xff));
        const path = [9999, 0, ALL.opaque];
        assert.deepEqual(decode(encode(path, resourceNode(ALL.opaque, v)), path), resourceNode(ALL.opaque, v), `size ${size}`);
      }
    });

    it('ignores bits 2-0 when a length field is present', () => {
      // 0xcf: resource, 8-bit id, 8-bit length field, stray bits 111
      assert.deepEqual(readTlvRecords(hex('cf 09 01 64')), [{ kind: 'resource', id: 9, value: hex('64') }]);
    });
  });

  describe('round trips every value type in one instance', () => {
    const inst = instanceNode(0, [
      resourceNode(ALL.string, value.string('héllo')),
      resourceNode(ALL.integer, value.integer(-9223372036854775808n)),
      resourceNode(ALL.unsigned, value.unsigned(18446744073709551615n)),
      resourceNode(ALL.float, value.float(-2.5)),
      resourceNode(ALL.boolean, value.boolean(false)),
      resourceNode(ALL.opaque, value.opaque(Buffer.alloc(0))),
      resourceNode(ALL.time, value.time(new Date(1700000000000))),
      resourceNode(ALL.objlnk, value.objlnk(3303, 0)),
      resourceNode(ALL.corelnk, value.corelnk('</3303/0>')),
      multipleResourceNode(ALL.multiInteger, [
        resourceInstanceNode(0, value.integer(9007199254740993n)),
        resourceInstanceNode(1, value.integer(-1)),
        resourceInstanceNode(700, value.integer(2147483647)),
      ]),
      multipleResourceNode(ALL.multiString, [resourceInstanceNode(0, value.string(''))]),
      multipleResourceNode(ALL.multiOpaque, []),
    ]);
    it('at the instance path', () => {
      assert.deepEqual(decode(encode([9999, 0], inst), [9999, 0]), inst);
    });
    it('at the object path', () => {
      const obj = objectNode(9999, [inst, instanceNode(65534, [])]);
      assert.deepEqual(decode(encode([9999], obj), [9999]), obj);
    });
    it('float64 values stay exact, float32-exact ones travel in 4 bytes', () => {
      const path = [9999, 0, ALL.float];
      const tiny = resourceNode(ALL.float, value.float(5e-324));
      assert.deepEqual(decode(encode(path, tiny), path), tiny);
      assert.equal(encode(path, resourceNode(ALL.float, value.float(0.25))).length, 2 + 4);
      assert.equal(encode(path, resourceNode(ALL.float, value.float(0.2))).length, 3 + 8);
    });
  });

  describe('path handling', () => {
    it('an instance given at its object path is wrapped (Create body)', () => {
      const inst = instanceNode(5, [resourceNode(0, value.integer(1))]);
      // 3 bytes of content: the length fits in bits 2-0 of the type byte (0x03)
      assert.equal(toHex(encode([2], inst)), '03' + '05' + 'c10001');
      assert.deepEqual(decode(encode([2], inst), [2, 5]), inst);
    });

    it('a single resource and a multiple resource at a resource path', () => {
      assert.equal(toHex(encode([3, 0, 9], resourceNode(9, value.integer(100)))), 'c10964');
      assert.equal(
        toHex(encode([3, 0, 6], DEVICE_INSTANCE.resources.get(6) as Lwm2mNode)),
        '8606410001410105',
      );
      assert.equal(toHex(encode([3, 0, 6, 1], resourceInstanceNode(1, value.integer(5)))), '410105');
    });

    it('empty payloads: an object without instances, an instance without resources', () => {
      assert.deepEqual(decode(Buffer.alloc(0), [3]), objectNode(3, []));
      assert.deepEqual(decode(Buffer.alloc(0), [3, 0]), instanceNode(0, []));
      assert.equal(encode([3], objectNode(3, [])).length, 0);
    });

    it('tolerates a multiple resource sent as bare resource instances', () => {
      assert.deepEqual(decode(hex('41 00 01 41 01 05'), [3, 0, 6]), DEVICE_INSTANCE.resources.get(6));
    });

    it('tolerates a resource instance wrapped in its multiple resource', () => {
      assert.deepEqual(decode(hex('83 06 41 01 05'), [3, 0, 6, 1]), resourceInstanceNode(1, value.integer(5)));
    });

    it('decodeTlv/encodeTlv are usable directly', () => {
      assert.deepEqual(decodeTlv(hex('c10964'), [3, 0, 9], model), resourceNode(9, value.integer(100)));
      assert.equal(toHex(encodeTlv([3, 0, 9], resourceNode(9, value.integer(100)))), 'c10964');
    });
  });

  describe('malformed payloads raise FormatError', () => {
    const bad: [string, string, Lwm2mPath][] = [
      ['truncated header', 'c8', [3, 0]],
      ['truncated 16-bit id', 'e1 01', [3, 0]],
      ['truncated length field', 'd0 00 01', [3, 0]],
      ['truncated value', `c8 00 14 ${ascii('Open')}`, [3, 0]],
      ['overlong inner record', '08 00 03 c1 09 64 ff', [3, 0]],
      ['inner record longer than its container', '08 00 02 c1 09 64', [3]],
      ['resource at object level', 'c1 09 64', [3]],
      ['resource instance at instance level', '41 00 01', [3, 0]],
      ['object instance inside an instance', '08 00 03 08 01 00', [3, 0]],
      ['resource inside a multiple resource', '83 06 c1 00 01', [3, 0, 6]],
      ['two instance wrappers at an instance path', '08 00 00 08 01 00', [3, 0]],
      ['wrapper mixed with resources', '08 00 00 c1 09 64', [3, 0]],
      ['instance id mismatch', '08 01 03 c1 09 64', [3, 0]],
      ['resource id mismatch', 'c1 0a 0f', [3, 0, 9]],
      ['resource instance id mismatch', '41 00 01', [3, 0, 6, 1]],
      ['two resources at a resource path', 'c1 09 64 c1 0a 0f', [3, 0, 9]],
      ['empty payload at a resource path', '', [3, 0, 9]],
      ['empty payload at a resource-instance path', '', [3, 0, 6, 1]],
      ['duplicate resource', 'c1 09 64 c1 09 63', [3, 0]],
      ['duplicate instance', '08 00 00 08 00 00', [3]],
      ['duplicate resource instance', '86 06 41 00 01 41 00 05', [3, 0, 6]],
      ['reserved identifier 65535', 'e1 ff ff 01', [3, 0]],
      ['single resource the model says is multiple', 'c1 06 01', [3, 0, 6]],
      ['multiple resource the model says is single', '83 09 41 00 64', [3, 0, 9]],
      ['executable resource with a value', 'c1 04 01', [3, 0]],
    ];
    for (const [name, h, path] of bad) {
      it(name, () => assertFormatError(() => decode(hex(h), path)));
    }

    it('needs a path', () => {
      assertFormatError(() => tlvCodec.decode(hex('c10964')), /without the path/);
      assertFormatError(() => tlvCodec.decode(hex('c10964'), { path: [] }), /not \//);
    });
  });

  describe('encoding errors', () => {
    it('one entry only, never the root', () => {
      assertUnsupported(() => tlvCodec.encode([]), /one path/);
      const e = { path: [3, 0, 9], node: resourceNode(9, value.integer(1)) };
      assertUnsupported(() => tlvCodec.encode([e, e]), /one path/);
      assertUnsupported(() => encode([], objectNode(3, [])), /root/);
    });

    it('a node must sit at its path', () => {
      assertFormatError(() => encode([3, 0, 8], resourceNode(9, value.integer(1))), /does not sit/);
      assertFormatError(() => encode([3, 0], resourceNode(9, value.integer(1))), /does not sit/);
      assertFormatError(() => encode([4], objectNode(3, [])), /does not sit/);
      assertFormatError(() => encode([3, 0, 6], resourceInstanceNode(6, value.integer(1))), /does not sit/);
    });

    it('values must fit the model', () => {
      assertFormatError(() => encode([3, 0, 9], resourceNode(9, value.string('x'))), /string value cannot be written/);
      assertFormatError(() => encode([3, 0, 6], resourceNode(6, value.integer(1))), /multiple in the model/);
      // a lossless conversion is applied: integer 3 into a Float resource travels as a float
      assert.equal(toHex(encode([9999, 0, ALL.float], resourceNode(ALL.float, value.integer(3)))), 'c40340400000');
    });
  });

  it('throws nothing but codec errors on random, truncated and mutated input (bounded fuzz)', () => {
    const rand = prng(0x71f);
    const paths: Lwm2mPath[] = [[3], [3, 0], [3, 0, 6], [3, 0, 9], [3, 0, 6, 1], [9999, 0], [2], [1234, 0, 1]];
    const inputs: Buffer[] = [];
    for (const vector of [DEVICE_WRAPPED, ACCESS_CONTROL_OBJECT, OBJ65_INSTANCE, OBJ66_OBJECT]) {
      for (let n = 0; n < vector.length; n++) inputs.push(vector.subarray(0, n));
      for (let k = 0; k < 150; k++) {
        const mutated = Buffer.from(vector);
        mutated[Math.floor(rand() * mutated.length)] = Math.floor(rand() * 256);
        inputs.push(mutated);
      }
    }
    for (let i = 0; i < 1500; i++) inputs.push(randomBytes(rand, 24));
    for (const [i, bytes] of inputs.entries()) {
      const path = paths[i % paths.length] as Lwm2mPath;
      for (const ctx of [{ path, model }, { path }]) {
        assertOnlyCodecErrors(() => tlvCodec.decode(bytes, ctx), () => `${bytes.toString('hex')} at ${path.join('/')}`);
      }
    }
  });
});
