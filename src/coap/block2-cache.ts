/**
 * Server side of Block2 (RFC 7959 section 2.4): a response too large for one
 * datagram is cut into blocks; the whole representation is kept here for a
 * short while so that the client's requests for the following blocks are
 * served from the same representation (same ETag) without calling the
 * handler again. Bounded in entries, bytes and idle time.
 */
import { BoundedStore, type StoredItem } from './bounded-store.js';
import type { CoapOption } from './packet.js';

export interface Representation extends StoredItem {
  code: string;
  /** Response options without Block2/Size2/Observe (added per block). */
  options: CoapOption[];
  payload: Buffer;
  etag: Buffer;
}

export interface Block2CacheOptions {
  maxEntries: number;
  maxBytes: number;
  idleMs: number;
}

export class Block2Cache {
  private readonly store: BoundedStore<Representation>;

  constructor(options: Block2CacheOptions) {
    this.store = new BoundedStore<Representation>(options.maxEntries, options.maxBytes, options.idleMs);
  }

  get size(): number {
    return this.store.size;
  }

  get bytes(): number {
    return this.store.bytes;
  }

  /**
   * The key of a resource representation as one peer asked for it. The
   * method is left out (clients differ in the method they use for the later
   * blocks of a POST response); the body is part of it for FETCH, whose body
   * selects what is returned.
   */
  static key(peerKey: string, path: readonly string[], query: readonly string[], accept: number | undefined, fetchBody?: Buffer): string {
    let key = `${peerKey}|${path.join('/')}?${query.join('&')}|${accept ?? ''}`;
    if (fetchBody !== undefined && fetchBody.length) key += `|${fetchBody.toString('base64')}`;
    return key;
  }

  get(key: string, now: number): Representation | undefined {
    const r = this.store.get(key, now);
    if (r !== undefined) this.store.touch(key, r, now);
    return r;
  }

  set(key: string, rep: Omit<Representation, 'bytes'>): void {
    this.store.set(key, { ...rep, bytes: rep.payload.length });
  }

  delete(key: string): void {
    this.store.delete(key);
  }

  sweep(now: number): void {
    this.store.sweep(now);
  }

  clear(): void {
    this.store.clear();
  }
}
