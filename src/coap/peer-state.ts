/**
 * What the endpoint remembers about one peer: the next message id it uses
 * towards it, its messages waiting for an ACK, the requests queued by NSTART
 * and the observers it registered. Kept while anything is pending and for
 * an exchange lifetime after the last activity (so that message ids are not
 * reused too early), then swept.
 */
import type { Peer } from './transport.js';
import type { Transmission } from './transmission.js';
import type { ClientExchange } from './client-exchange.js';
import type { ObserverHandle } from './observer.js';

export class PeerState {
  readonly key: string;
  /** The most recent Peer object seen or used for this key (what datagrams are sent to). */
  peer: Peer;
  /** Last activity (ms, monotonic). */
  lastActive: number;
  /** Our messages to this peer that wait for an ACK or RST, by message id. */
  readonly outgoing = new Map<number, Transmission>();
  /** Requests holding an NSTART slot. */
  active = 0;
  /** Requests waiting for an NSTART slot, oldest first. */
  readonly queue: ClientExchange[] = [];
  /** Observations this peer holds on our resources (server role). */
  readonly observers: ObserverHandle[] = [];
  private nextMid: number;

  constructor(peer: Peer, now: number) {
    this.key = peer.key;
    this.peer = peer;
    this.lastActive = now;
    // A random start makes a clash with ids used before a restart unlikely.
    this.nextMid = Math.floor(Math.random() * 0x10000);
  }

  /** A message id not used towards this peer for the last 65 536 messages. */
  nextMessageId(): number {
    const mid = this.nextMid;
    this.nextMid = (mid + 1) & 0xffff;
    return mid;
  }

  /** Whether nothing is pending, so the state may be dropped once idle long enough. */
  get idle(): boolean {
    return this.outgoing.size === 0 && this.active === 0 && this.queue.length === 0 && this.observers.length === 0;
  }
}
