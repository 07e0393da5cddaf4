/**
 * SenML JSON against the worked examples of the LwM2M Core TS 1.1
 * (§7.4.4, Tables 7.4.4-2 .. 7.4.4-8). The vectors are written out here as
 * the specification shows them.
 */
import assert from 'node:assert/strict';
import { createSenmlJsonCodec, senmlJsonCodec } from '../../src/formats/senml-json.js';
import { decodeSenmlPaths, decodeSenmlWriteComposite, encodeSenmlPaths } from '../../src/formats/senml-composite.js';
import { ContentFormat } from '../../src/formats/content-format.js';
import type { ObjectInstanceNode, PathNode, SingleResourceNode } from '../../src/model/value.js';
import { assertFormatError, model } from './helpers.js';
import { assertDeviceInstance, DEVICE_3_0 } from './vectors.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

describe('formats-b / SenML JSON: specification examples', () => {
  it('Table 7.4.4-2: decodes the Device instance and encodes it back to the same text', () => {
    const entries = senmlJsonCodec.decode(Buffer.from(DEVICE_3_0), { path: [3, 0], model });
    assertDeviceInstance(entries);
    assert.equal(senmlJsonCodec.encode(entries).toString(), DEVICE_3_0);
  });

  it('Table 7.4.4-3: a time series with a small base time is relative to now (RFC 8428 §4.5.3)', () => {
    const now = 1_700_000_000;
    const codec = createSenmlJsonCodec({ now: () => now });
    const payload = '[{"bn":"/72/","bt":25462634,"n":"1/2","v":22.4,"t":-5},{"n":"1/2","v":22.9,"t":-30},{"n":"1/2","v":24.1,"t":-50}]';
    const entries = codec.decode(Buffer.from(payload), { path: [72, 1, 2] });
    assert.deepEqual(
      entries.map((e) => [e.path, (e.node as SingleResourceNode).value, (e.node as SingleResourceNode).time]),
      [
        [[72, 1, 2], { type: 'float', value: 22.4 }, now + 25462634 - 5],
        [[72, 1, 2], { type: 'float', value: 22.9 }, now + 25462634 - 30],
        [[72, 1, 2], { type: 'float', value: 24.1 }, now + 25462634 - 50],
      ],
    );
  });

  it('Table 7.4.4-4: object links with bn "/" across objects, grouped per instance', () => {
    const payload =
      '[{"bn":"/","n":"65/0/0/0","vlo":"66:0"},{"n":"65/0/0/1","vlo":"66:1"},{"n":"65/0/1","vs":"8613800755500"},' +
      '{"n":"65/0/2","v":1},{"n":"66/0/0","vs":"myService1"},{"n":"66/0/1","vs":"Internet.15.234"},' +
      '{"n":"66/0/2","vlo":"67:0"},{"n":"66/1/0","vs":"myService2"},{"n":"66/1/1","vs":"Internet.15.235"},' +
      '{"n":"66/1/2","vlo":"65535:65535"},{"n":"67/0/0","vs":"85.76.76.84"},{"n":"67/0/1","vs":"85.76.255.255"}]';
    const entries = senmlJsonCodec.decode(Buffer.from(payload), { model });
    assert.deepEqual(entries.map((e) => e.path), [[65, 0], [66, 0], [66, 1], [67, 0]]);
    const obj65 = entries[0]?.node as ObjectInstanceNode;
    const links = obj65.resources.get(0);
    assert.equal(links?.kind, 'multipleResource');
    if (links?.kind === 'multipleResource') {
      assert.deepEqual(links.instances.get(1)?.value, { type: 'objlnk', value: { objectId: 66, instanceId: 1 } });
    }
    const nullLink = (entries[2]?.node as ObjectInstanceNode).resources.get(2) as SingleResourceNode;
    assert.deepEqual(nullLink.value, { type: 'objlnk', value: { objectId: 65535, instanceId: 65535 } });
    // the same payload read as a composite of three objects
    const composite = senmlJsonCodec.decode(Buffer.from(payload), { paths: [[65], [66], [67]], model });
    assert.deepEqual(composite.map((e) => [e.path, e.node.kind]), [[[65], 'object'], [[66], 'object'], [[67], 'object']]);
  });

  it('Table 7.4.4-5: a single resource uses bn for the whole path', () => {
    const payload = '[{"bn":"/3/0/0","vs":"Open Mobile Alliance"}]';
    const entries = senmlJsonCodec.decode(Buffer.from(payload), { path: [3, 0, 0] });
    assert.deepEqual(entries, [
      { path: [3, 0, 0], node: { kind: 'resource', id: 0, value: { type: 'string', value: 'Open Mobile Alliance' } } },
    ]);
    assert.equal(senmlJsonCodec.encode(entries).toString(), payload);
  });

  it('Table 7.4.4-6: the Read-Composite request body', () => {
    const payload = '[{"n":"/3/0/0"},{"n":"/3/0/9"},{"n":"/1/0/1"}]';
    assert.deepEqual(decodeSenmlPaths(Buffer.from(payload), ContentFormat.SENML_JSON), [[3, 0, 0], [3, 0, 9], [1, 0, 1]]);
    assert.equal(encodeSenmlPaths([[3, 0, 0], [3, 0, 9], [1, 0, 1]], ContentFormat.SENML_JSON).toString(), payload);
  });

  it('Table 7.4.4-7: the Read-Composite response, one node per requested path', () => {
    const payload = '[{"n":"/3/0/0","vs":"Open Mobile Alliance"},{"n":"/3/0/9","v":95},{"n":"/1/0/1","v":86400}]';
    const paths = [[3, 0, 0], [3, 0, 9], [1, 0, 1]];
    const entries = senmlJsonCodec.decode(Buffer.from(payload), { paths, model });
    assert.deepEqual(entries.map((e) => [e.path, (e.node as SingleResourceNode).value.value]), [
      [[3, 0, 0], 'Open Mobile Alliance'],
      [[3, 0, 9], 95],
      [[1, 0, 1], 86400],
    ]);
    assert.equal(senmlJsonCodec.encode(entries).toString(), payload);
  });

  it('Table 7.4.4-8: a Write-Composite body for several objects', () => {
    const payload =
      '[{"n":"/3311/0/5850","vb":false},{"n":"/3311/1/5850","vb":false},{"n":"/3311/2/5851","v":20},{"n":"/3308/0/5900","v":18}]';
    const { entries, removed } = decodeSenmlWriteComposite(Buffer.from(payload), ContentFormat.SENML_JSON, { model });
    assert.deepEqual(removed, []);
    assert.deepEqual(entries.map((e) => [e.path, (e.node as SingleResourceNode).value]), [
      [[3311, 0, 5850], { type: 'boolean', value: false }],
      [[3311, 1, 5850], { type: 'boolean', value: false }],
      [[3311, 2, 5851], { type: 'integer', value: 20 }],
      [[3308, 0, 5900], { type: 'float', value: 18 }],
    ]);
  });
});

