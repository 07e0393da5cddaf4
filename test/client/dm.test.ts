import assert from 'node:assert/strict';
import type { CoapResponse } from '../../src/coap/api.js';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import { getContentFormat, getLocationPath } from '../../src/coap/options.js';
import { Lwm2mError } from '../../src/errors.js';
import type { Lwm2mClient } from '../../src/client/client.js';
import type { Lwm2mVersion } from '../../src/client/content.js';
import { cborCodec } from '../../src/formats/cbor.js';
import type { Codec } from '../../src/formats/codec.js';
import { linkAttributes, parseLinkFormat } from '../../src/formats/link-format.js';
import { lwm2mCborCodec } from '../../src/formats/lwm2m-cbor.js';
import { oldJsonCodec } from '../../src/formats/old-json.js';
import { opaqueCodec } from '../../src/formats/opaque.js';
import { senmlCborCodec } from '../../src/formats/senml-cbor.js';
import { encodeSenmlPaths, encodeSenmlWriteComposite } from '../../src/formats/senml-composite.js';
import { senmlJsonCodec } from '../../src/formats/senml-json.js';
import { textCodec } from '../../src/formats/text.js';
import { tlvCodec } from '../../src/formats/tlv.js';
import { parsePath } from '../../src/model/path.js';
import { fromPlain, toPlain } from '../../src/model/plain.js';
import { ScriptedServer, startRegistered, testClient, until } from './helpers.js';

function cf(res: CoapResponse): number | undefined {
  return getContentFormat(res.options);
}

const CODECS: Record<number, Codec> = {
  0: textCodec,
  42: opaqueCodec,
  60: cborCodec,
  110: senmlJsonCodec,
  112: senmlCborCodec,
  11542: tlvCodec,
  11543: oldJsonCodec,
  11544: lwm2mCborCodec,
};

