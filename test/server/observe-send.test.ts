import assert from 'node:assert/strict';
import type { ObserverHandle } from '../../src/coap/observer.js';
import { codecFor, ContentFormat, decodeSenmlPaths } from '../../src/formats/index.js';
import { resourceNode, value, instanceNode, type PathNode } from '../../src/model/value.js';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { delay, nextEvent, ScriptedClient, startServer } from './helpers.js';

function senml(entries: PathNode[], format: number = ContentFormat.SENML_CBOR): Buffer {
  return codecFor(format).encode(entries);
}

describe('server: observe and Send', () => {
  let server: Lwm2mServer;
  let client: ScriptedClient;

  beforeEach(async () => {
    server = await startServer();
    client = await ScriptedClient.connect(server);
    await client.register(['ep=obs', 'lt=60', 'lwm2m=1.1'], '</1/0>,</3/0>,</3303/0>');
  });
  afterEach(async () => {
    await client.close();
    await server.stop();
  });

  it('observes a resource, emits decoded notifications and cancels actively', async () => {
    let handle: ObserverHandle | undefined;
    let cancelled = false;
    client.answer((req) => {
      if (req.observe === 0) {
        handle = req.acceptObservation();
        return { code: '2.05', contentFormat: ContentFormat.TEXT, payload: '21.5' };
      }
      if (req.observe === 1) {
        cancelled = true;
        return { code: '2.05', contentFormat: ContentFormat.TEXT, payload: '23' };
      }
      return { code: '4.05' };
    });
    const { observation, current } = await server.observe('obs', '/3303/0/5700', { format: ContentFormat.TEXT });
    assert.equal(current.value, 21.5);
    assert.equal(server.observations('obs').length, 1);
    assert.equal(observation.endpoint, 'obs');

    const first = nextEvent(server, 'notification');
    await client.endpoint.notify(handle!, { code: '2.05', contentFormat: ContentFormat.TEXT, payload: '22.25', confirmable: true });
    const [event] = await first;
    assert.deepEqual(event.value, { '/3303/0/5700': 22.25 });
    assert.equal(event.observation.id, observation.id);
    assert.equal(event.registration.endpoint, 'obs');

    assert.equal(await server.cancelObservation('obs', { id: observation.id }), 1);
    assert.equal(cancelled, true, 'active cancel sends GET with Observe=1');
    assert.equal(server.observations('obs').length, 0);
  });

  for (const format of [ContentFormat.TLV, ContentFormat.SENML_JSON, ContentFormat.LWM2M_CBOR, ContentFormat.CBOR]) {
    it(`decodes notifications in format ${format}`, async () => {
      let handle: ObserverHandle | undefined;
      const encodeTemp = (v: number) => codecFor(format).encode([{ path: [3303, 0, 5700], node: resourceNode(5700, value.float(v)) }]);
      client.answer((req) => {
        handle = req.acceptObservation();
        return { code: '2.05', contentFormat: format, payload: encodeTemp(1.5) };
      });
      const { current } = await server.observe('obs', '/3303/0/5700', { format });
      assert.equal(current.value, 1.5);
      const next = nextEvent(server, 'notification');
      await client.endpoint.notify(handle!, { code: '2.05', contentFormat: format, payload: encodeTemp(-7.25) });
      assert.deepEqual((await next)[0].value, { '/3303/0/5700': -7.25 });
    });
  }

  it('observes composite paths (Observe-Composite) and decodes composite notifications', async () => {
    let handle: ObserverHandle | undefined;
    client.answer((req) => {
      assert.equal(req.method, 'FETCH');
      assert.deepEqual(decodeSenmlPaths(req.payload, req.contentFormat ?? 0), [[3, 0, 9], [3303, 0, 5700]]);
      handle = req.acceptObservation();
      return {
        code: '2.05',
        contentFormat: ContentFormat.SENML_CBOR,
        payload: senml([
          { path: [3, 0, 9], node: resourceNode(9, value.integer(80)) },
          { path: [3303, 0, 5700], node: resourceNode(5700, value.float(20)) },
        ]),
      };
    });
    const { current } = await server.observeComposite('obs', ['/3/0/9', '/3303/0/5700']);
    assert.deepEqual(current.value, { '/3/0/9': 80, '/3303/0/5700': 20 });
    const next = nextEvent(server, 'notification');
    await client.endpoint.notify(handle!, {
      code: '2.05',
      contentFormat: ContentFormat.SENML_CBOR,
      payload: senml([
        { path: [3, 0, 9], node: resourceNode(9, value.integer(79)) },
        { path: [3303, 0, 5700], node: resourceNode(5700, value.float(20.5)) },
      ]),
    });
    assert.deepEqual((await next)[0].value, { '/3/0/9': 79, '/3303/0/5700': 20.5 });
  });

  it('ends observations when the device answers an error notification, or re-registers', async () => {
    let handle: ObserverHandle | undefined;
    client.answer((req) => {
      handle = req.acceptObservation();
      return { code: '2.05', contentFormat: ContentFormat.TEXT, payload: '1' };
    });
    await server.observe('obs', '/3/0/9', { format: ContentFormat.TEXT });
    const ended = nextEvent(server, 'observationEnded');
    await client.endpoint.notify(handle!, { code: '4.04' });
    assert.match((await ended)[1], /error-response 4.04/);
    assert.equal(server.observations('obs').length, 0);

    await server.observe('obs', '/3/0/9', { format: ContentFormat.TEXT });
    const endedByReRegister = nextEvent(server, 'observationEnded');
    await client.register(['ep=obs', 'lt=60', 'lwm2m=1.1']);
    assert.match((await endedByReRegister)[1], /registered again/);
  });

  it('accepts Send from a registered client in SenML CBOR, SenML JSON and LwM2M CBOR', async () => {
    const reading = [{ path: [3303, 0], node: instanceNode(0, [resourceNode(5700, value.float(19.5), 1_700_000_000)]) }];
    for (const format of [ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON, ContentFormat.LWM2M_CBOR]) {
      const sent = nextEvent(server, 'send');
      const res = await client.send(codecFor(format).encode(reading), format);
      assert.equal(res.code, '2.04');
      const [event] = await sent;
      assert.equal(event.registration.endpoint, 'obs');
      assert.equal(event.format, format);
      assert.deepEqual(event.value, { '/3303/0': { 5700: 19.5 } });
    }
    const timed = nextEvent(server, 'send');
    await client.send(codecFor(ContentFormat.SENML_CBOR).encode(reading), ContentFormat.SENML_CBOR);
    const leaf = (await timed)[0].entries[0]?.node;
    assert.equal(leaf?.kind === 'instance' && (leaf.resources.get(5700) as { time?: number }).time, 1_700_000_000, 'timestamps are kept');
  });

  it('refuses Send from unknown senders, in other formats, or malformed', async () => {
    const stranger = await ScriptedClient.connect(server);
    try {
      assert.equal((await stranger.send(Buffer.from([0x80]), ContentFormat.SENML_CBOR)).code, '4.04');
    } finally {
      await stranger.close();
    }
    assert.equal((await client.send(Buffer.from('1'), ContentFormat.TEXT)).code, '4.15');
    assert.equal((await client.send(Buffer.from([0x9f, 0xa1]), ContentFormat.SENML_CBOR)).code, '4.00');
    await delay(5);
  });
});

