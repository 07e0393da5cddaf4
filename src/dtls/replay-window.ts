/**
 * Anti-replay sliding window of 64 record sequence numbers (RFC 6347
 * §4.1.2.6, after RFC 4303 §3.4.3). `check` runs before the record is
 * authenticated, `accept` only after: a forged record must not move the
 * window.
 */
export const REPLAY_WINDOW_SIZE = 64;

export class ReplayWindow {
  /** Highest sequence number accepted so far (-1: none yet). */
  private top = -1;
  /** seen[seq % 64] tells whether seq (within the window) was accepted. */
  private readonly seen = new Uint8Array(REPLAY_WINDOW_SIZE);

  /** True when a record with this sequence number may be new. */
  check(seq: number): boolean {
    if (seq > this.top) return true;
    if (this.top - seq >= REPLAY_WINDOW_SIZE) return false; // left of the window
    return this.seen[seq % REPLAY_WINDOW_SIZE] === 0;
  }

  /** Marks an authenticated record as received. */
  accept(seq: number): void {
    if (seq > this.top) {
      // Slots between the old top and the new one now stand for new numbers: clear them.
      const clear = Math.min(seq - this.top, REPLAY_WINDOW_SIZE);
      for (let i = 1; i <= clear; i++) this.seen[(this.top + i) % REPLAY_WINDOW_SIZE] = 0;
      this.top = seq;
    }
    this.seen[seq % REPLAY_WINDOW_SIZE] = 1;
  }

  get highest(): number {
    return this.top;
  }
}
