/**
 * The client's side of the Bootstrap interface, operation by operation,
 * against a scripted Bootstrap-Server over loopback.
 */
import assert from 'node:assert/strict';
import type { Lwm2mClient } from '../../src/client/client.js';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import { codecFor, ContentFormat, parseLinkFormat } from '../../src/formats/index.js';
import { builtinRegistry } from '../../src/model/registry.js';
import { fromPlain, toPlain } from '../../src/model/plain.js';
import type { Lwm2mPath } from '../../src/model/path.js';
import { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { bootstrapClient, delay, FAST, nextEvent, ScriptedBootstrapServer, until } from './helpers.js';

const SENML = ContentFormat.SENML_CBOR;

function encode(path: Lwm2mPath, plain: unknown, format: number = SENML, version: '1.0' | '1.1' | '1.2' = '1.1'): Buffer {
  const model = builtinRegistry().lookupFor(new Map(), version);
  return codecFor(format).encode([{ path, node: fromPlain(path, plain, model) }], { model });
}

function write(bs: ScriptedBootstrapServer, path: string, plain: unknown, format: number = SENML, version: '1.0' | '1.1' | '1.2' = '1.1') {
  const ids = path.split('/').filter(Boolean).map(Number);
  return bs.send({ method: 'PUT', path, contentFormat: format, payload: encode(ids, plain, format, version) });
}

function securityOf(uri: string, ssid: number): Record<number, unknown> {
  return { 0: uri, 1: false, 2: 3, 3: Buffer.alloc(0), 4: Buffer.alloc(0), 5: Buffer.from('secret'), 10: ssid };
}

describe('client bootstrap: the Bootstrap interface, operation by operation', function () {
  this.timeout(20000);
  let bs: ScriptedBootstrapServer;
  let client: Lwm2mClient | undefined;
  let server: Lwm2mServer | undefined;

  beforeEach(async () => {
    bs = await ScriptedBootstrapServer.start();
  });
  afterEach(async () => {
    await client?.stop({ timeoutMs: 300 });
    client = undefined;
    await server?.stop();
    server = undefined;
    await bs.close();
  });

  async function startServer(): Promise<Lwm2mServer> {
    server = new Lwm2mServer({ address: '127.0.0.1', port: 0, transmission: FAST, requestTimeoutMs: 1500 });
    await server.start();
    return server;
  }

  /** Starts the client and waits until the Bootstrap-Server has its Bootstrap-Request. */
  async function startSession(c: Lwm2mClient): Promise<void> {
    client = c;
    const asked = bs.waitFor('/bs', 4000, bs.uplinks.length);
    await c.start();
    await asked;
    await until(() => c.bootstrapState === 'session', 2000, 'the bootstrap session');
  }

  it('sends POST /bs?ep=..&pct=112 after the hold-off time (1.1)', async () => {
    const started = Date.now();
    await startSession(bootstrapClient(bs.uri, { bootstrap: { uri: bs.uri, holdOffS: 1 } }));
    const req = bs.requests('/bs')[0]!;
    assert.equal(req.method, 'POST');
    assert.deepEqual(req.query, ['ep=bs-dev', `pct=${SENML}`]);
    assert.ok(req.at - started >= 950, `the request came ${req.at - started} ms after start, before the 1 s hold-off`);
    assert.equal(client!.bootstrapState, 'session');
  });

  it('sends no pct as a 1.0 client, and honours a configured preferred format', async () => {
    await startSession(bootstrapClient(bs.uri, { lwm2mVersion: '1.0' }));
    assert.deepEqual(bs.requests('/bs')[0]!.query, ['ep=bs-dev']);
    await client!.stop({ timeoutMs: 100 });
    client = undefined;
    await startSession(bootstrapClient(bs.uri, { preferredFormat: ContentFormat.SENML_JSON }));
    assert.deepEqual(bs.requests('/bs')[1]!.query, ['ep=bs-dev', `pct=${ContentFormat.SENML_JSON}`]);
  });

  it('answers Bootstrap-Discover with its version, every object and the accounts (uri, ssid)', async () => {
    await startSession(bootstrapClient(bs.uri, { objects: { 3303: { 0: { 5700: 20 } } } }));
    assert.equal((await write(bs, '/0/3', securityOf('coap://127.0.0.1:9', 7))).code, '2.04');
    assert.equal((await write(bs, '/1/0', { 0: 7, 1: 60, 7: 'U' })).code, '2.04');
    const res = await bs.send({ method: 'GET', path: '/', accept: ContentFormat.LINK_FORMAT });
    assert.equal(res.code, '2.05');
    const links = parseLinkFormat(res.payload);
    assert.equal(links[0]!.uri, '/');
    assert.equal(links[0]!.params.get('lwm2m'), '1.1');
    const byUri = new Map(links.map((l) => [l.uri, l.params]));
    assert.equal(byUri.get('/0/0')?.get('uri'), bs.uri, 'the bootstrap account shows its URI');
    assert.equal(byUri.get('/0/0')?.has('ssid'), false, 'a Bootstrap-Server has no Short Server ID');
    assert.equal(byUri.get('/0/3')?.get('ssid'), '7');
    assert.equal(byUri.get('/0/3')?.get('uri'), 'coap://127.0.0.1:9');
    assert.equal(byUri.get('/1/0')?.get('ssid'), '7');
    assert.ok(byUri.has('/3/0') && byUri.has('/3303/0'));
    assert.match(res.payload.toString(), /uri="coap:\/\/127\.0\.0\.1:9"/, 'URIs are quoted as the specification writes them');
    const one = await bs.send({ method: 'GET', path: '/1', accept: ContentFormat.LINK_FORMAT });
    assert.deepEqual(parseLinkFormat(one.payload).map((l) => l.uri), ['/', '/1', '/1/0']);
    assert.equal((await bs.send({ method: 'GET', path: '/1/0', accept: ContentFormat.LINK_FORMAT })).code, '4.00');
    assert.equal((await bs.send({ method: 'GET', path: '/3304', accept: ContentFormat.LINK_FORMAT })).code, '4.04');
  });

  it('Bootstrap-Delete / keeps the bootstrap account, the Device and the application\'s own instances', async () => {
    await startSession(bootstrapClient(bs.uri, { objects: { 3303: { 0: { 5700: 20 } } } }));
    const tree = client!.tree;
    await write(bs, '/0/3', securityOf('coap://127.0.0.1:9', 7));
    await write(bs, '/1/0', { 0: 7, 1: 60, 7: 'U' });
    await write(bs, '/3303/1', { 5700: 30 });
    assert.deepEqual(tree.instanceIds(3303), [0, 1]);
    assert.equal((await bs.send({ method: 'DELETE', path: '/' })).code, '2.02');
    assert.deepEqual(tree.instanceIds(0), [0], 'only the Bootstrap-Server account is left in /0');
    assert.equal(tree.storedValue([0, 0, 1])?.value, true);
    assert.deepEqual(tree.instanceIds(1), []);
    assert.deepEqual(tree.instanceIds(3), [0]);
    assert.deepEqual(tree.instanceIds(3303), [0], 'the instance the Bootstrap-Server created is gone, the application\'s stays');
    assert.equal((await bs.send({ method: 'DELETE', path: '/0/0' })).code, '4.00');
    assert.equal((await bs.send({ method: 'DELETE', path: '/3/0' })).code, '4.00');
    assert.equal((await bs.send({ method: 'DELETE', path: '/3' })).code, '2.02');
    assert.deepEqual(tree.instanceIds(3), [0]);
    assert.equal((await bs.send({ method: 'DELETE', path: '/1/0/1' })).code, '4.00');
    assert.equal((await bs.send({ method: 'DELETE', path: '/3303/7' })).code, '2.02', 'deleting what is not there is not an error');
    assert.equal((await bs.send({ method: 'DELETE', path: '/3303/0' })).code, '2.02');
    assert.deepEqual(tree.instanceIds(3303), [], 'named, an application instance is deleted');
  });

  it('Bootstrap-Write creates or replaces instances and resources, and refuses what the device owns', async () => {
    await startSession(bootstrapClient(bs.uri));
    const tree = client!.tree;
    const refusals: string[] = [];
    client!.on('bootstrapRefused', (r) => refusals.push(`${r.operation} ${r.path} ${r.code}`));
    assert.equal((await write(bs, '/1/4', { 0: 9, 1: 120, 2: 5, 6: true, 7: 'U', 17: 3 })).code, '2.04', 'an instance that does not exist is created');
    assert.equal(tree.storedValue([1, 4, 1])?.value, 120);
    assert.equal(tree.instanceOrigin(1, 4), 'bootstrap');
    assert.equal((await write(bs, '/1/4', { 0: 9, 1: 90, 7: 'U' })).code, '2.04');
    assert.equal(tree.storedValue([1, 4, 1])?.value, 90);
    assert.equal(tree.storedValue([1, 4, 2]), undefined, 'a write of an instance replaces it: optional resources left out are gone');
    assert.equal(tree.storedValue([1, 4, 17]), undefined, 'even those only a Bootstrap-Server may write');
    assert.equal(tree.storedValue([1, 4, 6])?.value, true, 'mandatory ones keep their value');
    assert.equal((await write(bs, '/1/5/1', 45)).code, '2.04', 'a resource of an instance that does not exist creates it');
    assert.equal(tree.storedValue([1, 5, 1])?.value, 45);
    // An object-level write carries several instances.
    const model = builtinRegistry().lookupFor(new Map(), '1.1');
    const object = fromPlain([0], { 3: securityOf('coap://127.0.0.1:9', 9), 4: securityOf('coap://127.0.0.1:10', 10) }, model);
    const res = await bs.send({ method: 'PUT', path: '/0', contentFormat: SENML, payload: codecFor(SENML).encode([{ path: [0], node: object }], { model }) });
    assert.equal(res.code, '2.04');
    assert.deepEqual(tree.instanceIds(0), [0, 3, 4]);
    assert.deepEqual(tree.storedValue([0, 4, 5])?.value, Buffer.from('secret'));
    // TLV with a resource the client does not know: ignored, the rest is written.
    const tlv = codecFor(ContentFormat.TLV).encode([{ path: [1, 6], node: { kind: 'instance', id: 6, resources: new Map([[0, { kind: 'resource', id: 0, value: { type: 'integer', value: 11 } }], [999, { kind: 'resource', id: 999, value: { type: 'string', value: 'x' } }]]) } }]);
    assert.equal((await bs.send({ method: 'PUT', path: '/1/6', contentFormat: ContentFormat.TLV, payload: tlv })).code, '2.04');
    assert.equal(tree.storedValue([1, 6, 0])?.value, 11);
    // What the device owns: its identity in /3/0 (read-only), a second Device instance, unknown objects.
    const manufacturer = await write(bs, '/3/0', { 0: 'Evil Corp' });
    assert.equal(manufacturer.code, '4.05');
    assert.match(manufacturer.payload.toString(), /belongs to the device/);
    assert.notEqual(tree.storedValue([3, 0, 0])?.value, 'Evil Corp');
    assert.equal((await write(bs, '/3/0', { 14: '+02:00' })).code, '2.04', 'what a Server may write in /3/0, the Bootstrap-Server may too');
    assert.equal(tree.storedValue([3, 0, 14])?.value, '+02:00');
    assert.equal(tree.storedValue([3, 0, 0])?.value, 'LwM2M toolkit for Node-RED', 'an update, not a replace: the rest of /3/0 stays');
    assert.equal((await write(bs, '/3/1', { 14: '+01:00' })).code, '4.00');
    assert.equal((await write(bs, '/3303/0', { 5700: 1 })).code, '4.04');
    assert.equal((await bs.send({ method: 'PUT', path: '/', contentFormat: SENML, payload: Buffer.alloc(0) })).code, '4.05');
    assert.equal((await bs.send({ method: 'PUT', path: '/1/4', contentFormat: SENML, payload: Buffer.from([0xff, 0x00]) })).code, '4.00');
    assert.equal((await bs.send({ method: 'PUT', path: '/1/4', contentFormat: 9999, payload: Buffer.from('x') })).code, '4.15');
    assert.deepEqual(refusals, ['write /3/0 4.05', 'write /3/1 4.00', 'write /3303/0 4.04', 'write / 4.05', 'write /1/4 4.00', 'write /1/4 4.15']);
    assert.equal((await bs.send({ method: 'POST', path: '/1/4/8' })).code, '4.05', 'Execute is no Bootstrap-Interface operation');
  });

  it('Bootstrap-Read (1.1+) reads /1 and /2 only: /0 is 4.01, anything else 4.05', async () => {
    await startSession(bootstrapClient(bs.uri));
    await write(bs, '/1/0', { 0: 7, 1: 60, 7: 'U' });
    const res = await bs.send({ method: 'GET', path: '/1', accept: SENML });
    assert.equal(res.code, '2.05');
    const model = builtinRegistry().lookupFor(new Map(), '1.1');
    const [entry] = codecFor(SENML).decode(res.payload, { path: [1], model });
    assert.deepEqual((toPlain(entry!.node) as Record<string, Record<string, unknown>>)[0], { 0: 7, 1: 60, 7: 'U' });
    assert.equal((await bs.send({ method: 'GET', path: '/1/0', accept: ContentFormat.TLV })).code, '2.05');
    assert.equal((await bs.send({ method: 'GET', path: '/0', accept: SENML })).code, '4.01');
    assert.equal((await bs.send({ method: 'GET', path: '/0/0/5', accept: SENML })).code, '4.01');
    assert.equal((await bs.send({ method: 'GET', path: '/3/0', accept: SENML })).code, '4.05');
    assert.equal((await bs.send({ method: 'GET', path: '/', accept: SENML })).code, '4.05');
    assert.equal((await bs.send({ method: 'GET', path: '/1/0/1', accept: SENML })).code, '4.05');
  });

  it('Bootstrap-Read does not exist for a 1.0 client (4.05)', async () => {
    await startSession(bootstrapClient(bs.uri, { lwm2mVersion: '1.0' }));
    assert.equal((await write(bs, '/1/0', { 0: 7, 1: 60, 7: 'U' }, ContentFormat.TLV, '1.0')).code, '2.04');
    assert.equal((await bs.send({ method: 'GET', path: '/1', accept: ContentFormat.TLV })).code, '4.05');
    const discover = await bs.send({ method: 'GET', path: '/', accept: ContentFormat.LINK_FORMAT });
    const links = parseLinkFormat(discover.payload);
    assert.equal(links[0]!.params.get('lwm2m'), '1.0');
    assert.deepEqual([...links.find((l) => l.uri === '/0/0')!.params.keys()], [], 'ssid and uri attributes came with 1.1');
  });

  it('Bootstrap-Finish: 4.06 with a diagnostic for an unusable configuration; 2.04, then it registers', async () => {
    const dm = await startServer();
    await startSession(bootstrapClient(bs.uri));
    const empty = await bs.send({ method: 'POST', path: '/bs' });
    assert.equal(empty.code, '4.06');
    assert.match(empty.payload.toString(), /no LwM2M Server account/);
    await write(bs, '/0/1', securityOf(`coap://127.0.0.1:${dm.address().port}`, 7));
    const half = await bs.send({ method: 'POST', path: '/bs' });
    assert.equal(half.code, '4.06');
    assert.match(half.payload.toString(), /\/0\/1 \(Short Server ID 7\) has no Server instance/);
    await write(bs, '/1/0', { 0: 8, 1: 60, 7: 'U' });
    assert.match((await bs.send({ method: 'POST', path: '/bs' })).payload.toString(), /\/1\/0 \(Short Server ID 8\) has no Security instance/);
    await write(bs, '/1/0', { 0: 7, 1: 60, 7: 'U' });
    const finished = nextEvent<[{ mode: string; written: string[]; servers: number[] }]>(client!, 'bootstrapFinished');
    const registered = nextEvent<[{ endpoint: string; lifetime: number }]>(dm, 'registered');
    assert.equal((await bs.send({ method: 'POST', path: '/bs' })).code, '2.04');
    const [result] = await finished;
    assert.equal(result.mode, 'request');
    assert.deepEqual(result.servers, [7]);
    assert.deepEqual(result.written, ['/0/1', '/1/0', '/1/0']);
    const [reg] = await registered;
    assert.equal(reg.endpoint, 'bs-dev');
    assert.equal(reg.lifetime, 60);
    assert.equal(client!.bootstrapState, 'idle');
    // The session is over: the Bootstrap-Server is a stranger again.
    assert.equal((await bs.send({ method: 'DELETE', path: '/' })).code, '4.01');
  });

  it('refuses coaps:// and secured accounts at Finish: this client has no DTLS', async () => {
    await startSession(bootstrapClient(bs.uri));
    await write(bs, '/0/1', { ...securityOf('coaps://127.0.0.1:5684', 7), 2: 0 });
    await write(bs, '/1/0', { 0: 7, 1: 60, 7: 'U' });
    const res = await bs.send({ method: 'POST', path: '/bs' });
    assert.equal(res.code, '4.06');
    assert.match(res.payload.toString(), /coaps:\/\/127\.0\.0\.1:5684 with security mode 0 cannot be used/);
  });

  it('tells the Bootstrap-Server apart from other peers: a stranger gets 4.01 during the session', async () => {
    await startSession(bootstrapClient(bs.uri));
    const stranger = await CoapEndpoint.udp({ address: '127.0.0.1', port: 0, parameters: FAST, requestTimeoutMs: 1500 });
    try {
      const res = await stranger.request(bs.clientPeer!, { method: 'DELETE', path: '/' });
      assert.equal(res.code, '4.01');
      const discover = await stranger.request(bs.clientPeer!, { method: 'POST', path: '/bs' });
      assert.equal(discover.code, '4.01');
    } finally {
      await stranger.close();
    }
    assert.equal(client!.bootstrapState, 'session');
  });

  it('a session without Finish times out: the client undoes it and asks again after the back-off', async () => {
    await startSession(bootstrapClient(bs.uri, { bootstrap: { uri: bs.uri, sessionTimeoutMs: 500 } }));
    const tree = client!.tree;
    const failed = nextEvent<[{ code: string; reason: string; attempt: number; retryInMs: number }]>(client!, 'bootstrapFailed');
    await write(bs, '/1/0', { 0: 7, 1: 60, 7: 'U' });
    assert.deepEqual(tree.instanceIds(1), [0]);
    const [failure] = await failed;
    assert.equal(failure.code, '5.04');
    assert.match(failure.reason, /no Bootstrap-Finish within 500 ms/);
    assert.equal(failure.attempt, 1);
    assert.equal(failure.retryInMs, 100);
    assert.deepEqual(tree.instanceIds(1), [], 'the half-done session is undone');
    const again = await bs.waitFor('/bs', 3000, 1);
    assert.ok(again);
    assert.equal(bs.requests('/bs').length, 2);
  });

  it('a 4.04 (no configuration) is a failure with back-off, and the client keeps asking', async () => {
    bs.respond = () => ({ code: '4.04', payload: 'no bootstrap configuration for this endpoint' });
    const failures: Array<{ code: string; reason: string; retryInMs: number }> = [];
    client = bootstrapClient(bs.uri);
    client.on('bootstrapFailed', (f) => failures.push(f));
    await client.start();
    await bs.waitFor('/bs', 4000, 2);
    assert.ok(failures.length >= 2);
    assert.equal(failures[0]!.code, '4.04');
    assert.match(failures[0]!.reason, /no configuration for this endpoint: no bootstrap configuration/);
    assert.deepEqual(failures.slice(0, 2).map((f) => f.retryInMs), [100, 200]);
    const [first, second, third] = bs.requests('/bs');
    assert.ok(second!.at - first!.at >= 90 && third!.at - second!.at >= 190, 'the retries back off');
  });

  it('an unreachable Bootstrap-Server is a 5.04 failure', async () => {
    const silent = await CoapEndpoint.udp({ address: '127.0.0.1', port: 0, parameters: FAST });
    silent.onRequest(() => new Promise(() => {}));
    try {
      client = bootstrapClient(`coap://127.0.0.1:${silent.address().port}`, { requestTimeoutMs: 300 });
      const failed = nextEvent<[{ code: string; reason: string }]>(client, 'bootstrapFailed');
      await client.start();
      const [f] = await failed;
      assert.equal(f.code, '5.04');
      assert.match(f.reason, /Bootstrap-Request: no answer from the Bootstrap-Server/);
    } finally {
      await client?.stop({ timeoutMs: 100 });
      client = undefined;
      await silent.close();
    }
  });

  it('falls back to bootstrap when every registration fails (the bootstrap sequence)', async () => {
    const dm = await startServer();
    const events: string[] = [];
    client = bootstrapClient(bs.uri, {
      servers: [{ uri: 'coap://127.0.0.1:9', lifetime: 60 }],
      requestTimeoutMs: 200,
      bootstrap: { uri: bs.uri, registrationAttempts: 2 },
      retry: { initialDelayMs: 50, maxDelayMs: 100, factor: 2 },
    });
    client.on('registrationFailed', () => events.push('registrationFailed'));
    client.on('bootstrapStarted', (s) => events.push(`bootstrapStarted:${s.trigger}`));
    const asked = bs.waitFor('/bs', 6000);
    await client.start();
    await asked;
    assert.deepEqual(events, ['registrationFailed', 'registrationFailed', 'bootstrapStarted:registration-failure']);
    await bs.send({ method: 'DELETE', path: '/' });
    assert.deepEqual(client.tree.instanceIds(1), [], 'the factory account is gone');
    await write(bs, '/0/1', securityOf(`coap://127.0.0.1:${dm.address().port}`, 3));
    await write(bs, '/1/1', { 0: 3, 1: 60, 7: 'U' });
    const registered = nextEvent<[{ shortServerId: number; uri: string }]>(client, 'registered');
    assert.equal((await bs.send({ method: 'POST', path: '/bs' })).code, '2.04');
    const [info] = await registered;
    assert.equal(info.shortServerId, 3);
    assert.equal(info.uri, `coap://127.0.0.1:${dm.address().port}`);
  });

  it('keeps the engine\'s Firmware Update instance through Delete /, and refuses to delete it by name', async () => {
    await startSession(bootstrapClient(bs.uri, { firmware: {} }));
    assert.equal((await bs.send({ method: 'DELETE', path: '/' })).code, '2.02');
    assert.deepEqual(client!.tree.instanceIds(5), [0]);
    assert.equal((await bs.send({ method: 'DELETE', path: '/5/0' })).code, '4.00');
    assert.equal((await write(bs, '/5/0', { 3: 2 })).code, '4.05', 'the State resource is the engine\'s');
  });

  it('a provisioned /1/x/17 sets the failures before bootstrapping again; /1/x/16 = false opts out', async () => {
    const dead = `coap://127.0.0.1:9`;
    const retry = { initialDelayMs: 50, maxDelayMs: 100, factor: 2 };
    await startSession(bootstrapClient(bs.uri, { requestTimeoutMs: 200, retry, bootstrap: { uri: bs.uri, registrationAttempts: 99 } }));
    await write(bs, '/0/1', securityOf(dead, 7));
    await write(bs, '/1/0', { 0: 7, 1: 60, 6: false, 7: 'U', 17: 1 });
    const events: string[] = [];
    client!.on('registrationFailed', () => events.push('registrationFailed'));
    client!.on('bootstrapStarted', (e) => events.push(`bootstrapStarted:${e.trigger}`));
    const again = bs.waitFor('/bs', 4000, bs.uplinks.length);
    assert.equal((await bs.send({ method: 'POST', path: '/bs' })).code, '2.04');
    await again;
    assert.deepEqual(events, ['registrationFailed', 'bootstrapStarted:registration-failure']);

    await until(() => client!.bootstrapState === 'session', 2000, 'the second session');
    await write(bs, '/1/0', { 0: 7, 1: 60, 6: false, 7: 'U', 16: false, 17: 1 });
    events.length = 0;
    const asked = bs.uplinks.length;
    assert.equal((await bs.send({ method: 'POST', path: '/bs' })).code, '2.04');
    await until(() => events.length >= 3, 4000, 'three failed registrations');
    assert.deepEqual(events.slice(0, 3), ['registrationFailed', 'registrationFailed', 'registrationFailed']);
    assert.equal(bs.uplinks.length, asked, 'Bootstrap on Registration Failure = false: no new Bootstrap-Request');
  });

  it('a provisioned binding with Q makes a 1.1 client register in queue mode', async () => {
    const dm = await startServer();
    await startSession(bootstrapClient(bs.uri, { servers: [], bootstrap: { uri: bs.uri } }));
    await write(bs, '/0/1', securityOf(`coap://127.0.0.1:${dm.address().port}`, 7));
    await write(bs, '/1/0', { 0: 7, 1: 60, 6: false, 7: 'UQ' });
    const registered = nextEvent<[{ queueMode: boolean; binding: string }]>(dm, 'registered');
    await bs.send({ method: 'POST', path: '/bs' });
    const [reg] = await registered;
    assert.equal(reg.queueMode, true);
    assert.equal(reg.binding, 'U');
  });

  it('a client with working server accounts never bootstraps', async () => {
    const dm = await startServer();
    client = bootstrapClient(bs.uri, { servers: [{ uri: `coap://127.0.0.1:${dm.address().port}` }] });
    const registered = nextEvent(client, 'registered');
    await client.start();
    await registered;
    await delay(200);
    assert.equal(bs.uplinks.length, 0);
    assert.equal(client.bootstrapState, 'idle');
  });

  describe('Bootstrap-Pack (1.2)', () => {
    function pack(dmPort: number): Buffer {
      const model = builtinRegistry().lookupFor(new Map(), '1.2');
      return codecFor(SENML).encode(
        [
          { path: [0, 2], node: fromPlain([0, 2], securityOf(`coap://127.0.0.1:${dmPort}`, 5), model) },
          { path: [1, 0], node: fromPlain([1, 0], { 0: 5, 1: 60, 7: 'U' }, model) },
        ],
        { model },
      );
    }

    it('asks GET /bspack?ep=.. (Accept SenML CBOR), applies the pack and registers without a session', async () => {
      const dm = await startServer();
      bs.respond = (req) => (req.path[0] === 'bspack' ? { code: '2.05', contentFormat: SENML, payload: pack(dm.address().port) } : { code: '4.04' });
      client = bootstrapClient(bs.uri, { lwm2mVersion: '1.2', objects: { 3303: { 0: { 5700: 1 } } } });
      const finished = nextEvent<[{ mode: string; written: string[]; servers: number[] }]>(client, 'bootstrapFinished');
      const registered = nextEvent<[{ lwm2mVersion: string }]>(dm, 'registered');
      await client.start();
      const [result] = await finished;
      assert.equal(result.mode, 'pack');
      assert.deepEqual(result.written, ['/0/2', '/1/0']);
      const [reg] = await registered;
      assert.equal(reg.lwm2mVersion, '1.2');
      const asked = bs.requests('/bspack')[0]!;
      assert.equal(asked.method, 'GET');
      assert.deepEqual(asked.query, ['ep=bs-dev']);
      assert.equal(asked.accept, SENML);
      assert.equal(bs.requests('/bs').length, 0);
      assert.deepEqual(client.tree.instanceIds(0), [0, 2]);
      assert.deepEqual(client.tree.instanceIds(3303), [0]);
    });

    for (const code of ['4.04', '4.05', '4.06', '5.01']) {
      it(`falls back to Bootstrap-Request when the pack is answered ${code}`, async () => {
        bs.respond = (req) => (req.path[0] === 'bspack' ? { code } : { code: '2.04' });
        await startSession(bootstrapClient(bs.uri, { lwm2mVersion: '1.2' }));
        assert.deepEqual(bs.uplinks.map((u) => `${u.method} ${u.path}`), ['GET /bspack', 'POST /bs']);
        assert.deepEqual(bs.requests('/bs')[0]!.query, ['ep=bs-dev', `pct=${SENML}`]);
      });
    }

    it('falls back to Bootstrap-Request when the pack cannot be used, leaving the tree as it was', async () => {
      const model = builtinRegistry().lookupFor(new Map(), '1.2');
      const lonely = codecFor(SENML).encode([{ path: [1, 0], node: fromPlain([1, 0], { 0: 5, 1: 60, 7: 'U' }, model) }], { model });
      bs.respond = (req) => (req.path[0] === 'bspack' ? { code: '2.05', contentFormat: SENML, payload: lonely } : { code: '2.04' });
      client = bootstrapClient(bs.uri, { lwm2mVersion: '1.2' });
      const refused = nextEvent<[{ reason: string }]>(client, 'bootstrapRefused');
      const asked = bs.waitFor('/bs');
      await client.start();
      const [refusal] = await refused;
      assert.match(refusal.reason, /Bootstrap-Pack cannot be used: inconsistent configuration: \/1\/0 \(Short Server ID 5\) has no Security instance/);
      await asked;
      assert.deepEqual(client.tree.instanceIds(1), [], 'nothing of the refused pack is left');
    });

    it('uses no pack when told not to', async () => {
      await startSession(bootstrapClient(bs.uri, { lwm2mVersion: '1.2', bootstrap: { uri: bs.uri, pack: false } }));
      assert.deepEqual(bs.uplinks.map((u) => u.path), ['/bs']);
    });
  });
});
