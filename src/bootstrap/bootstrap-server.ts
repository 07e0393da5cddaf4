/**
 * The LwM2M Bootstrap-Server (Core TS §6.1, Transport TS §6.1): a client
 * that knows only its bootstrap account asks here (`POST /bs?ep=..`) and gets
 * its real server accounts, credentials and other objects written into it,
 * then Bootstrap-Finish. LwM2M 1.2 clients may instead fetch everything at
 * once (`GET /bspack?ep=..`).
 *
 * Each session runs its steps one after the other (Discover, Delete, Write,
 * Read, Finish), each with the request deadline, the whole session with its
 * own deadline: a session always ends, with `sessionFinished` or with
 * `sessionFailed` saying which step failed and why.
 */
import { EventEmitter } from 'node:events';
import { CoapCode, Lwm2mError } from '../errors.js';
import type { CoapResponse, IncomingRequest, OutgoingResponse } from '../coap/api.js';
import { CoapEndpoint } from '../coap/endpoint.js';
import type { TransmissionParameters } from '../coap/params.js';
import type { Logger, Peer } from '../coap/transport.js';
import { codecFor, ContentFormat, isValueFormat } from '../formats/index.js';
import { formatPath, parsePath } from '../model/path.js';
import { toPlain, type PlainTree } from '../model/plain.js';
import { builtinRegistry, type ObjectRegistry } from '../model/registry.js';
import { configWrites, type BootstrapConfig, type BootstrapWrite } from './config.js';
import { BootstrapConfigStore } from './config-store.js';
import { decodeContent, decodeDiscover, expectCode, type DiscoveredLink } from '../server/response.js';

export interface BootstrapServerOptions {
  endpoint?: CoapEndpoint;
  address?: string;
  /** Default 5783 (the customary Bootstrap-Server port; 5784 for DTLS). */
  port?: number;
  configs?: BootstrapConfigStore;
  registry?: ObjectRegistry;
  /** Deadline of each request to the client (ms), default 5000. */
  requestTimeoutMs?: number;
  /** Deadline of a whole session (ms), default 60 000. */
  sessionTimeoutMs?: number;
  transmission?: Partial<TransmissionParameters>;
  /** Refuse a Bootstrap-Request (4.03) by returning false or a reason. */
  authorize?: (request: { endpoint: string; peer: Peer; identity?: string }) => boolean | string | Promise<boolean | string>;
  logger?: Logger;
}

export type BootstrapStep = 'request' | 'discover' | 'delete' | 'write' | 'read' | 'finish' | 'pack';

export interface BootstrapSessionInfo {
  readonly endpoint: string;
  readonly peer: { key: string; host: string; port: number; identity?: string };
  readonly startedAt: number;
  /** 'request' for Bootstrap-Request sessions, 'pack' for Bootstrap-Pack-Request. */
  readonly mode: 'request' | 'pack';
}

export interface BootstrapFinished extends BootstrapSessionInfo {
  readonly durationMs: number;
  /** Paths written. */
  readonly written: readonly string[];
  readonly discovered?: readonly DiscoveredLink[];
  /** Bootstrap-Read answers, plain values per path. */
  readonly read?: Readonly<Record<string, PlainTree>>;
  readonly format: number;
}

export interface BootstrapFailed extends BootstrapSessionInfo {
  readonly step: BootstrapStep;
  readonly reason: string;
  /** CoAP code of the failure (the client's answer, 5.04 for no answer, ...). */
  readonly code: string;
}

export interface BootstrapServerEvents {
  sessionStarted: [session: BootstrapSessionInfo];
  sessionFinished: [result: BootstrapFinished];
  sessionFailed: [result: BootstrapFailed];
  warning: [message: string, error?: unknown];
}

class StepError extends Lwm2mError {
  constructor(readonly step: BootstrapStep, code: string, message: string) {
    super(code, message);
  }
}

