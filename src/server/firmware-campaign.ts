/**
 * A campaign: one image to many devices, at most `concurrency` jobs at a
 * time, each device's outcome kept, and a summary at the end. Devices are
 * started in the order given; a device that cannot even start (a job
 * already running for it, say) gets a failed outcome of its own.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CoapCode, Lwm2mError } from '../errors.js';
import type { FirmwareJob } from './firmware-job.js';
import type { FirmwareJobOptions, FirmwareOutcome } from './firmware-types.js';

export interface CampaignOptions extends FirmwareJobOptions {
  /** Jobs at the same time (default 5). */
  concurrency?: number;
}

export interface CampaignSummary {
  readonly id: string;
  readonly total: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly cancelled: number;
  /** Failures by reason (`{ "integrity-check-failure": 2 }`). */
  readonly reasons: Readonly<Record<string, number>>;
  /** One outcome per device, in the order the devices were given. */
  readonly outcomes: readonly FirmwareOutcome[];
  /** Most jobs that ran at the same time. */
  readonly maxConcurrent: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly durationMs: number;
  /** Durations of the jobs that ran (ms). */
  readonly jobMs: { readonly min: number; readonly max: number; readonly average: number } | undefined;
}

export interface CampaignEvents {
  jobStarted: [job: FirmwareJob];
  jobDone: [outcome: FirmwareOutcome];
  done: [summary: CampaignSummary];
}

export class FirmwareCampaign extends EventEmitter<CampaignEvents> {
  readonly id = randomBytes(6).toString('hex');
  readonly startedAt = Date.now();
  /** Resolves with the summary when every device has an outcome (never rejects). */
  readonly done: Promise<CampaignSummary>;
  readonly endpoints: readonly string[];
  private readonly concurrency: number;
  private readonly outcomes = new Map<string, FirmwareOutcome>();
  private readonly running = new Map<string, FirmwareJob>();
  private next = 0;
  private maxConcurrent = 0;
  private cancelled = false;
  private finish!: (summary: CampaignSummary) => void;

  constructor(endpoints: readonly string[], private readonly startJob: (endpoint: string) => FirmwareJob, options: { concurrency?: number } = {}) {
    super();
    const concurrency = options.concurrency ?? 5;
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new Lwm2mError(CoapCode.BadRequest, `concurrency must be a whole number from 1 up, got ${concurrency}`);
    this.concurrency = concurrency;
    this.endpoints = [...new Set(endpoints)];
    this.done = new Promise<CampaignSummary>((resolve) => {
      this.finish = resolve;
    });
    setImmediate(() => this.fill());
  }

  /** Jobs running now. */
  get active(): number {
    return this.running.size;
  }

  /** Devices not started yet. */
  get pending(): number {
    return this.endpoints.length - this.next;
  }

  /** Devices with an outcome so far. */
  get completed(): number {
    return this.outcomes.size;
  }

  /**
   * Stops the campaign: devices not started get a 'cancelled' outcome, and
   * running jobs are cancelled where that is still possible (a device
   * already installing finishes its update).
   */
  async cancel(): Promise<CampaignSummary> {
    this.cancelled = true;
    while (this.next < this.endpoints.length) {
      const endpoint = this.endpoints[this.next++] as string;
      this.record(notStarted(endpoint, 'cancelled', 'the campaign was cancelled before this device started'));
    }
    await Promise.all([...this.running.values()].map((job) => job.cancel().catch(() => undefined)));
    this.checkDone();
    return this.done;
  }

  private fill(): void {
    while (!this.cancelled && this.running.size < this.concurrency && this.next < this.endpoints.length) {
      const endpoint = this.endpoints[this.next++] as string;
      let job: FirmwareJob;
      try {
        job = this.startJob(endpoint);
      } catch (err) {
        this.record(notStarted(endpoint, 'failed', (err as Error).message));
        continue;
      }
      this.running.set(endpoint, job);
      this.maxConcurrent = Math.max(this.maxConcurrent, this.running.size);
      this.emit('jobStarted', job);
      void job.done.then((outcome) => {
        this.running.delete(endpoint);
        this.record(outcome);
        this.fill();
      });
    }
    this.checkDone();
  }

  private record(outcome: FirmwareOutcome): void {
    this.outcomes.set(outcome.endpoint, outcome);
    this.emit('jobDone', outcome);
  }

  private checkDone(): void {
    if (this.outcomes.size < this.endpoints.length || this.running.size > 0) return;
    const summary = this.summary();
    this.emit('done', summary);
    this.finish(summary);
  }

  /** The summary so far (final once `done` resolved). */
  summary(): CampaignSummary {
    const outcomes = this.endpoints.map((e) => this.outcomes.get(e)).filter((o): o is FirmwareOutcome => o !== undefined);
    const reasons: Record<string, number> = {};
    let succeeded = 0;
    let failed = 0;
    let cancelled = 0;
    for (const o of outcomes) {
      if (o.status === 'succeeded') succeeded++;
      else if (o.status === 'cancelled') cancelled++;
      else failed++;
      if (o.reason !== undefined) reasons[o.reason] = (reasons[o.reason] ?? 0) + 1;
    }
    const ran = outcomes.filter((o) => o.jobId !== '').map((o) => o.timings.totalMs);
    const finishedAt = Date.now();
    return {
      id: this.id,
      total: this.endpoints.length,
      succeeded,
      failed,
      cancelled,
      reasons,
      outcomes,
      maxConcurrent: this.maxConcurrent,
      startedAt: this.startedAt,
      finishedAt,
      durationMs: finishedAt - this.startedAt,
      jobMs:
        ran.length === 0
          ? undefined
          : { min: Math.min(...ran), max: Math.max(...ran), average: Math.round(ran.reduce((a, b) => a + b, 0) / ran.length) },
    };
  }
}

/** The outcome of a device whose job never started. */
function notStarted(endpoint: string, status: 'failed' | 'cancelled', message: string): FirmwareOutcome {
  const now = Date.now();
  return {
    jobId: '',
    endpoint,
    status,
    reason: status === 'cancelled' ? 'cancelled' : 'error',
    message,
    phase: 'preparing',
    size: 0,
    startedAt: now,
    finishedAt: now,
    timings: { totalMs: 0 },
  };
}
