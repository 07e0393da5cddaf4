/**
 * The Firmware Update object (/5/0) and its state machine (Core TS
 * Appendix E.6, object 5 versions 1.0–1.2):
 *
 *   Idle(0) ─write /5/0/0 (push) or /5/0/1 (pull)→ Downloading(1) ─ok→ Downloaded(2)
 *   Downloaded ─execute /5/0/2→ Updating(3) ─ok→ Idle, result 1 (success)
 *                                          └fail→ Idle, result 8 (update failed)
 *   Downloading/Downloaded ─empty package or URI, or execute /5/0/10 Cancel (1.1+)→ Idle
 *   any download failure → Idle with its result: 2 storage, 4 connection lost,
 *     5 integrity (verify hook), 6 unsupported type, 7 invalid URI, 9 protocol
 *
 * Errors of the process are reported through Update Result (/5/0/5), as the
 * object definition asks: a Write of a bad URI succeeds (2.04) and sets 7.
 * Operations that make no sense in the current state are refused (4.05 for
 * Update outside Downloaded and Cancel outside Downloading/Downloaded; 4.00
 * for a new package while one is in progress).
 */
import { EventEmitter } from 'node:events';
import type { CoapEndpoint } from '../coap/endpoint.js';
import { CoapCode, Lwm2mError } from '../errors.js';
import type { Clock } from './clock.js';
import { DownloadError, downloadPackage, PULL_PROTOCOLS, UpdateResult, type UpdateResultValue } from './firmware-download.js';
import type { ObjectTree } from './object-tree.js';
import { FirmwareState, type FirmwareStateValue } from '../model/firmware-object.js';

export { UpdateResult, type UpdateResultValue } from './firmware-download.js';

export const FIRMWARE = 5;
const Res = { package: 0, uri: 1, update: 2, state: 3, result: 5, pkgName: 6, pkgVersion: 7, protocols: 8, delivery: 9, cancel: 10, lastChange: 12 } as const;

export { FirmwareState, type FirmwareStateValue } from '../model/firmware-object.js';

export type VerifyVerdict = 'ok' | 'integrity' | 'unsupported-type' | boolean;

export interface FirmwarePackageInfo {
  readonly size: number;
  readonly delivery: 'push' | 'pull';
  readonly uri?: string;
}

export interface FirmwareHooks {
  /**
   * Checks a complete package (checksum, signature, type). `false` or
   * 'integrity' fails with result 5, 'unsupported-type' with 6; a throw counts
   * as an integrity failure. Without a hook every package is accepted.
   */
  verify?(pkg: Buffer, info: FirmwarePackageInfo): VerifyVerdict | Promise<VerifyVerdict>;
  /**
   * Applies the package (Execute /5/0/2). Resolve (optionally with the new
   * /3/0/3 firmware version) on success; reject or resolve `false` on
   * failure (result 8). Without a hook the update succeeds at once.
   */
  update?(pkg: Buffer): void | boolean | { firmwareVersion?: string } | Promise<void | boolean | { firmwareVersion?: string }>;
}

export interface FirmwareOptions {
  /** Largest package accepted (bytes, default 8 MiB). */
  maxSize?: number;
  /** Accept pushed packages (Write /5/0/0; default true). */
  push?: boolean;
  /** Accept Package URIs (pull; default true). */
  pull?: boolean;
  /** Deadline of each download exchange (ms, default 30 s). */
  downloadTimeoutMs?: number;
  hooks?: FirmwareHooks;
}

export interface FirmwareStatus {
  readonly state: FirmwareStateValue;
  readonly result: UpdateResultValue;
  /** What happened: 'downloading', 'downloaded', 'updating', 'updated', 'failed', 'cancelled', 'reset'. */
  readonly event: string;
  readonly size?: number;
  readonly message?: string;
}

export interface FirmwareEvents {
  status: [status: FirmwareStatus];
  /** The update succeeded: the device runs new firmware (the client registers again). */
  updated: [info: { firmwareVersion?: string }];
}

function isEmptyPackage(pkg: Buffer): boolean {
  return pkg.length === 0 || (pkg.length === 1 && pkg[0] === 0);
}

export class FirmwareUpdate extends EventEmitter<FirmwareEvents> {
  private readonly maxSize: number;
  private readonly push: boolean;
  private readonly pull: boolean;
  private readonly timeoutMs: number;
  private readonly hooks: FirmwareHooks;
  private pkg: Buffer | null = null;
  private download: AbortController | null = null;
  /** Bumped by every reset/cancel so that a late download result is ignored. */
  private generation = 0;

