/**
 * Client role of Observe (RFC 7641): we observe a resource of a peer.
 *
 * Notifications are emitted in order: one that is not fresher than the last
 * accepted one (sequence-number rule of RFC 7641 section 3.4, with its 128 s
 * window) is dropped. A notification larger than one datagram carries its
 * first block; the rest is fetched with Block2 GETs before it is emitted.
 * An error code, or a 2.xx without Observe, ends the observation.
 */
import { EventEmitter } from 'node:events';
import { getObserve } from './options.js';
import { getBlock2 } from './block.js';
import { isSuccessCode } from './packet.js';
import { monotonicNow } from './timer-wheel.js';
import type { CoapResponse } from './api.js';
import type { ObservationSink } from './client-exchange.js';
import type { Logger, Peer } from './transport.js';

export type ObservationEndReason =
  /** We cancelled it (deregistration or forget). */
  | 'cancelled'
  /** The peer sent an error code (ends it, RFC 7641 3.2). */
  | 'error-response'
  /** The peer sent a final 2.xx without Observe. */
  | 'completed'
  /** The first response did not establish the observation (error or no Observe option). */
  | 'not-established'
  /** The registration request failed (timeout, RST, ...). */
  | 'failed'
  /** The endpoint closed. */
  | 'closed';

export interface ObservationEnd {
  reason: ObservationEndReason;
  response?: CoapResponse;
  error?: Error;
}

export interface ObservationEvents {
  notification: [notification: CoapResponse];
  end: [end: ObservationEnd];
}

export type CancelMode = 'deregister' | 'forget';

/** What an observation needs from its endpoint. */
export interface ObservationHost {
  readonly logger: Logger;
  /** Fetches the remaining blocks of a notification with Block2 GETs (no Observe). */
  completeBlocks(obs: Observation, first: CoapResponse): Promise<CoapResponse>;
  /** Sends GET with Observe=1 and the observation's token. */
  deregister(obs: Observation, timeoutMs?: number): Promise<CoapResponse>;
  /** Forgets the token: later notifications are answered with RST. */
  forget(obs: Observation): void;
}

/** RFC 7641 3.4: how long a sequence number stays comparable. */
const FRESHNESS_WINDOW_MS = 128_000;
const HALF_SEQ_SPACE = 1 << 23;
/** Notifications held until the first response has been handed out. */
const MAX_HELD = 8;

/** Whether notification V2 (received at t2) is fresher than V1 (received at t1). */
export function isFresher(v1: number, t1: number, v2: number, t2: number): boolean {
  return (v1 < v2 && v2 - v1 < HALF_SEQ_SPACE) || (v1 > v2 && v1 - v2 > HALF_SEQ_SPACE) || t2 > t1 + FRESHNESS_WINDOW_MS;
}

export class Observation extends EventEmitter<ObservationEvents> implements ObservationSink {
  readonly peer: Peer;
  readonly path: readonly string[];
  /** The first response (the whole body when it came block-wise); rejects when registration fails. */
  ready!: Promise<CoapResponse>;
  /** Token of the observation (set when the request is created). */
  token!: Buffer;
  private readonly host: ObservationHost;
  private readonly clock: () => number;
  private status: 'pending' | 'active' | 'ended' = 'pending';
  private lastSeq = 0;
  private lastAt = 0;
  private arrivals = 0;
  private lastDelivered = 0;
  private held: { res: CoapResponse; index: number; final: boolean }[] = [];
  private onFirstDelivery: ((res: CoapResponse) => void) | null = null;

  constructor(host: ObservationHost, peer: Peer, path: readonly string[], clock: () => number = monotonicNow) {
    super();
    this.host = host;
    this.peer = peer;
    this.path = path;
    this.clock = clock;
  }

  /** Whether notifications are still expected. */
  get active(): boolean {
    return this.status !== 'ended';
  }

  /**
   * Ends the observation. 'deregister' (default) sends GET with Observe=1
   * and waits for its response; 'forget' drops the token so that the peer's
   * next notification is answered with RST.
   */
  async cancel(mode: CancelMode = 'deregister', timeoutMs?: number): Promise<void> {
    if (this.status === 'ended') return;
    const registering = this.status === 'pending';
    this.end({ reason: 'cancelled' });
    // A registration still in flight must finish first (its token is in use until then).
    if (registering) await this.ready.catch(() => undefined);
    this.host.forget(this);
    if (mode === 'deregister') await this.host.deregister(this, timeoutMs);
  }

  /** @internal */
  onFirstResponse(res: CoapResponse): boolean {
    if (this.status === 'ended') return false; // cancelled while registering: do not keep the token
    const seq = safeObserve(res);
    if (!isSuccessCode(res.code) || seq === undefined) return false;
    this.lastSeq = seq;
    this.lastAt = this.clock();
    return true;
  }

  /** @internal */
  onNotification(res: CoapResponse): void {
    if (this.status === 'ended') return;
    if (!isSuccessCode(res.code)) {
      this.host.forget(this);
      this.end({ reason: 'error-response', response: res });
      return;
    }
    const seq = safeObserve(res);
    const now = this.clock();
    if (seq !== undefined) {
      if (!isFresher(this.lastSeq, this.lastAt, seq, now)) return; // reordered or duplicate: drop
      this.lastSeq = seq;
      this.lastAt = now;
    }
    const index = ++this.arrivals;
    const final = seq === undefined;
    if (final) this.host.forget(this);
    let more = false;
    try {
      more = getBlock2(res.options)?.more ?? false;
    } catch {
      more = false;
    }
    if (!more) {
      this.deliver(res, index, final);
      return;
    }
    this.host.completeBlocks(this, res).then(
      (full) => this.deliver(full, index, final),
      (err: Error) => this.host.logger('warn', `dropping a block-wise notification from ${this.peer.key}: ${err.message}`, err),
    );
  }

  /**
   * @internal Takes up an observation made before a restart: active at once,
   * the first notification is fresh whatever its sequence number, and
   * `ready` resolves with it.
   */
  resume(): void {
    this.status = 'active';
    this.lastAt = -Infinity;
    this.ready = new Promise<CoapResponse>((resolve) => {
      this.onFirstDelivery = resolve;
    });
  }

  /** @internal The first response is complete (blocks included): start emitting. */
  established(): void {
    if (this.status !== 'pending') return;
    this.status = 'active';
    const held = this.held;
    this.held = [];
    for (const h of held) this.deliver(h.res, h.index, h.final);
  }

  /** @internal */
  end(end: ObservationEnd): void {
    if (this.status === 'ended') return;
    this.status = 'ended';
    this.held = [];
    this.safeEmit('end', end);
  }

  private deliver(res: CoapResponse, index: number, final: boolean): void {
    if (this.status === 'ended' || index <= this.lastDelivered) return; // a fresher one was delivered first
    if (this.status === 'pending') {
      this.held.push({ res, index, final });
      if (this.held.length > MAX_HELD) this.held.shift();
      return;
    }
    this.lastDelivered = index;
    if (this.onFirstDelivery !== null) {
      this.onFirstDelivery(res);
      this.onFirstDelivery = null;
    }
    this.safeEmit('notification', res);
    if (final) this.end({ reason: 'completed', response: res });
  }

  private safeEmit<K extends keyof ObservationEvents>(event: K, ...args: ObservationEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: ObservationEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      this.host.logger('error', `an observation '${event}' listener threw`, err);
    }
  }
}

function safeObserve(res: CoapResponse): number | undefined {
  try {
    return getObserve(res.options);
  } catch {
    return undefined;
  }
}
