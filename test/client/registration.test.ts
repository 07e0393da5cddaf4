import assert from 'node:assert/strict';
import { parseLinkFormat } from '../../src/formats/link-format.js';
import { ManualClock } from '../../src/client/clock.js';
import type { Lwm2mClient } from '../../src/client/client.js';
import { updateDelayMs } from '../../src/client/timing.js';
import { ScriptedServer, settle, startRegistered, testClient, until } from './helpers.js';

describe('client registration', function () {
  this.timeout(15000);
  let server: ScriptedServer;
  let client: Lwm2mClient | undefined;

  beforeEach(async () => {
    server = await ScriptedServer.start();
  });
  afterEach(async () => {
    await client?.stop({ timeoutMs: 300 });
    client = undefined;
    await server.close();
  });

  function queryOf(query: readonly string[]): Map<string, string | true> {
    return new Map<string, string | true>(
      query.map((q): [string, string | true] => (q.includes('=') ? [q.slice(0, q.indexOf('=')), q.slice(q.indexOf('=') + 1)] : [q, true])),
    );
  }

  it('registers as LwM2M 1.1 with ep, lt, lwm2m, b and a link-format body without /0', async () => {
    client = testClient(server, { objects: { 3303: { 0: { 5700: 21.5 }, 1: {} } } });
    await startRegistered(client);
    const reg = server.registrations()[0]!;
    const q = queryOf(reg.query);
    assert.equal(q.get('ep'), 'test-dev');
    assert.equal(q.get('lt'), '300');
    assert.equal(q.get('lwm2m'), '1.1');
    assert.equal(q.get('b'), 'U');
    assert.equal(q.has('Q'), false);
    assert.equal(reg.contentFormat, 40);
    const links = parseLinkFormat(reg.payload).map((l) => l.uri);
    assert.equal(links[0], '/');
    assert.ok(links.includes('/1/0'));
    assert.ok(links.includes('/3/0'));
    assert.ok(links.includes('/3303/0') && links.includes('/3303/1'));
    assert.ok(!links.some((u) => u === '/0' || u.startsWith('/0/')), 'the Security object must not be listed');
    const root = parseLinkFormat(reg.payload)[0]!;
    assert.equal(root.params.get('rt'), 'oma.lwm2m');
    assert.equal(root.params.get('ct'), '112');
    const device = parseLinkFormat(reg.payload).find((l) => l.uri === '/3');
    assert.equal(device?.params.get('ver'), '1.1');
  });

  it('registers as LwM2M 1.0 with b=UQ for queue mode and no root link', async () => {
    client = testClient(server, { lwm2mVersion: '1.0', servers: [{ uri: server.uri, lifetime: 120, queueMode: true }] });
    await startRegistered(client);
    const reg = server.registrations()[0]!;
    const q = queryOf(reg.query);
    assert.equal(q.get('lwm2m'), '1.0');
    assert.equal(q.get('b'), 'UQ');
    assert.equal(q.has('Q'), false);
    const links = parseLinkFormat(reg.payload).map((l) => l.uri);
    assert.ok(!links.includes('/'));
    assert.ok(links.includes('/3/0'));
    assert.equal(parseLinkFormat(reg.payload).find((l) => l.uri === '/3'), undefined, 'Device 1.0 needs no ver');
  });

  it('registers as LwM2M 1.2 with the Q parameter and sms', async () => {
    client = testClient(server, { lwm2mVersion: '1.2', servers: [{ uri: server.uri, queueMode: true, sms: '+33600000000' }] });
    await startRegistered(client);
    const q = queryOf(server.registrations()[0]!.query);
    assert.equal(q.get('lwm2m'), '1.2');
    assert.equal(q.get('b'), 'U');
    assert.equal(q.get('Q'), true);
    assert.equal(q.get('sms'), '+33600000000');
    const links = parseLinkFormat(server.registrations()[0]!.payload);
    assert.equal(links.find((l) => l.uri === '/1')?.params.get('ver'), '1.2');
    assert.equal(links.find((l) => l.uri === '/3')?.params.get('ver'), '1.2');
  });

  it('falls back from 1.2 to 1.1 to 1.0 on 4.12', async () => {
    server.respond = (req) => {
      if (req.path.join('/') === 'rd' && !req.query.includes('lwm2m=1.0')) return { code: '4.12' };
      return undefined;
    };
    client = testClient(server, { lwm2mVersion: '1.2' });
    const fallbacks: string[] = [];
    client.on('versionFallback', (v) => fallbacks.push(`${v.from}->${v.to}`));
    await startRegistered(client);
    assert.deepEqual(server.registrations().map((r) => queryOf(r.query).get('lwm2m')), ['1.2', '1.1', '1.0']);
    assert.deepEqual(fallbacks, ['1.2->1.1', '1.1->1.0']);
    assert.equal(client.session(1)?.version, '1.0');
  });

  it('retries with exponential back-off when the server refuses, then registers', async () => {
    const clock = new ManualClock();
    let refusals = 3;
    server.respond = (req) => (req.path.join('/') === 'rd' && refusals-- > 0 ? { code: '5.03' } : undefined);
    client = testClient(server, { clock, retry: { initialDelayMs: 1000, factor: 2, maxDelayMs: 3000 } });
    const failures: number[] = [];
    client.on('registrationFailed', (f) => failures.push(f.retryInMs));
    await client.start();
    await until(() => failures.length === 1, 3000, 'first failure');
    assert.equal(server.registrations().length, 1);
    clock.advance(999);
    await settle();
    assert.equal(server.registrations().length, 1, 'no retry before the back-off delay');
    clock.advance(1);
    await until(() => failures.length === 2, 3000, 'second failure');
    clock.advance(1999);
    await settle();
    assert.equal(server.registrations().length, 2);
    clock.advance(1);
    await until(() => failures.length === 3, 3000, 'third failure');
    assert.deepEqual(failures, [1000, 2000, 3000], 'delays double and are capped');
    const registered = new Promise<void>((r) => client!.once('registered', () => r()));
    clock.advance(3000);
    await registered;
    assert.equal(server.registrations().length, 4);
  });

  it('retries when the server does not answer at all', async () => {
    const clock = new ManualClock();
    const silent = await ScriptedServer.start();
    const port = silent.endpoint.address().port;
    await silent.close(); // nothing listens there any more
    client = testClient(server, { clock, servers: [{ uri: `coap://127.0.0.1:${port}` }], requestTimeoutMs: 300, retry: { initialDelayMs: 500 } });
    const failed = new Promise<{ attempt: number; error: Error }>((r) => client!.once('registrationFailed', (f) => r(f)));
    await client.start();
    const f = await failed;
    assert.equal(f.attempt, 1);
    assert.match(f.error.name, /Timeout|Lwm2mError/);
  });

  it('sends Update when the lifetime is about to run out, computed from the lifetime', async () => {
    const clock = new ManualClock();
    client = testClient(server, { clock, servers: [{ uri: server.uri, lifetime: 60 }] });
    await startRegistered(client);
    // ACK_TIMEOUT 200 ms, MAX_RETRANSMIT 2: MAX_TRANSMIT_WAIT 2.1 s, so the 10 % reserve wins
    assert.equal(client.endpoint.params.maxTransmitWaitMs, 2100);
    const due = updateDelayMs(60, client.endpoint.params.maxTransmitWaitMs);
    assert.equal(due, 54_000);
    clock.advance(due - 1);
    await settle();
    assert.equal(server.updates().length, 0);
    const updated = new Promise<void>((r) => client!.once('updated', () => r()));
    clock.advance(1);
    const update = await server.waitFor((u) => u.method === 'POST' && u.path === '/rd/1');
    await updated;
    assert.deepEqual(update.query, [], 'nothing changed: no parameters');
    assert.equal(update.payload.length, 0, 'nothing changed: no body');
    await until(() => server.updates().length === 1);
    // the next one comes one period later
    clock.advance(due);
    await until(() => server.updates().length === 2, 3000, 'second update');
  });

  it('timing rule: 10 % reserve for long lifetimes, transmit wait for short ones', () => {
    assert.equal(updateDelayMs(86400, 93_000), 86400_000 - 8640_000);
    assert.equal(updateDelayMs(300, 93_000), 300_000 - 93_000);
    assert.equal(updateDelayMs(60, 93_000), 30_000);
    assert.equal(updateDelayMs(2, 93_000), 1000);
  });

  it('updates with the new object list when an instance is added or removed', async () => {
    client = testClient(server, { objects: { 3303: {} } });
    await startRegistered(client);
    client.addInstance(3303, { 5700: 1 });
    const up = await server.waitFor((u) => u.path === '/rd/1');
    const links = parseLinkFormat(up.payload).map((l) => l.uri);
    assert.ok(links.includes('/3303/0'));
    assert.equal(up.contentFormat, 40);
    client.removeInstance(3303, 0);
    await until(() => server.updates().length === 2);
    const links2 = parseLinkFormat(server.updates()[1]!.payload).map((l) => l.uri);
    assert.ok(!links2.includes('/3303/0') && links2.includes('/3303'));
  });

  it('updates with lt= after the server writes the lifetime, and on Execute /1/0/8', async () => {
    client = testClient(server);
    await startRegistered(client);
    const res = await server.request({ method: 'PUT', path: '/1/0/1', payload: '120', contentFormat: 0 });
    assert.equal(res.code, '2.04');
    const up = await server.waitFor((u) => u.path === '/rd/1');
    assert.deepEqual(up.query, ['lt=120']);
    const ex = await server.request({ method: 'POST', path: '/1/0/8' });
    assert.equal(ex.code, '2.04');
    await until(() => server.updates().length === 2);
    assert.deepEqual(server.updates()[1]!.query, []);
    await server.request({ method: 'PUT', path: '/1/0/7', payload: 'UT', contentFormat: 0 });
    await until(() => server.updates().length === 3);
    assert.deepEqual(server.updates()[2]!.query, ['b=UT']);
  });

  it('registers again when an Update gets 4.04', async () => {
    const clock = new ManualClock();
    client = testClient(server, { clock, servers: [{ uri: server.uri, lifetime: 60 }] });
    await startRegistered(client);
    server.respond = (req) => (req.method === 'POST' && req.path[0] === 'rd' && req.path.length === 2 ? { code: '4.04' } : undefined);
    const again = new Promise<void>((r) => client!.once('registered', () => r()));
    clock.advance(54_000);
    await again;
    assert.equal(server.registrations().length, 2);
    assert.equal(client.session(1)?.location?.join('/'), 'rd/2');
  });

  it('de-registers on stop', async () => {
    client = testClient(server);
    await startRegistered(client);
    const deregistered = new Promise<void>((r) => client!.once('deregistered', () => r()));
    await client.stop();
    await deregistered;
    assert.ok(server.uplinks.some((u) => u.method === 'DELETE' && u.path === '/rd/1'));
    client = undefined;
  });

  it('registers to every configured server with its own parameters', async () => {
    const second = await ScriptedServer.start();
    try {
      client = testClient(server, { servers: [{ uri: server.uri, shortServerId: 10, lifetime: 100 }, { uri: second.uri, shortServerId: 20, lifetime: 200 }] });
      const seen = new Set<number>();
      client.on('registered', (info) => seen.add(info.shortServerId));
      await client.start();
      await until(() => seen.size === 2, 3000, 'two registrations');
      assert.ok(server.registrations()[0]!.query.includes('lt=100'));
      assert.ok(second.registrations()[0]!.query.includes('lt=200'));
      // two servers: Access Control instances exist and are listed
      assert.ok(parseLinkFormat(server.registrations()[0]!.payload).some((l) => l.uri.startsWith('/2/')));
      await client.stop({ timeoutMs: 300 });
      client = undefined;
      assert.ok(second.uplinks.some((u) => u.method === 'DELETE'));
    } finally {
      await second.close();
    }
  });
});

