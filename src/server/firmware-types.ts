/**
 * The shapes a firmware job shows to its callers: options, progress and
 * status events, the outcome, and the error that carries a failure reason.
 */
import type { FailureReason } from './firmware-results.js';

export type JobPhase = 'preparing' | 'downloading' | 'downloaded' | 'updating' | 'rebooting' | 'verifying' | 'finished';

export interface FirmwareJobOptions {
  /** 'auto' (default) chooses from /5/0/9 and /5/0/8; 'pull' is implied by `packageUri`. */
  method?: 'push' | 'pull' | 'auto';
  /** With 'auto', when the device takes both (default 'push'). */
  prefer?: 'push' | 'pull';
  /** Pull from this URI instead of hosting the image (the image is still used for its size). */
  packageUri?: string;
  /** Pull over 'coap' (the server's own endpoint) or 'http' (needs an HTTP host); by default CoAP when the device has it. */
  pullProtocol?: 'coap' | 'http';
  /** Block1 size for push, a power of two from 16 to 1024 (default 1024). */
  blockSize?: number;
  /** The firmware version (/3/0/3) the device must report afterwards. */
  expectedVersion?: string;
  /** Reset a device that is already Downloading or Downloaded (default: fail with device-busy). */
  force?: boolean;
  /** Preparing plus download, until State is Downloaded (ms, default 10 min). */
  downloadTimeoutMs?: number;
  /** From Execute Update until the device reports or goes away (ms, default 5 min). */
  updateTimeoutMs?: number;
  /** From the device going away until it is back and reports (ms, default 5 min). */
  rebootTimeoutMs?: number;
  /** Queue-mode devices: sleeping time per phase not counted against its deadline (ms, default 10 min). */
  queueWaitMs?: number;
  /** Deadline of each CoAP exchange (ms); the server's by default. */
  requestTimeoutMs?: number;
  /** Polling period when the device refuses Observe (ms, default 5 s). */
  pollIntervalMs?: number;
  /** Observe State and Result (default true); false polls. */
  observe?: boolean;
  /** Push: whole-transfer restarts after a lost transfer (default 1). */
  pushRestarts?: number;
}

/** The image as jobs share it. */
export interface PreparedImage {
  readonly data: Buffer;
  readonly sha256: string;
  /** Firmware version of the image, the default `expectedVersion`. */
  readonly version?: string;
}

export interface FirmwareProgress {
  readonly jobId: string;
  readonly endpoint: string;
  readonly method: 'push' | 'pull';
  /** Bytes the device has (push: acknowledged blocks; pull over HTTP: bytes written; pull over CoAP: the offset it asked for). */
  readonly bytes: number;
  readonly total: number;
  /** 0..100, rounded down. */
  readonly percent: number;
}

export interface DeviceStatusEvent {
  readonly jobId: string;
  readonly endpoint: string;
  readonly state: number | undefined;
  readonly result: number | undefined;
  readonly stateName: string;
  readonly resultName: string;
}

export interface FirmwareTimings {
  readonly totalMs: number;
  readonly preparingMs?: number;
  readonly downloadMs?: number;
  readonly updateMs?: number;
  readonly rebootMs?: number;
}

export interface FirmwareOutcome {
  readonly jobId: string;
  readonly endpoint: string;
  readonly status: 'succeeded' | 'failed' | 'cancelled';
  /** Why it did not succeed. */
  readonly reason?: FailureReason;
  /** One sentence for people. */
  readonly message: string;
  /** The phase the job ended in. */
  readonly phase: JobPhase;
  readonly method?: 'push' | 'pull';
  readonly packageUri?: string;
  /** The CoAP code of a refused request (write-refused, execute-refused). */
  readonly code?: string;
  /** The device's last known State and Update Result. */
  readonly state?: number;
  readonly result?: number;
  readonly resultName?: string;
  readonly firmwareVersion?: string;
  readonly size: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly timings: FirmwareTimings;
}

export interface FirmwareJobEvents {
  phase: [phase: JobPhase];
  progress: [progress: FirmwareProgress];
  /** State or Update Result changed (as far as the job saw). */
  status: [status: DeviceStatusEvent];
  /** How State and Result are followed: 'observe', or 'poll' when the device refuses Observe. */
  follow: [mode: 'observe' | 'poll'];
  /** Something the job worked around (a refused reset, a lost poll...). */
  warning: [message: string];
  done: [outcome: FirmwareOutcome];
}

/** A job failure with its reason (and the CoAP code of a refused request). */
export class FirmwareJobError extends Error {
  constructor(readonly reason: FailureReason, message: string, readonly code?: string) {
    super(message);
    this.name = 'FirmwareJobError';
  }
}
