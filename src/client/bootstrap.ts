/**
 * Client-initiated bootstrap (Core TS §6.1, Transport TS §6.1): the client
 * asks its Bootstrap-Server for its configuration, lets it provision the
 * object tree, and hands over to the registration engine.
 *
 *   idle ─start→ holdoff ─(/0/x/11 s)→ requesting
 *   requesting ─(1.2) GET /bspack 2.05, pack usable→ done
 *              ─ 4.04/4.05/4.06/5.01 or unusable pack → POST /bs?ep=..[&pct=..]
 *              ─ POST /bs 2.04→ session ─ Bootstrap-Finish accepted→ done
 *   any failure (no answer, refusal, no Finish in time) → waiting ─(back-off)→ requesting
 *
 * While a session runs, the Bootstrap-Server's requests (recognised by
 * their source, the peer the Bootstrap-Request went to) are answered by
 * BootstrapHandler; the session ends when Bootstrap-Finish is accepted or
 * when no request came for `sessionTimeoutMs` (EXCHANGE_LIFETIME by
 * default). A session that fails is undone: the tree is put back as it was
 * before, so a half-written configuration never lingers.
 *
 * The engine only drives bootstrap; what happens next (registering to the
 * provisioned servers, saving the configuration) is the owner's `finished`
 * hook.
 */
import { EventEmitter } from 'node:events';
import type { IncomingRequest, OutgoingResponse } from '../coap/api.js';
import type { CoapEndpoint } from '../coap/endpoint.js';
import { getContentFormat } from '../coap/options.js';
import type { Peer } from '../coap/transport.js';
import { CoapCode, Lwm2mError } from '../errors.js';
import { codecFor, ContentFormat } from '../formats/index.js';
import { formatPath, type Lwm2mPath } from '../model/path.js';
import type { ObjectInstanceNode } from '../model/value.js';
import { readBootstrapAccount, type BootstrapAccount } from './accounts.js';
import { checkConfiguration } from './bootstrap-check.js';
import { BootstrapHandler, type BootstrapHandlerHost, type BootstrapOperation } from './bootstrap-handler.js';
import type { Clock, ClockTimer } from './clock.js';
import type { Lwm2mVersion } from './content.js';
import type { ObjectTree, TreeSnapshot } from './object-tree.js';
import { resolvePeer } from './registration.js';
import { retryDelayMs, type RetryPolicy } from './timing.js';

export type BootstrapState = 'idle' | 'holdoff' | 'requesting' | 'session' | 'waiting' | 'stopped';

/** Why a bootstrap starts. */
export type BootstrapTrigger = 'start' | 'registration-failure' | 'server' | 'application' | 'retry';

export type BootstrapMode = 'pack' | 'request';

export interface BootstrapStarted {
  readonly trigger: BootstrapTrigger;
  readonly uri: string;
  readonly mode: BootstrapMode;
  /** Consecutive failed bootstraps before this one. */
  readonly attempt: number;
}

export interface BootstrapResult {
  readonly uri: string;
  readonly mode: BootstrapMode;
  readonly durationMs: number;
  /** Paths the Bootstrap-Server wrote (a pack: the instances it held). */
  readonly written: readonly string[];
  /** Short Server IDs of the usable server accounts provisioned. */
  readonly servers: readonly number[];
}

export interface BootstrapFailure {
  readonly uri: string;
  readonly mode: BootstrapMode;
  readonly reason: string;
  /** CoAP code of the failure: the server's answer, 5.04 for none. */
  readonly code: string;
  readonly attempt: number;
  /** When the next attempt starts (ms from now). */
  readonly retryInMs: number;
}

/** A request of the Bootstrap-Server the client refused (the server's session fails on it). */
export interface BootstrapRefusal {
  readonly operation: BootstrapOperation | 'unknown';
  readonly path: string;
  readonly code: string;
  readonly reason: string;
}

export interface BootstrapEvents {
  bootstrapStarted: [info: BootstrapStarted];
  bootstrapFinished: [result: BootstrapResult];
  bootstrapFailed: [failure: BootstrapFailure];
  bootstrapRefused: [refusal: BootstrapRefusal];
}

