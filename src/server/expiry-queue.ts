/**
 * A min-heap of (expiry time, registration id) pairs: the next registration
 * to expire is found in O(1) and taken in O(log n), so the server never scans
 * 100 000 registrations to find the few that expired.
 *
 * Entries are never updated in place: an Update pushes a new entry and the
 * old one becomes stale. The owner tells stale entries apart (the record's
 * expiresAt no longer matches) and skips them; `rebuild` drops them all when
 * they pile up. Times and ids live in two parallel arrays (a packed array of
 * doubles and an array of shared strings): 16 bytes per entry, no object
 * per entry.
 */
export class ExpiryQueue {
  private times: number[] = [];
  private ids: string[] = [];

  /** Entries held, stale ones included. */
  get length(): number {
    return this.times.length;
  }

  push(time: number, id: string): void {
    this.times.push(time);
    this.ids.push(id);
    this.siftUp(this.times.length - 1);
  }

  /** Time of the earliest entry, or undefined when empty. */
  peekTime(): number | undefined {
    return this.times[0];
  }

  /** Id of the earliest entry, or undefined when empty. */
  peekId(): string | undefined {
    return this.ids[0];
  }

  /** Removes the earliest entry. */
  pop(): void {
    const last = this.times.length - 1;
    if (last < 0) return;
    const lastTime = this.times.pop()!;
    const lastId = this.ids.pop()!;
    if (last === 0) return;
    this.times[0] = lastTime;
    this.ids[0] = lastId;
    this.siftDown(0);
  }

  /** Replaces every entry with `entries` (one per live registration), in O(n). */
  rebuild(entries: Iterable<readonly [time: number, id: string]>): void {
    this.times = [];
    this.ids = [];
    for (const [time, id] of entries) {
      this.times.push(time);
      this.ids.push(id);
    }
    for (let i = (this.times.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftUp(index: number): void {
    const { times, ids } = this;
    const time = times[index]!;
    const id = ids[index]!;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (times[parent]! <= time) break;
      times[index] = times[parent]!;
      ids[index] = ids[parent]!;
      index = parent;
    }
    times[index] = time;
    ids[index] = id;
  }

  private siftDown(index: number): void {
    const { times, ids } = this;
    const size = times.length;
    const time = times[index]!;
    const id = ids[index]!;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= size) break;
      if (child + 1 < size && times[child + 1]! < times[child]!) child++;
      if (times[child]! >= time) break;
      times[index] = times[child]!;
      ids[index] = ids[child]!;
      index = child;
    }
    times[index] = time;
    ids[index] = id;
  }
}
