import assert from 'node:assert/strict';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import { udpPeer } from '../../src/coap/transport.js';
import { nextEvent, ScriptedClient, startServer, delay } from './helpers.js';

describe('server: registration interface', () => {
  let server: Lwm2mServer;
  let client: ScriptedClient;

  beforeEach(async () => {
    server = await startServer();
    client = await ScriptedClient.connect(server);
  });
  afterEach(async () => {
    await client.close();
    await server.stop();
  });

  for (const [version, query, queueMode] of [
    ['1.0', ['ep=dev10', 'lt=60', 'lwm2m=1.0', 'b=UQ'], true],
    ['1.1', ['ep=dev11', 'lt=60', 'lwm2m=1.1', 'b=U', 'Q'], true],
    ['1.2', ['ep=dev12', 'lt=60', 'lwm2m=1.2', 'b=U'], false],
  ] as const) {
    it(`registers a ${version} client with 2.01 and Location-Path rd/<id> as separate options`, async () => {
      const registered = nextEvent(server, 'registered');
      const res = await client.register([...query], '</>;rt="oma.lwm2m";ct=11543,</1>;ver=1.1,</1/0>,</3/0>,</3303/0>,</3303/1>');
      assert.equal(res.code, '2.01');
      assert.equal(client.location.length, 2);
      assert.equal(client.location[0], 'rd');
      assert.match(client.location[1] as string, /^[A-Za-z0-9_-]{22}$/);
      const [reg] = await registered;
      assert.equal(reg.id, client.location[1]);
      assert.equal(reg.lwm2mVersion, version);
      assert.equal(reg.lifetime, 60);
      assert.equal(reg.queueMode, queueMode);
      assert.deepEqual(reg.objects.find((o) => o.id === 3303)?.instances, [0, 1]);
      assert.equal(reg.objects.find((o) => o.id === 1)?.version, '1.1');
      assert.equal(server.getRegistration(reg.endpoint)?.id, reg.id);
    });
  }

  it('updates with 2.04 and de-registers with 2.02, emitting events', async () => {
    await client.register(['ep=dev1', 'lt=60', 'lwm2m=1.1']);
    const updated = nextEvent(server, 'updated');
    assert.equal((await client.update(['lt=120'], '</1/0>,</3/0>,</3303/0>')).code, '2.04');
    const [reg, previous] = await updated;
    assert.equal(reg.lifetime, 120);
    assert.equal(previous.lifetime, 60);
    assert.deepEqual(reg.objects.map((o) => o.id), [1, 3, 3303]);
    const gone = nextEvent(server, 'deregistered');
    assert.equal((await client.deregister()).code, '2.02');
    assert.equal((await gone)[0].endpoint, 'dev1');
    assert.equal(server.getRegistration('dev1'), undefined);
  });

  it('answers bad requests with the right codes', async () => {
    assert.equal((await client.register(['lt=60'])).code, '4.00', 'missing ep');
    assert.equal((await client.register(['ep=x', 'lt=abc'])).code, '4.00', 'bad lifetime');
    assert.equal((await client.register(['ep=x', 'lwm2m=2.0'])).code, '4.12', 'unknown version');
    assert.equal((await client.register(['ep=x'], '<<<')).code, '4.00', 'bad link-format');
    client.location = ['rd', 'nope'];
    assert.equal((await client.update()).code, '4.04', 'unknown registration on Update');
    assert.equal((await client.deregister()).code, '4.04', 'unknown registration on De-register');
    const wrongMethod = await client.endpoint.request(client.server, { method: 'GET', path: ['rd'] });
    assert.equal(wrongMethod.code, '4.05');
    const nowhere = await client.endpoint.request(client.server, { method: 'POST', path: ['foo'] });
    assert.equal(nowhere.code, '4.04');
    assert.equal(server.registrations().length, 0);
  });

  it('replaces the registration when the same endpoint registers again', async () => {
    await client.register(['ep=same', 'lt=60']);
    const firstId = client.location[1];
    const registered = nextEvent(server, 'registered');
    await client.register(['ep=same', 'lt=60']);
    const [reg, info] = await registered;
    assert.notEqual(reg.id, firstId);
    assert.equal(info.replaced?.id, firstId);
    assert.equal(server.registrations().length, 1);
  });

  it('lets an authorizer refuse a registration with 4.03', async () => {
    await server.stop();
    server = await startServer({ authorize: ({ endpoint }) => (endpoint.startsWith('ok-') ? true : 'endpoint not provisioned') });
    await client.close();
    client = await ScriptedClient.connect(server);
    const refused = await client.register(['ep=intruder']);
    assert.equal(refused.code, '4.03');
    assert.equal(refused.payload.toString(), 'endpoint not provisioned');
    assert.equal((await client.register(['ep=ok-1'])).code, '2.01');
  });

  it('expires a registration after its lifetime and emits an event', async () => {
    await server.stop();
    server = await startServer({ expiryGraceMs: 0, expiryCheckIntervalMs: 50 });
    await client.close();
    client = await ScriptedClient.connect(server);
    const expired = nextEvent(server, 'expired', 4000);
    await client.register(['ep=shortlived', 'lt=1']);
    const [reg] = await expired;
    assert.equal(reg.endpoint, 'shortlived');
    assert.equal(server.getRegistration('shortlived'), undefined);
    await delay(10);
    assert.equal((await client.update()).code, '4.04');
  });

  it('rejects device-management calls for unknown endpoints with 4.04', async () => {
    await assert.rejects(server.read('ghost', '/3/0'), (err: Error & { code?: string }) => err.code === '4.04' && /ghost/.test(err.message));
    await assert.rejects(server.read('', '/3/0'), (err: Error & { code?: string }) => err.code === '4.00');
  });

  it('serves IPv6 clients when bound to ::1', async function () {
    let v6: Lwm2mServer;
    try {
      v6 = await startServer({ address: '::1' });
    } catch (err) {
      if (process.env.CI) throw err;
      this.skip();
    }
    try {
      const endpoint = await CoapEndpoint.udp({ address: '::1', port: 0 });
      try {
        const registered = nextEvent(v6, 'registered');
        const res = await endpoint.request(udpPeer('::1', v6.address().port), { method: 'POST', path: ['rd'], query: ['ep=v6'], payload: '</3/0>' });
        assert.equal(res.code, '2.01');
        assert.equal((await registered)[0].peer.host, '::1');
      } finally {
        await endpoint.close();
      }
    } finally {
      await v6.stop();
    }
  });
});
