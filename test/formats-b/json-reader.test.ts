import assert from 'node:assert/strict';
import { JsonNumber, jsonNumber, parseJson } from '../../src/formats/json-reader.js';
import { assertFormatError } from './helpers.js';

const parse = (text: string) => parseJson(Buffer.from(text, 'utf8'));

describe('formats-b / json-reader', () => {
  it('keeps 64-bit integers exact where JSON.parse would round them', () => {
    const doc = parse('[9223372036854775807, -9223372036854775808, 18446744073709551615, 42, 1.5, 1e3]');
    assert.ok(Array.isArray(doc));
    const values = doc.map((n) => (n as JsonNumber).value);
    assert.deepEqual(values, [2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n, 42, 1.5, 1000]);
    assert.equal((doc[5] as JsonNumber).isIntegerLiteral, false);
  });

  it('reads objects as Maps, without prototype keys, and strings with escapes', () => {
    const doc = parse('{"__proto__": 1, "s": "a\\"b\\u00e9\\n", "t": true, "f": false, "z": null, "e": {}}');
    assert.ok(doc instanceof Map);
    assert.equal((doc.get('__proto__') as JsonNumber).value, 1);
    assert.equal(doc.get('s'), 'a"bé\n');
    assert.equal(doc.get('t'), true);
    assert.equal(doc.get('f'), false);
    assert.equal(doc.get('z'), null);
    assert.deepEqual(doc.get('e'), new Map());
  });

  it('refuses malformed JSON with FormatError', () => {
    const bad: Array<[string, RegExp]> = [
      ['', /end/],
      ['[1,]', /token/],
      ['[1 2]', /expected/],
      ['{"a":1,"a":2}', /duplicate/],
      ['{"a" 1}', /":"/],
      ['{a:1}', /member name/],
      ['"abc', /unterminated/],
      ['"\\x"', /escape/],
      ['"\\u12"', /escape/],
      ['"a\u0001"', /control/],
      ['01', /after/],
      ['1.', /after/],
      ['-', /token/],
      ['tru', /token/],
      ['[1] x', /after/],
      ['NaN', /token/],
    ];
    for (const [text, pattern] of bad) assertFormatError(() => parse(text), pattern);
    assertFormatError(() => parseJson(Buffer.from([0x5b, 0x22, 0xc3, 0x28, 0x22, 0x5d])), /UTF-8/);
    assertFormatError(() => parse('['.repeat(10_000)), /nesting/);
  });

  it('writes integers exactly and floats in shortest round-trip form', () => {
    assert.equal(jsonNumber(2n ** 63n - 1n), '9223372036854775807');
    assert.equal(jsonNumber(-0), '0');
    assert.equal(jsonNumber(22.4), '22.4');
    assert.equal(Number(jsonNumber(0.1 + 0.2)), 0.1 + 0.2);
    assertFormatError(() => jsonNumber(NaN));
  });
});
