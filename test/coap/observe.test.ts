import assert from 'node:assert/strict';
import { once } from 'node:events';
import type * as dgram from 'node:dgram';
import type { CoapEndpoint } from '../../src/coap/endpoint.js';
import type { ObservationEnd } from '../../src/coap/observation.js';
import { isFresher } from '../../src/coap/observation.js';
import type { ObserverEndReason, ObserverHandle } from '../../src/coap/observer.js';
import { getObserve, setObserve, setUriPath } from '../../src/coap/options.js';
import { encodeMessage, parseMessage, EMPTY_BUFFER, type CoapMessage } from '../../src/coap/packet.js';
import { udpPeer } from '../../src/coap/transport.js';
import type { IncomingRequest } from '../../src/coap/api.js';
import { delay, endpoint, exchangeRaw, peerOf, pseudoRandomBytes, rawSocket, sha256, waitFor } from './helpers.js';

describe('coap/endpoint: observe', function () {
  this.timeout(10000);
  const open: CoapEndpoint[] = [];
  const closers: (() => void)[] = [];
  async function ep(options: Parameters<typeof endpoint>[0] = {}): Promise<CoapEndpoint> {
    const e = await endpoint(options);
    open.push(e);
    return e;
  }
  afterEach(async () => {
    for (const c of closers.splice(0)) c();
    await Promise.all(open.splice(0).map((e) => e.close()));
  });

  /** A server whose /temp resource accepts observations; `handles` collects the observers. */
  async function observableServer(payload: () => Buffer | string = () => '20', options: Parameters<typeof endpoint>[0] = {}) {
    const server = await ep(options);
    const handles: ObserverHandle[] = [];
    const requests: IncomingRequest[] = [];
    server.onRequest((req) => {
      requests.push(req);
      if (req.observe === 0) handles.push(req.acceptObservation());
      return { code: '2.05', contentFormat: 0, payload: payload() };
    });
    return { server, handles, requests };
  }

  it('delivers CON and NON notifications in order', async () => {
    const { server, handles } = await observableServer();
    const client = await ep();
    const obs = client.observe(peerOf(server), { path: '/3303/0/5700', accept: 0 });
    const got: string[] = [];
    obs.on('notification', (n) => got.push(n.payload.toString()));
    const first = await obs.ready;
    assert.equal(first.payload.toString(), '20');
    assert.ok(getObserve(first.options)! >= 0);
    assert.equal(obs.active, true);
    assert.equal(handles.length, 1);
    assert.equal(handles[0]!.active, true);
    assert.deepEqual(handles[0]!.path, ['3303', '0', '5700']);
    assert.equal(server.state.observers, 1);
    assert.equal(await server.notify(handles[0]!, { code: '2.05', payload: '21', confirmable: true }), true, 'CON acknowledged');
    assert.equal(await server.notify(handles[0]!, { code: '2.05', payload: '22' }), true);
    assert.equal(await server.notify(handles[0]!, { code: '2.05', payload: '23', confirmable: true }), true);
    await waitFor(() => got.length === 3, 1000, 'three notifications');
    assert.deepEqual(got, ['21', '22', '23']);
  });

  describe('against a scripted device', () => {
    let device: dgram.Socket;
    let client: CoapEndpoint;
    let clientPort = 0;
    let token = EMPTY_BUFFER;
    const fromClient: CoapMessage[] = [];

    beforeEach(async () => {
      device = await rawSocket();
      closers.push(() => device.close());
      client = await ep();
      fromClient.length = 0;
      device.on('message', (buf, rinfo) => {
        const m = parseMessage(buf);
        fromClient.push(m);
        clientPort = rinfo.port;
        if (m.code === '0.01' && getObserve(m.options) === 0) {
          token = m.token;
          device.send(notification('ACK', m.messageId, 10, 'a'), rinfo.port, rinfo.address);
        }
      });
    });

    function notification(type: CoapMessage['type'], mid: number, seq: number | undefined, payload: string): Buffer {
      const options: CoapMessage['options'] = [];
      if (seq !== undefined) setObserve(options, seq);
      return encodeMessage({ type, code: '2.05', messageId: mid, token, options, payload: Buffer.from(payload) });
    }

    function send(buf: Buffer): void {
      device.send(buf, clientPort, '127.0.0.1');
    }

    it('drops reordered notifications, acknowledges CON ones and follows sequence wrap-around', async () => {
      const obs = client.observe(udpPeer('127.0.0.1', device.address().port), { path: 'temp' });
      const got: string[] = [];
      const ends: ObservationEnd[] = [];
      obs.on('notification', (n) => got.push(n.payload.toString()));
      obs.on('end', (e) => ends.push(e));
      assert.equal((await obs.ready).payload.toString(), 'a');
      send(notification('NON', 100, 12, 'c'));
      send(notification('NON', 101, 11, 'b')); // older than 12: dropped
      send(notification('NON', 102, 13, 'd'));
      send(notification('CON', 103, 14, 'e'));
      send(notification('CON', 103, 14, 'e')); // duplicate message id: ACKed again, not delivered again
      send(notification('NON', 104, 14 + (1 << 23) - 4, 'f'));
      send(notification('NON', 105, 5, 'g')); // wrapped around: fresher than the previous one
      send(notification('NON', 106, undefined, 'h')); // no Observe: the last notification
      await waitFor(() => ends.length === 1, 1000, 'the end of the observation');
      assert.deepEqual(got, ['c', 'd', 'e', 'f', 'g', 'h']);
      assert.equal(ends[0]!.reason, 'completed');
      const acks = fromClient.filter((m) => m.type === 'ACK' && m.messageId === 103);
      assert.equal(acks.length, 2);
      assert.equal(client.stats.duplicates, 1);
      // The token is forgotten: a further notification is rejected.
      const reply = await exchangeRaw(device, notification('CON', 107, 20, 'i'), clientPort);
      assert.equal(reply?.type, 'RST');
    });

    it('ends the observation on an error notification', async () => {
      const obs = client.observe(udpPeer('127.0.0.1', device.address().port), { path: 'temp' });
      await obs.ready;
      const ended = once(obs, 'end') as Promise<[ObservationEnd]>;
      send(encodeMessage({ type: 'NON', code: '4.04', messageId: 200, token, options: [], payload: EMPTY_BUFFER }));
      const [end] = await ended;
      assert.equal(end.reason, 'error-response');
      assert.equal(end.response?.code, '4.04');
      assert.equal(obs.active, false);
    });
  });

  it('applies the sequence-number freshness rule of RFC 7641', () => {
    assert.equal(isFresher(1, 0, 2, 0), true);
    assert.equal(isFresher(2, 0, 1, 0), false);
    assert.equal(isFresher(5, 0, 5, 0), false);
    assert.equal(isFresher(0xffffff, 0, 3, 0), true);
    assert.equal(isFresher(3, 0, 0xffffff, 0), false);
    assert.equal(isFresher(2, 0, 1, 128_001), true, 'after 128 s any notification is fresh');
  });

  it('cancels by deregistering (GET with Observe=1)', async () => {
    const { server, handles, requests } = await observableServer();
    const client = await ep();
    const obs = client.observe(peerOf(server), { path: 'temp' });
    const ends: ObservationEnd[] = [];
    obs.on('end', (e) => ends.push(e));
    await obs.ready;
    const handleEnd = once(handles[0]!, 'end') as Promise<[ObserverEndReason]>;
    await obs.cancel();
    assert.deepEqual(await handleEnd, ['deregistered']);
    assert.equal(requests[1]!.observe, 1);
    assert.deepEqual(requests[1]!.token, obs.token);
    assert.deepEqual(ends, [{ reason: 'cancelled' }]);
    assert.equal(server.state.observers, 0);
    assert.equal(await server.notify(handles[0]!, { code: '2.05', payload: 'late' }), false);
  });

  it('cancels by forgetting: the next NON or CON notification gets RST and ends the observer', async () => {
    for (const confirmable of [false, true]) {
      const { server, handles } = await observableServer();
      const client = await ep();
      const obs = client.observe(peerOf(server), { path: 'temp' });
      let notified = 0;
      obs.on('notification', () => notified++);
      await obs.ready;
      await obs.cancel('forget');
      const handleEnd = once(handles[0]!, 'end') as Promise<[ObserverEndReason]>;
      const delivered = await server.notify(handles[0]!, { code: '2.05', payload: 'x', confirmable });
      assert.equal(delivered, !confirmable, 'a NON is sent; a CON is reset');
      assert.deepEqual(await handleEnd, ['reset']);
      assert.equal(notified, 0);
      assert.equal(server.state.observers, 0);
    }
  });

  it('removes an observer whose CON notification is never acknowledged', async () => {
    const { server, handles } = await observableServer(() => '1', { parameters: { ackTimeoutMs: 10, ackRandomFactor: 1, maxRetransmit: 2 } });
    const client = await ep();
    const obs = client.observe(peerOf(server), { path: 'temp' });
    await obs.ready;
    await client.close(); // the observer disappears without a word
    const started = Date.now();
    assert.equal(await server.notify(handles[0]!, { code: '2.05', payload: '2', confirmable: true }), false);
    assert.ok(Date.now() - started < 1000);
    assert.equal(handles[0]!.state, 'ended');
    assert.equal(server.state.observers, 0);
    assert.equal(server.stats.timeouts, 1);
  });

  it('resolves a superseded CON notification false, and pending ones false on close', async () => {
    const { server, handles } = await observableServer(() => '1', { parameters: { ackTimeoutMs: 30, ackRandomFactor: 1, maxRetransmit: 3 } });
    const client = await ep();
    const obs = client.observe(peerOf(server), { path: 'temp' });
    await obs.ready;
    await client.close();
    const first = server.notify(handles[0]!, { code: '2.05', payload: '2', confirmable: true });
    const second = server.notify(handles[0]!, { code: '2.05', payload: '3', confirmable: true });
    assert.equal(await first, false, 'superseded by the second');
    await server.close();
    assert.equal(await second, false, 'abandoned by close');
    assert.equal(handles[0]!.state, 'ended');
  });

  it('delivers notifications larger than one datagram (first block, then Block2 GETs)', async () => {
    let value = pseudoRandomBytes(3000, 1);
    const { server, handles, requests } = await observableServer(() => value);
    const client = await ep();
    const obs = client.observe(peerOf(server), { path: '/19/0/0' });
    const got: Buffer[] = [];
    obs.on('notification', (n) => got.push(n.payload));
    const first = await obs.ready;
    assert.equal(sha256(first.payload), sha256(value), 'the first response is assembled too');
    value = pseudoRandomBytes(5000, 2);
    assert.equal(await server.notify(handles[0]!, { code: '2.05', payload: value, confirmable: true }), true);
    await waitFor(() => got.length === 1, 2000, 'the large notification');
    assert.equal(sha256(got[0]!), sha256(value));
    assert.equal(requests.length, 1, 'later blocks come from the cached representation');
    assert.ok(server.stats.received > 6);
  });

  it('ends both sides when the server sends an error notification', async () => {
    const { server, handles } = await observableServer();
    const client = await ep();
    const obs = client.observe(peerOf(server), { path: 'temp' });
    await obs.ready;
    const ended = once(obs, 'end') as Promise<[ObservationEnd]>;
    const handleEnd = once(handles[0]!, 'end') as Promise<[ObserverEndReason]>;
    await server.notify(handles[0]!, { code: '4.04', confirmable: true });
    assert.equal((await ended)[0].reason, 'error-response');
    assert.deepEqual(await handleEnd, ['rejected']);
  });

  it('cancels an observation whose registration is still in flight', async () => {
    const server = await ep();
    const handles: ObserverHandle[] = [];
    server.onRequest(async (req) => {
      if (req.observe === 0) {
        handles.push(req.acceptObservation());
        await delay(50);
      }
      return { code: '2.05', payload: 'v' };
    });
    const client = await ep();
    const obs = client.observe(peerOf(server), { path: 'temp' });
    const handleEnd = new Promise<ObserverEndReason>((resolve) => setTimeout(() => handles[0]!.once('end', resolve), 10));
    await obs.cancel(); // before the first response
    assert.equal(obs.active, false);
    assert.deepEqual(await handleEnd, 'deregistered');
    assert.equal(client.state.pendingRequests, 0, 'the token is not kept');
  });

  it('takes up an observation after a restart (resumeObservation)', async () => {
    const { server, handles } = await observableServer();
    let client = await ep();
    const port = client.address().port;
    const obs = client.observe(peerOf(server), { path: '/3303/0/5700' });
    await obs.ready;
    const token = obs.token;
    await client.close(); // "restart": the observation is only known by its token now
    open.splice(open.indexOf(client), 1);
    client = await ep({ port });
    const resumed = client.resumeObservation(peerOf(server), { path: '/3303/0/5700', token });
    const got: string[] = [];
    resumed.on('notification', (n) => got.push(n.payload.toString()));
    assert.equal(resumed.active, true);
    assert.equal(await server.notify(handles[0]!, { code: '2.05', payload: 'after', confirmable: true }), true);
    assert.equal((await resumed.ready).payload.toString(), 'after');
    assert.deepEqual(got, ['after']);
    const handleEnd = once(handles[0]!, 'end') as Promise<[ObserverEndReason]>;
    await resumed.cancel();
    assert.deepEqual(await handleEnd, ['deregistered']);
  });

  it('reports an observation the server did not accept', async () => {
    const server = await ep();
    server.onRequest(() => ({ code: '2.05', payload: 'plain' }));
    const client = await ep();
    const obs = client.observe(peerOf(server), { path: 'temp' });
    const ended = once(obs, 'end') as Promise<[ObservationEnd]>;
    const first = await obs.ready;
    assert.equal(first.payload.toString(), 'plain');
    assert.equal(obs.active, false);
    assert.equal((await ended)[0].reason, 'not-established');
    assert.equal(client.state.pendingRequests, 0);
  });

  it('replaces an observation registered again with the same token, and deregisters on a plain GET with it', async () => {
    const { server, handles } = await observableServer();
    const sock = await rawSocket();
    closers.push(() => sock.close());
    const options: CoapMessage['options'] = [];
    setUriPath(options, ['temp']);
    setObserve(options, 0);
    const reg = (mid: number): CoapMessage => ({ type: 'CON', code: '0.01', messageId: mid, token: Buffer.from('t1'), options, payload: EMPTY_BUFFER });
    const r1 = await exchangeRaw(sock, encodeMessage(reg(1)), server.address().port);
    assert.notEqual(getObserve(r1!.options), undefined);
    const firstEnd = once(handles[0]!, 'end') as Promise<[ObserverEndReason]>;
    await exchangeRaw(sock, encodeMessage(reg(2)), server.address().port);
    assert.deepEqual(await firstEnd, ['replaced']);
    assert.equal(handles[1]!.active, true);
    assert.equal(server.state.observers, 1);
    const plain: CoapMessage['options'] = [];
    setUriPath(plain, ['temp']);
    const secondEnd = once(handles[1]!, 'end') as Promise<[ObserverEndReason]>;
    await exchangeRaw(sock, encodeMessage({ ...reg(3), options: plain }), server.address().port);
    assert.deepEqual(await secondEnd, ['deregistered']);
    assert.equal(server.state.observers, 0);
    await delay(1);
  });
});
