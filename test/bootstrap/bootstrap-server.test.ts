import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingRequest, OutgoingResponse } from '../../src/coap/api.js';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import { udpPeer, type Peer } from '../../src/coap/transport.js';
import { Lwm2mBootstrapServer, type BootstrapServerEvents } from '../../src/bootstrap/bootstrap-server.js';
import { BootstrapConfigStore } from '../../src/bootstrap/config-store.js';
import type { BootstrapConfig } from '../../src/bootstrap/config.js';
import { codecFor, ContentFormat } from '../../src/formats/index.js';
import { builtinRegistry } from '../../src/model/registry.js';
import { toPlain } from '../../src/model/plain.js';

const FAST = { ackTimeoutMs: 40, ackRandomFactor: 1.5, maxRetransmit: 2, nstart: Infinity, maxLatencyMs: 1000 };

const CONFIG: BootstrapConfig = {
  objects: {
    0: { 1: { 0: 'coap://127.0.0.1:5683', 1: false, 2: 0, 3: { hex: '6964' }, 5: { hex: '00112233' }, 10: 101 } },
    1: { 0: { 0: 101, 1: 300, 6: false, 7: 'U' } },
  },
};

function nextEvent<K extends keyof BootstrapServerEvents>(server: Lwm2mBootstrapServer, event: K, ms = 3000): Promise<BootstrapServerEvents[K]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${String(event)} event`)), ms);
    (server.once as (e: K, l: (...a: BootstrapServerEvents[K]) => void) => void)(event, (...args) => {
      clearTimeout(t);
      resolve(args);
    });
  });
}

describe('bootstrap server', () => {
  let server: Lwm2mBootstrapServer;
  let device: CoapEndpoint;
  let serverPeer: Peer;
  let seen: IncomingRequest[];
  let answer: (req: IncomingRequest) => OutgoingResponse | Promise<OutgoingResponse>;

  const defaultAnswer = (req: IncomingRequest): OutgoingResponse => {
    if (req.method === 'DELETE') return { code: '2.02' };
    if (req.method === 'PUT') return { code: '2.04' };
    if (req.method === 'POST' && req.path.join('/') === 'bs') return { code: '2.04' };
    return { code: '4.05' };
  };

  beforeEach(async () => {
    const configs = BootstrapConfigStore.inMemory();
    await configs.set('dev-1', CONFIG);
    server = new Lwm2mBootstrapServer({ address: '127.0.0.1', port: 0, configs, transmission: FAST, requestTimeoutMs: 500, sessionTimeoutMs: 3000 });
    await server.start();
    device = await CoapEndpoint.udp({ address: '127.0.0.1', port: 0, parameters: FAST, requestTimeoutMs: 1000 });
    serverPeer = udpPeer('127.0.0.1', server.address().port);
    seen = [];
    answer = defaultAnswer;
    device.onRequest((req) => {
      seen.push(req);
      return answer(req);
    });
  });
  afterEach(async () => {
    await device.close();
    await server.stop();
  });

  function bootstrapRequest(query: string[]) {
    return device.request(serverPeer, { method: 'POST', path: ['bs'], query });
  }

  it('provisions a 1.0 client: Delete /, Write /0/1 and /1/0 in TLV, then Finish', async () => {
    const finished = nextEvent(server, 'sessionFinished');
    assert.equal((await bootstrapRequest(['ep=dev-1'])).code, '2.04');
    const [result] = await finished;
    assert.equal(result.endpoint, 'dev-1');
    assert.deepEqual(result.written, ['/0/1', '/1/0']);
    assert.equal(result.format, ContentFormat.TLV);
    assert.deepEqual(seen.map((r) => `${r.method} /${r.path.join('/')}`), ['DELETE /', 'PUT /0/1', 'PUT /0/1'.replace('/0/1', '/1/0'), 'POST /bs']);
    const model = builtinRegistry().lookupFor(new Map(), '1.0');
    const security = codecFor(ContentFormat.TLV).decode(seen[1]!.payload, { path: [0, 1], model });
    const plain = toPlain(security[0]!.node) as Record<string, unknown>;
    assert.equal(plain[0], 'coap://127.0.0.1:5683');
    assert.deepEqual(plain[3], Buffer.from('id'));
    assert.deepEqual(plain[5], Buffer.from('00112233', 'hex'));
    assert.equal(plain[10], 101);
  });

  it('uses the format asked for with pct, discovers and reads when configured', async () => {
    await server.configs.set('dev-2', { ...CONFIG, discover: true, read: ['/1/0'] });
    answer = (req) => {
      if (req.method === 'GET' && req.accept === ContentFormat.LINK_FORMAT) {
        return { code: '2.05', contentFormat: 40, payload: '</>;lwm2m=1.1,</0/0>,</1>,</3/0>' };
      }
      if (req.method === 'GET') {
        const model = builtinRegistry().lookupFor(new Map(), '1.1');
        const node = codecFor(ContentFormat.SENML_CBOR).decode(seen.find((r) => r.path.join('/') === '1/0')!.payload, { path: [1, 0], model })[0]!.node;
        return { code: '2.05', contentFormat: ContentFormat.SENML_CBOR, payload: codecFor(ContentFormat.SENML_CBOR).encode([{ path: [1, 0], node }]) };
      }
      return defaultAnswer(req);
    };
    const finished = nextEvent(server, 'sessionFinished');
    await bootstrapRequest(['ep=dev-2', `pct=${ContentFormat.SENML_CBOR}`]);
    const [result] = await finished;
    assert.equal(result.format, ContentFormat.SENML_CBOR);
    assert.deepEqual(result.discovered?.map((l) => l.uri), ['/', '/0/0', '/1', '/3/0']);
    assert.deepEqual(result.read?.['/1/0'], { 0: 101, 1: 300, 6: false, 7: 'U' });
    assert.equal(seen.find((r) => r.method === 'PUT')?.contentFormat, ContentFormat.SENML_CBOR);
  });

  it('answers 4.00 without ep and 4.04 for an endpoint without configuration, with an event', async () => {
    assert.equal((await bootstrapRequest([])).code, '4.00');
    const failed = nextEvent(server, 'sessionFailed');
    assert.equal((await bootstrapRequest(['ep=stranger'])).code, '4.04');
    const [f] = await failed;
    assert.equal(f.step, 'request');
    assert.match(f.reason, /no bootstrap configuration/);
  });

  it('ends the session with the failing step when the client refuses a write', async () => {
    answer = (req) => (req.method === 'PUT' && req.path.join('/') === '1/0' ? { code: '4.00', payload: 'bad server object' } : defaultAnswer(req));
    const failed = nextEvent(server, 'sessionFailed');
    await bootstrapRequest(['ep=dev-1']);
    const [f] = await failed;
    assert.equal(f.step, 'write');
    assert.equal(f.code, '4.00');
    assert.match(f.reason, /Bootstrap-Write \/1\/0 failed: 4.00 Bad Request: bad server object/);
    assert.equal(seen.some((r) => r.path.join('/') === 'bs'), false, 'no Finish after a failed write');
  });

  it('never hangs: a client that stops answering fails the session with 5.04', async () => {
    answer = (req) => (req.method === 'PUT' ? new Promise(() => {}) : defaultAnswer(req));
    const failed = nextEvent(server, 'sessionFailed');
    await bootstrapRequest(['ep=dev-1']);
    const [f] = await failed;
    assert.equal(f.step, 'write');
    assert.equal(f.code, '5.04');
    assert.deepEqual(server.activeSessions(), []);
  });

  it('serves a template to unknown endpoints with the endpoint name substituted', async () => {
    await server.configs.setDefault({ objects: { 1: { 0: { 0: 7, 1: 60, 7: 'U' } }, 0: { 1: { 0: 'coap://lwm2m.example/{endpoint}', 1: false, 2: 3, 10: 7 } } } });
    const finished = nextEvent(server, 'sessionFinished');
    await bootstrapRequest(['ep=sensor-42']);
    await finished;
    const write = seen.find((r) => r.path.join('/') === '0/1')!;
    const node = codecFor(ContentFormat.TLV).decode(write.payload, { path: [0, 1], model: builtinRegistry().lookupFor(new Map(), '1.0') })[0]!.node;
    assert.equal((toPlain(node) as Record<string, unknown>)[0], 'coap://lwm2m.example/sensor-42');
  });

  it('answers a Bootstrap-Pack-Request (1.2) with the whole configuration in SenML CBOR or LwM2M CBOR', async () => {
    for (const accept of [ContentFormat.SENML_CBOR, ContentFormat.LWM2M_CBOR]) {
      const res = await device.request(serverPeer, { method: 'GET', path: ['bspack'], query: ['ep=dev-1'], accept });
      assert.equal(res.code, '2.05');
      const entries = codecFor(accept).decode(res.payload, { model: builtinRegistry().lookupFor(new Map(), '1.2') });
      const byPath = Object.fromEntries(entries.map((e) => [e.path.join('/'), toPlain(e.node)]));
      assert.equal((byPath['0/1'] as Record<string, unknown>)[0], 'coap://127.0.0.1:5683');
      assert.equal((byPath['1/0'] as Record<string, unknown>)[1], 300);
    }
    const bad = await device.request(serverPeer, { method: 'GET', path: ['bspack'], query: ['ep=dev-1'], accept: ContentFormat.TLV });
    assert.equal(bad.code, '4.06');
  });
});

describe('bootstrap configuration store', () => {
  it('survives a restart (file), validates, and removes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lwm2m-bs-'));
    try {
      const file = join(dir, 'bootstrap.json');
      const store = await BootstrapConfigStore.open(file);
      await store.set('dev-a', CONFIG);
      await store.setDefault({ objects: { 1: { 0: { 0: 1 } } } });
      await store.set('dev-b', CONFIG);
      assert.equal(await store.remove('dev-b'), true);
      assert.throws(() => store.set('dev-c', { objects: { x: {} } }), /object id "x"/);
      assert.throws(() => store.set('dev-c', { objects: {}, delete: ['/3/x'] }), /not a number/);
      await store.flush();
      const again = await BootstrapConfigStore.open(file);
      assert.deepEqual(again.endpoints(), ['dev-a']);
      assert.deepEqual(again.get('dev-a'), CONFIG);
      assert.deepEqual(again.resolve('other')?.objects, { 1: { 0: { 0: 1 } } });
      assert.match(readFileSync(file, 'utf8'), /"dev-a"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start from a corrupt file rather than losing provisioning data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lwm2m-bs-'));
    try {
      const file = join(dir, 'bootstrap.json');
      require('node:fs').writeFileSync(file, '{ not json');
      await assert.rejects(BootstrapConfigStore.open(file), /not valid JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
