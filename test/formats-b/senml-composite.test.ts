import assert from 'node:assert/strict';
import { ContentFormat } from '../../src/formats/content-format.js';
import {
  decodeSenmlPaths,
  decodeSenmlWriteComposite,
  encodeSenmlPaths,
  encodeSenmlWriteComposite,
} from '../../src/formats/senml-composite.js';
import { senmlCborWire } from '../../src/formats/senml-cbor.js';
import { senmlJsonWire } from '../../src/formats/senml-json.js';
import type { SenmlRecord, SenmlWire } from '../../src/formats/senml.js';
import { multipleResourceNode, resourceInstanceNode, resourceNode, value, type PathNode } from '../../src/model/value.js';
import { assertFormatError, assertUnsupported, model } from './helpers.js';

const formats: Array<[string, number, SenmlWire]> = [
  ['SenML JSON', ContentFormat.SENML_JSON, senmlJsonWire],
  ['SenML CBOR', ContentFormat.SENML_CBOR, senmlCborWire],
];

for (const [name, format, wire] of formats) {
  const payload = (records: SenmlRecord[]) => wire.serialize(records);

  describe(`formats-b / ${name}: composite request bodies`, () => {
    it('round-trips a list of paths of every level', () => {
      const paths = [[3], [3, 0], [3, 0, 9], [3, 0, 6, 1], [1, 0, 1]];
      assert.deepEqual(decodeSenmlPaths(encodeSenmlPaths(paths, format), format), paths);
    });

    it('accepts names given as bn + n', () => {
      const body = payload([{ bn: '/3/0/', n: '0' }, { n: '9' }, { bn: '/1/0/', n: '1' }]);
      assert.deepEqual(decodeSenmlPaths(body, format), [[3, 0, 0], [3, 0, 9], [1, 0, 1]]);
    });

    it('refuses records carrying values, and bad names', () => {
      assertFormatError(() => decodeSenmlPaths(payload([{ n: '/3/0/9', v: 1 }]), format), /must not carry a value/);
      assertFormatError(() => decodeSenmlPaths(payload([{ n: '/3/zero' }]), format), /not an LwM2M path/);
    });
  });

  describe(`formats-b / ${name}: Write-Composite bodies`, () => {
    it('keeps each written path, for any objects, and lists removals (records without value)', () => {
      const body = payload([
        { n: '/3/0/13', v: 1_700_000_000 },
        { n: '/3/0/6/1', v: 5 },
        { n: '/1/0/1', v: 86400 },
        { n: '/3/0/7/0' },
      ]);
      const { entries, removed } = decodeSenmlWriteComposite(body, format, { model });
      assert.deepEqual(entries, [
        { path: [3, 0, 13], node: resourceNode(13, value.time(new Date(1_700_000_000_000))) },
        { path: [3, 0, 6, 1], node: resourceInstanceNode(1, value.integer(5)) },
        { path: [1, 0, 1], node: resourceNode(1, value.integer(86400)) },
      ]);
      assert.deepEqual(removed, [[3, 0, 7, 0]]);
    });

    it('encodes a Write-Composite body that decodes to the same content', () => {
      const entries: PathNode[] = [
        { path: [3311, 0, 5850], node: resourceNode(5850, value.boolean(false)) },
        { path: [3, 0, 6], node: multipleResourceNode(6, [resourceInstanceNode(0, value.integer(1)), resourceInstanceNode(1, value.integer(5))]) },
      ];
      const body = encodeSenmlWriteComposite(entries, [[3, 0, 7, 1]], format);
      const decoded = decodeSenmlWriteComposite(body, format, { model });
      assert.deepEqual(decoded.removed, [[3, 0, 7, 1]]);
      assert.deepEqual(decoded.entries, [
        entries[0],
        { path: [3, 0, 6, 0], node: resourceInstanceNode(0, value.integer(1)) },
        { path: [3, 0, 6, 1], node: resourceInstanceNode(1, value.integer(5)) },
      ]);
    });

    it('refuses a path named twice, a removal above resource level, and mistyped values', () => {
      assertFormatError(() => decodeSenmlWriteComposite(payload([{ n: '/1/0/1', v: 1 }, { n: '/1/0/1' }]), format), /more than once/);
      assertFormatError(() => decodeSenmlWriteComposite(payload([{ n: '/1/0' }]), format), /not a resource path/);
      assertFormatError(() => decodeSenmlWriteComposite(payload([{ n: '/1/0/1', vs: 'x' }]), format, { model }), /cannot be a integer/);
      for (const second of [{ n: '/3/0/6/1', v: 1 }, { n: '/3/0/6/1' }]) {
        assertFormatError(
          () => decodeSenmlWriteComposite(payload([{ n: '/3/0/6', v: 1 }, second]), format),
          /both as a single value and as resource instances/,
        );
      }
    });
  });
}

describe('formats-b / SenML composite helpers: other formats', () => {
  it('raise UnsupportedFormatError for a format that is not SenML', () => {
    assertUnsupported(() => encodeSenmlPaths([[3, 0]], ContentFormat.TLV), /11542/);
    assertUnsupported(() => decodeSenmlPaths(Buffer.from('[]'), ContentFormat.LWM2M_CBOR));
    assertUnsupported(() => decodeSenmlWriteComposite(Buffer.from('[]'), ContentFormat.TEXT));
  });
});
