/**
 * A scripted LwM2M client for server tests: a real CoapEndpoint on a
 * loopback socket that registers with the server and answers the server's
 * requests with whatever each test scripts.
 */
import type { CoapResponse, IncomingRequest, OutgoingResponse } from '../../src/coap/api.js';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import { getLocationPath } from '../../src/coap/options.js';
import { udpPeer, type Peer } from '../../src/coap/transport.js';
import { Lwm2mServer, type Lwm2mServerEvents, type Lwm2mServerOptions } from '../../src/server/lwm2m-server.js';

export const FAST = { ackTimeoutMs: 40, ackRandomFactor: 1.5, maxRetransmit: 2, nstart: Infinity, maxLatencyMs: 1000 };

export async function startServer(options: Lwm2mServerOptions = {}): Promise<Lwm2mServer> {
  const server = new Lwm2mServer({ address: '127.0.0.1', port: 0, requestTimeoutMs: 1500, transmission: FAST, ...options });
  await server.start();
  return server;
}

type Handler = (req: IncomingRequest) => OutgoingResponse | Promise<OutgoingResponse>;

export class ScriptedClient {
  readonly requests: IncomingRequest[] = [];
  location: string[] = [];
  private handler: Handler = () => ({ code: '4.04' });

  private constructor(readonly endpoint: CoapEndpoint, readonly server: Peer) {
    endpoint.onRequest((req) => {
      this.requests.push(req);
      return this.handler(req);
    });
  }

  static async connect(server: Lwm2mServer): Promise<ScriptedClient> {
    const endpoint = await CoapEndpoint.udp({ address: '127.0.0.1', port: 0, parameters: FAST, requestTimeoutMs: 1500 });
    return new ScriptedClient(endpoint, udpPeer('127.0.0.1', server.address().port));
  }

  /** Answers the server's requests with `handler`. */
  answer(handler: Handler): void {
    this.handler = handler;
  }

  async register(query: string[], body = '</1/0>,</3/0>'): Promise<CoapResponse> {
    const res = await this.endpoint.request(this.server, { method: 'POST', path: ['rd'], query, payload: body, contentFormat: 40 });
    if (res.code === '2.01') this.location = getLocationPath(res.options);
    return res;
  }

  update(query: string[] = [], body?: string): Promise<CoapResponse> {
    return this.endpoint.request(this.server, {
      method: 'POST',
      path: this.location,
      query,
      ...(body !== undefined ? { payload: body, contentFormat: 40 } : {}),
    });
  }

  deregister(): Promise<CoapResponse> {
    return this.endpoint.request(this.server, { method: 'DELETE', path: this.location });
  }

  send(payload: Buffer, contentFormat: number): Promise<CoapResponse> {
    return this.endpoint.request(this.server, { method: 'POST', path: ['dp'], payload, contentFormat });
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}

/** Resolves with the arguments of the next `event` of the server. */
export function nextEvent<K extends keyof Lwm2mServerEvents>(server: Lwm2mServer, event: K, timeoutMs = 3000): Promise<Lwm2mServerEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${String(event)}' event within ${timeoutMs} ms`)), timeoutMs);
    (server.once as (e: K, l: (...args: Lwm2mServerEvents[K]) => void) => void)(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
