/**
 * Duplicate detection for incoming messages (RFC 7252 section 4.5).
 *
 * A retransmitted CON request must get the response we already sent and
 * must never reach the handler twice (an Execute run twice may reboot a
 * device twice). Remembering every message id for EXCHANGE_LIFETIME (247 s)
 * costs one entry per request, which a busy gateway cannot afford, so memory
 * is bounded three ways:
 *  - per peer: a small ring of its most recent message ids (a well-behaved
 *    peer has one or a few exchanges outstanding, NSTART = 1);
 *  - globally: a cap on entries and on the bytes of cached replies, evicting
 *    the oldest entry first;
 *  - in time: entries older than the exchange lifetime are swept.
 */

export class DedupEntry<P> {
  readonly peerKey: string;
  readonly messageId: number;
  readonly time: number;
  /** Datagram to send again when a duplicate arrives (null while the reply is not known yet). */
  reply: Buffer | null = null;
  /** The exchange still working on the message, if any (server side). */
  pending: P | null = null;
  /** Set once the entry has left the cache; setting a reply on it is then a no-op. */
  evicted = false;
  /** @internal */ ring: PeerRing<P>;
  /** @internal */ slot: number;
  /** @internal */ prev: DedupEntry<P> | null = null;
  /** @internal */ next: DedupEntry<P> | null = null;

  constructor(peerKey: string, messageId: number, time: number, ring: PeerRing<P>, slot: number) {
    this.peerKey = peerKey;
    this.messageId = messageId;
    this.time = time;
    this.ring = ring;
    this.slot = slot;
  }
}

/** @internal The recent message ids of one peer. */
export class PeerRing<P> {
  readonly entries: (DedupEntry<P> | null)[];
  next = 0;
  count = 0;
  constructor(size: number) {
    this.entries = new Array<DedupEntry<P> | null>(size).fill(null);
  }
}

export interface DedupCacheOptions {
  /** Message ids remembered per peer (default 8). */
  perPeer?: number;
  /** Entries over all peers (default 20 000). */
  maxEntries?: number;
  /** Bytes of cached replies over all peers (default 8 MiB). */
  maxBytes?: number;
  /** How long a message id is remembered (EXCHANGE_LIFETIME, ms). */
  lifetimeMs: number;
}

export class DedupCache<P> {
  private readonly perPeer: number;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly lifetimeMs: number;
  private readonly rings = new Map<string, PeerRing<P>>();
  private head: DedupEntry<P> | null = null; // oldest
  private tail: DedupEntry<P> | null = null; // newest
  private count = 0;
  private replyBytes = 0;

  constructor(options: DedupCacheOptions) {
    this.perPeer = Math.max(1, options.perPeer ?? 8);
    this.maxEntries = Math.max(1, options.maxEntries ?? 20_000);
    this.maxBytes = Math.max(0, options.maxBytes ?? 8 * 1024 * 1024);
    this.lifetimeMs = options.lifetimeMs;
  }

  /** Entries currently remembered. */
  get size(): number {
    return this.count;
  }

  /** Bytes of replies currently cached. */
  get bytes(): number {
    return this.replyBytes;
  }

  /** Peers with at least one remembered message id. */
  get peerCount(): number {
    return this.rings.size;
  }

  /** The live entry for this peer and message id, if the message was seen within the lifetime. */
  find(peerKey: string, messageId: number, now: number): DedupEntry<P> | undefined {
    const ring = this.rings.get(peerKey);
    if (ring === undefined) return undefined;
    const entries = ring.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e != null && e.messageId === messageId) {
        if (now - e.time < this.lifetimeMs) return e;
        this.evict(e);
        return undefined;
      }
    }
    return undefined;
  }

  /** Remembers a new message id (the caller checked `find` first). */
  add(peerKey: string, messageId: number, now: number): DedupEntry<P> {
    let ring = this.rings.get(peerKey);
    if (ring === undefined) {
      ring = new PeerRing<P>(this.perPeer);
      this.rings.set(peerKey, ring);
    }
    // Overwrite the oldest slot, but spare an entry whose request is still being
    // handled while another one can go (its retransmission must stay a duplicate).
    let slot = ring.next;
    const size = ring.entries.length;
    for (let k = 0; k < size; k++) {
      const e = ring.entries[(ring.next + k) % size];
      if (e == null || e.pending === null) {
        slot = (ring.next + k) % size;
        break;
      }
    }
    const old = ring.entries[slot];
    if (old != null) this.evict(old, true);
    const entry = new DedupEntry<P>(peerKey, messageId, now, ring, slot);
    ring.entries[slot] = entry;
    ring.next = slot + 1 === size ? 0 : slot + 1;
    ring.count++;
    entry.prev = this.tail;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
    this.count++;
    while (this.count > this.maxEntries && this.head) this.evict(this.head);
    return entry;
  }

  /** Stores the datagram a duplicate of this message gets. */
  setReply(entry: DedupEntry<P>, reply: Buffer | null): void {
    if (entry.evicted) return;
    this.replyBytes += (reply?.length ?? 0) - (entry.reply?.length ?? 0);
    entry.reply = reply;
    while (this.replyBytes > this.maxBytes && this.head) this.evict(this.head);
  }

  /** Forgets entries older than the lifetime. */
  sweep(now: number): void {
    while (this.head && now - this.head.time >= this.lifetimeMs) this.evict(this.head);
  }

  clear(): void {
    while (this.head) this.evict(this.head);
  }

  private evict(e: DedupEntry<P>, keepRing = false): void {
    if (e.evicted) return;
    e.evicted = true;
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = e.next = null;
    this.count--;
    this.replyBytes -= e.reply?.length ?? 0;
    const ring = e.ring;
    ring.entries[e.slot] = null;
    if (--ring.count === 0 && !keepRing) this.rings.delete(e.peerKey);
  }
}
