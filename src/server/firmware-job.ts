/**
 * One firmware update of one device, start to finish:
 *
 *   preparing    the device is registered with /5, its State is followed
 *                (observe, or polling), the delivery method is chosen and an
 *                old Update Result is cleared (writing an empty Package URI or
 *                Package resets the state machine to Idle / Result 0);
 *   downloading  push: Block1 write of /5/0/0; pull: the image is hosted and
 *                its URI written to /5/0/1; then until State is Downloaded;
 *   updating     Execute /5/0/2, then until Update Result says how it went;
 *   rebooting    the device went away (de-registered, stopped answering):
 *                until it registers again (or sends an Update) and reports;
 *   verifying    /3/0/3 against the expected firmware version, if one is given.
 *
 * Each of download, update and reboot has its own deadline (PhaseTimer: time
 * a queue-mode device sleeps is not counted, up to an allowance). A value
 * that comes in a notification is confirmed by a read before the job acts
 * on it, because a notification may be older than the request the job just
 * made. Every failure names its reason: the Update Result name when the
 * device reports one, the job's own reason otherwise (firmware-results.ts).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CoapCode, Lwm2mError } from '../errors.js';
import { ContentFormat } from '../formats/content-format.js';
import type { Lwm2mServer } from './lwm2m-server.js';
import { chooseDelivery, deliveryReads, type Delivery } from './firmware-delivery.js';
import { DeviceRequests, integersOf } from './firmware-device.js';
import type { DeviceEventHub } from './firmware-events.js';
import { isNoAnswer, StatusFollower, type FirmwareStatus } from './firmware-follow.js';
import type { CoapImageHost, HostedImage, HttpImageHost } from './firmware-host.js';
import { PhaseTimer, type PhaseExpiry } from './firmware-phase-timer.js';
import { checkBlockSize, PushRefusedError, pushPackage } from './firmware-push.js';
import { failureOfResult, FirmwareState, isFailureResult, resultName, stateName, UpdateResult, DeliveryMethod } from './firmware-results.js';
import {
  FirmwareJobError,
  type FirmwareJobEvents,
  type FirmwareJobOptions,
  type FirmwareOutcome,
  type FirmwareTimings,
  type JobPhase,
  type PreparedImage,
} from './firmware-types.js';

/** What the job needs from the updater. */
export interface JobEnvironment {
  readonly server: Lwm2mServer;
  /** Server events by endpoint (one hub for all jobs of an updater). */
  readonly events: DeviceEventHub;
  readonly coapHost: CoapImageHost;
  readonly httpHost: HttpImageHost | undefined;
}

type Verdict = { ok: true } | { ok: false; failure: FirmwareJobError } | undefined;
type Decider = (status: FirmwareStatus) => Verdict;

interface Waiter {
  readonly decide: Decider;
  readonly resolve: (status: FirmwareStatus) => void;
  readonly reject: (err: Error) => void;
}

const DEFAULTS = {
  downloadTimeoutMs: 600_000,
  updateTimeoutMs: 300_000,
  rebootTimeoutMs: 300_000,
  queueWaitMs: 600_000,
  pollIntervalMs: 5000,
  blockSize: 1024,
};

export class FirmwareJob extends EventEmitter<FirmwareJobEvents> {
  readonly id = randomBytes(6).toString('hex');
  readonly startedAt = Date.now();
  /** Resolves with the outcome (never rejects). */
  readonly done: Promise<FirmwareOutcome>;
  private readonly server: Lwm2mServer;
  private readonly device: DeviceRequests;
  private readonly follower: StatusFollower;
  private readonly pushAbort = new AbortController();
  private readonly aborted: Promise<never>;
  private rejectAborted!: (err: FirmwareJobError) => void;
  private failure: FirmwareJobError | null = null;
  private phaseValue: JobPhase = 'preparing';
  private delivery: Delivery | undefined;
  private packageUri: string | undefined;
  private hosted: HostedImage | null = null;
  private timer: PhaseTimer | null = null;
  private waiter: Waiter | null = null;
  private lastStatus: { state: number | undefined; result: number | undefined } = { state: undefined, result: undefined };
  /** A result the device would not let us clear: not this job's, until the device moves on. */
  private staleResult: number | undefined;
  private writtenToDevice = false;
  private interrupted = false;
  private cameBack = false;
  private deferredSeen = false;
  private deliveryMethod: number | undefined;
  private readonly marks: { downloadStart?: number; downloaded?: number; updateStart?: number; rebootStart?: number } = {};
  private readonly detach: Array<() => void> = [];