export interface BootstrapHost {
  readonly endpoint: CoapEndpoint;
  readonly clock: Clock;
  readonly tree: ObjectTree;
  readonly endpointName: string;
  readonly version: Lwm2mVersion;
  /** Preferred content format, sent as `pct` (1.1+) and used for Bootstrap-Read answers. */
  readonly preferredFormat: number | undefined;
  readonly requestTimeoutMs: number | undefined;
  /** Longest wait for the Bootstrap-Server's next request, or Finish, during a session (ms). */
  readonly sessionTimeoutMs: number;
  /** 1.2: try Bootstrap-Pack-Request first. */
  readonly usePack: boolean;
  readonly retry: RetryPolicy;
  isEngineInstance(objectId: number, instanceId: number): boolean;
  /** Runs after a successful bootstrap, before bootstrapFinished is emitted (register, save). */
  finished(result: BootstrapResult): Promise<void>;
  /** Something failed that no caller waits for. */
  warn(message: string, error?: unknown): void;
}

/** Answers to a Bootstrap-Pack-Request that mean "ask with Bootstrap-Request instead". */
const PACK_FALLBACK_CODES: ReadonlySet<string> = new Set([CoapCode.NotFound, CoapCode.MethodNotAllowed, CoapCode.NotAcceptable, CoapCode.NotImplemented]);

export class BootstrapEngine extends EventEmitter<BootstrapEvents> {
  private stateValue: BootstrapState = 'idle';
  private readonly handler: BootstrapHandler;
  private account: BootstrapAccount | undefined;
  private peer: Peer | undefined;
  private attempt = 0;
  private trigger: BootstrapTrigger = 'start';
  private mode: BootstrapMode = 'request';
  private timer: ClockTimer | null = null;
  private snapshot: TreeSnapshot | undefined;
  private startedAt = 0;
  private written: string[] = [];
  /** Bumped whenever a run is abandoned, so that late answers of an old run are ignored. */
  private generation = 0;

  constructor(private readonly host: BootstrapHost) {
    super();
    const handlerHost: BootstrapHandlerHost = {
      tree: host.tree,
      version: host.version,
      preferredFormat: host.preferredFormat,
      isEngineInstance: (o, i) => host.isEngineInstance(o, i),
    };
    this.handler = new BootstrapHandler(handlerHost);
  }

  get state(): BootstrapState {
    return this.stateValue;
  }

  /** True while a bootstrap is under way (from the hold-off to Finish or failure). */
  get active(): boolean {
    return this.stateValue === 'holdoff' || this.stateValue === 'requesting' || this.stateValue === 'session';
  }

  /**
   * Starts a client-initiated bootstrap (after the hold-off), unless one is
   * already under way. Returns false when the tree holds no
   * Bootstrap-Server account.
   */
  start(trigger: BootstrapTrigger): boolean {
    if (this.stateValue === 'stopped') return false;
    if (this.active) return true;
    const account = readBootstrapAccount(this.host.tree);
    if (!account) return false;
    this.clearTimer();
    this.account = account;
    this.trigger = trigger;
    this.attempt = 0;
    this.stateValue = 'holdoff';
    const generation = ++this.generation;
    this.timer = this.host.clock.setTimeout(() => {
      this.timer = null;
      if (generation === this.generation) void this.run(generation);
    }, account.holdOffS * 1000);
    return true;
  }

  /** Stops every timer; a session in progress is undone. */
  stop(): void {
    this.abandon();
    this.stateValue = 'stopped';
  }

  /** True when a request comes from the Bootstrap-Server of the bootstrap in progress. */
  accepts(peer: Peer): boolean {
    return (this.stateValue === 'requesting' || this.stateValue === 'session') && this.peer !== undefined && this.peer.key === peer.key;
  }

  // ------------------------------------------------------------ one attempt

  private async run(generation: number): Promise<void> {
    const account = readBootstrapAccount(this.host.tree) ?? this.account;
    if (!account) {
      this.stateValue = 'idle';
      return;
    }
    this.account = account;
    this.stateValue = 'requesting';
    this.startedAt = this.host.clock.now();
    this.written = [];
    try {
      this.peer = await resolvePeer(account.uri);
    } catch (err) {
      return this.failed(generation, CoapCode.BadRequest, `the Bootstrap-Server URI ${account.uri} does not resolve: ${(err as Error).message}`);
    }
    if (generation !== this.generation) return;
    const packFirst = this.host.usePack && this.host.version === '1.2';
    this.mode = packFirst ? 'pack' : 'request';
    this.announce();
    if (packFirst) {
      try {
        if (await this.tryPack(generation)) return;
      } catch (err) {
        return this.failed(generation, (err as Lwm2mError).code ?? CoapCode.InternalServerError, (err as Error).message);
      }
      if (generation !== this.generation) return;
      this.mode = 'request';
    }
    await this.request(generation);
  }

  private announce(): void {
    this.emit('bootstrapStarted', { trigger: this.attempt > 0 ? 'retry' : this.trigger, uri: this.account?.uri ?? '', mode: this.mode, attempt: this.attempt });
  }

