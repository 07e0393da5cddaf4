import assert from 'node:assert/strict';
import type { IncomingRequest } from '../../src/coap/api.js';
import { codecFor, ContentFormat, decodeSenmlPaths } from '../../src/formats/index.js';
import { formatPath } from '../../src/model/path.js';
import { flattenNode } from '../../src/model/tree.js';
import { builtinRegistry } from '../../src/model/registry.js';
import { instanceNode, multipleResourceNode, resourceInstanceNode, resourceNode, value, type PathNode } from '../../src/model/value.js';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { ScriptedClient, startServer } from './helpers.js';

const device = instanceNode(0, [
  resourceNode(0, value.string('Open Mobile Alliance')),
  resourceNode(1, value.string('Lightweight M2M Client')),
  resourceNode(2, value.string('345000123')),
  resourceNode(3, value.string('1.0')),
  multipleResourceNode(6, [resourceInstanceNode(0, value.integer(1)), resourceInstanceNode(1, value.integer(5))]),
  resourceNode(9, value.integer(100)),
  resourceNode(13, value.time(new Date(1_367_491_215_000))),
  resourceNode(16, value.string('U')),
]);
const deviceModel = builtinRegistry().lookupFor(new Map([[3, '1.1']]), '1.1');

function encode(format: number, entries: PathNode[]): Buffer {
  return codecFor(format).encode(entries, { model: deviceModel });
}

function uri(req: IncomingRequest): string {
  return '/' + req.path.join('/');
}

