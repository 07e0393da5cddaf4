/**
 * The deadline of one phase of a firmware job (download, update, reboot).
 *
 * A queue-mode device sleeps between its exchanges and the server holds
 * requests until it wakes up: that wait is the device's schedule, not a
 * failure. So the time the device spends asleep does not count against the
 * phase's limit, up to a separate allowance for sleeping; the phase expires
 * when either the awake time reaches `limitMs` or the sleeping time reaches
 * `sleepAllowanceMs`. For an always-online device this is a plain timeout.
 */

export interface PhaseExpiry {
  /** Time the device was awake during the phase (ms). */
  readonly awakeMs: number;
  /** Time it slept during the phase (ms). */
  readonly sleptMs: number;
  /** True when the sleeping allowance ran out (the device did not wake up in time). */
  readonly asleep: boolean;
}

export interface PhaseTimerOptions {
  limitMs: number;
  sleepAllowanceMs: number;
  /** Whether the device sleeps right now. */
  asleep: boolean;
  onExpire: (info: PhaseExpiry) => void;
  now?: () => number;
}

export class PhaseTimer {
  private readonly now: () => number;
  private awakeMs = 0;
  private sleptMs = 0;
  private asleep: boolean;
  private since: number;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: PhaseTimerOptions) {
    this.now = options.now ?? Date.now;
    this.asleep = options.asleep;
    this.since = this.now();
    this.arm();
  }

  /** The device fell asleep (server 'sleeping' event). */
  sleeping(): void {
    if (this.stopped || this.asleep) return;
    this.account();
    this.asleep = true;
    this.arm();
  }

  /** The device woke up (server 'awake' event, or it talked to us). */
  awake(): void {
    if (this.stopped || !this.asleep) return;
    this.account();
    this.asleep = false;
    this.arm();
  }

  /** Most time the phase can still take (awake budget plus what is left of the sleeping allowance). */
  remainingMs(): number {
    const { awakeMs, sleptMs } = this.elapsed();
    return Math.max(0, this.options.limitMs - awakeMs) + Math.max(0, this.options.sleepAllowanceMs - sleptMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private elapsed(): { awakeMs: number; sleptMs: number } {
    const span = this.now() - this.since;
    return this.asleep ? { awakeMs: this.awakeMs, sleptMs: this.sleptMs + span } : { awakeMs: this.awakeMs + span, sleptMs: this.sleptMs };
  }

  private account(): void {
    const { awakeMs, sleptMs } = this.elapsed();
    this.awakeMs = awakeMs;
    this.sleptMs = sleptMs;
    this.since = this.now();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const { awakeMs, sleptMs } = this.elapsed();
    const left = this.asleep ? this.options.sleepAllowanceMs - sleptMs : this.options.limitMs - awakeMs;
    this.timer = setTimeout(() => this.fire(), Math.max(0, left));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    if (this.stopped) return;
    const { awakeMs, sleptMs } = this.elapsed();
    const over = this.asleep ? sleptMs >= this.options.sleepAllowanceMs : awakeMs >= this.options.limitMs;
    if (!over) {
      this.arm(); // woken early by clock skew of setTimeout
      return;
    }
    this.stop();
    this.options.onExpire({ awakeMs, sleptMs, asleep: this.asleep });
  }
}
