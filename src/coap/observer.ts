/**
 * Server role of Observe (RFC 7641): one peer observing one of our
 * resources. The request handler creates the handle with
 * `request.acceptObservation()`; the application then calls
 * `endpoint.notify(handle, response)` on every change. The handle emits
 * 'end' once when the observation is over, whatever the reason.
 */
import { EventEmitter } from 'node:events';
import type { Peer } from './transport.js';
import type { ResponseTransmission } from './server-exchange.js';

export type ObserverEndReason =
  /** The observer sent GET with Observe=1, or a GET without Observe on the same token. */
  | 'deregistered'
  /** The observer answered a notification with RST. */
  | 'reset'
  /** A CON notification was never acknowledged. */
  | 'timeout'
  /** The observer registered again with the same token (a new handle replaces this one). */
  | 'replaced'
  /** The handler answered the registration with an error, or we sent an error notification. */
  | 'rejected'
  /** The observer limit was reached: the response went out without Observe. */
  | 'refused'
  /** Ended by our side (`endpoint.endObservation`). */
  | 'ended'
  /** The endpoint closed. */
  | 'closed';

export interface ObserverEvents {
  end: [reason: ObserverEndReason];
}

export class ObserverHandle extends EventEmitter<ObserverEvents> {
  readonly peer: Peer;
  readonly token: Buffer;
  /** Key among the endpoint's observers (peer key + token). */
  readonly key: string;
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly accept: number | undefined;
  /** Where later blocks of a large notification are cached (see Block2Cache.key). */
  readonly blockKey: string;
  state: 'pending' | 'active' | 'ended' = 'pending';
  /** The CON notification still waiting for its ACK, if any. */
  inflight: ResponseTransmission | null = null;
  /** Message id of the last NON notification (an RST for it ends the observation). */
  lastNonMid = -1;
  /** Last time a CON notification was sent (ms, monotonic). */
  lastConAt: number;
  private seq: number;

  constructor(init: { peer: Peer; token: Buffer; path: readonly string[]; query: readonly string[]; accept: number | undefined; blockKey: string; now: number }) {
    super();
    this.peer = init.peer;
    this.token = init.token;
    this.key = ObserverHandle.keyOf(init.peer.key, init.token);
    this.path = init.path;
    this.query = init.query;
    this.accept = init.accept;
    this.blockKey = init.blockKey;
    this.lastConAt = init.now;
    this.seq = 1;
  }

  static keyOf(peerKey: string, token: Buffer): string {
    return `${peerKey}#${token.toString('hex')}`;
  }

  get active(): boolean {
    return this.state === 'active';
  }

  /** The next Observe value (24-bit, increasing). */
  nextSequence(): number {
    this.seq = (this.seq + 1) & 0xffffff;
    return this.seq;
  }

  /** @internal Marks the handle ended and tells listeners (once). */
  finish(reason: ObserverEndReason): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.emit('end', reason);
  }
}
