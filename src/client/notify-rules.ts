/**
 * When to notify (Core TS §5.1.2, notification attributes), as pure
 * functions plus a small scheduler driven by an injectable clock.
 *
 * Rules, with `last` the value of the last notification sent:
 * - pmin: no two notifications closer than pmin seconds; a change that
 *   qualifies earlier is sent when pmin has passed (with the value then).
 * - pmax: a notification at the latest pmax seconds after the previous one,
 *   changed or not (ignored when 0 or smaller than pmin).
 * - gt / lt (numeric): a change qualifies when the value crossed the
 *   threshold (in either direction) since `last`.
 * - st (numeric): a change qualifies when |value − last| ≥ st.
 * - with none of gt/lt/st (and no edge), any change qualifies.
 * - edge (boolean, 1.2): 1 qualifies false→true only, 0 true→false only,
 *   judged against the previous evaluated value (an edge is a transition
 *   of the value, whatever was notified last).
 * - epmin: the value is not evaluated more often than every epmin seconds
 *   (a change arriving sooner is evaluated when epmin has passed).
 * - epmax: the value is evaluated at least every epmax seconds (this is how
 *   a value supplied by a read handler is polled).
 * - con (1.2): notifications confirmable (1) or not (0) — used by the sender.
 */
import type { Clock, ClockTimer } from './clock.js';
import type { EffectiveAttributes } from './attribute-store.js';

/** What the rules need to know about a value. */
export interface Sample {
  /** Equal fingerprints mean equal values. */
  readonly fingerprint: string;
  /** The value, when the observed target is one numeric value. */
  readonly number?: number;
  /** The value, when the observed target is one boolean value. */
  readonly boolean?: boolean;
}

function crossed(threshold: number, before: number, after: number, above: boolean): boolean {
  return above ? before > threshold !== after > threshold : before < threshold !== after < threshold;
}

/**
 * True when moving from `last` (last notified) to `current` qualifies for a
 * notification; `previous` is the value seen at the previous evaluation
 * (edge detection), `last` when not given.
 */
export function isQualifyingChange(attrs: EffectiveAttributes, last: Sample | undefined, current: Sample, previous: Sample | undefined = last): boolean {
  if (attrs.edge !== undefined && current.boolean !== undefined) {
    const before = previous?.boolean;
    if (before === undefined) return false;
    return attrs.edge === 1 ? !before && current.boolean : before && !current.boolean;
  }
  if (last !== undefined && last.fingerprint === current.fingerprint) return false;
  const numeric = attrs.gt !== undefined || attrs.lt !== undefined || attrs.st !== undefined;
  if (!numeric || current.number === undefined) return true;
  const before = last?.number;
  if (before === undefined) return true;
  const now = current.number;
  if (attrs.gt !== undefined && crossed(attrs.gt, before, now, true)) return true;
  if (attrs.lt !== undefined && crossed(attrs.lt, before, now, false)) return true;
  if (attrs.st !== undefined && Math.abs(now - before) >= attrs.st) return true;
  return false;
}

/** Earliest time (ms) the next notification may leave. */
export function earliestNotification(attrs: EffectiveAttributes, lastSentAt: number): number {
  return lastSentAt + Math.max(0, attrs.pmin) * 1000;
}

/** Time (ms) by which a notification must leave, or undefined when pmax does not apply. */
export function latestNotification(attrs: EffectiveAttributes, lastSentAt: number): number | undefined {
  const { pmax, pmin } = attrs;
  if (pmax === undefined || pmax <= 0 || pmax < pmin) return undefined;
  return lastSentAt + pmax * 1000;
}

export type NotifyReason = 'change' | 'pmax';

export interface NotifyHooks {
  /** Reads the observed value now. */
  evaluate(): Promise<Sample>;
  /** Sends a notification with the current value; resolves with what was sent (undefined when nothing left). */
  send(reason: NotifyReason): Promise<Sample | undefined>;
  /** Reports a failure of evaluate/send (the observation decides what to do). */
  onError(err: unknown): void;
}

/**
 * Decides when one observation notifies. Feed it `changed()` whenever
 * something below the observed path may have changed; it calls
 * `hooks.send()` when the rules say so. All work is serialized.
 */
