/**
 * Follows a device's State (/5/0/3) and Update Result (/5/0/5): observes
 * both, and polls them instead when the device refuses the observation (or
 * an observation ends, e.g. when the device registers anew). Every fresh
 * value, from a notification or a read, is reported as a status.
 *
 * Notifications of the two resources arrive separately, so a status joins
 * the latest value of each. One read or poll at a time: a sleeping
 * queue-mode device does not collect a pile of polls.
 */
import { EventEmitter } from 'node:events';
import { CoapCode, Lwm2mError } from '../errors.js';
import type { NotificationEvent, ObservationInfo } from './lwm2m-server.js';
import { DeviceRequests, integerOf } from './firmware-device.js';
import type { DeviceEventHub } from './firmware-events.js';

export const STATE_PATH = '/5/0/3';
export const RESULT_PATH = '/5/0/5';

export interface FirmwareStatus {
  /** State /5/0/3 (undefined until known). */
  readonly state: number | undefined;
  /** Update Result /5/0/5 (undefined until known). */
  readonly result: number | undefined;
  /** 'notification' when the newest value came unasked, 'read' when we asked for both. */
  readonly source: 'notification' | 'read';
  readonly at: number;
}

export interface FollowerEvents {
  status: [status: FirmwareStatus];
  /** A read or poll failed (the job decides what it means: a device that went away, ...). */
  problem: [error: Error];
  mode: [mode: 'observe' | 'poll'];
}

export interface FollowerOptions {
  /** Observe the two resources (default true); false: poll only. */
  observe: boolean;
  pollIntervalMs: number;
}

export class StatusFollower extends EventEmitter<FollowerEvents> {
  private state: number | undefined;
  private result: number | undefined;
  private readonly observations = new Set<string>();
  private pollTimer: NodeJS.Timeout | null = null;
  private reading: Promise<FirmwareStatus> | null = null;
  private closed = false;
  private currentMode: 'observe' | 'poll' | 'idle' = 'idle';
  private readonly unsubscribe: () => void;

  constructor(private readonly device: DeviceRequests, events: DeviceEventHub, private readonly options: FollowerOptions) {
    super();
    this.unsubscribe = events.subscribe(device.endpoint, {
      notification: (e) => this.notified(e),
      observationEnded: (info) => this.ended(info),
    });
  }

  get mode(): 'observe' | 'poll' | 'idle' {
    return this.currentMode;
  }

  /** The last known status (values may be undefined before the first read). */
  get last(): FirmwareStatus {
    return { state: this.state, result: this.result, source: 'read', at: Date.now() };
  }

  /**
   * Starts following and resolves with the current status. Rejects when the
   * device cannot be reached at all (the caller's failure, not a reason to poll).
   */
  async start(): Promise<FirmwareStatus> {
    this.closed = false;
    if (this.options.observe) {
      try {
        await this.observeBoth();
        if (this.closed) return this.last;
        this.setMode('observe');
        return this.report('read');
      } catch (err) {
        if (isNoAnswer(err) || !this.device.registration()) throw err;
        // the device answered but would not be observed: poll instead
        await this.cancelObservations();
      }
    }
    const status = await this.read();
    if (!this.closed) this.startPolling();
    return status;
  }

  /** Stops following; a later start() begins again (after the device registered anew). */
  async stop(): Promise<void> {
    this.closed = true;
    this.stopPolling();
    this.setMode('idle');
    await this.cancelObservations();
  }

  /** Stops for good: also drops the server listeners. */
  async close(): Promise<void> {
    this.unsubscribe();
    await this.stop();
  }

  /**
   * Reads both resources. A read already under way is joined, unless `fresh`
   * asks for one that starts after it (its answer may predate a request the
   * caller just made).
   */
  read(fresh = false): Promise<FirmwareStatus> {
    if (this.reading) {
      if (!fresh) return this.reading;
      return this.reading.then(
        () => this.read(),
        () => this.read(),
      );
    }
    const reading = this.readBoth().finally(() => {
      if (this.reading === reading) this.reading = null;
    });
    this.reading = reading;
    return reading;
  }

  private async readBoth(): Promise<FirmwareStatus> {
    const state = await this.device.readInteger(STATE_PATH);
    const result = await this.device.readInteger(RESULT_PATH);
    this.state = state;
    this.result = result;
    return this.report('read');
  }

  private async observeBoth(): Promise<void> {
    for (const path of [STATE_PATH, RESULT_PATH]) {
      const { observation, current } = await this.device.again(() => this.device.server.observe(this.device.endpoint, path, this.device.requestOptions()));
      if (this.closed) {
        await this.device.server.cancelObservation(this.device.endpoint, { id: observation.id }).catch(() => 0);
        return;
      }
      this.observations.add(observation.id);
      const value = integerOf(current.value);
      if (path === STATE_PATH) this.state = value;
      else this.result = value;
    }
  }

  private async cancelObservations(): Promise<void> {
    const ids = [...this.observations];
    this.observations.clear();
    for (const id of ids) {
      if (!this.device.registration()) break;
      await this.device.server.cancelObservation(this.device.endpoint, { id }, 'passive').catch(() => 0);
    }
  }

  private notified(e: NotificationEvent): void {
    if (this.closed || !this.observations.has(e.observation.id)) return;
    const state = e.value[STATE_PATH];
    const result = e.value[RESULT_PATH];
    if (state !== undefined) this.state = integerOf(state);
    if (result !== undefined) this.result = integerOf(result);
    this.report('notification');
  }

  private ended(info: ObservationInfo): void {
    if (!this.observations.delete(info.id) || this.closed) return;
    // Lost the observation (the device registered anew, refused a notification...): keep following by polling.
    if (this.currentMode === 'observe') this.startPolling();
  }

  private report(source: FirmwareStatus['source']): FirmwareStatus {
    const status: FirmwareStatus = { state: this.state, result: this.result, source, at: Date.now() };
    this.emit('status', status);
    return status;
  }

  private setMode(mode: 'observe' | 'poll' | 'idle'): void {
    if (mode === this.currentMode) return;
    this.currentMode = mode;
    if (mode !== 'idle') this.emit('mode', mode);
  }

  private startPolling(): void {
    this.stopPolling();
    this.setMode('poll');
    const tick = (): void => {
      this.pollTimer = null;
      if (this.closed) return;
      this.read().then(
        () => this.schedule(tick),
        (err: unknown) => {
          if (this.closed) return;
          this.emit('problem', err instanceof Error ? err : new Error(String(err)));
          this.schedule(tick);
        },
      );
    };
    this.schedule(tick);
  }

  private schedule(tick: () => void): void {
    if (this.closed || this.currentMode !== 'poll') return;
    this.pollTimer = setTimeout(tick, this.options.pollIntervalMs);
    this.pollTimer.unref();
  }

  private stopPolling(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
  }
}

/** The device did not answer (or did not wake up) in time. */
export function isNoAnswer(err: unknown): boolean {
  return err instanceof Lwm2mError && err.code === CoapCode.GatewayTimeout;
}