  constructor(
    private readonly tree: ObjectTree,
    private readonly endpoint: () => CoapEndpoint,
    private readonly clock: Clock,
    options: FirmwareOptions = {},
  ) {
    super();
    this.maxSize = options.maxSize ?? 8 * 1024 * 1024;
    this.push = options.push ?? true;
    this.pull = options.pull ?? true;
    this.timeoutMs = options.downloadTimeoutMs ?? 30_000;
    this.hooks = options.hooks ?? {};
    if (!this.push && !this.pull) throw new Lwm2mError(CoapCode.BadRequest, 'firmware update needs push or pull delivery');
  }

  /** Adds /5/0 to the tree and installs the handlers of its resources. */
  install(): void {
    const def = this.tree.addObject(FIRMWARE);
    const values: Record<number, unknown> = {
      [Res.uri]: '',
      [Res.state]: FirmwareState.idle,
      [Res.result]: UpdateResult.initial,
      [Res.delivery]: this.push && this.pull ? 2 : this.push ? 1 : 0,
    };
    if (this.pull && def.resources.has(Res.protocols)) {
      values[Res.protocols] = Object.fromEntries(Object.values(PULL_PROTOCOLS).map((p, i) => [i, p]));
    }
    this.tree.addInstance(FIRMWARE, 0, values);
    this.tree.setHandlers([FIRMWARE, 0, Res.package], { write: (v) => this.onPackage(v as Buffer) });
    this.tree.setHandlers([FIRMWARE, 0, Res.uri], { write: (v) => this.onUri(v as string) });
    this.tree.setHandlers([FIRMWARE, 0, Res.update], { execute: () => this.onUpdate() });
    if (def.resources.has(Res.cancel)) this.tree.setHandlers([FIRMWARE, 0, Res.cancel], { execute: () => this.onCancel() });
  }

  get state(): FirmwareStateValue {
    return Number(this.tree.storedValue([FIRMWARE, 0, Res.state])?.value ?? 0) as FirmwareStateValue;
  }

  get result(): UpdateResultValue {
    return Number(this.tree.storedValue([FIRMWARE, 0, Res.result])?.value ?? 0) as UpdateResultValue;
  }

  /** The package held in Downloaded state. */
  get package(): Buffer | null {
    return this.pkg;
  }

  private set(state: FirmwareStateValue, result: UpdateResultValue, event: string, extra: { size?: number; message?: string } = {}): void {
    this.tree.setValue([FIRMWARE, 0], { [Res.state]: state, [Res.result]: result });
    if (this.tree.model.resource(FIRMWARE, Res.lastChange)) this.tree.setValue([FIRMWARE, 0, Res.lastChange], new Date(Math.floor(this.clock.now() / 1000) * 1000));
    this.emit('status', { state, result, event, ...extra });
  }

  private reset(event: 'reset' | 'cancelled'): void {
    this.generation++;
    this.download?.abort();
    this.download = null;
    this.pkg = null;
    this.set(FirmwareState.idle, event === 'cancelled' ? UpdateResult.cancelled : UpdateResult.initial, event);
  }

  private async onPackage(pkg: Buffer): Promise<{ store: false }> {
    if (!this.push) throw new Lwm2mError(CoapCode.MethodNotAllowed, 'this device takes firmware by Package URI only');
    const state = this.state;
    if (state === FirmwareState.updating) throw new Lwm2mError(CoapCode.BadRequest, 'an update is in progress');
    if (isEmptyPackage(pkg)) {
      this.reset('reset');
      return { store: false };
    }
    if (state !== FirmwareState.idle) throw new Lwm2mError(CoapCode.BadRequest, 'a package is already being handled: write an empty package first');
    const generation = ++this.generation;
    this.set(FirmwareState.downloading, UpdateResult.initial, 'downloading', { size: pkg.length });
    if (pkg.length > this.maxSize) {
      this.set(FirmwareState.idle, UpdateResult.notEnoughFlash, 'failed', { size: pkg.length, message: `package larger than ${this.maxSize} bytes` });
      return { store: false };
    }
    await this.accept(pkg, { size: pkg.length, delivery: 'push' }, generation);
    return { store: false };
  }

