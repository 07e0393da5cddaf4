/**
 * Time for the client engine: every timer the engine sets (Update before the
 * lifetime runs out, retry back-off, pmin/pmax, the queue-mode awake window)
 * goes through a Clock, so tests drive time by hand instead of waiting.
 *
 * The CoAP layer below keeps its own real timers (retransmissions); only
 * LwM2M-level timing is virtual.
 */

/** A timer returned by Clock.setTimeout; pass it back to clearTimeout. */
export interface ClockTimer {
  readonly dueAt: number;
}

export interface Clock {
  /** Milliseconds, monotonic for timers (wall time is `Date.now()` for the system clock). */
  now(): number;
  setTimeout(fn: () => void, delayMs: number): ClockTimer;
  clearTimeout(timer: ClockTimer | undefined | null): void;
}

interface SystemTimer extends ClockTimer {
  handle: NodeJS.Timeout;
}

/** Longest delay node:timers accepts (about 24.8 days); longer timers re-arm. */
const MAX_TIMEOUT = 2 ** 31 - 1;

/** The real clock: Date.now() and unref'd Node timers (they never keep a process alive). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn: () => void, delayMs: number): ClockTimer {
    const dueAt = Date.now() + Math.max(0, delayMs);
    const timer = { dueAt } as SystemTimer;
    const arm = (ms: number): void => {
      timer.handle = setTimeout(() => {
        const left = dueAt - Date.now();
        if (left > 0) arm(left);
        else fn();
      }, Math.min(Math.max(0, ms), MAX_TIMEOUT));
      timer.handle.unref();
    };
    arm(delayMs);
    return timer;
  },
  clearTimeout(timer: ClockTimer | undefined | null): void {
    if (timer) clearTimeout((timer as SystemTimer).handle);
  },
};

interface ManualTimer extends ClockTimer {
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A clock moved by hand (tests, simulations). `advance(ms)` runs every timer
 * that falls due, in due order, with `now()` set to each timer's due time.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, delayMs: number): ClockTimer {
    const timer: ManualTimer = { dueAt: this.current + Math.max(0, delayMs), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(timer: ClockTimer | undefined | null): void {
    if (!timer) return;
    (timer as ManualTimer).cancelled = true;
    this.timers = this.timers.filter((t) => t !== timer);
  }

  /** Number of timers waiting. */
  get pending(): number {
    return this.timers.length;
  }

  /** Due time of the next timer, if any. */
  nextDue(): number | undefined {
    let best: number | undefined;
    for (const t of this.timers) if (best === undefined || t.dueAt < best) best = t.dueAt;
    return best;
  }

  /** Moves time forward by `ms`, running the timers that fall due (including ones they set). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (t.dueAt <= target && (next === undefined || t.dueAt < next.dueAt || (t.dueAt === next.dueAt && t.seq < next.seq))) next = t;
      }
      if (next === undefined) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = Math.max(this.current, next.dueAt);
      next.fn();
    }
    this.current = target;
  }
}