export class NotifyScheduler {
  private attrs: EffectiveAttributes;
  private lastSent: Sample | undefined;
  private lastEvaluated: Sample | undefined;
  private lastSentAt: number;
  private lastEvalAt: number;
  private pending = false;
  private stopped = false;
  private flushTimer: ClockTimer | null = null;
  private pmaxTimer: ClockTimer | null = null;
  private evalTimer: ClockTimer | null = null;
  private epmaxTimer: ClockTimer | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly clock: Clock,
    attrs: EffectiveAttributes,
    private readonly hooks: NotifyHooks,
    /** The value the observation started with (sent in the Observe response). */
    initial: Sample,
  ) {
    this.attrs = attrs;
    this.lastSent = initial;
    this.lastEvaluated = initial;
    this.lastSentAt = clock.now();
    this.lastEvalAt = this.lastSentAt;
    this.armPmax();
    this.armEpmax();
  }

  get attributes(): EffectiveAttributes {
    return this.attrs;
  }

  /** New attributes (a Write-Attributes): timers are re-armed from the last notification. */
  setAttributes(attrs: EffectiveAttributes): void {
    this.attrs = attrs;
    if (this.stopped) return;
    this.armPmax();
    this.armEpmax();
    if (this.flushTimer) {
      this.clock.clearTimeout(this.flushTimer);
      this.flushTimer = null;
      this.trySend();
    }
  }

  /** Something below the observed path may have changed. */
  changed(): void {
    if (this.stopped) return;
    const epmin = this.attrs.epmin;
    if (epmin !== undefined && epmin > 0) {
      const due = this.lastEvalAt + epmin * 1000;
      if (this.clock.now() < due) {
        if (!this.evalTimer) {
          this.evalTimer = this.clock.setTimeout(() => {
            this.evalTimer = null;
            this.enqueue(() => this.evaluateNow());
          }, due - this.clock.now());
        }
        return;
      }
    }
    this.enqueue(() => this.evaluateNow());
  }

  stop(): void {
    this.stopped = true;
    for (const t of [this.flushTimer, this.pmaxTimer, this.evalTimer, this.epmaxTimer]) this.clock.clearTimeout(t);
    this.flushTimer = this.pmaxTimer = this.evalTimer = this.epmaxTimer = null;
  }

  /** Resolves when queued work is done, including work queued meanwhile (tests). */
  async idle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.chain;
      await current;
    } while (current !== this.chain);
  }

  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.stopped) return;
      try {
        await task();
      } catch (err) {
        this.hooks.onError(err);
      }
    });
  }

  private async evaluateNow(): Promise<void> {
    this.lastEvalAt = this.clock.now();
    this.armEpmax();
    const sample = await this.hooks.evaluate();
    if (this.stopped) return;
    const previous = this.lastEvaluated;
    this.lastEvaluated = sample;
    if (isQualifyingChange(this.attrs, this.lastSent, sample, previous)) {
      this.pending = true;
      this.trySend();
    }
  }

  private trySend(): void {
    if (!this.pending || this.stopped) return;
    const earliest = earliestNotification(this.attrs, this.lastSentAt);
    const now = this.clock.now();
    if (now >= earliest) {
      this.enqueue(() => this.sendNow('change'));
    } else if (!this.flushTimer) {
      this.flushTimer = this.clock.setTimeout(() => {
        this.flushTimer = null;
        this.enqueue(() => this.sendNow('change'));
      }, earliest - now);
    }
  }

  private async sendNow(reason: NotifyReason): Promise<void> {
    if (reason === 'change' && !this.pending) return;
    this.pending = false;
    this.clock.clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.lastSentAt = this.clock.now();
    this.armPmax();
    const sent = await this.hooks.send(reason);
    if (sent !== undefined) this.lastSent = sent;
  }

  private armPmax(): void {
    this.clock.clearTimeout(this.pmaxTimer);
    this.pmaxTimer = null;
    const due = latestNotification(this.attrs, this.lastSentAt);
    if (due === undefined || this.stopped) return;
    this.pmaxTimer = this.clock.setTimeout(() => {
      this.pmaxTimer = null;
      this.enqueue(() => this.sendNow('pmax'));
    }, Math.max(0, due - this.clock.now()));
  }

  private armEpmax(): void {
    this.clock.clearTimeout(this.epmaxTimer);
    this.epmaxTimer = null;
    const epmax = this.attrs.epmax;
    if (epmax === undefined || epmax <= 0 || this.stopped) return;
    this.epmaxTimer = this.clock.setTimeout(() => {
      this.epmaxTimer = null;
      this.enqueue(() => this.evaluateNow());
    }, Math.max(0, this.lastEvalAt + epmax * 1000 - this.clock.now()));
  }
}
