import assert from 'node:assert/strict';
import { opaqueCodec } from '../../src/formats/opaque.js';
import { instanceNode, resourceInstanceNode, resourceNode, value } from '../../src/model/value.js';
import { ALL, assertFormatError, assertUnsupported, model } from './helpers.js';

const O = 9999;

describe('application/octet-stream codec', () => {
  it('encodes the raw bytes of an opaque resource', () => {
    const bytes = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    const out = opaqueCodec.encode([{ path: [O, 0, ALL.opaque], node: resourceNode(ALL.opaque, value.opaque(bytes)) }], { model });
    assert.deepEqual(out, bytes);
  });

  it('encodes an opaque resource instance, and an empty value', () => {
    const out = opaqueCodec.encode([
      { path: [O, 0, ALL.multiOpaque, 3], node: resourceInstanceNode(3, value.opaque(Buffer.alloc(0))) },
    ]);
    assert.equal(out.length, 0);
  });

  it('decodes to an opaque value at the requested path, as a copy of the payload', () => {
    const payload = Buffer.from('firmware-image');
    const [entry] = opaqueCodec.decode(payload, { path: [5, 0, 0] });
    assert.ok(entry);
    assert.deepEqual(entry.path, [5, 0, 0]);
    assert.deepEqual(entry.node, resourceNode(0, value.opaque(Buffer.from('firmware-image'))));
    payload.fill(0);
    assert.ok(entry.node.kind === 'resource' && entry.node.value.type === 'opaque');
    assert.equal(entry.node.value.value.toString(), 'firmware-image');
  });

  it('decodes a resource instance and an empty payload', () => {
    const [entry] = opaqueCodec.decode(Buffer.alloc(0), { path: [O, 0, ALL.multiOpaque, 1], model });
    assert.deepEqual(entry?.node, resourceInstanceNode(1, value.opaque(Buffer.alloc(0))));
  });

  it('refuses to encode any other type', () => {
    for (const v of [value.integer(1), value.string('x'), value.boolean(true), value.time(new Date(0))]) {
      assertUnsupported(() => opaqueCodec.encode([{ path: [1234, 0, 1], node: resourceNode(1, v) }]), /Opaque values only/);
    }
  });

  it('refuses a resource the model says is not opaque', () => {
    assertUnsupported(() => opaqueCodec.decode(Buffer.from([1]), { path: [3, 0, 9], model }), /integer/);
    assertUnsupported(
      () => opaqueCodec.encode([{ path: [3, 0, 9], node: resourceNode(9, value.opaque(Buffer.from([1]))) }], { model }),
      /integer/,
    );
  });

  it('refuses shapes it cannot carry', () => {
    assertUnsupported(() => opaqueCodec.encode([{ path: [3, 0], node: instanceNode(0, []) }]), /object instance/);
    assertUnsupported(() => opaqueCodec.decode(Buffer.from([1]), { path: [O, 0, ALL.multiOpaque], model }), /multiple/);
    assertFormatError(() => opaqueCodec.decode(Buffer.from([1]), { path: [5, 0] }), /neither/);
    assertFormatError(() => opaqueCodec.decode(Buffer.from([1])), /without the path/);
  });
});