describe('client device management', function () {
  this.timeout(15000);
  let server: ScriptedServer;
  let client: Lwm2mClient;

  async function setup(version: Lwm2mVersion): Promise<void> {
    server = await ScriptedServer.start();
    client = testClient(server, {
      lwm2mVersion: version,
      objectVersions: { 3303: '1.1' },
      device: { manufacturer: 'ACME', modelNumber: 'M1', batteryLevel: 87 },
      objects: { 3303: { 0: { 5700: 21.5, 5701: 'Cel', 5750: 'room' } }, 19: { 0: { 0: { 0: Buffer.from('ab'), 1: Buffer.from('cd') }, 3: 'blob' } } },
    });
    await startRegistered(client);
  }

  async function teardown(): Promise<void> {
    await client.stop({ timeoutMs: 300 });
    await server.close();
  }

  function decode(res: CoapResponse, path: string): unknown {
    const codec = CODECS[cf(res) ?? -1];
    assert.ok(codec, `unexpected content format ${cf(res)}`);
    const entries = codec.decode(res.payload, { path: parsePath(path), model: client.tree.model });
    assert.equal(entries.length, 1);
    return toPlain(entries[0]!.node);
  }

  function encode(format: number, path: string, plain: unknown): Buffer {
    const p = parsePath(path);
    return CODECS[format]!.encode([{ path: p, node: fromPlain(p, plain, client.tree.model) }], { model: client.tree.model });
  }

  describe('LwM2M 1.1', () => {
    before(() => setup('1.1'));
    after(() => teardown());

    it('reads a resource in SenML CBOR when no Accept is given', async () => {
      const res = await server.request({ path: '/3303/0/5700' });
      assert.equal(res.code, '2.05');
      assert.equal(cf(res), 112);
      assert.equal(decode(res, '/3303/0/5700'), 21.5);
    });

    for (const format of [0, 60, 110, 112, 11542, 11543]) {
      it(`reads a single resource with Accept ${format}`, async () => {
        const res = await server.request({ path: '/3/0/0', accept: format });
        assert.equal(res.code, '2.05');
        assert.equal(cf(res), format);
        assert.equal(decode(res, '/3/0/0'), 'ACME');
      });
    }

    for (const format of [110, 112, 11542, 11543]) {
      it(`reads an instance and an object with Accept ${format}`, async () => {
        const res = await server.request({ path: '/3303/0', accept: format });
        assert.equal(res.code, '2.05');
        assert.deepEqual(decode(res, '/3303/0'), { 5700: 21.5, 5701: 'Cel', 5750: 'room' });
        const obj = await server.request({ path: '/3303', accept: format });
        assert.equal(obj.code, '2.05');
        assert.deepEqual(decode(obj, '/3303'), { 0: { 5700: 21.5, 5701: 'Cel', 5750: 'room' } });
      });
    }

    it('reads a multiple resource and one of its instances', async () => {
      const res = await server.request({ path: '/19/0/0', accept: 11542 });
      assert.deepEqual(decode(res, '/19/0/0'), { 0: Buffer.from('ab'), 1: Buffer.from('cd') });
      const one = await server.request({ path: '/19/0/0/1', accept: 42 });
      assert.equal(cf(one), 42);
      assert.deepEqual(one.payload, Buffer.from('cd'));
    });

    it('refuses formats it cannot answer in (4.06)', async () => {
      assert.equal((await server.request({ path: '/3303/0', accept: 0 })).code, '4.06', 'text cannot carry an instance');
      assert.equal((await server.request({ path: '/3/0/0', accept: 11544 })).code, '4.06', 'LwM2M CBOR is 1.2');
      assert.equal((await server.request({ path: '/3/0/0', accept: 50 })).code, '4.06');
    });

    it('answers 4.04 for missing objects, instances and resources', async () => {
      assert.equal((await server.request({ path: '/3304' })).code, '4.04');
      assert.equal((await server.request({ path: '/3303/7' })).code, '4.04');
      assert.equal((await server.request({ path: '/3303/0/5601' })).code, '4.04');
      assert.equal((await server.request({ path: '/3303/0/9999' })).code, '4.04');
      assert.equal((await server.request({ path: '/19/0/0/5' })).code, '4.04');
      assert.equal((await server.request({ path: '/rd/abc' })).code, '4.04');
    });

    it('answers 4.05 to a Read of an Execute resource', async () => {
      assert.equal((await server.request({ path: '/3/0/4' })).code, '4.05');
    });

    it('never shows the Security object to a server (4.01)', async () => {
      assert.equal((await server.request({ path: '/0/0/0' })).code, '4.01');
      assert.equal((await server.request({ path: '/0' })).code, '4.01');
      assert.equal((await server.request({ path: '/0', accept: 40 })).code, '4.01');
      assert.equal((await server.request({ method: 'PUT', path: '/0/0/0', payload: 'coap://x', contentFormat: 0 })).code, '4.01');
      assert.equal((await server.request({ method: 'DELETE', path: '/0/0' })).code, '4.01');
      assert.equal((await server.request({ method: 'POST', path: '/0', payload: encode(11542, '/0/5', { 0: 'coap://x' }).subarray(0, 0), contentFormat: 11542 })).code, '4.01');
    });

    for (const format of [0, 60, 110, 112, 11542, 11543]) {
      it(`writes a resource (replace) in format ${format}`, async () => {
        const value = `kitchen-${format}`;
        const res = await server.request({ method: 'PUT', path: '/3303/0/5750', payload: encode(format, '/3303/0/5750', value), contentFormat: format });
        assert.equal(res.code, '2.04');
        assert.equal(await client.getValue('/3303/0/5750'), value);
      });
    }

    it('emits a write event with the plain value', async () => {
      const seen = new Promise<{ path: string; value: unknown; mode: string }>((r) => client.once('write', (e) => r(e)));
      await server.request({ method: 'PUT', path: '/3303/0/5750', payload: 'hall', contentFormat: 0 });
      const e = await seen;
      assert.deepEqual({ path: e.path, value: e.value, mode: e.mode }, { path: '/3303/0/5750', value: 'hall', mode: 'replace' });
    });

    it('partial update (POST /o/i) keeps other resources; replace (PUT /o/i) drops absent optional ones', async () => {
      const payload = encode(11542, '/19/0', { 3: 'updated' });
      assert.equal((await server.request({ method: 'POST', path: '/19/0', payload, contentFormat: 11542 })).code, '2.04');
      assert.deepEqual(await client.getValue('/19/0'), { 0: { 0: Buffer.from('ab'), 1: Buffer.from('cd') }, 3: 'updated' });
      const replace = encode(112, '/19/0', { 0: { 0: Buffer.from('zz') }, 4: 'raw' });
      assert.equal((await server.request({ method: 'PUT', path: '/19/0', payload: replace, contentFormat: 112 })).code, '2.04');
      assert.deepEqual(await client.getValue('/19/0'), { 0: { 0: Buffer.from('zz') }, 4: 'raw' });
    });

    it('writes multiple resources: replace, partial update and one resource instance', async () => {
      const put = encode(11542, '/19/0/0', { 5: Buffer.from('05') });
      assert.equal((await server.request({ method: 'PUT', path: '/19/0/0', payload: put, contentFormat: 11542 })).code, '2.04');
      assert.deepEqual(await client.getValue('/19/0/0'), { 5: Buffer.from('05') });
      const post = encode(110, '/19/0/0', { 6: Buffer.from('06') });
      assert.equal((await server.request({ method: 'POST', path: '/19/0/0', payload: post, contentFormat: 110 })).code, '2.04');
      assert.deepEqual(await client.getValue('/19/0/0'), { 5: Buffer.from('05'), 6: Buffer.from('06') });
      const one = Buffer.from('77');
      assert.equal((await server.request({ method: 'PUT', path: '/19/0/0/5', payload: one, contentFormat: 42 })).code, '2.04');
      assert.deepEqual(await client.getValue('/19/0/0/5'), one);
    });

    it('refuses writes the model forbids or cannot read', async () => {
      assert.equal((await server.request({ method: 'PUT', path: '/3/0/0', payload: 'X', contentFormat: 0 })).code, '4.05', 'read-only');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5700', payload: '1', contentFormat: 0 })).code, '4.05', 'read-only');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0', payload: encode(11542, '/3303/0', { 5700: 3 }), contentFormat: 11542 })).code, '4.05');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0/9999', payload: '1', contentFormat: 0 })).code, '4.04');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/4/5750', payload: '1', contentFormat: 0 })).code, '4.04');
      assert.equal((await server.request({ method: 'PUT', path: '/3303', payload: '1', contentFormat: 0 })).code, '4.05');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5750', payload: Buffer.from([0x08, 0x01]), contentFormat: 11542 })).code, '4.00', 'bad TLV');
      assert.equal((await server.request({ method: 'PUT', path: '/19/0/1', payload: 'abc', contentFormat: 0 })).code, '4.00', 'not an integer');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5750', payload: 'x', contentFormat: 50 })).code, '4.15');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5750', payload: 'x' })).code, '4.00', 'no Content-Format');
      assert.equal(await client.getValue('/3303/0/5750'), 'hall', 'nothing changed');
    });

    it('executes with arguments and refuses non-executable resources', async () => {
      const seen = new Promise<{ path: string; args: unknown }>((r) => client.once('execute', (e) => r(e)));
      assert.equal((await server.request({ method: 'POST', path: '/3/0/4', payload: "0='soft',1", contentFormat: 0 })).code, '2.04');
      const e = await seen;
      assert.equal(e.path, '/3/0/4');
      assert.deepEqual(e.args, [{ digit: 0, value: 'soft' }, { digit: 1 }]);
      assert.equal((await server.request({ method: 'POST', path: '/3/0/4', payload: "0='unterminated" })).code, '4.00');
      assert.equal((await server.request({ method: 'POST', path: '/3/0/0' })).code, '4.05');
      assert.equal((await server.request({ method: 'POST', path: '/3303/0/5605' })).code, '4.04', 'optional Execute resource not present');
    });

    it('runs execute handlers and answers their error code', async () => {
      let calls = 0;
      client.onExecute('/3303/0/5605', () => {
        calls++;
        if (calls === 2) throw new Lwm2mError('5.03', 'busy');
        if (calls === 3) throw new Error('bug');
      });
      assert.equal((await server.request({ method: 'POST', path: '/3303/0/5605' })).code, '2.04');
      assert.equal(calls, 1);
      const second = await server.request({ method: 'POST', path: '/3303/0/5605' });
      assert.equal(calls, 2);
      assert.equal(second.code, '5.03', 'the handler chose the code');
      assert.equal(second.payload.toString(), 'busy');
      assert.equal((await server.request({ method: 'POST', path: '/3303/0/5605' })).code, '5.00', 'a plain Error is an internal error');
    });

    it('creates instances: client-chosen id with Location-Path, or the id of the body', async () => {
      const body = encode(11542, '/3303/9', { 5750: 'new' }); // bare resources: client chooses
      const res = await server.request({ method: 'POST', path: '/3303', payload: body, contentFormat: 11542 });
      assert.equal(res.code, '2.01');
      assert.deepEqual(getLocationPath(res.options), ['3303', '1']);
      assert.equal(await client.getValue('/3303/1/5750'), 'new');
      const withId = tlvCodec.encode([{ path: [3303], node: fromPlain([3303, 7], { 5750: 'seven' }, client.tree.model) }]);
      const res2 = await server.request({ method: 'POST', path: '/3303', payload: withId, contentFormat: 11542 });
      assert.equal(res2.code, '2.01');
      assert.deepEqual(getLocationPath(res2.options), []);
      assert.equal(await client.getValue('/3303/7/5750'), 'seven');
      const senml = encode(110, '/3303/8', { 5750: 'eight' });
      assert.equal((await server.request({ method: 'POST', path: '/3303', payload: senml, contentFormat: 110 })).code, '2.01');
      assert.equal(await client.getValue('/3303/8/5750'), 'eight');
      assert.equal((await server.request({ method: 'POST', path: '/3303', payload: withId, contentFormat: 11542 })).code, '4.00', 'exists');
      assert.equal((await server.request({ method: 'POST', path: '/3', payload: encode(11542, '/3/1', { 14: '+01' }), contentFormat: 11542 })).code, '4.00', 'single instance');
      assert.equal((await server.request({ method: 'POST', path: '/3304', payload: body, contentFormat: 11542 })).code, '4.04');
      // the registration follows
      await until(() => server.updates().some((u) => u.payload.toString().includes('</3303/8>')));
    });

    it('deletes instances with the right codes', async () => {
      assert.equal((await server.request({ method: 'DELETE', path: '/3303/7' })).code, '2.02');
      assert.equal(client.tree.hasInstance(3303, 7), false);
      assert.equal((await server.request({ method: 'DELETE', path: '/3303/7' })).code, '4.04');
      assert.equal((await server.request({ method: 'DELETE', path: '/3/0' })).code, '4.05', 'mandatory single instance');
      assert.equal((await server.request({ method: 'DELETE', path: '/1/0' })).code, '4.05', 'server account');
      assert.equal((await server.request({ method: 'DELETE', path: '/3303' })).code, '4.05', 'object');
      assert.equal((await server.request({ method: 'DELETE', path: '/3303/0/5750' })).code, '4.05', 'resource');
      await until(() => server.updates().some((u) => u.payload.length > 0 && !u.payload.toString().includes('</3303/7>')));
    });

    it('writes attributes with the right codes and shows them in Discover', async () => {
      const ok = await server.request({ method: 'PUT', path: '/3303/0/5700', query: ['pmin=2', 'pmax=30', 'gt=25.5', 'st=0.5'] });
      assert.equal(ok.code, '2.04');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0', query: ['pmax=60'] })).code, '2.04');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0', query: ['gt=3'] })).code, '4.00', 'gt on an instance');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5701', query: ['gt=3'] })).code, '4.00', 'gt on a string');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5700', query: ['pmin=50', 'pmax=10'] })).code, '4.00');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5700', query: ['foo=1'] })).code, '4.00');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5700', query: ['edge=1'] })).code, '4.00', 'edge is 1.2');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/9', query: ['pmin=1'] })).code, '4.04');
      const inst = await server.request({ path: '/3303/0', accept: 40 });
      assert.equal(inst.code, '2.05');
      assert.equal(cf(inst), 40);
      const links = parseLinkFormat(inst.payload);
      assert.equal(links[0]!.uri, '/3303/0');
      assert.deepEqual(linkAttributes(links[0]!), { pmax: 60 });
      const sensor = links.find((l) => l.uri === '/3303/0/5700')!;
      assert.deepEqual(linkAttributes(sensor), { pmin: 2, pmax: 30, gt: 25.5, st: 0.5 });
      assert.ok(links.some((l) => l.uri === '/3303/0/5750'));
      // a resource Discover shows inherited attributes too
      const res = parseLinkFormat((await server.request({ path: '/3303/0/5701', accept: 40 })).payload);
      assert.deepEqual(res.map((l) => [l.uri, linkAttributes(l)]), [['/3303/0/5701', { pmax: 60 }]]);
      // clearing
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0', query: ['pmax'] })).code, '2.04');
      const again = parseLinkFormat((await server.request({ path: '/3303/0', accept: 40 })).payload);
      assert.deepEqual(linkAttributes(again[0]!), {});
    });

    it('discovers an object with its version, instances, resources and dim', async () => {
      const res = await server.request({ path: '/3', accept: 40 });
      const links = parseLinkFormat(res.payload);
      assert.equal(links[0]!.uri, '/3');
      assert.equal(links[0]!.params.get('ver'), '1.1');
      assert.ok(links.some((l) => l.uri === '/3/0'));
      assert.ok(links.some((l) => l.uri === '/3/0/4'), 'Execute resources are listed');
      assert.equal(links.find((l) => l.uri === '/3/0/11')?.params.get('dim'), '1');
      assert.equal((await server.request({ path: '/3/0/11/0', accept: 40 })).code, '4.00');
    });

    it('reads several paths with Read-Composite (FETCH)', async () => {
      const body = encodeSenmlPaths([[3, 0, 0], [3303, 0, 5700], [3303, 42]], 110);
      const res = await server.request({ method: 'FETCH', path: '/', payload: body, contentFormat: 110, accept: 112 });
      assert.equal(res.code, '2.05');
      assert.equal(cf(res), 112);
      const entries = senmlCborCodec.decode(res.payload, { paths: [[3, 0, 0], [3303, 0, 5700]], model: client.tree.model });
      assert.deepEqual(entries.map((e) => toPlain(e.node)), ['ACME', 21.5]);
      const json = await server.request({ method: 'FETCH', path: '/', payload: body, contentFormat: 110 });
      assert.equal(cf(json), 110, 'answers in the request format without Accept');
      assert.equal((await server.request({ method: 'FETCH', path: '/', payload: body, contentFormat: 110, accept: 11542 })).code, '4.06');
      const secret = encodeSenmlPaths([[0, 0, 0]], 112);
      assert.equal((await server.request({ method: 'FETCH', path: '/', payload: secret, contentFormat: 112 })).code, '4.01');
      assert.equal((await server.request({ method: 'FETCH', path: '/', payload: Buffer.from('zz'), contentFormat: 112 })).code, '4.00');
    });

    it('writes several resources with Write-Composite (iPATCH), all or nothing', async () => {
      const model = client.tree.model;
      const body = encodeSenmlWriteComposite(
        [
          { path: [3303, 0, 5750], node: fromPlain([3303, 0, 5750], 'patched', model) },
          { path: [19, 0, 3], node: fromPlain([19, 0, 3], 'desc', model) },
        ],
        [],
        112,
      );
      assert.equal((await server.request({ method: 'iPATCH', path: '/', payload: body, contentFormat: 112 })).code, '2.04');
      assert.equal(await client.getValue('/3303/0/5750'), 'patched');
      assert.equal(await client.getValue('/19/0/3'), 'desc');
      const bad = encodeSenmlWriteComposite(
        [
          { path: [3303, 0, 5750], node: fromPlain([3303, 0, 5750], 'never', model) },
          { path: [3, 0, 0], node: fromPlain([3, 0, 0], 'X', model) },
        ],
        [],
        110,
      );
      assert.equal((await server.request({ method: 'iPATCH', path: '/', payload: bad, contentFormat: 110 })).code, '4.05');
      assert.equal(await client.getValue('/3303/0/5750'), 'patched', 'nothing written');
    });

    it('answers malformed bodies with 4.xx, never with an internal error', async () => {
      let seed = 7;
      const random = (): number => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed;
      };
      const targets: Array<{ method: string; path: string }> = [
        { method: 'PUT', path: '/3303/0/5750' },
        { method: 'PUT', path: '/19/0' },
        { method: 'POST', path: '/19/0/0' },
        { method: 'POST', path: '/3303' },
        { method: 'FETCH', path: '/' },
        { method: 'iPATCH', path: '/' },
      ];
      const formats = [0, 42, 60, 110, 112, 11542, 11543];
      const codes = new Map<string, number>();
      for (let n = 0; n < 120; n++) {
        const t = targets[n % targets.length]!;
        const payload = Buffer.from(Array.from({ length: 1 + (random() % 40) }, () => random() & 0xff));
        const res = await server.request({ method: t.method, path: t.path, payload, contentFormat: formats[random() % formats.length]! });
        codes.set(res.code, (codes.get(res.code) ?? 0) + 1);
        assert.ok(!res.code.startsWith('5.'), `${t.method} ${t.path} with ${payload.toString('hex')} got ${res.code}: ${res.payload.toString()}`);
      }
      assert.ok((codes.get('4.00') ?? 0) > 0);
    });

    it('ignores requests from a peer it is not registered with (4.01)', async () => {
      const stranger = await CoapEndpoint.udp({ address: '127.0.0.1' });
      try {
        const res = await stranger.request(server.clientPeer!, { path: '/3/0/0' });
        assert.equal(res.code, '4.01');
      } finally {
        await stranger.close();
      }
    });
  });

  describe('LwM2M 1.0', () => {
    before(() => setup('1.0'));
    after(() => teardown());

    it('reads single values as text and the rest as TLV by default', async () => {
      const one = await server.request({ path: '/3/0/0' });
      assert.equal(cf(one), 0);
      assert.equal(one.payload.toString(), 'ACME');
      const inst = await server.request({ path: '/3/0' });
      assert.equal(cf(inst), 11542);
      assert.equal((decode(inst, '/3/0') as Record<string, unknown>)[9], 87);
      const opaque = await server.request({ path: '/19/0/0/0' });
      assert.equal(cf(opaque), 42);
    });

    it('refuses 1.1 formats and operations', async () => {
      assert.equal((await server.request({ path: '/3/0/0', accept: 112 })).code, '4.06');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5750', payload: encode(110, '/3303/0/5750', 'x'), contentFormat: 110 })).code, '4.15');
      assert.equal((await server.request({ method: 'FETCH', path: '/', payload: encodeSenmlPaths([[3, 0, 0]], 110), contentFormat: 110 })).code, '4.05');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5700', query: ['epmin=1'] })).code, '4.00', 'epmin is 1.1');
    });

    it('writes in old JSON', async () => {
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5750', payload: encode(11543, '/3303/0/5750', 'json'), contentFormat: 11543 })).code, '2.04');
      assert.equal(await client.getValue('/3303/0/5750'), 'json');
    });
  });

  describe('LwM2M 1.2', () => {
    before(() => setup('1.2'));
    after(() => teardown());

    it('reads and writes LwM2M CBOR', async () => {
      const res = await server.request({ path: '/3303/0', accept: 11544 });
      assert.equal(res.code, '2.05');
      assert.deepEqual(decode(res, '/3303/0'), { 5700: 21.5, 5701: 'Cel', 5750: 'room' });
      const w = await server.request({ method: 'PUT', path: '/3303/0/5750', payload: encode(11544, '/3303/0/5750', 'cbor'), contentFormat: 11544 });
      assert.equal(w.code, '2.04');
      assert.equal(await client.getValue('/3303/0/5750'), 'cbor');
    });

    it('takes the 1.2 attributes (edge on booleans only, con, hqmax)', async () => {
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5700', query: ['con=1', 'hqmax=5'] })).code, '2.04');
      assert.equal((await server.request({ method: 'PUT', path: '/3303/0/5700', query: ['edge=1'] })).code, '4.00');
      assert.equal((await server.request({ method: 'PUT', path: '/19/0/0/0', query: ['pmin=3'] })).code, '2.04', 'resource-instance level in 1.2');
    });
  });
});
