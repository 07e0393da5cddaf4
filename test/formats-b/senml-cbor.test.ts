/**
 * SenML CBOR against the worked examples of the LwM2M Core TS 1.1 §7.4.5
 * (the §7.4.4 examples with RFC 8428 §6 integer labels), written out byte
 * by byte here, plus the CBOR-specific variants a peer may send.
 */
import assert from 'node:assert/strict';
import { createSenmlCborCodec, senmlCborCodec } from '../../src/formats/senml-cbor.js';
import { decodeSenmlPaths, encodeSenmlPaths } from '../../src/formats/senml-composite.js';
import { ContentFormat } from '../../src/formats/content-format.js';
import type { ObjectInstanceNode, PathNode, SingleResourceNode } from '../../src/model/value.js';
import { assertFormatError, hex, model } from './helpers.js';
import { assertDeviceInstance } from './vectors.js';

/** A short CBOR text string (under 24 bytes): header byte 0x60+length, then UTF-8. */
function tx(s: string): string {
  const bytes = Buffer.from(s, 'utf8');
  assert.ok(bytes.length < 24);
  return (0x60 + bytes.length).toString(16) + bytes.toString('hex');
}

const OMA = '74' + Buffer.from('Open Mobile Alliance').toString('hex');
const CLIENT = '76' + Buffer.from('Lightweight M2M Client').toString('hex');

/** Table 7.4.4-2 as SenML CBOR: [{-2: "/3/0/", 0: "0", 3: "Open Mobile Alliance"}, {0: "1", 3: ...}, ...] */
const DEVICE_3_0_CBOR = hex(
  '90' +
    `a3 21 ${tx('/3/0/')} 00 ${tx('0')} 03 ${OMA}` +
    `a2 00 ${tx('1')} 03 ${CLIENT}` +
    `a2 00 ${tx('2')} 03 ${tx('345000123')}` +
    `a2 00 ${tx('3')} 03 ${tx('1.0')}` +
    `a2 00 ${tx('6/0')} 02 01` +
    `a2 00 ${tx('6/1')} 02 05` +
    `a2 00 ${tx('7/0')} 02 190ed8` +
    `a2 00 ${tx('7/1')} 02 191388` +
    `a2 00 ${tx('8/0')} 02 187d` +
    `a2 00 ${tx('8/1')} 02 190384` +
    `a2 00 ${tx('9')} 02 1864` +
    `a2 00 ${tx('10')} 02 0f` +
    `a2 00 ${tx('11/0')} 02 00` +
    `a2 00 ${tx('13')} 02 1a5182428f` +
    `a2 00 ${tx('14')} 03 ${tx('+02:00')}` +
    `a2 00 ${tx('16')} 03 ${tx('U')}`,
);

describe('formats-b / SenML CBOR: specification examples', () => {
  it('Table 7.4.4-2 in CBOR: decodes the Device instance and encodes the same bytes', () => {
    const entries = senmlCborCodec.decode(DEVICE_3_0_CBOR, { path: [3, 0], model });
    assertDeviceInstance(entries);
    assert.equal(senmlCborCodec.encode(entries).toString('hex'), DEVICE_3_0_CBOR.toString('hex'));
  });

  it('Table 7.4.4-3 in CBOR: time series with base time, relative to now', () => {
    const now = 1_700_000_000;
    const codec = createSenmlCborCodec({ now: () => now });
    const payload = hex(
      `83 a5 21 ${tx('/72/')} 22 1a0184876a 00 ${tx('1/2')} 02 fb4036666666666666 06 24` +
        `a3 00 ${tx('1/2')} 02 fb4036e66666666666 06 381d` +
        `a3 00 ${tx('1/2')} 02 fb403819999999999a 06 3831`,
    );
    const entries = codec.decode(payload, { path: [72, 1, 2] });
    assert.deepEqual(
      entries.map((e) => [(e.node as SingleResourceNode).value.value, (e.node as SingleResourceNode).time]),
      [[22.4, now + 25462629], [22.9, now + 25462604], [24.1, now + 25462584]],
    );
  });

  it('Table 7.4.4-5 in CBOR: single resource with bn only', () => {
    const payload = hex(`81 a2 21 ${tx('/3/0/0')} 03 ${OMA}`);
    const entries = senmlCborCodec.decode(payload, { path: [3, 0, 0] });
    assert.deepEqual((entries[0]?.node as SingleResourceNode).value, { type: 'string', value: 'Open Mobile Alliance' });
    assert.deepEqual(senmlCborCodec.encode(entries), payload);
  });

  it('Table 7.4.4-6 in CBOR: the Read-Composite request body', () => {
    const payload = hex(`83 a1 00 ${tx('/3/0/0')} a1 00 ${tx('/3/0/9')} a1 00 ${tx('/1/0/1')}`);
    assert.deepEqual(decodeSenmlPaths(payload, ContentFormat.SENML_CBOR), [[3, 0, 0], [3, 0, 9], [1, 0, 1]]);
    assert.deepEqual(encodeSenmlPaths([[3, 0, 0], [3, 0, 9], [1, 0, 1]], ContentFormat.SENML_CBOR), payload);
  });

  it('Table 7.4.4-4 in CBOR: vlo is a text key, object links decode per instance', () => {
    const payload = hex(
      `83 a3 21 ${tx('/')} 00 ${tx('66/0/2')} 63766c6f ${tx('67:0')}` +
        `a2 00 ${tx('66/1/2')} 63766c6f ${tx('65535:65535')}` +
        `a2 00 ${tx('66/1/0')} 03 ${tx('myService2')}`,
    );
    const entries = senmlCborCodec.decode(payload, { model });
    assert.deepEqual(entries.map((e) => e.path), [[66, 0], [66, 1]]);
    const link = (entries[0]?.node as ObjectInstanceNode).resources.get(2) as SingleResourceNode;
    assert.deepEqual(link.value, { type: 'objlnk', value: { objectId: 67, instanceId: 0 } });
    // and it is written back with the text key "vlo"
    const out = senmlCborCodec.encode([entries[0] as PathNode]);
    assert.equal(out.toString('hex'), hex(`81 a2 21 ${tx('/66/0/2')} 63766c6f ${tx('67:0')}`).toString('hex'));
  });
});