describe('client server-account changes', function () {
  this.timeout(15000);
  let server: ScriptedServer;
  let client: Lwm2mClient | undefined;

  beforeEach(async () => {
    server = await ScriptedServer.start();
  });
  afterEach(async () => {
    await client?.stop({ timeoutMs: 300 });
    client = undefined;
    await server.close();
  });

  it('Execute /1/x/4 (Disable) de-registers and registers again after the Disable Timeout', async () => {
    const clock = new ManualClock();
    client = testClient(server, { clock, servers: [{ uri: server.uri, disableTimeout: 120 }] });
    await startRegistered(client);
    const deregistered = new Promise<void>((r) => client!.once('deregistered', () => r()));
    assert.equal((await server.request({ method: 'POST', path: '/1/0/4' })).code, '2.04');
    await deregistered;
    assert.equal(client.session(1)?.state, 'disabled');
    clock.advance(119_999);
    await settle();
    assert.equal(server.registrations().length, 1);
    const again = new Promise<void>((r) => client!.once('registered', () => r()));
    clock.advance(1);
    await again;
    assert.equal(server.registrations().length, 2);
  });

  it('Execute /1/x/9 asks the application for a bootstrap', async () => {
    client = testClient(server, { lwm2mVersion: '1.1' });
    await startRegistered(client);
    const asked = new Promise<number>((r) => client!.once('bootstrapRequired', (e) => r(e.shortServerId)));
    assert.equal((await server.request({ method: 'POST', path: '/1/0/9' })).code, '2.04');
    assert.equal(await asked, 1);
  });

  it('registers to an account written into /0 and /1 (as a Bootstrap-Server would) after reloadAccounts()', async () => {
    const other = await ScriptedServer.start();
    try {
      client = testClient(server);
      await startRegistered(client);
      const tree = client.tree;
      const bs = { origin: 'bootstrap' as const };
      const model = tree.model;
      const { fromPlain } = await import('../../src/model/plain.js');
      await tree.write([0, 7], fromPlain([0, 7], { 0: other.uri, 1: false, 2: 3, 3: Buffer.alloc(0), 4: Buffer.alloc(0), 5: Buffer.alloc(0), 10: 77 }, model), 'replace', bs);
      await tree.write([1, 7], fromPlain([1, 7], { 0: 77, 1: 90, 6: true, 7: 'U' }, model), 'replace', bs);
      await client.reloadAccounts();
      await until(() => other.registrations().length === 1, 3000, 'registration to the new account');
      assert.ok(other.registrations()[0]!.query.includes('lt=90'));
      // removing the first account de-registers from it
      tree.removeInstance(0, 0, 'bootstrap');
      await client.reloadAccounts();
      await until(() => server.uplinks.some((u) => u.method === 'DELETE'), 3000, 'de-registration');
      assert.equal(client.session(1), undefined);
    } finally {
      await client?.stop({ timeoutMs: 300 });
      client = undefined;
      await other.close();
    }
  });
});
