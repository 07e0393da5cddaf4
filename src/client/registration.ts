/**
 * The registration engine of one server account (Core TS §6.2, Client
 * Registration interface): Register, Update before the lifetime runs out
 * and whenever what the server knows changes, De-register, retry with
 * back-off, and the LwM2M version fallback on 4.12.
 *
 *   idle ─start→ registering ─2.01→ registered ─(timer | change)→ updating ─2.04→ registered
 *                    │  4.12: retry at once with the next lower version
 *                    └ failure → waiting ─(back-off)→ registering
 *   updating ─4.04 / failure→ registering (a fresh Register)
 *   registered ─stop→ deregistering → stopped
 */
import { EventEmitter } from 'node:events';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { CoapEndpoint } from '../coap/endpoint.js';
import { getLocationPath } from '../coap/options.js';
import { udpPeer, type Peer } from '../coap/transport.js';
import { CoapCode, Lwm2mError } from '../errors.js';
import { ContentFormat } from '../formats/content-format.js';
import type { ServerAccount } from './accounts.js';
import type { Clock, ClockTimer } from './clock.js';
import type { Lwm2mVersion } from './content.js';
import { registrationBody } from './links.js';
import type { ObjectTree } from './object-tree.js';
import { retryDelayMs, updateDelayMs, type RetryPolicy } from './timing.js';

export type SessionState = 'idle' | 'registering' | 'registered' | 'updating' | 'deregistering' | 'waiting' | 'disabled' | 'stopped';

/** What a session needs from the client that owns it. */
export interface SessionHost {
  readonly endpoint: CoapEndpoint;
  readonly clock: Clock;
  readonly tree: ObjectTree;
  readonly endpointName: string;
  readonly retry: RetryPolicy;
  /** MAX_TRANSMIT_WAIT of the CoAP layer (ms), used for the Update margin. */
  readonly transmitWaitMs: number;
  /** Content format announced in the root link (1.1+). */
  readonly preferredFormat: number | undefined;
  /** Deadline of each registration exchange (ms). */
  readonly requestTimeoutMs: number | undefined;
  /** Queue mode of a server account (1.1+: the Q parameter). */
  queueMode(shortServerId: number): boolean;
  /** MSISDN to send as `sms=`, if any. */
  sms(shortServerId: number): string | undefined;
  /** The current account (accounts live in /0 and /1 and may change). */
  account(shortServerId: number): ServerAccount | undefined;
  /** Turns the radio on before sending (queue mode). */
  wake(): void;
  /** An exchange completed: the queue-mode awake window starts again. */
  activity(): void;
}

export interface RegistrationInfo {
  readonly shortServerId: number;
  readonly uri: string;
  /** Location-Path segments the server gave ("rd", "<id>"). */
  readonly location: readonly string[];
  readonly lwm2mVersion: Lwm2mVersion;
  readonly lifetime: number;
}

export interface RegistrationFailure {
  readonly shortServerId: number;
  readonly uri: string;
  readonly operation: 'register' | 'update';
  readonly error: Error;
  /** Consecutive failed attempts so far. */
  readonly attempt: number;
  /** When the next attempt starts (ms from now). */
  readonly retryInMs: number;
}

export interface SessionEvents {
  registered: [info: RegistrationInfo];
  updated: [info: RegistrationInfo];
  deregistered: [info: RegistrationInfo];
  registrationFailed: [failure: RegistrationFailure];
  /** The server answered 4.12 and the client tries again with an older LwM2M version. */
  versionFallback: [info: { shortServerId: number; from: Lwm2mVersion; to: Lwm2mVersion }];
}

/** What the server was last told (Update sends only what changed). */
interface Announced {
  lifetime: number;
  binding: string;
  sms: string | undefined;
  links: string;
}

const LOWER_VERSION: Readonly<Record<Lwm2mVersion, Lwm2mVersion | undefined>> = { '1.2': '1.1', '1.1': '1.0', '1.0': undefined };

/** Resolves a coap:// URI to a UDP peer (names through DNS). */
export async function resolvePeer(uri: string): Promise<Peer> {
  const url = new URL(uri);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 5683 : Number(url.port);
  if (isIP(host) !== 0) return udpPeer(host, port);
  const { address } = await lookup(host);
  return udpPeer(address, port);
}

