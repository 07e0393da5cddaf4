import assert from 'node:assert/strict';
import type { IncomingRequest } from '../../src/coap/api.js';
import type { ObserverHandle } from '../../src/coap/observer.js';
import { codecFor, ContentFormat } from '../../src/formats/index.js';
import { resourceNode, value } from '../../src/model/value.js';
import type { ScriptedClient } from '../server/helpers.js';
import { delay, eventually, helper, Inbox, lastStatus, loadFlow, registerDevice, serverConfig, serverOf, TAB, tempDir, warnings } from './helpers.js';

interface Observed {
  handles: ObserverHandle[];
  requests: IncomingRequest[];
}

/** Device side: accepts every observation, answers with the current temperature. */
function acceptObservations(client: ScriptedClient, current = 21.5): Observed {
  const observed: Observed = { handles: [], requests: [] };
  client.answer((req) => {
    observed.requests.push(req);
    if (req.method === 'PUT') return { code: '2.04' }; // Write-Attributes
    if (req.observe === 0) {
      observed.handles.push(req.acceptObservation());
      if (req.method === 'FETCH') {
        return {
          code: '2.05',
          contentFormat: ContentFormat.SENML_CBOR,
          payload: codecFor(ContentFormat.SENML_CBOR).encode([
            { path: [3, 0, 9], node: resourceNode(9, value.integer(80)) },
            { path: [3303, 0, 5700], node: resourceNode(5700, value.float(current)) },
          ]),
        };
      }
      return { code: '2.05', contentFormat: ContentFormat.TEXT, payload: String(current) };
    }
    if (req.observe === 1) return { code: '2.05', contentFormat: ContentFormat.TEXT, payload: String(current) };
    return { code: '4.04' };
  });
  return observed;
}

function notify(client: ScriptedClient, handle: ObserverHandle, temperature: number): Promise<boolean> {
  return client.endpoint.notify(handle, { code: '2.05', contentFormat: ContentFormat.TEXT, payload: String(temperature), confirmable: true });
}

function observeNodeDef(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, type: 'lwm2m-observe', z: 'flow1', server: 'srv', endpoint: '', paths: '/3303/0/5700', composite: false, format: 'text', auto: false, ...extra, wires: [[`${id}-out`]] };
}

function observeFlow(...nodes: Record<string, unknown>[]): object[] {
  return [
    TAB,
    serverConfig(),
    ...nodes.flatMap((n) => [n, { id: `${String(n['id'])}-out`, type: 'helper', z: 'flow1' }]),
    { id: 'catch', type: 'catch', z: 'flow1', scope: null, uncaught: false, x: 100, y: 100, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'flow1' },
  ];
}