describe('server: queue mode', () => {
  let server: Lwm2mServer;
  let client: ScriptedClient;

  beforeEach(async () => {
    server = await startServer({ queueMode: { awakeTimeMs: 300, queuedRequestTimeoutMs: 2000 } });
    client = await ScriptedClient.connect(server);
    client.answer(() => ({ code: '2.05', contentFormat: ContentFormat.TEXT, payload: '77' }));
  });
  afterEach(async () => {
    await client.close();
    await server.stop();
  });

  it('holds requests while the client sleeps and sends them in order when it wakes up', async () => {
    const sleeping = nextEvent(server, 'sleeping');
    await client.register(['ep=sleepy', 'lt=60', 'lwm2m=1.1', 'Q']);
    await sleeping;
    assert.equal(server.isAwake('sleepy'), false);
    client.requests.length = 0;
    const order: string[] = [];
    const a = server.read('sleepy', '/3/0/9', { format: ContentFormat.TEXT }).then(() => order.push('a'));
    const b = server.read('sleepy', '/3/0/1', { format: ContentFormat.TEXT }).then(() => order.push('b'));
    await delay(150);
    assert.equal(client.requests.length, 0, 'nothing is sent to a sleeping client');
    const awake = nextEvent(server, 'awake');
    await client.update();
    await awake;
    await Promise.all([a, b]);
    assert.deepEqual(client.requests.map((r) => r.path.join('/')), ['3/0/9', '3/0/1']);
    assert.deepEqual(order, ['a', 'b']);
  });

  it('fails queued requests that expire before the client wakes up', async () => {
    const sleeping = nextEvent(server, 'sleeping');
    await client.register(['ep=sleepy2', 'lt=60', 'lwm2m=1.0', 'b=UQ']);
    await sleeping;
    await assert.rejects(
      server.read('sleepy2', '/3/0/9', { queueTimeoutMs: 200 }),
      (err: Error & { code?: string }) => err.code === '5.04' && /did not wake up/.test(err.message),
    );
  });
});
