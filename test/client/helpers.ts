/**
 * Test helpers for the client: a scripted LwM2M server built on our own
 * CoapEndpoint (it accepts /rd registrations, records every uplink request
 * and sends DM requests), and small waiting utilities.
 */
import { EventEmitter } from 'node:events';
import type { CoapRequest, CoapResponse, IncomingRequest, OutgoingResponse } from '../../src/coap/api.js';
import { CoapEndpoint } from '../../src/coap/endpoint.js';
import type { Observation } from '../../src/coap/observation.js';
import { udpPeer, type Peer } from '../../src/coap/transport.js';
import { Lwm2mClient, type Lwm2mClientOptions } from '../../src/client/client.js';
import { ManualClock } from '../../src/client/clock.js';

export interface Uplink {
  readonly method: string;
  readonly path: string;
  readonly query: readonly string[];
  readonly payload: Buffer;
  readonly contentFormat: number | undefined;
  readonly peer: Peer;
  /** Wall time of arrival (ms). */
  readonly at: number;
}

export type UplinkResponder = (req: IncomingRequest, uplink: Uplink) => OutgoingResponse | undefined;

/** A LwM2M server that follows a script: registrations accepted unless `respond` says otherwise. */
export class ScriptedServer extends EventEmitter<{ uplink: [Uplink] }> {
  readonly uplinks: Uplink[] = [];
  /** Overrides the default answers; return undefined to fall back to them. */
  respond: UplinkResponder | undefined;
  private nextId = 1;
  clientPeer: Peer | undefined;

  private constructor(readonly endpoint: CoapEndpoint) {
    super();
    endpoint.onRequest((req) => this.onRequest(req));
  }

  static async start(): Promise<ScriptedServer> {
    const endpoint = await CoapEndpoint.udp({ address: '127.0.0.1', parameters: { ackTimeoutMs: 300 }, requestTimeoutMs: 2000 });
    return new ScriptedServer(endpoint);
  }

  get uri(): string {
    return `coap://127.0.0.1:${this.endpoint.address().port}`;
  }

  private onRequest(req: IncomingRequest): OutgoingResponse {
    const uplink: Uplink = {
      method: req.method,
      path: '/' + req.path.join('/'),
      query: req.query,
      payload: req.payload,
      contentFormat: req.contentFormat,
      peer: req.peer,
      at: Date.now(),
    };
    this.uplinks.push(uplink);
    this.clientPeer = req.peer;
    const custom = this.respond?.(req, uplink);
    this.emit('uplink', uplink);
    if (custom) return custom;
    if (req.method === 'POST' && uplink.path === '/rd') return { code: '2.01', locationPath: ['rd', String(this.nextId++)] };
    if (req.method === 'POST' && uplink.path.startsWith('/rd/')) return { code: '2.04' };
    if (req.method === 'DELETE' && uplink.path.startsWith('/rd/')) return { code: '2.02' };
    if (req.method === 'POST' && uplink.path === '/dp') return { code: '2.04' };
    return { code: '4.04' };
  }

  /** Waits for the next uplink matching `match` (including ones already received after `since`). */
  waitFor(match: (u: Uplink) => boolean, timeoutMs = 3000, since = 0): Promise<Uplink> {
    const found = this.uplinks.slice(since).find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('uplink', listener);
        reject(new Error(`no matching uplink within ${timeoutMs} ms; got ${this.uplinks.map((u) => `${u.method} ${u.path}`).join(', ')}`));
      }, timeoutMs);
      const listener = (u: Uplink): void => {
        if (!match(u)) return;
        clearTimeout(timer);
        this.off('uplink', listener);
        resolve(u);
      };
      this.on('uplink', listener);
    });
  }

  registrations(): Uplink[] {
    return this.uplinks.filter((u) => u.method === 'POST' && u.path === '/rd');
  }

  updates(): Uplink[] {
    return this.uplinks.filter((u) => u.method === 'POST' && u.path.startsWith('/rd/'));
  }

  /** Sends a DM request to the registered client. */
  request(req: CoapRequest): Promise<CoapResponse> {
    if (!this.clientPeer) throw new Error('no client has registered');
    return this.endpoint.request(this.clientPeer, req);
  }

  observe(req: CoapRequest): Observation {
    if (!this.clientPeer) throw new Error('no client has registered');
    return this.endpoint.observe(this.clientPeer, req);
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }
}

/** Resolves when `cond()` is true; fails after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets pending I/O and promise chains run. */
export async function settle(ms = 30): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** A client against `server` with fast test timings; the caller stops it. */
export function testClient(server: ScriptedServer, options: Partial<Lwm2mClientOptions> & { clock?: ManualClock } = {}): Lwm2mClient {
  return new Lwm2mClient({
    endpoint: 'test-dev',
    lwm2mVersion: '1.1',
    bindAddress: '127.0.0.1',
    transmission: { ackTimeoutMs: 200, maxRetransmit: 2 },
    requestTimeoutMs: 1000,
    ...options,
    servers: options.servers ?? [{ uri: server.uri, lifetime: 300 }],
  });
}

/** Starts a client and waits for its registration. */
export async function startRegistered(client: Lwm2mClient): Promise<void> {
  const registered = new Promise<void>((resolve) => client.once('registered', () => resolve()));
  await client.start();
  await Promise.race([
    registered,
    new Promise<void>((_, reject) => setTimeout(() => reject(new Error('client did not register')), 3000)),
  ]);
}

export function udpPeerOf(port: number): Peer {
  return udpPeer('127.0.0.1', port);
}