describe('formats-b / SenML CBOR: wire variants', () => {
  const expected95 = [{ path: [3, 0, 9], node: { kind: 'resource', id: 9, value: { type: 'integer', value: 95 } } }];

  it('accepts text labels instead of integer labels', () => {
    const payload = hex(`81 a3 62626e ${tx('/3/0/')} 616e ${tx('9')} 6176 185f`);
    assert.deepEqual(senmlCborCodec.decode(payload, { path: [3, 0, 9] }), expected95);
  });

  it('accepts indefinite-length arrays, maps and strings', () => {
    // [_ {_ -2: (_ "/3/", "0/"), 0: "9", 2: 95}]
    const payload = hex(`9f bf 21 7f 632f332f 62302f ff 00 ${tx('9')} 02 185f ff ff`);
    assert.deepEqual(senmlCborCodec.decode(payload, { path: [3, 0, 9] }), expected95);
  });

  it('reads opaque from a byte string and writes it as one', () => {
    const payload = hex(`81 a2 21 ${tx('/5/0/0')} 08 43010203`);
    const entries = senmlCborCodec.decode(payload, { path: [5, 0, 0], model });
    assert.deepEqual((entries[0]?.node as SingleResourceNode).value, { type: 'opaque', value: Buffer.from([1, 2, 3]) });
    assert.deepEqual(senmlCborCodec.encode(entries), payload);
  });

  it('reads bignums (tag 2/3) and decimal fractions (tag 4) as numbers', () => {
    const payload = hex(
      `83 a3 21 ${tx('/10999/0/')} 00 ${tx('2')} 02 c248ffffffffffffffff` +
        `a2 00 ${tx('1')} 02 c34801ffffffffffffff` +
        `a2 00 ${tx('3')} 02 c4822018 2d`,
    );
    const inst = senmlCborCodec.decode(payload, { path: [10999, 0], model })[0]?.node as ObjectInstanceNode;
    const value = (id: number) => (inst.resources.get(id) as SingleResourceNode).value;
    assert.deepEqual(value(2), { type: 'unsigned', value: 2n ** 64n - 1n });
    assert.deepEqual(value(1), { type: 'integer', value: -1n - 0x01ffffffffffffffn });
    assert.deepEqual(value(3), { type: 'float', value: 4.5 });
  });

  it('writes Float resources as CBOR floats, even integral ones, and integers as integers', () => {
    const entries: PathNode[] = [
      { path: [3303, 0, 5700], node: { kind: 'resource', id: 5700, value: { type: 'float', value: 20 } } },
    ];
    assert.equal(senmlCborCodec.encode(entries).toString('hex'), hex(`81 a2 21 ${tx('/3303/0/5700')} 02 fa41a00000`).toString('hex'));
    const ints: PathNode[] = [{ path: [3, 0, 9], node: { kind: 'resource', id: 9, value: { type: 'integer', value: 20 } } }];
    assert.equal(senmlCborCodec.encode(ints).toString('hex'), hex(`81 a2 21 ${tx('/3/0/9')} 02 14`).toString('hex'));
  });

  it('keeps a 64-bit integer as BigInt without a model', () => {
    const payload = hex(`81 a2 21 ${tx('/3/0/9')} 02 1b7fffffffffffffff`);
    const entries = senmlCborCodec.decode(payload, { path: [3, 0, 9] });
    assert.deepEqual((entries[0]?.node as SingleResourceNode).value, { type: 'integer', value: 2n ** 63n - 1n });
  });

  it('refuses malformed SenML CBOR', () => {
    const bad: Array<[string, RegExp]> = [
      [`a1 00 ${tx('/3/0/9')}`, /array/],
      ['81 01', /not a map/],
      [`81 a3 00 ${tx('/3/0/9')} 02 01 6176 02`, /given twice/],
      [`81 a2 f93c00 ${tx('/3/0/9')} 02 01`, /labels must be/],
      [`81 a2 00 ${tx('/3/0/9')} 08 ${tx('AQID')}`, /byte string/],
      [`81 a2 00 ${tx('/3/0/9')} 03 43010203`, /text string/],
      [`81 a2 00 ${tx('/3/0/9')} 02 ${tx('1')}`, /must be a number/],
      [`81 a2 00 ${tx('/3/0/9')} 02 c1 01`, /must be a number/],
      [`81 a2 00 ${tx('/3/0/9')} 02 c4 82 20 f93c00`, /decimal fraction/],
      [`81 a2 00 ${tx('/3/0/9')} 62765f 01`, /must-understand/],
      [`81 a2 00 ${tx('/3/0/9')} 02`, /CBOR/],
    ];
    for (const [h, pattern] of bad) assertFormatError(() => senmlCborCodec.decode(hex(h)), pattern);
  });
});
