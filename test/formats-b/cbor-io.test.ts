import assert from 'node:assert/strict';
import { decodeFirstSync } from 'cbor';
import { CborFloat, CborMap, CborSimple, CborTag, CborWriter, decodeCbor } from '../../src/formats/cbor-io.js';
import { assertFormatError, hex } from './helpers.js';

// the `cbor` package serves as an independent reader to check what our writer produces
const oracle = { decode: (buf: Buffer): unknown => decodeFirstSync(buf, { preferMap: true }) };

describe('formats-b / cbor-io reader', () => {
  it('reads integers of every width, as numbers when exact and BigInt beyond 2^53', () => {
    assert.equal(decodeCbor(hex('17')), 23);
    assert.equal(decodeCbor(hex('1818')), 24);
    assert.equal(decodeCbor(hex('190100')), 256);
    assert.equal(decodeCbor(hex('1a00010000')), 65536);
    assert.equal(decodeCbor(hex('1b0000010000000000')), 2 ** 40);
    assert.equal(decodeCbor(hex('1b0020000000000001')), 2n ** 53n + 1n);
    assert.equal(decodeCbor(hex('1bffffffffffffffff')), 2n ** 64n - 1n);
    assert.equal(decodeCbor(hex('20')), -1);
    assert.equal(decodeCbor(hex('3903e7')), -1000);
    assert.equal(decodeCbor(hex('3b7fffffffffffffff')), -(2n ** 63n));
    assert.equal(decodeCbor(hex('3bffffffffffffffff')), -(2n ** 64n));
  });

  it('keeps floats apart from integers, in half, single and double precision', () => {
    const f = (h: string) => {
      const v = decodeCbor(hex(h));
      assert.ok(v instanceof CborFloat, `${h} should be a float`);
      return v.value;
    };
    assert.equal(f('f93e00'), 1.5);
    assert.equal(f('f90001'), 2 ** -24); // smallest half subnormal
    assert.equal(f('f97c00'), Infinity);
    assert.ok(Number.isNaN(f('f97e00')));
    assert.equal(f('fa47c35000'), 100000);
    assert.equal(f('fb3ff199999999999a'), 1.1);
    assert.equal(f('f94100'), 2.5);
  });

  it('reads strings, byte strings, arrays, maps and tags in definite and indefinite forms', () => {
    assert.equal(decodeCbor(hex('6449455446')), 'IETF');
    assert.deepEqual(decodeCbor(hex('4401020304')), Buffer.from([1, 2, 3, 4]));
    assert.deepEqual(decodeCbor(hex('5f42010243030405ff')), Buffer.from([1, 2, 3, 4, 5]));
    assert.equal(decodeCbor(hex('7f657374726561646d696e67ff')), 'streaming');
    assert.deepEqual(decodeCbor(hex('9f018202039f0405ffff')), [1, [2, 3], [4, 5]]);
    const map = decodeCbor(hex('bf6346756ef563416d7421ff'));
    assert.ok(map instanceof CborMap);
    assert.deepEqual(map.entries, [['Fun', true], ['Amt', -2]]);
    const tag = decodeCbor(hex('c11a514b67b0'));
    assert.ok(tag instanceof CborTag);
    assert.equal(tag.tag, 1);
    assert.equal(tag.value, 1363896240);
    assert.equal(decodeCbor(hex('f6')), null);
    assert.equal(decodeCbor(hex('f7')), undefined);
    assert.deepEqual(decodeCbor(hex('f820')), new CborSimple(32));
  });

  it('keeps duplicate map keys so that callers can refuse them', () => {
    const map = decodeCbor(hex('a201010102'));
    assert.ok(map instanceof CborMap);
    assert.deepEqual(map.entries, [[1, 1], [1, 2]]);
  });

  it('refuses malformed input with FormatError', () => {
    const bad: Array<[string, RegExp]> = [
      ['', /empty/],
      ['a201', /exceeds/], // map of 2 with one key only
      ['62ff', /length|end/],
      ['0101', /unexpected bytes/],
      ['ff', /break/],
      ['1c', /reserved/],
      ['5f01ff', /chunk/], // integer inside an indefinite byte string
      ['5f6161ff', /chunk/], // text chunk inside a byte string
      ['1f', /indefinite/],
      ['c1', /end of data/],
      ['f818', /short form/],
      ['fc', /reserved/],
      ['62c328', /UTF-8/],
      ['9a ffffffff', /length/],
      ['5b 0000000100000000', /length/],
      ['bf01ff', /end|break/], // key without value before the break
    ];
    for (const [h, pattern] of bad) assertFormatError(() => decodeCbor(hex(h)), pattern);
  });

  it('bounds nesting depth instead of overflowing the stack', () => {
    assertFormatError(() => decodeCbor(Buffer.alloc(100_000, 0x81)), /nesting/);
    assertFormatError(() => decodeCbor(Buffer.alloc(100_000, 0x9f)), /nesting/);
  });
});

describe('formats-b / cbor-io writer', () => {
  it('writes preferred integer encodings up to 64 bits, checked by an independent decoder', () => {
    const cases: Array<[number | bigint, string]> = [
      [0, '00'], [23, '17'], [24, '1818'], [255, '18ff'], [256, '190100'], [65535, '19ffff'],
      [65536, '1a00010000'], [2 ** 32, '1b0000000100000000'], [-1, '20'], [-25, '3818'],
      [2n ** 64n - 1n, '1bffffffffffffffff'], [-(2n ** 63n), '3b7fffffffffffffff'], [-(2n ** 64n), '3bffffffffffffffff'],
    ];
    for (const [value, expected] of cases) {
      const out = new CborWriter().int(value).toBuffer();
      assert.equal(out.toString('hex'), expected, String(value));
      assert.equal(BigInt(oracle.decode(out) as number | bigint), BigInt(value));
    }
  });

  it('refuses integers outside 64 bits', () => {
    assertFormatError(() => new CborWriter().int(2n ** 64n));
    assertFormatError(() => new CborWriter().int(-(2n ** 64n) - 1n));
    assertFormatError(() => new CborWriter().int(1.5));
  });

  it('writes floats as single precision when exact and double otherwise, even when integral', () => {
    assert.equal(new CborWriter().float(20).toBuffer().toString('hex'), 'fa41a00000');
    assert.equal(new CborWriter().float(1.1).toBuffer().toString('hex'), 'fb3ff199999999999a');
    for (const v of [20, 1.1, -0.5, 1e300, Infinity]) {
      assert.equal(oracle.decode(new CborWriter().float(v).toBuffer()), v);
    }
  });

  it('writes text, bytes, containers, tags and simple values that an independent decoder reads back', () => {
    const w = new CborWriter();
    w.mapHeader(3).int(-2).text('/3/0/').int(8).bytes(Buffer.from([0, 255])).text('vlo').arrayHeader(3);
    w.tag(1).int(1367491215).bool(true).null();
    const decoded = oracle.decode(w.toBuffer()) as Map<unknown, unknown>;
    assert.equal(decoded.get(-2), '/3/0/');
    assert.deepEqual(Buffer.from(decoded.get(8) as Uint8Array), Buffer.from([0, 255]));
    const arr = decoded.get('vlo') as unknown[];
    assert.equal((arr[0] as Date).getTime(), 1367491215000);
    assert.deepEqual(arr.slice(1), [true, null]);
  });

  it('grows its buffer for large content', () => {
    const big = Buffer.alloc(100_000, 7);
    const out = new CborWriter().bytes(big).toBuffer();
    assert.deepEqual(decodeCbor(out), big);
  });
});