export class ServerSession extends EventEmitter<SessionEvents> {
  readonly shortServerId: number;
  private stateValue: SessionState = 'idle';
  private versionValue: Lwm2mVersion;
  private peerValue: Peer | undefined;
  private locationValue: string[] | undefined;
  private announced: Announced | undefined;
  private attempt = 0;
  private updateTimer: ClockTimer | null = null;
  private retryTimer: ClockTimer | null = null;
  private updateQueued: { links: boolean } | null = null;
  private busy: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: SessionHost,
    shortServerId: number,
    version: Lwm2mVersion,
  ) {
    super();
    this.shortServerId = shortServerId;
    this.versionValue = version;
  }

  get state(): SessionState {
    return this.stateValue;
  }

  /** The LwM2M version the server accepted (lower than configured after a 4.12 fallback). */
  get version(): Lwm2mVersion {
    return this.versionValue;
  }

  get peer(): Peer | undefined {
    return this.peerValue;
  }

  get location(): readonly string[] | undefined {
    return this.locationValue;
  }

  get registered(): boolean {
    return this.stateValue === 'registered' || this.stateValue === 'updating';
  }

  /** Consecutive failed Register/Update attempts (0 once registered). */
  get failedAttempts(): number {
    return this.attempt;
  }

  /** True when the peer is this session's server. */
  owns(peer: Peer): boolean {
    return this.peerValue !== undefined && this.peerValue.key === peer.key;
  }

  private get account(): ServerAccount {
    const account = this.host.account(this.shortServerId);
    if (!account) throw new Lwm2mError(CoapCode.NotFound, `server account ${this.shortServerId} no longer exists`);
    return account;
  }

  private info(): RegistrationInfo {
    const account = this.host.account(this.shortServerId);
    return {
      shortServerId: this.shortServerId,
      uri: account?.uri ?? '',
      location: this.locationValue ?? [],
      lwm2mVersion: this.versionValue,
      lifetime: this.announced?.lifetime ?? account?.lifetime ?? 0,
    };
  }

  /** Starts registering (resolves the server address first). */
  start(): void {
    if (this.stateValue !== 'idle' && this.stateValue !== 'disabled') return;
    this.serialize(() => this.register());
  }

  /**
   * Asks for an Update soon (coalesced): `links` sends the object list too.
   * Before the registration exists, this does nothing (the Register will
   * carry everything).
   */
  requestUpdate(options: { links?: boolean } = {}): void {
    if (!this.registered) return;
    const links = this.updateQueued?.links === true || options.links === true;
    if (this.updateQueued) {
      this.updateQueued.links = links;
      return;
    }
    this.updateQueued = { links };
    setImmediate(() => {
      const queued = this.updateQueued;
      this.updateQueued = null;
      if (queued && this.registered) this.serialize(() => this.update(queued.links));
    });
  }

  /** Runs one registration operation at a time. */
  private serialize(task: () => Promise<void>): Promise<void> {
    const run = this.busy.then(task, task);
    this.busy = run.catch(() => {});
    return run;
  }

  /** Resolves when the current operation is done (tests, stop). */
  settled(): Promise<void> {
    return this.busy;
  }

  private clearTimers(): void {
    this.host.clock.clearTimeout(this.updateTimer);
    this.host.clock.clearTimeout(this.retryTimer);
    this.updateTimer = this.retryTimer = null;
  }

  private armUpdate(lifetime: number): void {
    this.host.clock.clearTimeout(this.updateTimer);
    this.updateTimer = this.host.clock.setTimeout(() => {
      this.updateTimer = null;
      if (this.registered) this.serialize(() => this.update(false));
    }, updateDelayMs(lifetime, this.host.transmitWaitMs));
  }

  private registerQuery(account: ServerAccount): { query: string[]; announced: Announced } {
    const version = this.versionValue;
    const queue = version === '1.0' ? account.binding.includes('Q') : this.host.queueMode(this.shortServerId);
    let binding = account.binding.replace(/Q/g, '');
    if (version === '1.0' && queue) binding += 'Q';
    const sms = this.host.sms(this.shortServerId);
    const query = [`ep=${this.host.endpointName}`, `lt=${account.lifetime}`, `lwm2m=${version}`, `b=${binding}`];
    if (sms !== undefined) query.push(`sms=${sms}`);
    if (queue && version !== '1.0') query.push('Q');
    const links = registrationBody(this.host.tree, version, { preferredFormat: this.host.preferredFormat });
    return { query, announced: { lifetime: account.lifetime, binding, sms, links } };
  }

  private async register(): Promise<void> {
    if (this.stateValue === 'stopped') return;
    this.clearTimers();
    this.stateValue = 'registering';
    let account: ServerAccount;
    try {
      account = this.account;
      this.peerValue = await resolvePeer(account.uri);
    } catch (err) {
      return this.failed('register', err);
    }
    const { query, announced } = this.registerQuery(account);
    this.host.wake();
    let code: string;
    let location: string[] = [];
    try {
      const res = await this.host.endpoint.request(this.peerValue, {
        method: 'POST',
        path: ['rd'],
        query,
        payload: announced.links,
        contentFormat: ContentFormat.LINK_FORMAT,
        ...(this.host.requestTimeoutMs !== undefined ? { timeoutMs: this.host.requestTimeoutMs } : {}),
      });
      code = res.code;
      location = getLocationPath(res.options);
    } catch (err) {
      return this.failed('register', err);
    }
    if ((this.stateValue as SessionState) === 'stopped') return;
    this.host.activity();
    if (code === CoapCode.PreconditionFailed) {
      const lower = LOWER_VERSION[this.versionValue];
      if (lower !== undefined) {
        this.emit('versionFallback', { shortServerId: this.shortServerId, from: this.versionValue, to: lower });
        this.versionValue = lower;
        return this.register();
      }
    }
    if (code !== CoapCode.Created) {
      return this.failed('register', new Lwm2mError(code, `the server answered ${code} to Register`));
    }
    if (location.length === 0) {
      return this.failed('register', new Lwm2mError(CoapCode.BadRequest, 'the server accepted the registration without a Location-Path'));
    }
    this.locationValue = location;
    this.announced = announced;
    this.attempt = 0;
    this.stateValue = 'registered';
    this.armUpdate(announced.lifetime);
    this.emit('registered', this.info());
  }

  private async update(withLinks: boolean): Promise<void> {
    if (!this.registered || !this.peerValue || !this.locationValue || !this.announced) return;
    this.stateValue = 'updating';
    let account: ServerAccount;
    try {
      account = this.account;
    } catch (err) {
      this.stateValue = 'registered';
      return this.failed('update', err);
    }
    const { announced } = this.registerQuery(account);
    const query: string[] = [];
    if (announced.lifetime !== this.announced.lifetime) query.push(`lt=${announced.lifetime}`);
    if (announced.binding !== this.announced.binding) query.push(`b=${announced.binding}`);
    if (announced.sms !== this.announced.sms && announced.sms !== undefined) query.push(`sms=${announced.sms}`);
    const sendLinks = withLinks || announced.links !== this.announced.links;
    this.host.wake();
    let code: string;
    try {
      const res = await this.host.endpoint.request(this.peerValue, {
        method: 'POST',
        path: this.locationValue,
        ...(query.length > 0 ? { query } : {}),
        ...(sendLinks ? { payload: announced.links, contentFormat: ContentFormat.LINK_FORMAT } : {}),
        ...(this.host.requestTimeoutMs !== undefined ? { timeoutMs: this.host.requestTimeoutMs } : {}),
      });
      code = res.code;
    } catch (err) {
      if ((this.stateValue as SessionState) === 'stopped') return;
      return this.failed('update', err);
    }
    if ((this.stateValue as SessionState) === 'stopped') return;
    this.host.activity();
    if (code === CoapCode.Changed) {
      this.announced = { ...announced, links: sendLinks ? announced.links : this.announced.links };
      this.stateValue = 'registered';
      this.armUpdate(announced.lifetime);
      this.emit('updated', this.info());
      return;
    }
    if (code === CoapCode.NotFound) {
      // The server forgot us: a fresh Register (Core TS §6.2.2).
      this.locationValue = undefined;
      return this.register();
    }
    return this.failed('update', new Lwm2mError(code, `the server answered ${code} to Update`));
  }

  private failed(operation: 'register' | 'update', err: unknown): void {
    if (this.stateValue === 'stopped') return;
    const error = err instanceof Error ? err : new Error(String(err));
    this.attempt++;
    const retryInMs = retryDelayMs(this.attempt, this.host.retry);
    this.stateValue = 'waiting';
    this.locationValue = undefined;
    this.clearTimers();
    this.retryTimer = this.host.clock.setTimeout(() => {
      this.retryTimer = null;
      this.serialize(() => this.register());
    }, retryInMs);
    const account = this.host.account(this.shortServerId);
    this.emit('registrationFailed', { shortServerId: this.shortServerId, uri: account?.uri ?? '', operation, error, attempt: this.attempt, retryInMs });
  }

  /** Sends an Update now and waits for it (client.update()). */
  updateNow(withLinks = false): Promise<void> {
    return this.serialize(() => this.update(withLinks));
  }

  /** Registers again from scratch (after a firmware update, say). */
  reregister(): Promise<void> {
    return this.serialize(() => this.register());
  }

  /**
   * De-registers (when registered) and stops every timer. With
   * `disableForMs`, registers again after that time (Execute /1/x/4 Disable).
   */
  async stop(options: { disableForMs?: number; timeoutMs?: number } = {}): Promise<void> {
    const wasRegistered = this.registered && this.peerValue !== undefined && this.locationValue !== undefined;
    this.clearTimers();
    const disable = options.disableForMs !== undefined;
    this.stateValue = wasRegistered ? 'deregistering' : disable ? 'disabled' : 'stopped';
    if (wasRegistered) {
      const info = this.info();
      try {
        this.host.wake();
        const res = await this.host.endpoint.request(this.peerValue as Peer, {
          method: 'DELETE',
          path: this.locationValue as string[],
          timeoutMs: options.timeoutMs ?? this.host.requestTimeoutMs ?? 5000,
        });
        if (res.code === CoapCode.Deleted) this.emit('deregistered', info);
      } catch {
        // unreachable server: the registration expires on its side
      }
      this.locationValue = undefined;
      this.stateValue = disable ? 'disabled' : 'stopped';
    }
    if (disable) {
      this.retryTimer = this.host.clock.setTimeout(() => {
        this.retryTimer = null;
        this.stateValue = 'idle';
        this.start();
      }, options.disableForMs as number);
    }
  }
}