  private timeoutOption(): { timeoutMs?: number } {
    return this.host.requestTimeoutMs !== undefined ? { timeoutMs: this.host.requestTimeoutMs } : {};
  }

  private describe(err: unknown): { code: string; message: string } {
    const code = err instanceof Lwm2mError ? err.code : CoapCode.InternalServerError;
    const message = code === CoapCode.GatewayTimeout ? 'no answer from the Bootstrap-Server' : (err as Error).message;
    return { code, message };
  }

  /**
   * Bootstrap-Pack-Request (1.2). True when the pack was applied; false to
   * fall back to Bootstrap-Request; throws when the server cannot be reached.
   */
  private async tryPack(generation: number): Promise<boolean> {
    let res;
    try {
      res = await this.host.endpoint.request(this.peer as Peer, {
        method: 'GET',
        path: ['bspack'],
        query: [`ep=${this.host.endpointName}`],
        accept: ContentFormat.SENML_CBOR,
        ...this.timeoutOption(),
      });
    } catch (err) {
      const { code, message } = this.describe(err);
      throw new Lwm2mError(code, `Bootstrap-Pack-Request: ${message}`);
    }
    if (generation !== this.generation) return true;
    if (res.code !== CoapCode.Content) {
      if (PACK_FALLBACK_CODES.has(res.code)) return false;
      throw new Lwm2mError(res.code, `the Bootstrap-Server answered ${res.code} to Bootstrap-Pack-Request${diagnostic(res.payload)}`);
    }
    const snapshot = this.host.tree.snapshot();
    try {
      const written = await this.applyPack(res.payload, getContentFormat(res.options) ?? ContentFormat.SENML_CBOR);
      const check = checkConfiguration(this.host.tree);
      if (!check.ok) throw new Lwm2mError(CoapCode.NotAcceptable, `inconsistent configuration: ${check.problems.join('; ')}`);
      this.written = written;
    } catch (err) {
      this.host.tree.restore(snapshot);
      this.emit('bootstrapRefused', { operation: 'write', path: '/bspack', code: (err as Lwm2mError).code ?? CoapCode.BadRequest, reason: `the Bootstrap-Pack cannot be used: ${(err as Error).message}` });
      return false;
    }
    await this.succeeded(generation);
    return true;
  }

  /**
   * Applies a Bootstrap-Pack: as a Bootstrap-Delete of "/" followed by a
   * Bootstrap-Write of every instance it holds.
   */
  private async applyPack(payload: Buffer, format: number): Promise<string[]> {
    if (format !== ContentFormat.SENML_CBOR && format !== ContentFormat.LWM2M_CBOR) {
      throw new Lwm2mError(CoapCode.UnsupportedContentFormat, `a Bootstrap-Pack comes as SenML CBOR or LwM2M CBOR, not format ${format}`);
    }
    const tree = this.host.tree;
    const entries = codecFor(format).decode(payload, { model: tree.model });
    const instances: Array<{ path: Lwm2mPath; node: ObjectInstanceNode }> = [];
    for (const { path, node } of entries) {
      if (node.kind !== 'instance' || path.length !== 2) throw new Lwm2mError(CoapCode.BadRequest, `a Bootstrap-Pack holds object instances, not ${formatPath(path)}`);
      const oid = path[0] as number;
      if (!tree.hasObject(oid) && !tree.resolveDefinition(oid)) throw new Lwm2mError(CoapCode.NotFound, `object ${oid} is not implemented by this client`);
      instances.push({ path, node });
    }
    for (const oid of tree.objectIds()) this.handler.deleteInstancesOf(oid);
    for (const { path, node } of instances) {
      const oid = path[0] as number;
      if (!tree.hasObject(oid)) tree.addObject(oid);
      await this.handler.writeInstance(path, node);
    }
    return instances.map((i) => formatPath(i.path));
  }

  /** Bootstrap-Request; on 2.04 the session starts. */
  private async request(generation: number): Promise<void> {
    const query = [`ep=${this.host.endpointName}`];
    if (this.host.version !== '1.0' && this.host.preferredFormat !== undefined) query.push(`pct=${this.host.preferredFormat}`);
    // The server may start its operations before our continuation runs: be ready for them first.
    this.beginSession();
    let res;
    try {
      res = await this.host.endpoint.request(this.peer as Peer, { method: 'POST', path: ['bs'], query, ...this.timeoutOption() });
    } catch (err) {
      if (generation !== this.generation) return;
      const { code, message } = this.describe(err);
      return this.failed(generation, code, `Bootstrap-Request: ${message}`);
    }
    if (generation !== this.generation) return;
    if (res.code !== CoapCode.Changed) {
      const reason = res.code === CoapCode.NotFound ? 'the Bootstrap-Server has no configuration for this endpoint' : `the Bootstrap-Server answered ${res.code} to Bootstrap-Request`;
      return this.failed(generation, res.code, `${reason}${diagnostic(res.payload)}`);
    }
    if (this.stateValue === 'requesting') {
      this.stateValue = 'session';
      this.armSessionTimer();
    }
  }

