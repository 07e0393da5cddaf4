/**
 * node-coap (npm `coap` 1.5) as an independent peer, in both directions.
 * Its traps (LWM2M-NOTES.md): options must be Buffers, its Agent gets its
 * own socket (an Agent without one closes it when idle), a lost exchange
 * errors only after EXCHANGE_LIFETIME (mocha's timeout guards us here),
 * notifications over ~1 KiB fail on its side, and Agent.close(callback)
 * never calls back when the Agent was given a socket.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type * as dgram from 'node:dgram';
import * as coap from 'coap';
import type { CoapEndpoint } from '../../src/coap/endpoint.js';
import type { ObserverEndReason, ObserverHandle } from '../../src/coap/observer.js';
import { getContentFormat } from '../../src/coap/options.js';
import { udpPeer } from '../../src/coap/transport.js';
import { endpoint, pseudoRandomBytes, rawSocket, sha256, waitFor } from './helpers.js';

type NodeCoapResponse = coap.IncomingMessage;

function nodeCoapRequest(agent: coap.Agent, params: coap.CoapRequestParams, body?: Buffer, setup?: (req: coap.OutgoingMessage) => void): Promise<NodeCoapResponse> {
  return new Promise((resolve, reject) => {
    const req = agent.request({ ...params, agent });
    setup?.(req);
    req.on('response', resolve);
    req.on('error', reject);
    req.end(body);
  });
}

describe('coap/endpoint with node-coap as the peer', function () {
  this.timeout(15000);
  let ours: CoapEndpoint;
  let agentSocket: dgram.Socket;
  let agent: coap.Agent;
  let serverSocket: dgram.Socket;
  let server: coap.Server;

  beforeEach(async () => {
    ours = await endpoint();
    agentSocket = await rawSocket();
    agent = new coap.Agent({ socket: agentSocket });
    serverSocket = await rawSocket();
    server = coap.createServer();
    server.listen(serverSocket);
  });

  afterEach(async () => {
    await ours.close();
    agent.close(); // with a socket of ours it never calls back: don't wait for it
    server.close();
    agentSocket.close();
    serverSocket.close();
  });

  describe('node-coap client → our endpoint', () => {
    it('GETs a resource', async () => {
      ours.onRequest((req) => ({ code: '2.05', contentFormat: 0, payload: `${req.method} ${req.path.join('/')} ${req.query.join('&')}` }));
      const res = await nodeCoapRequest(agent, { hostname: '127.0.0.1', port: ours.address().port, pathname: '/3/0/0', query: 'a=1&b' });
      assert.equal(res.code, '2.05');
      assert.equal(res.payload.toString(), 'GET 3/0/0 a=1&b');
      assert.equal(getContentFormatOf(res), 0);
    });

    it('POSTs a large body with Block1', async () => {
      const body = pseudoRandomBytes(100_000, 11);
      let got: Buffer | undefined;
      ours.onRequest((req) => {
        got = req.payload;
        return { code: '2.04', payload: 'stored' };
      });
      const res = await nodeCoapRequest(agent, { hostname: '127.0.0.1', port: ours.address().port, pathname: '/5/0/0', method: 'POST' }, body, (req) =>
        req.setOption('Block1', Buffer.of(6)),
      );
      assert.equal(res.code, '2.04');
      assert.equal(res.payload.toString(), 'stored');
      assert.equal(sha256(got!), sha256(body));
      assert.equal(ours.stats.requestsHandled, 1);
    });

    it('GETs a large representation with Block2', async () => {
      const body = pseudoRandomBytes(20_000, 12);
      ours.onRequest(() => ({ code: '2.05', payload: body }));
      const res = await nodeCoapRequest(agent, { hostname: '127.0.0.1', port: ours.address().port, pathname: '/big' });
      assert.equal(sha256(res.payload), sha256(body));
    });

    it('observes a resource and deregisters', async () => {
      const handles: ObserverHandle[] = [];
      ours.onRequest((req) => {
        if (req.observe === 0) handles.push(req.acceptObservation());
        return { code: '2.05', payload: 'v0' };
      });
      const req = agent.request({ hostname: '127.0.0.1', port: ours.address().port, pathname: '/3303/0/5700', observe: true, agent });
      const resP = once(req, 'response') as Promise<[coap.ObserveReadStream]>;
      req.end();
      const [stream] = await resP;
      const got: string[] = [];
      stream.on('data', (chunk: Buffer) => got.push(chunk.toString()));
      await waitFor(() => got.length === 1, 2000, 'the first response');
      assert.equal(await ours.notify(handles[0]!, { code: '2.05', payload: 'v1', confirmable: true }), true);
      assert.equal(await ours.notify(handles[0]!, { code: '2.05', payload: 'v2' }), true);
      await waitFor(() => got.length === 3, 2000, 'two notifications');
      assert.deepEqual(got, ['v0', 'v1', 'v2']);
      const ended = once(handles[0]!, 'end') as Promise<[ObserverEndReason]>;
      stream.close(true); // eager deregistration: GET with Observe=1
      assert.deepEqual(await ended, ['deregistered']);
    });
  });

  describe('our endpoint → node-coap server', () => {
    const peer = (): ReturnType<typeof udpPeer> => udpPeer('127.0.0.1', serverSocket.address().port);

    it('GETs and POSTs', async () => {
      server.on('request', (req: coap.IncomingMessage, res: coap.OutgoingMessage) => {
        res.setOption('Content-Format', 'text/plain');
        res.code = req.method === 'POST' ? '2.04' : '2.05';
        res.end(`${req.method} ${req.url} ${req.payload.toString()}`);
      });
      const get = await ours.request(peer(), { path: '/3/0/1', query: ['x=1'] });
      assert.equal(get.code, '2.05');
      assert.equal(get.payload.toString(), 'GET /3/0/1?x=1 ');
      assert.equal(getContentFormat(get.options), 0);
      const post = await ours.request(peer(), { method: 'POST', path: '/3/0/4', payload: 'args' });
      assert.equal(post.code, '2.04');
      assert.equal(post.payload.toString(), 'POST /3/0/4 args');
    });

    it('fetches a large response through node-coap’s Block2', async () => {
      const body = pseudoRandomBytes(30_000, 13);
      server.on('request', (_req: coap.IncomingMessage, res: coap.OutgoingMessage) => res.end(body));
      const res = await ours.request(peer(), { path: '/fw' });
      assert.equal(sha256(res.payload), sha256(body));
    });

    it('PUTs a large body with Block1 to node-coap', async () => {
      const body = pseudoRandomBytes(30_000, 14);
      let got: Buffer | undefined;
      server.on('request', (req: coap.IncomingMessage, res: coap.OutgoingMessage) => {
        got = req.payload;
        res.code = '2.04';
        res.end();
      });
      const res = await ours.request(peer(), { method: 'PUT', path: '/5/0/0', payload: body });
      assert.equal(res.code, '2.04');
      assert.equal(sha256(got!), sha256(body));
    });

    it('observes a node-coap resource and cancels by forgetting (RST ends it on node-coap’s side)', async () => {
      let stream: coap.OutgoingMessage | undefined;
      server.on('request', (req: coap.IncomingMessage, res: coap.OutgoingMessage) => {
        if (req.headers.Observe === 0) {
          stream = res;
          res.write('n0');
          return;
        }
        res.end('plain');
      });
      const obs = ours.observe(peer(), { path: '/temp' });
      const got: string[] = [];
      obs.on('notification', (n) => got.push(n.payload.toString()));
      const first = await obs.ready;
      assert.equal(first.payload.toString(), 'n0');
      assert.equal(obs.active, true);
      stream!.write('n1'); // CON, because the registration was CON: we acknowledge it
      stream!.write('n2');
      await waitFor(() => got.length === 2, 3000, 'two notifications');
      assert.deepEqual(got, ['n1', 'n2']);
      await obs.cancel('forget');
      const finished = once(stream!, 'finish');
      stream!.write('n3');
      await finished;
      assert.deepEqual(got, ['n1', 'n2']);
      assert.ok(ours.stats.resetsSent >= 1);
    });
  });
});

function getContentFormatOf(res: NodeCoapResponse): unknown {
  return (res.headers as Record<string, unknown>)['Content-Format'] === 'text/plain' ? 0 : (res.headers as Record<string, unknown>)['Content-Format'];
}