  private onUri(uri: string): void {
    if (!this.pull) throw new Lwm2mError(CoapCode.MethodNotAllowed, 'this device takes pushed firmware only');
    const state = this.state;
    if (state === FirmwareState.updating) throw new Lwm2mError(CoapCode.BadRequest, 'an update is in progress');
    if (uri === '') {
      this.reset('reset');
      return;
    }
    if (state !== FirmwareState.idle) throw new Lwm2mError(CoapCode.BadRequest, 'a package is already being handled: write an empty URI first');
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      this.set(FirmwareState.idle, UpdateResult.invalidUri, 'failed', { message: `"${uri}" is not a URI` });
      return;
    }
    if (!(url.protocol in PULL_PROTOCOLS)) {
      this.set(FirmwareState.idle, UpdateResult.unsupportedProtocol, 'failed', { message: `protocol ${url.protocol} is not supported` });
      return;
    }
    const generation = ++this.generation;
    this.set(FirmwareState.downloading, UpdateResult.initial, 'downloading');
    const controller = new AbortController();
    this.download = controller;
    // Start after the Write's response has gone out.
    setImmediate(() => void this.pullPackage(url, controller, generation));
  }

  private async pullPackage(url: URL, controller: AbortController, generation: number): Promise<void> {
    let pkg: Buffer;
    try {
      pkg = await downloadPackage(url, { endpoint: this.endpoint(), maxSize: this.maxSize, timeoutMs: this.timeoutMs, signal: controller.signal });
    } catch (err) {
      if (generation !== this.generation) return;
      this.download = null;
      const result = err instanceof DownloadError ? err.result : UpdateResult.connectionLost;
      this.set(FirmwareState.idle, result, 'failed', { message: (err as Error).message });
      return;
    }
    if (generation !== this.generation) return;
    this.download = null;
    await this.accept(pkg, { size: pkg.length, delivery: 'pull', uri: url.href }, generation);
  }

  /** Verifies a complete package and moves to Downloaded (or back to Idle with the failure). */
  private async accept(pkg: Buffer, info: FirmwarePackageInfo, generation: number): Promise<void> {
    let verdict: VerifyVerdict = 'ok';
    let message: string | undefined;
    if (this.hooks.verify) {
      try {
        verdict = await this.hooks.verify(pkg, info);
      } catch (err) {
        verdict = 'integrity';
        message = (err as Error).message;
      }
    }
    if (generation !== this.generation) return;
    if (verdict === false || verdict === 'integrity') {
      this.set(FirmwareState.idle, UpdateResult.integrityFailure, 'failed', { size: pkg.length, message: message ?? 'package integrity check failed' });
      return;
    }
    if (verdict === 'unsupported-type') {
      this.set(FirmwareState.idle, UpdateResult.unsupportedPackageType, 'failed', { size: pkg.length, message: 'unsupported package type' });
      return;
    }
    this.pkg = pkg;
    this.set(FirmwareState.downloaded, UpdateResult.initial, 'downloaded', { size: pkg.length });
  }

  private onUpdate(): void {
    if (this.state !== FirmwareState.downloaded || !this.pkg) {
      throw new Lwm2mError(CoapCode.MethodNotAllowed, 'Update needs a downloaded package (state 2)');
    }
    const pkg = this.pkg;
    const generation = ++this.generation;
    this.set(FirmwareState.updating, UpdateResult.initial, 'updating', { size: pkg.length });
    setImmediate(() => void this.apply(pkg, generation));
  }

  private async apply(pkg: Buffer, generation: number): Promise<void> {
    let outcome: void | boolean | { firmwareVersion?: string };
    try {
      outcome = await this.hooks.update?.(pkg);
    } catch (err) {
      if (generation !== this.generation) return;
      this.pkg = null;
      this.set(FirmwareState.idle, UpdateResult.updateFailed, 'failed', { message: (err as Error).message });
      return;
    }
    if (generation !== this.generation) return;
    this.pkg = null;
    if (outcome === false) {
      this.set(FirmwareState.idle, UpdateResult.updateFailed, 'failed', { message: 'the update hook reported a failure' });
      return;
    }
    const firmwareVersion = typeof outcome === 'object' && outcome !== null ? outcome.firmwareVersion : undefined;
    if (firmwareVersion !== undefined && this.tree.hasInstance(3, 0)) this.tree.setValue([3, 0, 3], firmwareVersion);
    this.set(FirmwareState.idle, UpdateResult.success, 'updated');
    this.emit('updated', firmwareVersion !== undefined ? { firmwareVersion } : {});
  }

  private onCancel(): void {
    const state = this.state;
    if (state !== FirmwareState.downloading && state !== FirmwareState.downloaded) {
      throw new Lwm2mError(CoapCode.MethodNotAllowed, 'Cancel applies while downloading or downloaded');
    }
    this.reset('cancelled');
  }

  /** Stops a running download (client stop). */
  close(): void {
    this.generation++;
    this.download?.abort();
    this.download = null;
  }
}