describe('server: device management over loopback', () => {
  let server: Lwm2mServer;
  let client: ScriptedClient;

  beforeEach(async () => {
    server = await startServer();
    client = await ScriptedClient.connect(server);
    await client.register(['ep=dev', 'lt=60', 'lwm2m=1.1'], '</1/0>,</3>;ver=1.1,</3/0>,</3303/0>');
  });
  afterEach(async () => {
    await client.close();
    await server.stop();
  });

  for (const format of [ContentFormat.TLV, ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_CBOR, ContentFormat.OLD_JSON]) {
    it(`reads /3/0 answered in format ${format}`, async () => {
      client.answer((req) => {
        assert.equal(req.method, 'GET');
        assert.equal(uri(req), '/3/0');
        assert.equal(req.accept, format);
        return { code: '2.05', contentFormat: format, payload: encode(format, [{ path: [3, 0], node: device }]) };
      });
      const result = await server.read('dev', '/3/0', { format });
      assert.equal(result.format, format);
      const plain = result.value as Record<string, unknown>;
      assert.equal(plain[0], 'Open Mobile Alliance');
      assert.deepEqual(plain[6], { 0: 1, 1: 5 });
      assert.equal(plain[9], 100);
      assert.deepEqual(plain[13], new Date(1_367_491_215_000));
    });
  }

  it('asks a 1.1 client for SenML CBOR by default and decodes through the model', async () => {
    client.answer((req) => {
      assert.equal(req.accept, ContentFormat.SENML_CBOR);
      return { code: '2.05', contentFormat: ContentFormat.SENML_CBOR, payload: encode(ContentFormat.SENML_CBOR, [{ path: [3, 0, 13], node: resourceNode(13, value.time(new Date(5000))) }]) };
    });
    const result = await server.read('dev', [3, 0, 13]);
    assert.deepEqual(result.value, new Date(5000));
  });

  for (const format of [ContentFormat.TEXT, ContentFormat.CBOR]) {
    it(`reads a single resource answered in format ${format}`, async () => {
      client.answer(() => ({ code: '2.05', contentFormat: format, payload: encode(format, [{ path: [3, 0, 9], node: resourceNode(9, value.integer(87)) }]) }));
      const result = await server.read('dev', '/3/0/9', { format });
      assert.equal(result.value, 87);
    });
  }

  it('reads an opaque resource', async () => {
    client.answer(() => ({ code: '2.05', contentFormat: ContentFormat.OPAQUE, payload: Buffer.from([1, 2, 3]) }));
    const result = await server.read('dev', '/5/0/0', { format: ContentFormat.OPAQUE });
    assert.deepEqual(result.value, Buffer.from([1, 2, 3]));
  });

  it('reads a value larger than one datagram (Block2) intact', async () => {
    const big = Buffer.alloc(20_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    client.answer(() => ({ code: '2.05', contentFormat: ContentFormat.OPAQUE, payload: big }));
    const result = await server.read('dev', '/5/0/0', { format: ContentFormat.OPAQUE });
    assert.deepEqual(result.value, big);
  });

  for (const format of [ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_CBOR]) {
    it(`reads composite paths answered in format ${format}`, async () => {
      client.answer(() => ({
        code: '2.05',
        contentFormat: format,
        payload: encode(format, [
          { path: [3, 0], node: device },
          { path: [3303, 0, 5700], node: resourceNode(5700, value.float(-4.5)) },
        ]),
      }));
      const result = await server.readComposite('dev', ['/3/0', '/3303/0/5700'], { format });
      assert.equal(result.format, format);
      assert.equal((result.value['/3/0'] as Record<string, unknown>)[9], 100);
      assert.equal(result.value['/3303/0/5700'], -4.5);
    });
  }

  it('turns device errors and undecodable answers into typed errors', async () => {
    client.answer(() => ({ code: '4.04', payload: 'no such instance' }));
    await assert.rejects(server.read('dev', '/3303/7'), (err: Error & { code?: string }) => err.code === '4.04' && /Read \/3303\/7 on dev failed: 4.04 Not Found: no such instance/.test(err.message));
    client.answer(() => ({ code: '2.05', contentFormat: ContentFormat.TLV, payload: Buffer.from([0xff, 0xff]) }));
    await assert.rejects(server.read('dev', '/3/0'), (err: Error & { code?: string }) => err.code === '4.00' && /does not decode/.test(err.message));
  });

  it('fails with 5.04 when the device does not answer before the deadline', async () => {
    client.answer(() => new Promise(() => {}));
    await assert.rejects(server.read('dev', '/3/0/9', { timeoutMs: 200 }), (err: Error & { code?: string }) => err.code === '5.04' && /no answer/.test(err.message));
  });

  it('discovers with attributes', async () => {
    client.answer((req) => {
      assert.equal(req.accept, ContentFormat.LINK_FORMAT);
      return { code: '2.05', contentFormat: 40, payload: '</3/0>;pmin=10;pmax=60,</3/0/1>,</3/0/6>;dim=2,</3/0/9>;gt=50' };
    });
    const links = await server.discover('dev', '/3/0');
    assert.deepEqual(links.map((l) => l.uri), ['/3/0', '/3/0/1', '/3/0/6', '/3/0/9']);
    assert.deepEqual(links[0]?.path, [3, 0]);
    assert.equal(links[0]?.attributes.pmin, 10);
    assert.equal(links[2]?.attributes.dim, 2);
    assert.equal(links[3]?.attributes.gt, 50);
  });

  it('writes (replace with PUT, update with POST) plain values typed by the model', async () => {
    const seen: { method: string; uri: string; format?: number; payload: Buffer }[] = [];
    client.answer((req) => {
      seen.push({ method: req.method, uri: uri(req), ...(req.contentFormat !== undefined ? { format: req.contentFormat } : {}), payload: req.payload });
      return { code: '2.04' };
    });
    await server.write('dev', '/3/0/13', new Date(1_000_000));
    await server.write('dev', '/1/0', { 1: 300, 3: 60 }, { mode: 'update', format: ContentFormat.TLV });
    assert.equal(seen[0]?.method, 'PUT');
    assert.equal(seen[0]?.format, ContentFormat.SENML_CBOR);
    const written = codecFor(ContentFormat.SENML_CBOR).decode(seen[0]!.payload, { path: [3, 0, 13], model: deviceModel });
    assert.deepEqual(written[0]?.node, resourceNode(13, value.time(new Date(1_000_000))));
    assert.equal(seen[1]?.method, 'POST');
    assert.equal(seen[1]?.uri, '/1/0');
    assert.equal(seen[1]?.format, ContentFormat.TLV);
    await assert.rejects(server.write('dev', '/3/0/13', 'not a time'), (err: Error & { code?: string }) => err.code === '4.00' && /Current Time/.test(err.message));
    assert.equal(seen.length, 2, 'a bad value is refused before anything is sent');
  });

  it('sends Write-Attributes as query parameters', async () => {
    let query: readonly string[] = [];
    client.answer((req) => {
      assert.equal(req.method, 'PUT');
      assert.equal(req.payload.length, 0);
      query = req.query;
      return { code: '2.04' };
    });
    await server.writeAttributes('dev', '/3303/0/5700', { pmin: 5, pmax: 60, gt: 30.5, st: null });
    assert.deepEqual(query, ['pmin=5', 'pmax=60', 'gt=30.5', 'st']);
  });

  it('executes with arguments', async () => {
    let body = '';
    client.answer((req) => {
      assert.equal(req.method, 'POST');
      assert.equal(uri(req), '/3/0/4');
      body = req.payload.toString();
      return { code: '2.04' };
    });
    await server.execute('dev', '/3/0/4', [{ digit: 0, value: 'now' }, { digit: 1 }]);
    assert.equal(body, "0='now',1");
    await assert.rejects(server.execute('dev', '/3/0'), (err: Error & { code?: string }) => err.code === '4.00');
  });

  it('creates an instance and learns its id from Location-Path; deletes it', async () => {
    let created: PathNode[] = [];
    client.answer((req) => {
      if (req.method === 'POST') {
        assert.equal(uri(req), '/3303');
        created = codecFor(req.contentFormat ?? 0).decode(req.payload, { path: [3303, 1] });
        return { code: '2.01', locationPath: ['3303', '1'] };
      }
      assert.equal(req.method, 'DELETE');
      assert.equal(uri(req), '/3303/1');
      return { code: '2.02' };
    });
    const id = await server.create('dev', 3303, { 5700: 21.5, 5701: 'Cel' });
    assert.equal(id, 1, 'lowest instance id the client did not list');
    assert.equal(created[0]?.node.kind, 'instance');
    await server.delete('dev', '/3303/1');
  });

  it('reads and writes composite paths with FETCH and iPATCH', async () => {
    client.answer((req) => {
      if (req.method === 'FETCH') {
        const paths = decodeSenmlPaths(req.payload, req.contentFormat ?? 0);
        assert.deepEqual(paths, [[3, 0, 9], [3303, 0, 5700]]);
        return {
          code: '2.05',
          contentFormat: ContentFormat.SENML_CBOR,
          payload: encode(ContentFormat.SENML_CBOR, [
            { path: [3, 0, 9], node: resourceNode(9, value.integer(42)) },
            { path: [3303, 0, 5700], node: resourceNode(5700, value.float(21.5)) },
          ]),
        };
      }
      assert.equal(req.method, 'iPATCH');
      const entries = codecFor(req.contentFormat ?? 0).decode(req.payload, {});
      const leaves = entries.flatMap((e) => flattenNode(e.path, e.node)).map((l) => formatPath(l.path));
      assert.deepEqual(leaves.sort(), ['/3/0/13', '/3303/0/5750']);
      return { code: '2.04' };
    });
    const result = await server.readComposite('dev', ['/3/0/9', '/3303/0/5700']);
    assert.deepEqual(result.value, { '/3/0/9': 42, '/3303/0/5700': 21.5 });
    await server.writeComposite('dev', { '/3/0/13': new Date(0), '/3303/0/5750': 'kitchen' });
  });
});