  private beginSession(): void {
    this.snapshot = this.host.tree.snapshot();
  }

  private armSessionTimer(): void {
    this.clearTimer();
    const generation = this.generation;
    this.timer = this.host.clock.setTimeout(() => {
      this.timer = null;
      if (generation !== this.generation) return;
      this.failed(generation, CoapCode.GatewayTimeout, `no Bootstrap-Finish within ${this.host.sessionTimeoutMs} ms of the Bootstrap-Server's last request`);
    }, this.host.sessionTimeoutMs);
  }

  // ------------------------------------------------------------ the session

  /** Answers a request of the Bootstrap-Server (call only when `accepts(req.peer)`). */
  async handle(req: IncomingRequest): Promise<OutgoingResponse> {
    const generation = this.generation;
    // A request before the 2.04 reached us: the session has started all the same.
    if (this.stateValue === 'requesting') this.stateValue = 'session';
    this.armSessionTimer();
    let outcome;
    try {
      outcome = await this.handler.handle(req);
    } catch (err) {
      const e = err as Lwm2mError;
      this.emit('bootstrapRefused', { operation: operationOf(req), path: '/' + req.path.join('/'), code: e.code ?? CoapCode.InternalServerError, reason: e.message });
      throw err;
    }
    if (outcome.written) this.written.push(...outcome.written.map(formatPath));
    const { response } = outcome;
    if (!response.code.startsWith('2.')) {
      this.emit('bootstrapRefused', { operation: outcome.operation, path: formatPath(outcome.path), code: response.code, reason: String(response.payload ?? '') });
    }
    if (outcome.finished && generation === this.generation) {
      this.clearTimer();
      // Finish is answered first; registering starts once the 2.04 is on its way.
      setImmediate(() => void this.succeeded(generation));
    }
    return response;
  }

  // ------------------------------------------------------------ endings

  private async succeeded(generation: number): Promise<void> {
    if (generation !== this.generation) return;
    this.generation++;
    this.clearTimer();
    this.snapshot = undefined;
    this.stateValue = 'idle';
    this.attempt = 0;
    const result: BootstrapResult = {
      uri: this.account?.uri ?? '',
      mode: this.mode,
      durationMs: this.host.clock.now() - this.startedAt,
      written: [...this.written],
      servers: checkConfiguration(this.host.tree).servers,
    };
    try {
      await this.host.finished(result);
    } catch (err) {
      this.host.warn('after the bootstrap, the provisioned configuration could not be put to use', err);
    }
    this.emit('bootstrapFinished', result);
  }

  private failed(generation: number, code: string, reason: string): void {
    if (generation !== this.generation || this.stateValue === 'stopped') return;
    const next = ++this.generation;
    this.clearTimer();
    if (this.snapshot) this.host.tree.restore(this.snapshot);
    this.snapshot = undefined;
    this.attempt++;
    const retryInMs = retryDelayMs(this.attempt, this.host.retry);
    this.stateValue = 'waiting';
    this.timer = this.host.clock.setTimeout(() => {
      this.timer = null;
      if (next === this.generation) void this.run(next);
    }, retryInMs);
    this.emit('bootstrapFailed', { uri: this.account?.uri ?? '', mode: this.mode, reason, code, attempt: this.attempt, retryInMs });
  }

  /** Drops the run in progress (undoing a session). */
  private abandon(): void {
    this.generation++;
    this.clearTimer();
    if (this.snapshot) this.host.tree.restore(this.snapshot);
    this.snapshot = undefined;
    if (this.stateValue !== 'stopped') this.stateValue = 'idle';
  }

  private clearTimer(): void {
    this.host.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}

function diagnostic(payload: Buffer | undefined): string {
  if (!payload || payload.length === 0) return '';
  return `: ${payload.toString('utf8').slice(0, 200)}`;
}

function operationOf(req: IncomingRequest): BootstrapOperation | 'unknown' {
  if (req.method === 'POST' && req.path.join('/') === 'bs') return 'finish';
  if (req.method === 'GET') return req.accept === ContentFormat.LINK_FORMAT ? 'discover' : 'read';
  if (req.method === 'PUT') return 'write';
  if (req.method === 'DELETE') return 'delete';
  return 'unknown';
}
