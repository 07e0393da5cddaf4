/**
 * A small map with three bounds: entry count, total bytes and idle time.
 * Used for the block-wise state the server keeps between requests, which
 * an open UDP port must never let grow without limit. Oldest-touched
 * entries are evicted first (a Map keeps insertion order; touching an entry
 * re-inserts it).
 */

export interface StoredItem {
  /** Bytes this entry holds (kept up to date through `resize`). */
  bytes: number;
  /** Last use (ms, monotonic). */
  touched: number;
}

export class BoundedStore<V extends StoredItem> {
  private readonly map = new Map<string, V>();
  private total = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly idleMs: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.total;
  }

  /** The entry, if it exists and has been used within the idle time. */
  get(key: string, now: number): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    if (now - v.touched > this.idleMs) {
      this.delete(key);
      return undefined;
    }
    return v;
  }

  /** Marks the entry as just used (moves it to the young end). */
  touch(key: string, v: V, now: number): void {
    v.touched = now;
    this.map.delete(key);
    this.map.set(key, v);
  }

  set(key: string, v: V): void {
    this.delete(key);
    this.map.set(key, v);
    this.total += v.bytes;
    this.enforce(key);
  }

  /** Records that an entry grew or shrank by `delta` bytes. */
  resize(key: string, v: V, delta: number): void {
    v.bytes += delta;
    this.total += delta;
    this.enforce(key);
  }

  delete(key: string): boolean {
    const v = this.map.get(key);
    if (v === undefined) return false;
    this.map.delete(key);
    this.total -= v.bytes;
    return true;
  }

  /** Drops entries idle for longer than the idle time. */
  sweep(now: number): void {
    for (const [key, v] of this.map) {
      if (now - v.touched > this.idleMs) this.delete(key);
    }
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
  }

  /** Evicts the oldest entries (but never `keep`) until both bounds hold. */
  private enforce(keep: string): void {
    if (this.map.size <= this.maxEntries && this.total <= this.maxBytes) return;
    for (const [key] of this.map) {
      if (this.map.size <= this.maxEntries && this.total <= this.maxBytes) break;
      if (key !== keep) this.delete(key);
    }
  }
}