  constructor(
    private readonly env: JobEnvironment,
    readonly endpoint: string,
    readonly image: PreparedImage,
    readonly options: FirmwareJobOptions = {},
  ) {
    super();
    if (options.blockSize !== undefined) checkBlockSize(options.blockSize);
    this.server = env.server;
    this.device = new DeviceRequests(this.server, endpoint, () => this.requestOptions());
    this.follower = new StatusFollower(this.device, env.events, {
      observe: options.observe ?? true,
      pollIntervalMs: options.pollIntervalMs ?? DEFAULTS.pollIntervalMs,
    });
    this.aborted = new Promise<never>((_, reject) => {
      this.rejectAborted = reject;
    });
    this.aborted.catch(() => {}); // observed through guard()
    // Start on the next turn, so that the caller can attach listeners first.
    this.done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.run());
  }

  get phase(): JobPhase {
    return this.phaseValue;
  }

  get method(): 'push' | 'pull' | undefined {
    return this.delivery?.method;
  }

  /**
   * Cancels the job. While downloading or downloaded, the device is told too
   * (Execute Cancel /5/0/10 where the object has it, else the empty-URI or
   * empty-package reset). Once Update has been executed it is too late: 4.05.
   */
  async cancel(): Promise<FirmwareOutcome> {
    if (this.phaseValue === 'finished') return this.done;
    if (this.phaseValue === 'updating' || this.phaseValue === 'rebooting' || this.phaseValue === 'verifying') {
      throw new Lwm2mError(CoapCode.MethodNotAllowed, `${this.endpoint} is installing the firmware: the update can no longer be cancelled`);
    }
    this.abortWith(new FirmwareJobError('cancelled', 'cancelled through the API'));
    return this.done;
  }

  /**
   * Stops following the job in any phase (the updater closes): a download is
   * cancelled on the device as by cancel(); a device already installing is
   * left alone. The outcome is 'cancelled' with `message`.
   */
  stop(message: string): void {
    this.abortWith(new FirmwareJobError('cancelled', message));
  }

  // ------------------------------------------------------------ the run

  private async run(): Promise<FirmwareOutcome> {
    this.listen();
    this.startTimer('download');
    try {
      await this.prepare();
      await this.download();
      const reported = await this.update();
      const firmwareVersion = await this.verify(reported);
      const message = reported
        ? `firmware updated${firmwareVersion !== undefined ? ` to ${firmwareVersion}` : ''}`
        : `firmware version ${firmwareVersion ?? '?'} as expected, although the device reported no Update Result`;
      return this.finish({ status: 'succeeded', message, ...(firmwareVersion !== undefined ? { firmwareVersion } : {}) });
    } catch (err) {
      const failure = this.failure ?? toJobError(err, this.device.registration() !== undefined);
      if (this.writtenToDevice && (failure.reason === 'cancelled' || failure.reason === 'download-timeout')) await this.tidyDevice();
      return this.finish({
        status: failure.reason === 'cancelled' ? 'cancelled' : 'failed',
        reason: failure.reason,
        message: failure.message,
        ...(failure.code !== undefined ? { code: failure.code } : {}),
      });
    } finally {
      await this.cleanup();
    }
  }

  private async prepare(): Promise<void> {
    const reg = this.device.registration();
    if (!reg) throw new FirmwareJobError('not-registered', `no registered device is called "${this.endpoint}"`);
    if (!reg.objects.some((o) => o.id === 5)) throw new FirmwareJobError('no-firmware-object', `${this.endpoint} did not register the Firmware Update object (/5)`);
    let status = await this.guard(this.follower.start());
    this.delivery = await this.chooseDelivery();
    if (status.state === FirmwareState.updating) {
      throw new FirmwareJobError('device-busy', `${this.endpoint} is already installing firmware (State updating)`);
    }
    if (status.state === FirmwareState.downloading || status.state === FirmwareState.downloaded) {
      if (this.options.force !== true) {
        throw new FirmwareJobError('device-busy', `${this.endpoint} already has a package ${stateName(status.state)} (use force to reset it)`);
      }
      status = await this.reset();
      if (status.state !== FirmwareState.idle) throw new FirmwareJobError('device-busy', `${this.endpoint} stays ${stateName(status.state)} after a reset`);
    } else if (status.result !== undefined && status.result !== UpdateResult.initial) {
      // A result of an earlier attempt must not be taken for this job's.
      status = await this.reset();
    }
    if (status.result !== undefined && status.result !== UpdateResult.initial) this.staleResult = status.result;
  }

  private async download(): Promise<void> {
    this.setPhase('downloading');
    this.marks.downloadStart = Date.now();
    const delivery = this.delivery as Delivery;
    const total = this.image.data.length;
    try {
      if (delivery.method === 'push') {
        this.writtenToDevice = true;
        await this.guard(
          pushPackage(this.server, this.endpoint, this.image.data, {
            blockSize: this.options.blockSize ?? DEFAULTS.blockSize,
            ...(this.options.requestTimeoutMs !== undefined ? { timeoutMs: this.options.requestTimeoutMs } : {}),
            queueTimeoutMs: this.queueTimeoutMs(),
            restarts: this.options.pushRestarts ?? 1,
            signal: this.pushAbort.signal,
            onProgress: (bytes) => this.progress('push', bytes, total),
          }),
        );
      } else {
        const uri = this.hostImage(delivery);
        this.packageUri = uri;
        this.writtenToDevice = true;
        await this.guard(this.device.write('/5/0/1', uri));
        this.progress('pull', 0, total);
      }
    } catch (err) {
      if (this.failure) throw this.failure;
      throw writeFailure(err, this.device.registration() !== undefined);
    }
    await this.until((s) => this.downloadVerdict(s));
    this.marks.downloaded = Date.now();
    if (delivery.method === 'pull') this.progress('pull', total, total);
    this.setPhase('downloaded');
  }

  /** Resolves with true when the device reported its Update Result, false when it came back Idle without one. */
  private async update(): Promise<boolean> {
    this.startTimer('update');
    this.setPhase('updating');
    this.marks.updateStart = Date.now();
    try {
      await this.guard(this.device.execute('/5/0/2'));
    } catch (err) {
      if (this.failure) throw this.failure;
      if (isNoAnswer(err) || !this.device.registration()) {
        // It may have started the update (and rebooted) before its answer got out.
        this.enterRebooting('no answer to Execute Update');
      } else if (err instanceof Lwm2mError) {
        // A device with Automatic Upgrade at Download (/5/0/14) may have started on its own: then 4.05 is no refusal.
        const now = err.code === CoapCode.MethodNotAllowed ? await this.guard(this.follower.read(true)).catch(() => undefined) : undefined;
        const started = now !== undefined && (now.state === FirmwareState.updating || now.result === UpdateResult.success);
        if (!started) throw new FirmwareJobError('execute-refused', `${this.endpoint} refused Execute Update: ${err.message}`, err.code);
      } else {
        throw err;
      }
    }
    const status = await this.until((s) => this.updateVerdict(s));
    return status.result === UpdateResult.success;
  }

  private async verify(reported: boolean): Promise<string | undefined> {
    this.setPhase('verifying');
    const expected = this.options.expectedVersion ?? this.image.version;
    let version: string | undefined;
    try {
      const value = await this.guard(this.device.read('/3/0/3'));
      version = typeof value === 'string' ? value : undefined;
    } catch (err) {
      if (this.failure) throw this.failure;
      if (expected !== undefined || !reported) {
        throw new FirmwareJobError(reported ? 'version-mismatch' : 'result-lost', `the firmware version (/3/0/3) could not be read: ${(err as Error).message}`);
      }
    }
    if (expected !== undefined && version !== expected) {
      throw new FirmwareJobError('version-mismatch', `${this.endpoint} reports firmware version ${version ?? '(none)'}, expected ${expected}`);
    }
    if (!reported && expected === undefined) {
      throw new FirmwareJobError('result-lost', `${this.endpoint} came back Idle without an Update Result (give the expected version to check it)`);
    }
    return version;
  }

  // ------------------------------------------------------------ verdicts on the device's status

  private downloadVerdict(s: FirmwareStatus): Verdict {
    if (s.state === FirmwareState.downloading || (s.result !== undefined && s.result !== this.staleResult)) this.staleResult = undefined;
    if (s.state === FirmwareState.downloaded) return { ok: true };
    if (isFailureResult(s.result) && s.result !== this.staleResult) {
      return { ok: false, failure: new FirmwareJobError(failureOfResult(s.result), `download failed on ${this.endpoint}: Update Result ${s.result} (${resultName(s.result)})`) };
    }
    if (this.interrupted && s.state === FirmwareState.idle && s.result === UpdateResult.initial) {
      return { ok: false, failure: new FirmwareJobError('left-during-download', `${this.endpoint} registered anew during the download and is Idle`) };
    }
    return undefined;
  }

  private updateVerdict(s: FirmwareStatus): Verdict {
    if (s.result === UpdateResult.success) return { ok: true };
    if (isFailureResult(s.result)) {
      return { ok: false, failure: new FirmwareJobError(failureOfResult(s.result), `update failed on ${this.endpoint}: Update Result ${s.result} (${resultName(s.result)})`) };
    }
    if (s.result === UpdateResult.deferred && !this.deferredSeen) {
      this.deferredSeen = true;
      this.emit('warning', `${this.endpoint} deferred the update (Update Result 11); waiting for it to proceed`);
    }
    // Back from a reboot without any result: only the firmware version can tell.
    if (this.cameBack && s.state === FirmwareState.idle && s.result === UpdateResult.initial) return { ok: true };
    return undefined;
  }

  /** Waits until `decide` accepts a status; the current one is read at once. */
  private until(decide: Decider): Promise<FirmwareStatus> {
    const waiting = new Promise<FirmwareStatus>((resolve, reject) => {
      this.waiter = { decide, resolve, reject };
    });
    this.refresh();
    return this.guard(waiting).finally(() => {
      this.waiter = null;
    });
  }

  private onStatus(status: FirmwareStatus): void {
    const { state, result } = status;
    if (state !== this.lastStatus.state || result !== this.lastStatus.result) {
      this.lastStatus = { state, result };
      this.emit('status', { jobId: this.id, endpoint: this.endpoint, state, result, stateName: stateName(state), resultName: resultName(result) });
    }
    const waiter = this.waiter;
    if (!waiter) return;
    const verdict = waiter.decide(status);
    if (verdict === undefined) return;
    if (status.source === 'notification') {
      this.refresh(); // act on a read, not on a notification that may predate our request
      return;
    }
    this.waiter = null;
    if (verdict.ok) waiter.resolve(status);
    else waiter.reject(verdict.failure);
  }

  /** Reads State and Result now; the answer comes through the follower's status event. */
  private refresh(): void {
    this.follower.read(true).catch((err: unknown) => this.onProblem(err));
  }

  private onProblem(err: unknown): void {
    if (this.phaseValue === 'updating' && isNoAnswer(err)) {
      this.enterRebooting('the device stopped answering');
      return;
    }
    if (this.phaseValue !== 'rebooting' && this.phaseValue !== 'finished') this.emit('warning', `reading the firmware state of ${this.endpoint}: ${(err as Error).message}`);
  }

  // ------------------------------------------------------------ delivery

  private async chooseDelivery(): Promise<Delivery> {
    const reads = deliveryReads(this.options);
    this.deliveryMethod = reads.deliveryMethod ? await this.readOptional('/5/0/9') : undefined;
    const protocols = reads.protocols ? await this.readProtocols() : undefined;
    let coapProblem: string | undefined;
    try {
      this.env.coapHost.baseUri();
    } catch (err) {
      coapProblem = (err as Error).message;
    }
    try {
      return chooseDelivery(this.options, { deliveryMethod: this.deliveryMethod, protocols, coapProblem, httpHost: this.env.httpHost !== undefined });
    } catch (err) {
      if (err instanceof FirmwareJobError) throw new FirmwareJobError(err.reason, `${this.endpoint}: ${err.message}`, err.code);
      throw err;
    }
  }

  private hostImage(delivery: Extract<Delivery, { method: 'pull' }>): string {
    if (delivery.protocol === 'given') return this.options.packageUri as string;
    const host = delivery.protocol === 'coap' ? this.env.coapHost : this.env.httpHost;
    if (!host) throw new FirmwareJobError('configuration', 'no HTTP image host was given to the updater');
    try {
      this.hosted = host.host(this.image, (e) => this.progress('pull', e.bytes, e.total));
    } catch (err) {
      throw new FirmwareJobError('configuration', (err as Error).message);
    }
    return this.hosted.uri;
  }

  private async readOptional(path: string): Promise<number | undefined> {
    try {
      return await this.guard(this.device.readInteger(path));
    } catch (err) {
      if (this.failure || isNoAnswer(err)) throw err;
      return undefined;
    }
  }

  private async readProtocols(): Promise<number[] | undefined> {
    try {
      return integersOf(await this.guard(this.device.read('/5/0/8')));
    } catch (err) {
      if (this.failure || isNoAnswer(err)) throw err;
      return undefined;
    }
  }

  /**
   * Resets the device's state machine (Idle, Result 0): an empty Package URI
   * for devices that pull, an empty package ('\0') for those that take push
   * only; the other one when the first is refused.
   */
  private async reset(): Promise<FirmwareStatus> {
    const viaUri = () => this.device.write('/5/0/1', '');
    const viaPackage = () => this.device.write('/5/0/0', Buffer.from([0]), { format: ContentFormat.OPAQUE });
    const order = this.deliveryMethod === DeliveryMethod.push || this.delivery?.method === 'push' ? [viaPackage, viaUri] : [viaUri, viaPackage];
    let refused: unknown;
    for (const attempt of order) {
      try {
        await this.guard(attempt());
        refused = undefined;
        break;
      } catch (err) {
        if (this.failure || isNoAnswer(err)) throw err;
        refused = err;
      }
    }
    if (refused !== undefined) this.emit('warning', `${this.endpoint} refused the state machine reset: ${(refused as Error).message}`);
    return this.guard(this.follower.read());
  }

  /** After a cancel or a download timeout: tell the device to drop the package (best effort, bounded). */
  private async tidyDevice(): Promise<void> {
    // bounded: a closing updater (Node-RED redeploy) must not hang on a device that does not answer
    const bound = Math.min(5000, 2 * (this.options.requestTimeoutMs ?? 5000));
    const work = (async () => {
      const status = await this.follower.read().catch(() => undefined);
      if (status !== undefined && status.state !== FirmwareState.downloading && status.state !== FirmwareState.downloaded) return;
      const reg = this.device.registration();
      const version = reg?.objects.find((o) => o.id === 5)?.version ?? '1.0';
      if (version >= '1.1') {
        try {
          await this.device.execute('/5/0/10');
          await this.follower.read().catch(() => undefined);
          return;
        } catch {
          // no Cancel resource, or refused: reset instead
        }
      }
      await this.device.write('/5/0/1', '').catch(() => this.device.write('/5/0/0', Buffer.from([0]), { format: ContentFormat.OPAQUE }));
      await this.follower.read().catch(() => undefined);
    })().catch((err: unknown) => this.emit('warning', `could not stop the download on ${this.endpoint}: ${(err as Error).message}`));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, bound)))]);
    clearTimeout(timer);
  }

  // ------------------------------------------------------------ phases, timers, registration events

  private setPhase(phase: JobPhase): void {
    if (this.phaseValue === phase) return;
    this.phaseValue = phase;
    this.emit('phase', phase);
  }

  private startTimer(kind: 'download' | 'update' | 'reboot'): void {
    this.timer?.stop();
    const reg = this.device.registration();
    const queueMode = reg?.queueMode === true;
    const limitMs =
      kind === 'download'
        ? this.options.downloadTimeoutMs ?? DEFAULTS.downloadTimeoutMs
        : kind === 'update'
          ? this.options.updateTimeoutMs ?? DEFAULTS.updateTimeoutMs
          : this.options.rebootTimeoutMs ?? DEFAULTS.rebootTimeoutMs;
    this.timer = new PhaseTimer({
      limitMs,
      sleepAllowanceMs: queueMode ? this.options.queueWaitMs ?? DEFAULTS.queueWaitMs : 0,
      asleep: queueMode && !this.server.isAwake(this.endpoint),
      onExpire: (info) => this.onExpired(kind, limitMs, info),
    });
  }

  private onExpired(kind: 'download' | 'update' | 'reboot', limitMs: number, info: PhaseExpiry): void {
    const why = info.asleep
      ? `the device slept for ${info.sleptMs} ms, longer than the queue wait allowance`
      : `no outcome within ${limitMs} ms`;
    if (kind === 'download') {
      this.abortWith(new FirmwareJobError('download-timeout', `download to ${this.endpoint} timed out (${stateName(this.lastStatus.state)}): ${why}`));
      return;
    }
    if (kind === 'reboot') {
      this.abortWith(new FirmwareJobError('reboot-timeout', `${this.endpoint} did not come back after the update: ${why}`));
      return;
    }
    // Update: one more look. No answer means the device is away (rebooting); an answer without an outcome is a timeout.
    this.follower.read().then(
      () => {
        if (this.phaseValue === 'updating' && this.waiter) {
          this.abortWith(new FirmwareJobError('update-timeout', `${this.endpoint} is still ${stateName(this.lastStatus.state)} after the update: ${why}`));
        }
      },
      (err: unknown) => {
        if (isNoAnswer(err)) this.enterRebooting('the device stopped answering');
        else this.abortWith(new FirmwareJobError('update-timeout', `${this.endpoint} gave no outcome of the update: ${why} (${(err as Error).message})`));
      },
    );
  }

  private enterRebooting(why: string): void {
    if (this.phaseValue !== 'updating') return;
    this.marks.rebootStart = Date.now();
    this.startTimer('reboot');
    this.setPhase('rebooting');
    this.emit('warning', `${this.endpoint}: ${why}; waiting for it to come back`);
  }

  private listen(): void {
    const live = (fn: () => void) => (): void => {
      if (this.phaseValue !== 'finished') fn();
    };
    this.detach.push(
      this.env.events.subscribe(this.endpoint, {
        registered: live(() => this.onRegistered()),
        updated: live(() => this.onRegistrationUpdate()),
        deregistered: live(() => this.onLeft('de-registered')),
        expired: live(() => this.onLeft('expired')),
        awake: live(() => this.timer?.awake()),
        sleeping: live(() => this.timer?.sleeping()),
      }),
    );
    this.follower.on('status', (s) => this.onStatus(s));
    this.follower.on('problem', (err) => this.onProblem(err));
    this.follower.on('mode', (mode) => this.emit('follow', mode));
  }

  private onLeft(how: string): void {
    const phase = this.phaseValue;
    if (phase === 'preparing' || phase === 'downloading' || phase === 'downloaded') {
      this.abortWith(new FirmwareJobError('left-during-download', `${this.endpoint} ${how} during the download`));
      return;
    }
    if (phase === 'updating') this.enterRebooting(`it ${how}`);
    void this.follower.stop();
  }

  private onRegistered(): void {
    const phase = this.phaseValue;
    if (phase === 'verifying') return;
    if (phase === 'updating' || phase === 'rebooting') this.cameBack = true;
    else this.interrupted = true;
    // The new registration dropped our observations: follow again, and look at once.
    void this.follower
      .stop()
      .then(() => (this.phaseValue === 'finished' ? undefined : this.follower.start()))
      .catch((err: unknown) => this.onProblem(err));
  }

  private onRegistrationUpdate(): void {
    if (this.phaseValue === 'rebooting') {
      this.cameBack = true;
      this.refresh();
    } else if (this.phaseValue === 'updating' && this.follower.mode !== 'observe') {
      this.refresh();
    }
  }

  // ------------------------------------------------------------ plumbing

  private requestOptions(): { timeoutMs?: number; queueTimeoutMs: number } {
    return {
      ...(this.options.requestTimeoutMs !== undefined ? { timeoutMs: this.options.requestTimeoutMs } : {}),
      queueTimeoutMs: this.queueTimeoutMs(),
    };
  }

  /** A queued request may wait as long as the phase may still last. */
  private queueTimeoutMs(): number {
    return Math.max(1, this.timer?.remainingMs() ?? this.options.queueWaitMs ?? DEFAULTS.queueWaitMs);
  }

  private progress(method: 'push' | 'pull', bytes: number, total: number): void {
    this.emit('progress', { jobId: this.id, endpoint: this.endpoint, method, bytes, total, percent: total === 0 ? 100 : Math.floor((bytes * 100) / total) });
  }

  /** `p`, unless the job is aborted first. */
  private guard<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.aborted]);
  }

  private abortWith(failure: FirmwareJobError): void {
    if (this.failure || this.phaseValue === 'finished') return;
    this.failure = failure;
    this.pushAbort.abort();
    this.rejectAborted(failure);
  }

  private finish(fields: Pick<FirmwareOutcome, 'status' | 'message'> & Partial<FirmwareOutcome>): FirmwareOutcome {
    const finishedAt = Date.now();
    const m = this.marks;
    const timings: FirmwareTimings = {
      totalMs: finishedAt - this.startedAt,
      ...(m.downloadStart !== undefined ? { preparingMs: m.downloadStart - this.startedAt } : {}),
      ...(m.downloadStart !== undefined ? { downloadMs: (m.downloaded ?? finishedAt) - m.downloadStart } : {}),
      ...(m.updateStart !== undefined ? { updateMs: (m.rebootStart ?? finishedAt) - m.updateStart } : {}),
      ...(m.rebootStart !== undefined ? { rebootMs: finishedAt - m.rebootStart } : {}),
    };
    const { state, result } = this.lastStatus;
    const outcome: FirmwareOutcome = {
      jobId: this.id,
      endpoint: this.endpoint,
      phase: this.phaseValue,
      size: this.image.data.length,
      startedAt: this.startedAt,
      finishedAt,
      timings,
      ...(this.delivery ? { method: this.delivery.method } : {}),
      ...(this.packageUri !== undefined ? { packageUri: this.packageUri } : {}),
      ...(state !== undefined ? { state } : {}),
      ...(result !== undefined ? { result, resultName: resultName(result) } : {}),
      ...fields,
    };
    this.phaseValue = 'finished';
    this.emit('done', outcome);
    return outcome;
  }

  private async cleanup(): Promise<void> {
    this.timer?.stop();
    this.timer = null;
    this.hosted?.close();
    this.hosted = null;
    for (const off of this.detach.splice(0)) off();
    this.follower.removeAllListeners();
    await this.follower.close().catch(() => undefined);
  }
}

function writeFailure(err: unknown, registered: boolean): FirmwareJobError {
  if (err instanceof FirmwareJobError) return err;
  if (err instanceof PushRefusedError) return new FirmwareJobError('write-refused', err.message, err.code);
  if (err instanceof Lwm2mError) {
    if (err.code === CoapCode.GatewayTimeout) return new FirmwareJobError('unreachable', err.message, err.code);
    if (!registered) return new FirmwareJobError('left-during-download', err.message);
    return new FirmwareJobError('write-refused', err.message, err.code);
  }
  return toJobError(err, registered);
}

function toJobError(err: unknown, registered: boolean): FirmwareJobError {
  if (err instanceof FirmwareJobError) return err;
  if (err instanceof Lwm2mError) {
    if (err.code === CoapCode.GatewayTimeout) return new FirmwareJobError('unreachable', err.message, err.code);
    if (!registered) return new FirmwareJobError('not-registered', err.message, err.code);
  }
  return new FirmwareJobError('error', err instanceof Error ? err.message : String(err));
}
