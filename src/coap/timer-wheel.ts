/**
 * A hashed timer wheel: one interval timer for every retransmission,
 * deadline and separate-response delay of an endpoint, instead of one
 * setTimeout (and one closure) per message.
 *
 * Tasks are objects that extend TimerTask; the wheel links them into
 * per-slot lists through fields on the task itself, so scheduling and
 * cancelling are O(1) and allocate nothing. A slot holds every task whose
 * due tick maps to it; tasks due in a later revolution simply stay until
 * their time has come. Resolution is one tick (a task fires at most one tick
 * late, never early).
 */
import { CoapConfigError } from './errors.js';

/** Monotonic milliseconds (not wall-clock: a Pi without RTC jumps its clock at NTP sync). */
export function monotonicNow(): number {
  return performance.now();
}

const IDLE = -1;
const byDue = (a: TimerTask, b: TimerTask): number => a.timerDue - b.timerDue;
const FIRING = -2;

export abstract class TimerTask {
  /** Due time in the wheel's clock (ms). Managed by TimerWheel. */
  timerDue = 0;
  /** Slot index, IDLE or FIRING. Managed by TimerWheel. */
  timerSlot = IDLE;
  timerNext: TimerTask | null = null;
  timerPrev: TimerTask | null = null;

  /** Whether the task is waiting in a wheel. */
  get scheduled(): boolean {
    return this.timerSlot !== IDLE;
  }

  /** Called once when the due time has passed (unless cancelled or rescheduled first). */
  abstract onTimer(now: number): void;
}

export class TimerWheel {
  readonly tickMs: number;
  private readonly slots: (TimerTask | null)[];
  private readonly mask: number;
  private readonly clock: () => number;
  private readonly onError: (err: unknown) => void;
  private lastTick: number;
  private count = 0;
  private interval: NodeJS.Timeout | null = null;
  private readonly firing: TimerTask[] = [];

  constructor(options: { tickMs: number; slotBits?: number; clock?: () => number; onError?: (err: unknown) => void }) {
    if (!(options.tickMs >= 1)) throw new CoapConfigError(`tickMs must be >= 1 (got ${options.tickMs})`);
    this.tickMs = options.tickMs;
    const slotCount = 1 << (options.slotBits ?? 9);
    this.slots = new Array<TimerTask | null>(slotCount).fill(null);
    this.mask = slotCount - 1;
    this.clock = options.clock ?? monotonicNow;
    this.onError = options.onError ?? (() => {});
    this.lastTick = Math.floor(this.clock() / this.tickMs);
  }

  /** Number of scheduled tasks. */
  get size(): number {
    return this.count;
  }

  now(): number {
    return this.clock();
  }

  /** (Re)schedules `task` to fire `delayMs` from now. */
  schedule(task: TimerTask, delayMs: number): void {
    this.scheduleAt(task, this.clock() + Math.max(0, delayMs));
  }

  /** (Re)schedules `task` to fire at time `due` of the wheel's clock. */
  scheduleAt(task: TimerTask, due: number): void {
    if (task.timerSlot !== IDLE) this.cancel(task);
    if (this.count === 0) this.lastTick = Math.floor(this.clock() / this.tickMs);
    task.timerDue = due;
    let tick = Math.ceil(due / this.tickMs);
    if (tick <= this.lastTick) tick = this.lastTick + 1;
    const slot = tick & this.mask;
    const head = this.slots[slot]!;
    task.timerPrev = null;
    task.timerNext = head;
    if (head) head.timerPrev = task;
    this.slots[slot] = task;
    task.timerSlot = slot;
    if (++this.count === 1) this.start();
  }

  cancel(task: TimerTask): void {
    const slot = task.timerSlot;
    if (slot >= 0) {
      this.unlink(task, slot);
      if (--this.count === 0) this.stop();
    }
    task.timerSlot = IDLE;
  }

  /** Drops every task without firing it and stops the interval. */
  clear(): void {
    for (let s = 0; s < this.slots.length; s++) {
      let t = this.slots[s]!;
      while (t) {
        const next = t.timerNext;
        t.timerNext = t.timerPrev = null;
        t.timerSlot = IDLE;
        t = next!;
      }
      this.slots[s] = null;
    }
    for (const t of this.firing) t.timerSlot = IDLE;
    this.count = 0;
    this.stop();
  }

  private unlink(task: TimerTask, slot: number): void {
    const prev = task.timerPrev;
    const next = task.timerNext;
    if (prev) prev.timerNext = next;
    else this.slots[slot] = next;
    if (next) next.timerPrev = prev;
    task.timerNext = task.timerPrev = null;
  }

  private start(): void {
    if (this.interval) return;
    this.interval = setInterval(this.tick, this.tickMs);
    this.interval.unref();
  }

  private stop(): void {
    if (!this.interval) return;
    clearInterval(this.interval);
    this.interval = null;
  }

  /** Advances to now: collects every due task first, then fires them (a fired task may (re)schedule others). */
  private readonly tick = (): void => {
    const now = this.clock();
    const target = Math.floor(now / this.tickMs);
    let from = this.lastTick + 1;
    if (target - from > this.mask) from = target - this.mask;
    const firing = this.firing;
    for (let t = from; t <= target; t++) {
      const slot = t & this.mask;
      let task = this.slots[slot]!;
      while (task) {
        const next = task.timerNext;
        if (task.timerDue <= now) {
          this.unlink(task, slot);
          task.timerSlot = FIRING;
          this.count--;
          firing.push(task);
        }
        task = next!;
      }
    }
    this.lastTick = target;
    if (firing.length > 1) firing.sort(byDue); // earlier deadlines first, whatever slot they sat in
    for (let i = 0; i < firing.length; i++) {
      const task = firing[i]!;
      if (task.timerSlot !== FIRING) continue; // cancelled or rescheduled by an earlier task
      task.timerSlot = IDLE;
      try {
        task.onTimer(now);
      } catch (err) {
        this.onError(err);
      }
    }
    firing.length = 0;
    if (this.count === 0) this.stop();
  };
}