export class Lwm2mBootstrapServer extends EventEmitter<BootstrapServerEvents> {
  readonly configs: BootstrapConfigStore;
  readonly registry: ObjectRegistry;
  private endpoint: CoapEndpoint | undefined;
  private readonly ownsEndpoint: boolean;
  private readonly requestTimeoutMs: number;
  private readonly sessionTimeoutMs: number;
  /** Running sessions by endpoint name: a new request for the same endpoint supersedes the old one. */
  private readonly sessions = new Map<string, { cancelled: boolean }>();
  private started = false;

  constructor(private readonly options: BootstrapServerOptions = {}) {
    super();
    this.endpoint = options.endpoint;
    this.ownsEndpoint = !options.endpoint;
    this.configs = options.configs ?? BootstrapConfigStore.inMemory();
    this.registry = options.registry ?? builtinRegistry();
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? 60_000;
  }

  async start(): Promise<void> {
    if (this.started) return;
    if (!this.endpoint) {
      this.endpoint = await CoapEndpoint.udp({
        address: this.options.address ?? '0.0.0.0',
        port: this.options.port ?? 5783,
        requestTimeoutMs: this.requestTimeoutMs,
        ...(this.options.logger ? { logger: this.options.logger } : {}),
        ...(this.options.transmission ? { parameters: this.options.transmission } : {}),
      });
    }
    this.endpoint.onRequest((req) => this.onRequest(req));
    this.started = true;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const s of this.sessions.values()) s.cancelled = true;
    this.sessions.clear();
    if (this.ownsEndpoint && this.endpoint) {
      await this.endpoint.close();
      this.endpoint = undefined;
    }
    await this.configs.flush();
  }

  address(): { address: string; port: number; family: string } {
    if (!this.endpoint) throw new Lwm2mError(CoapCode.ServiceUnavailable, 'the bootstrap server is not started');
    return this.endpoint.address();
  }

  /** Endpoints with a session in progress. */
  activeSessions(): string[] {
    return [...this.sessions.keys()];
  }

  // ------------------------------------------------------------ incoming

  private async onRequest(req: IncomingRequest): Promise<OutgoingResponse> {
    const [first, ...rest] = req.path;
    if (rest.length > 0) return { code: CoapCode.NotFound };
    if (first === 'bs') return req.method === 'POST' ? this.onBootstrapRequest(req) : { code: CoapCode.MethodNotAllowed };
    if (first === 'bspack') return req.method === 'GET' ? this.onPackRequest(req) : { code: CoapCode.MethodNotAllowed };
    return { code: CoapCode.NotFound };
  }

  private async admit(req: IncomingRequest, mode: 'request' | 'pack'): Promise<{ endpoint: string; config: BootstrapConfig; query: Map<string, string | true> } | OutgoingResponse> {
    const query = queryMap(req.query);
    const ep = query.get('ep');
    const peer = peerInfo(req.peer);
    if (typeof ep !== 'string' || ep === '') {
      return { code: CoapCode.BadRequest, payload: 'Bootstrap-Request without an endpoint name (ep)' };
    }
    const info: BootstrapSessionInfo = { endpoint: ep, peer, startedAt: Date.now(), mode };
    if (this.options.authorize) {
      const verdict = await this.options.authorize({ endpoint: ep, peer: req.peer, ...(req.peer.identity !== undefined ? { identity: req.peer.identity } : {}) });
      if (verdict !== true) {
        const reason = typeof verdict === 'string' ? verdict : 'bootstrap refused';
        this.fail(info, 'request', CoapCode.Forbidden, reason);
        return { code: CoapCode.Forbidden, payload: reason };
      }
    }
    const config = this.configs.resolve(ep);
    if (!config) {
      this.fail(info, 'request', CoapCode.NotFound, `no bootstrap configuration for endpoint "${ep}"`);
      return { code: CoapCode.NotFound, payload: 'no bootstrap configuration for this endpoint' };
    }
    return { endpoint: ep, config, query };
  }

  private async onBootstrapRequest(req: IncomingRequest): Promise<OutgoingResponse> {
    const admitted = await this.admit(req, 'request');
    if ('code' in admitted) return admitted;
    const { endpoint, config, query } = admitted;
    const pct = query.get('pct');
    let preferred: number | undefined;
    if (typeof pct === 'string') {
      preferred = /^\d+$/.test(pct) ? Number(pct) : NaN;
      if (!Number.isInteger(preferred) || !isValueFormat(preferred)) {
        return { code: CoapCode.BadRequest, payload: `unsupported preferred content format pct=${pct}` };
      }
    }
    const previous = this.sessions.get(endpoint);
    if (previous) previous.cancelled = true;
    const session = { cancelled: false };
    this.sessions.set(endpoint, session);
    const info: BootstrapSessionInfo = { endpoint, peer: peerInfo(req.peer), startedAt: Date.now(), mode: 'request' };
    // the session starts once our 2.04 is on its way
    setImmediate(() => void this.runSession(info, req.peer, config, preferred, session));
    return { code: CoapCode.Changed };
  }

  private async onPackRequest(req: IncomingRequest): Promise<OutgoingResponse> {
    const admitted = await this.admit(req, 'pack');
    if ('code' in admitted) return admitted;
    const { endpoint, config } = admitted;
    const info: BootstrapSessionInfo = { endpoint, peer: peerInfo(req.peer), startedAt: Date.now(), mode: 'pack' };
    const format = req.accept === ContentFormat.LWM2M_CBOR ? ContentFormat.LWM2M_CBOR : ContentFormat.SENML_CBOR;
    if (req.accept !== undefined && req.accept !== format) {
      return { code: CoapCode.NotAcceptable, payload: 'Bootstrap-Pack is available as SenML CBOR or LwM2M CBOR' };
    }
    let writes: BootstrapWrite[];
    try {
      writes = configWrites(config, this.registry.lookupFor(new Map(), config.lwm2mVersion ?? '1.2'));
    } catch (err) {
      const e = err as Lwm2mError;
      this.fail(info, 'pack', CoapCode.InternalServerError, `the configuration of ${endpoint} does not encode: ${e.message}`);
      return { code: CoapCode.InternalServerError, payload: 'bootstrap configuration invalid' };
    }
    const payload = codecFor(format).encode(writes);
    this.emit('sessionStarted', info);
    setImmediate(() =>
      this.emit('sessionFinished', { ...info, durationMs: Date.now() - info.startedAt, written: writes.map((w) => formatPath(w.path)), format }),
    );
    return { code: CoapCode.Content, contentFormat: format, payload };
  }

  // ------------------------------------------------------------ sessions

  private async runSession(info: BootstrapSessionInfo, peer: Peer, config: BootstrapConfig, preferred: number | undefined, session: { cancelled: boolean }): Promise<void> {
    this.emit('sessionStarted', info);
    const deadline = Date.now() + this.sessionTimeoutMs;
    const version = config.lwm2mVersion ?? (preferred !== undefined ? '1.1' : '1.0');
    const format = config.format ?? preferred ?? (version === '1.0' ? ContentFormat.TLV : ContentFormat.SENML_CBOR);
    const model = this.registry.lookupFor(new Map(), version);
    const written: string[] = [];
    let discovered: DiscoveredLink[] | undefined;
    let read: Record<string, PlainTree> | undefined;
    let step: BootstrapStep = 'discover';
    const send = async (what: string, s: BootstrapStep, request: Parameters<CoapEndpoint['request']>[1]): Promise<CoapResponse> => {
      step = s;
      if (session.cancelled) throw new StepError(s, CoapCode.ServiceUnavailable, 'superseded by a new Bootstrap-Request');
      const left = deadline - Date.now();
      if (left <= 0) throw new StepError(s, CoapCode.GatewayTimeout, `the session took longer than ${this.sessionTimeoutMs} ms`);
      const endpoint = this.endpoint;
      if (!endpoint || !this.started) throw new StepError(s, CoapCode.ServiceUnavailable, 'the bootstrap server stopped');
      try {
        return await endpoint.request(peer, { ...request, timeoutMs: Math.min(this.requestTimeoutMs, left) });
      } catch (err) {
        const e = err as Lwm2mError;
        throw new StepError(s, e.code ?? CoapCode.InternalServerError, `${what}: ${e.code === CoapCode.GatewayTimeout ? 'no answer from the client' : e.message}`);
      }
    };
    try {
      let writes: BootstrapWrite[];
      try {
        writes = configWrites(config, model);
        codecFor(format);
      } catch (err) {
        throw new StepError('write', (err as Lwm2mError).code ?? CoapCode.InternalServerError, `the configuration does not encode: ${(err as Error).message}`);
      }
      if (config.discover) {
        const what = 'Bootstrap-Discover /';
        const res = await send(what, 'discover', { method: 'GET', path: [], accept: ContentFormat.LINK_FORMAT });
        this.check(res, CoapCode.Content, what, 'discover');
        discovered = decodeDiscover(res, '/', what);
      }
      for (const p of config.delete ?? ['/']) {
        const path = parsePath(p);
        const what = `Bootstrap-Delete ${formatPath(path)}`;
        const res = await send(what, 'delete', { method: 'DELETE', path: path.map(String) });
        this.check(res, CoapCode.Deleted, what, 'delete');
      }
      for (const write of writes) {
        const what = `Bootstrap-Write ${formatPath(write.path)}`;
        const payload = codecFor(format).encode([write], { model });
        const res = await send(what, 'write', { method: 'PUT', path: write.path.map(String), contentFormat: format, payload });
        this.check(res, CoapCode.Changed, what, 'write');
        written.push(formatPath(write.path));
      }
      if (config.read && config.read.length > 0) {
        read = {};
        for (const p of config.read) {
          const path = parsePath(p);
          const what = `Bootstrap-Read ${formatPath(path)}`;
          const res = await send(what, 'read', { method: 'GET', path: path.map(String), accept: format === ContentFormat.TLV ? ContentFormat.TLV : ContentFormat.SENML_CBOR });
          this.check(res, CoapCode.Content, what, 'read');
          const { entries } = decodeContent(res, { path, model }, what);
          const last = entries[entries.length - 1];
          if (last) read[formatPath(path)] = toPlain(last.node);
        }
      }
      const res = await send('Bootstrap-Finish', 'finish', { method: 'POST', path: ['bs'] });
      this.check(res, CoapCode.Changed, 'Bootstrap-Finish', 'finish');
      this.emit('sessionFinished', {
        ...info,
        durationMs: Date.now() - info.startedAt,
        written,
        format,
        ...(discovered ? { discovered } : {}),
        ...(read ? { read } : {}),
      });
    } catch (err) {
      const e = err as Lwm2mError;
      const failedStep = err instanceof StepError ? err.step : step;
      this.fail(info, failedStep, e.code ?? CoapCode.InternalServerError, e.message);
    } finally {
      if (this.sessions.get(info.endpoint) === session) this.sessions.delete(info.endpoint);
    }
  }

  private check(res: CoapResponse, expected: string, what: string, step: BootstrapStep): void {
    try {
      expectCode(res, [expected], what);
    } catch (err) {
      throw new StepError(step, (err as Lwm2mError).code, (err as Error).message);
    }
  }

  private fail(info: BootstrapSessionInfo, step: BootstrapStep, code: string, reason: string): void {
    this.options.logger?.('info', `bootstrap of ${info.endpoint} failed at ${step}: ${reason}`);
    this.emit('sessionFailed', { ...info, step, code, reason });
  }
}

function queryMap(query: readonly string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (const q of query) {
    const eq = q.indexOf('=');
    out.set(eq < 0 ? q : q.slice(0, eq), eq < 0 ? true : q.slice(eq + 1));
  }
  return out;
}

function peerInfo(peer: Peer): { key: string; host: string; port: number; identity?: string } {
  return peer.identity !== undefined
    ? { key: peer.key, host: peer.host, port: peer.port, identity: peer.identity }
    : { key: peer.key, host: peer.host, port: peer.port };
}