describe('formats-b / SenML JSON: wire details', () => {
  it('writes opaque as base64url without padding and reads it back', () => {
    const data = Buffer.from([0xfb, 0xff, 0xbf, 0x01]);
    const entries: PathNode[] = [{ path: [5, 0, 0], node: { kind: 'resource', id: 0, value: { type: 'opaque', value: data } } }];
    const text = senmlJsonCodec.encode(entries).toString();
    assert.equal(text, '[{"bn":"/5/0/0","vd":"-_-_AQ"}]');
    assert.deepEqual(senmlJsonCodec.decode(Buffer.from(text), { path: [5, 0, 0], model }), entries);
    // padded and standard-alphabet base64 from lenient peers is accepted too
    const padded = senmlJsonCodec.decode(json([{ bn: '/5/0/0', vd: '+/+/AQ==' }]), { path: [5, 0, 0] });
    assert.deepEqual((padded[0]?.node as SingleResourceNode).value, { type: 'opaque', value: data });
  });

  it('keeps 64-bit integers exact in both directions', () => {
    const text = '[{"bn":"/10999/0/","n":"1","v":-9223372036854775808},{"n":"2","v":18446744073709551615}]';
    const entries = senmlJsonCodec.decode(Buffer.from(text), { path: [10999, 0], model });
    const inst = entries[0]?.node as ObjectInstanceNode;
    assert.deepEqual((inst.resources.get(1) as SingleResourceNode).value, { type: 'integer', value: -(2n ** 63n) });
    assert.deepEqual((inst.resources.get(2) as SingleResourceNode).value, { type: 'unsigned', value: 2n ** 64n - 1n });
    assert.equal(senmlJsonCodec.encode(entries).toString(), text);
  });

  it('ignores unknown labels but refuses must-understand ones', () => {
    const ok = senmlJsonCodec.decode(json([{ bn: '/3/0/9', v: 5, foo: 'x', bu: '%', bver: 10 }]), { path: [3, 0, 9] });
    assert.deepEqual((ok[0]?.node as SingleResourceNode).value, { type: 'integer', value: 5 });
    assertFormatError(() => senmlJsonCodec.decode(json([{ bn: '/3/0/9', v: 5, foo_: 1 }])), /must-understand/);
  });

  it('refuses malformed SenML JSON', () => {
    const bad: Array<[string, RegExp]> = [
      ['{"bn":"/3/0/9","v":1}', /array/],
      ['[1]', /not an object/],
      ['[{"bn":3,"v":1}]', /"bn" must be a string/],
      ['[{"n":"/3/0/9","v":"1"}]', /"v" must be a number/],
      ['[{"n":"/3/0/9","vb":1}]', /"vb" must be a boolean/],
      ['[{"n":"/3/0/9","vd":"a b"}]', /base64/],
      ['[{"n":"/3/0/9","vd":"abcde"}]', /base64/],
      ['[{"n":"/3/0/9","t":"x","v":1}]', /"t" must be a number/],
      ['[{"n":"/3/0/9","v":1}', /JSON/],
      ['[{"n":"/3/0/9","v":1e999}]', /out of range/],
    ];
    for (const [text, pattern] of bad) assertFormatError(() => senmlJsonCodec.decode(Buffer.from(text)), pattern);
  });
});