describe('nodes: lwm2m-observe', function () {
  this.timeout(10_000);
  let clients: ScriptedClient[] = [];
  afterEach(async () => {
    for (const c of clients) await c.close();
    clients = [];
    await helper.unload();
  });

  async function device(endpoint = 'dev', options: { objects?: string; version?: string } = {}): Promise<ScriptedClient> {
    const client = await registerDevice('srv', endpoint, options);
    clients.push(client);
    return client;
  }

  it('observes on a message, emits the current value, then every notification', async () => {
    await loadFlow(observeFlow(observeNodeDef('obs')));
    const out = new Inbox('obs-out');
    const client = await device();
    const observed = acceptObservations(client);
    helper.getNode('obs')!.receive({ endpoint: 'dev', correlation: 42 });

    const first = await out.next();
    assert.equal(first.payload, 21.5);
    assert.equal(first.topic, 'dev/3303/0/5700');
    assert.equal(first['correlation'], 42, 'the triggering message travels on');
    const meta = first.lwm2m as Record<string, unknown>;
    assert.equal(meta['operation'], 'observe');
    assert.equal(meta['name'], 'Sensor Value');
    assert.equal(meta['objectName'], 'Temperature');
    assert.equal(typeof meta['observation'], 'string');

    await notify(client, observed.handles[0]!, 22.25);
    const next = await out.next();
    assert.equal(next.payload, 22.25);
    assert.equal(next.topic, 'dev/3303/0/5700');
    assert.equal(next.path, '/3303/0/5700');
    const nextMeta = next.lwm2m as Record<string, unknown>;
    assert.equal(nextMeta['operation'], 'notify');
    assert.equal(nextMeta['observation'], meta['observation']);
    assert.equal(nextMeta['code'], '2.05');
    assert.equal(nextMeta['format'], 'text');
    await eventually(() => lastStatus('obs')?.text === 'observing 1', 'observing status');
  });

  it('writes the configured attributes first, and cancels on msg.cancel', async () => {
    await loadFlow(observeFlow(observeNodeDef('obs', { endpoint: 'dev', pmin: '5', pmax: '60', st: '0.5' })));
    const out = new Inbox('obs-out');
    const client = await device();
    const observed = acceptObservations(client);
    const obs = helper.getNode('obs')!;
    obs.receive({});
    await out.next();
    const put = observed.requests.find((r) => r.method === 'PUT');
    assert.deepEqual([...(put?.query ?? [])].sort(), ['pmax=60', 'pmin=5', 'st=0.5']);

    obs.receive({ cancel: true });
    await eventually(() => observed.requests.some((r) => r.observe === 1), 'active cancel (GET with Observe=1)');
    assert.equal((await serverOf()).observations('dev').length, 0);
    await notify(client, observed.handles[0]!, 30).catch(() => false);
    assert.deepEqual(await out.drain(150), [], 'nothing after the cancel');
  });

  it('observes every device as it registers, if it has the object, and again when it re-registers', async () => {
    await loadFlow(observeFlow(observeNodeDef('obs', { auto: true })));
    const out = new Inbox('obs-out');
    const server = await serverOf();
    const without = await device('no-sensor', { objects: '</1/0>,</3/0>' });
    const withoutSeen = acceptObservations(without);

    const client = await registerDevice('srv', 'with-sensor').then((c) => (clients.push(c), c));
    const observed = acceptObservations(client);
    // the node reacts to the registration event: its first message is the current value
    const first = await out.next();
    assert.equal(first.endpoint, 'with-sensor');
    assert.equal((first.lwm2m as { operation: string }).operation, 'observe');
    assert.equal(withoutSeen.requests.length, 0, 'a device without /3303 is left alone');
    assert.equal(server.observations('with-sensor').length, 1);

    await client.register(['ep=with-sensor', 'lt=60', 'lwm2m=1.1'], '</1/0>,</3/0>,</3303/0>');
    const again = await out.next();
    assert.equal((again.lwm2m as { operation: string }).operation, 'observe');
    await eventually(() => server.observations('with-sensor').length === 1, 'one observation after re-registering');
    await notify(client, observed.handles.at(-1)!, 25);
    assert.equal((await out.next()).payload, 25);
  });

  it('keeps the server on a modified-nodes deploy and observes devices already registered', async () => {
    await loadFlow(observeFlow());
    const server = await serverOf();
    const client = await device();
    const observed = acceptObservations(client);

    // add an automatic observe node; the server config node is unchanged
    await helper.setFlows(observeFlow(observeNodeDef('obs', { auto: true })), 'nodes');
    assert.equal(await serverOf(), server, 'the same engine: socket and registrations kept');
    const out = new Inbox('obs-out');
    const first = await out.next();
    assert.equal(first.endpoint, 'dev');
    assert.equal(server.registrations().length, 1);

    // remove it again: its observation is forgotten passively (no request to the device)
    const before = observed.requests.length;
    await helper.setFlows(observeFlow(), 'nodes');
    await eventually(() => server.observations('dev').length === 0, 'observation forgotten on close');
    assert.equal(observed.requests.length, before, 'a passive cancel sends nothing');
  });

  it('adopts an observation nobody owns instead of observing twice', async () => {
    await loadFlow(observeFlow());
    const server = await serverOf();
    const client = await device();
    const observed = acceptObservations(client);
    const { observation } = await server.observe('dev', '/3303/0/5700', { format: ContentFormat.TEXT });
    const requestsBefore = observed.requests.length;

    await helper.setFlows(observeFlow(observeNodeDef('obs', { auto: true })), 'nodes');
    const out = new Inbox('obs-out');
    await eventually(() => lastStatus('obs')?.text === 'observing 1', 'adopted');
    assert.equal(observed.requests.length, requestsBefore, 'no second Observe was sent');
    await notify(client, observed.handles[0]!, 19);
    const msg = await out.next();
    assert.equal(msg.payload, 19);
    assert.equal((msg.lwm2m as { observation: string }).observation, observation.id);
  });

  it('keeps observations across a Node-RED restart with persistence, and takes them over', async () => {
    const tmp = tempDir('lwm2m-observe-');
    try {
      const flowWith = (port: string) => [
        TAB,
        serverConfig('srv', { persist: true, port }),
        observeNodeDef('obs', { auto: true }),
        { id: 'obs-out', type: 'helper', z: 'flow1' },
      ];
      await loadFlow(flowWith('0'), { userDir: tmp.dir });
      const port = (await serverOf()).address().port;
      let out = new Inbox('obs-out');
      const client = await device();
      const observed = acceptObservations(client);
      assert.equal((await out.next()).endpoint, 'dev');
      await helper.unload(); // Node-RED stops: server and observe node close together

      await loadFlow(flowWith(String(port)), { userDir: tmp.dir });
      out = new Inbox('obs-out');
      const server = await serverOf();
      assert.equal(server.observations('dev').length, 1, 'the observation came back from the file');
      await eventually(() => lastStatus('obs')?.text === 'observing 1', 'taken over by the observe node');
      assert.equal(observed.requests.filter((r) => r.observe === 0).length, 1, 'no second Observe after the restart');
      await notify(client, observed.handles[0]!, 18.5);
      assert.equal((await out.next()).payload, 18.5);
    } finally {
      await helper.unload();
      tmp.remove();
    }
  });

  it('forgets the observations of a deleted node even when the server restarts in the same deploy', async () => {
    const tmp = tempDir('lwm2m-observe-');
    try {
      const withObserver = [TAB, serverConfig('srv', { persist: true }), observeNodeDef('obs', { auto: true }), { id: 'obs-out', type: 'helper', z: 'flow1' }];
      await loadFlow(withObserver, { userDir: tmp.dir });
      const first = await serverOf();
      const out = new Inbox('obs-out');
      const client = await device();
      acceptObservations(client);
      await out.next();
      assert.equal(first.observations('dev').length, 1);

      // one deploy: the server's settings change (it restarts) and the observe node is deleted
      await helper.setFlows([TAB, serverConfig('srv', { persist: true, timeout: '2' })], 'nodes');
      const second = await serverOf();
      assert.notEqual(second, first, 'the changed server was restarted');
      assert.deepEqual(second.registrations().map((r) => r.endpoint), ['dev'], 'the registration was kept');
      assert.equal(second.observations('dev').length, 0, 'the deleted node\'s observation did not come back');
    } finally {
      await helper.unload();
      tmp.remove();
    }
  });

  it('emits only its own notifications when two nodes observe the same resource', async () => {
    await loadFlow(observeFlow(observeNodeDef('a', { endpoint: 'dev' }), observeNodeDef('b', { endpoint: 'dev' })));
    const outA = new Inbox('a-out');
    const outB = new Inbox('b-out');
    const client = await device();
    const observed = acceptObservations(client);
    helper.getNode('a')!.receive({});
    await outA.next();
    helper.getNode('b')!.receive({});
    await outB.next();
    assert.equal(observed.handles.length, 2);

    await notify(client, observed.handles[0]!, 30);
    assert.equal((await outA.next()).payload, 30);
    assert.deepEqual(await outB.drain(100), []);
  });

  it('observes several paths as one composite observation', async () => {
    await loadFlow(observeFlow(observeNodeDef('obs', { paths: '/3/0/9, /3303/0/5700', composite: true, format: '' })));
    const out = new Inbox('obs-out');
    const client = await device();
    const observed = acceptObservations(client);
    helper.getNode('obs')!.receive({ endpoint: 'dev' });
    const first = await out.next();
    assert.deepEqual(first.payload, { '/3/0/9': 80, '/3303/0/5700': 21.5 });
    assert.equal(first.topic, 'dev/composite');
    assert.equal(observed.requests[0]?.method, 'FETCH');
  });

  it('shows bad settings in its status for good, and fails messages with them', async () => {
    await loadFlow(observeFlow(observeNodeDef('bad', { pmin: '60', pmax: '5' }), observeNodeDef('nopath', { auto: true, paths: '' })));
    const caught = new Inbox('caught');
    await serverOf();
    await delay(20);
    assert.equal(lastStatus('bad')?.fill, 'red');
    assert.match(lastStatus('bad')?.text ?? '', /^4\.00 pmax \(5\) must not be less than pmin/);
    assert.match(lastStatus('nopath')?.text ?? '', /^4\.00 no paths to observe on every registration$/);
    helper.getNode('bad')!.receive({ endpoint: 'dev' });
    assert.equal(((await caught.next()).lwm2m as { code: string }).code, '4.00');
  });

  it('reports failures with msg.lwm2m.code and warns when the device ends an observation', async () => {
    await loadFlow(observeFlow(observeNodeDef('obs')));
    const caught = new Inbox('caught');
    const out = new Inbox('obs-out');
    const obs = helper.getNode('obs')!;
    obs.receive({ endpoint: 'ghost' });
    const failure = await caught.next();
    assert.equal((failure.lwm2m as { code: string }).code, '4.04');
    assert.equal(lastStatus('obs')?.fill, 'red');

    obs.receive({ endpoint: 'dev', attributes: { pmin: -1 } });
    assert.equal(((await caught.next()).lwm2m as { code: string }).code, '4.00');

    const client = await device();
    const observed = acceptObservations(client);
    obs.receive({ endpoint: 'dev' });
    await out.next();
    await client.endpoint.notify(observed.handles[0]!, { code: '4.04' });
    await eventually(() => warnings('obs').some((w) => /ended: error-response 4\.04/.test(String(w))), 'warning about the ended observation');
    await delay(10);
    assert.equal(lastStatus('obs')?.fill, 'green');
  });
});
