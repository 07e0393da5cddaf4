/**
 * Helpers for the client-side bootstrap tests: a scripted Bootstrap-Server
 * (our own CoapEndpoint: it records what the client asks and sends the
 * bootstrap operations a test chooses), event waiting with deadlines, and a
 * client with fast test timings.
 */
import { EventEmitter } from 'node:events';
import type { CoapRequest, CoapResponse, IncomingRequest, OutgoingResponse } from '../../src/coap/api.js';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import type { Peer } from '../../src/coap/transport.js';
import { Lwm2mClient, type Lwm2mClientOptions } from '../../src/client/client.js';

/** Fast CoAP timings for loopback tests. */
export const FAST = { ackTimeoutMs: 150, ackRandomFactor: 1.5, maxRetransmit: 2, nstart: Infinity, maxLatencyMs: 1000 };

export interface Uplink {
  readonly method: string;
  readonly path: string;
  readonly query: readonly string[];
  readonly accept: number | undefined;
  readonly peer: Peer;
  readonly at: number;
}

/**
 * A Bootstrap-Server whose every move is scripted: `respond` answers the
 * client's Bootstrap-(Pack-)Requests (2.04 by default), `send` sends a
 * bootstrap operation to the client.
 */
export class ScriptedBootstrapServer extends EventEmitter<{ uplink: [Uplink] }> {
  readonly uplinks: Uplink[] = [];
  respond: (req: IncomingRequest) => OutgoingResponse = () => ({ code: '2.04' });
  clientPeer: Peer | undefined;

  private constructor(readonly endpoint: CoapEndpoint) {
    super();
    endpoint.onRequest((req) => {
      const uplink: Uplink = { method: req.method, path: '/' + req.path.join('/'), query: req.query, accept: req.accept, peer: req.peer, at: Date.now() };
      this.uplinks.push(uplink);
      this.clientPeer = req.peer;
      const answer = this.respond(req);
      setImmediate(() => this.emit('uplink', uplink));
      return answer;
    });
  }

  static async start(): Promise<ScriptedBootstrapServer> {
    return new ScriptedBootstrapServer(await CoapEndpoint.udp({ address: '127.0.0.1', port: 0, parameters: FAST, requestTimeoutMs: 1500 }));
  }

  get uri(): string {
    return `coap://127.0.0.1:${this.endpoint.address().port}`;
  }

  requests(path = '/bs'): Uplink[] {
    return this.uplinks.filter((u) => u.path === path);
  }

  /** Resolves with the next uplink to `path` (or one already received beyond `since`). */
  waitFor(path: string, timeoutMs = 4000, since = 0): Promise<Uplink> {
    const found = this.uplinks.slice(since).find((u) => u.path === path);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('uplink', listener);
        reject(new Error(`no request to ${path} within ${timeoutMs} ms (got ${this.uplinks.map((u) => `${u.method} ${u.path}`).join(', ') || 'nothing'})`));
      }, timeoutMs);
      const listener = (u: Uplink): void => {
        if (u.path !== path || this.uplinks.indexOf(u) < since) return;
        clearTimeout(timer);
        this.off('uplink', listener);
        resolve(u);
      };
      this.on('uplink', listener);
    });
  }

  /** Sends a bootstrap operation to the client that asked last. */
  send(req: CoapRequest): Promise<CoapResponse> {
    if (!this.clientPeer) throw new Error('no client has asked yet');
    return this.endpoint.request(this.clientPeer, req);
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}

/** Resolves with the arguments of the next `event` (matching `match`), fails after `timeoutMs`. */
export function nextEvent<T extends unknown[]>(
  emitter: { once(event: string, listener: (...args: T) => void): unknown; on(event: string, listener: (...args: T) => void): unknown; off(event: string, listener: (...args: T) => void): unknown },
  event: string,
  timeoutMs = 4000,
  match: (...args: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no ${event} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (...args: T): void => {
      if (!match(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}

/** Collects every emission of the named events, in order, as "name". */
export function recordEvents(emitter: EventEmitter | Lwm2mClient, names: readonly string[]): string[] {
  const seen: string[] = [];
  for (const name of names) (emitter as EventEmitter).on(name, () => seen.push(name));
  return seen;
}

/** A client that knows only its Bootstrap-Server, with fast test timings; the caller stops it. */
export function bootstrapClient(bootstrapUri: string, options: Partial<Lwm2mClientOptions> = {}): Lwm2mClient {
  return new Lwm2mClient({
    endpoint: 'bs-dev',
    lwm2mVersion: '1.1',
    bindAddress: '127.0.0.1',
    transmission: FAST,
    requestTimeoutMs: 1500,
    retry: { initialDelayMs: 100, maxDelayMs: 400, factor: 2 },
    ...options,
    bootstrap: { uri: bootstrapUri, sessionTimeoutMs: 3000, ...options.bootstrap },
  });
}

/** Resolves when `cond()` holds; fails after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
