/**
 * A registration store persisted to one JSON-lines file, so that
 * registrations and observations survive a restart of Node-RED.
 *
 * - Atomic: each save writes a temporary file in the same folder, fsyncs it
 *   and renames it over the store file, so a reader (or a restart after a
 *   crash) sees the old file or the new one, never a mix. Temporary files
 *   left by a crash are removed at the next open.
 * - Coalesced: changes are counted and one save runs
 *   `flushDelayMs` after the first of them, however many follow (not
 *   postponed by later ones, so the delay is bounded); `flush()` and
 *   `close()` save at once.
 * - Non-blocking: a save writes in chunks with awaits between them, so a
 *   large store does not hold the event loop (and the CoAP traffic) for the
 *   whole serialisation. Records are immutable, so each line written is a
 *   consistent record; a change made during a save schedules another one.
 * - Forgiving on load: a file that cannot be read or parsed is moved aside
 *   to `<file>.corrupt-<timestamp>` with one warning and the store starts
 *   empty; fields it does not know are ignored; registrations already expired
 *   are dropped and reported in `loadReport`.
 *
 * File layout, one JSON value per line:
 *   {"format":"lwm2m-server-store","version":1,"savedAt":1700000000000}
 *   {"registration":{...}}
 *   {"observation":{...}}
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { MemoryRegistrationStore } from './memory-store.js';
import type { Registration } from './registration.js';
import type { ObservationRecord } from './registration-store.js';
import { observationFromJson, registrationFromJson, StoreRecordError } from './store-records.js';

export const STORE_FILE_FORMAT = 'lwm2m-server-store';
export const STORE_FILE_VERSION = 1;

export interface FileStoreOptions {
  /**
   * Time a change waits before it is saved (ms), so that the changes in that
   * window are saved together. Default 500. When a save itself takes longer
   * (about 100 000 registrations), saves are spaced by twice their duration
   * instead, so that saving never takes more than a third of the CPU.
   */
  readonly flushDelayMs?: number;
  /** Registrations whose expiresAt + grace has passed at load are dropped (ms). Default 0. */
  readonly expiryGraceMs?: number;
  /** Clock for the expiry check at load. Default Date.now. */
  readonly now?: () => number;
  /** Where warnings go (corrupt file, failed save). Default console.warn. */
  readonly onWarning?: (message: string) => void;
}

/** What `open` found in the file. */
export interface LoadReport {
  /** Registrations and observations now in the store. */
  readonly registrations: number;
  readonly observations: number;
  /** Registrations that had expired while the server was down: dropped, for the engine to report. */
  readonly expired: readonly Registration[];
  /** Observations dropped with them (or whose registration was missing). */
  readonly droppedObservations: number;
  /** Where an unreadable file was moved, when it was. */
  readonly movedAside?: string;
}

/** Records per chunk written between two awaits. */
const CHUNK_RECORDS = 500;
/** Shortest and longest wait between retries of a failing save. */
const MIN_RETRY_DELAY_MS = 250;
const MAX_RETRY_DELAY_MS = 30_000;

export class FileRegistrationStore extends MemoryRegistrationStore {
  readonly file: string;
  private readonly flushDelayMs: number;
  private readonly warn: (message: string) => void;

  private loading = false;
  private closed = false;
  /** Changes made so far, and how many of them the file holds: unsaved changes exist while they differ. */
  private changes = 0;
  private savedChanges = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  /** Duration of the last save (ms), which spaces saves of a large store. */
  private lastSaveMs = 0;
  /** Consecutive failed saves: the first is reported, later ones back off quietly. */
  private failures = 0;
  private report: LoadReport = { registrations: 0, observations: 0, expired: [], droppedObservations: 0 };

  /** Opens (or creates) the store file and loads what it holds. Never rejects for a bad file. */
  static async open(file: string, options: FileStoreOptions = {}): Promise<FileRegistrationStore> {
    const store = new FileRegistrationStore(file, options);
    await store.load(options);
    return store;
  }

  private constructor(file: string, options: FileStoreOptions) {
    super();
    this.file = file;
    this.flushDelayMs = Math.max(0, options.flushDelayMs ?? 500);
    this.warn = options.onWarning ?? ((message) => console.warn(message));
  }

  get loadReport(): LoadReport {
    return this.report;
  }

  /**
   * Saves every change made before the call (changes made meanwhile may be
   * saved too, but are not waited for, so a busy store cannot keep flush
   * waiting). Rejects when the save fails (it is retried later too).
   */
  override async flush(): Promise<void> {
    const target = this.changes;
    while (this.savedChanges < target) {
      if (this.writing) {
        await this.writing.catch(() => undefined);
        continue;
      }
      this.clearTimer();
      await this.startWrite();
    }
  }

  /**
   * Saves pending changes and stops the timer. Rejects when the last save
   * fails. Changes made while it runs may not be saved.
   */
  override async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      this.clearTimer();
    }
  }

  protected override onChange(): void {
    if (this.loading || this.closed) return;
    this.changes++;
    this.schedule(this.saveDelay());
  }

  private saveDelay(): number {
    return Math.max(this.flushDelayMs, 2 * this.lastSaveMs);
  }

  // --- saving --------------------------------------------------------------

  private schedule(delayMs: number): void {
    // A save in progress schedules the next one when it ends.
    if (this.timer !== undefined || this.writing !== undefined || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.writing === undefined && this.unsaved()) this.startWrite().catch(() => undefined);
    }, delayMs);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** After a failed save: doubling waits, from MIN_RETRY_DELAY_MS up to MAX_RETRY_DELAY_MS. */
  private retryDelay(): number {
    const first = Math.max(this.saveDelay(), MIN_RETRY_DELAY_MS);
    return Math.min(MAX_RETRY_DELAY_MS, first * 2 ** (this.failures - 1));
  }

  private unsaved(): boolean {
    return this.savedChanges !== this.changes;
  }

  private startWrite(): Promise<void> {
    // The snapshot holds at least every change made before it starts.
    const upTo = this.changes;
    const started = performance.now();
    const writing = this.writeSnapshot()
      .then(
        () => {
          this.savedChanges = upTo;
          this.failures = 0;
          this.lastSaveMs = performance.now() - started;
        },
        (error: unknown) => {
          if (this.failures === 0) this.warn(`registration store: cannot save ${this.file}: ${describeError(error)}`);
          this.failures++;
          throw error;
        },
      )
      .finally(() => {
        this.writing = undefined;
        if (this.unsaved()) this.schedule(this.failures === 0 ? this.saveDelay() : this.retryDelay());
      });
    this.writing = writing;
    return writing;
  }

  /** Writes every record to a temporary file, fsyncs it and renames it over the store file. */
  private async writeSnapshot(): Promise<void> {
    const temp = `${this.file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    // 0600: records carry DTLS identities and addresses.
    const handle = await open(temp, 'w', 0o600);
    try {
      let chunk = [JSON.stringify({ format: STORE_FILE_FORMAT, version: STORE_FILE_VERSION, savedAt: Date.now() })];
      const writeLine = async (line: string): Promise<void> => {
        chunk.push(line);
        if (chunk.length >= CHUNK_RECORDS) {
          const text = chunk.join('\n') + '\n';
          chunk = [];
          await handle.writeFile(text);
        }
      };
      for (const registration of this.registrations()) await writeLine(JSON.stringify({ registration }));
      for (const observation of this.observations()) await writeLine(JSON.stringify({ observation }));
      if (chunk.length > 0) await handle.writeFile(chunk.join('\n') + '\n');
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await handle.close();
    try {
      await rename(temp, this.file);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await syncDirectory(dirname(this.file));
  }

  // --- loading -------------------------------------------------------------

  private async load(options: FileStoreOptions): Promise<void> {
    const folder = dirname(this.file);
    await mkdir(folder, { recursive: true }).catch(() => undefined);
    await this.removeStrayTempFiles(folder);

    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      await this.moveAside(`cannot be read (${describeError(error)})`);
      return;
    }

    let parsed: ParsedFile;
    try {
      parsed = parseStoreFile(text);
    } catch (error) {
      await this.moveAside(`is corrupt (${describeError(error)})`);
      return;
    }

    const now = (options.now ?? Date.now)();
    const grace = options.expiryGraceMs ?? 0;
    const expired: Registration[] = [];
    let droppedObservations = 0;
    this.loading = true;
    try {
      for (const registration of parsed.registrations) {
        if (registration.expiresAt + grace <= now) expired.push(registration);
        else this.add(registration);
      }
      for (const observation of parsed.observations) {
        if (this.get(observation.registrationId) === undefined) droppedObservations++;
        else this.addObservation(observation);
      }
    } finally {
      this.loading = false;
    }
    this.report = {
      registrations: this.size,
      observations: this.observationCount,
      expired,
      droppedObservations,
    };
    // Save the file without what was dropped, so that it is not dropped (and reported) again.
    const replaced = parsed.registrations.length - expired.length - this.size;
    if (expired.length > 0 || droppedObservations > 0 || replaced > 0) this.onChange();
  }

  /** Temporary files of a save interrupted by a crash; never the store file itself. */
  private async removeStrayTempFiles(folder: string): Promise<void> {
    const prefix = `${basename(this.file)}.tmp-`;
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith(prefix)) await unlink(join(folder, name)).catch(() => undefined);
    }
  }

  private async moveAside(problem: string): Promise<void> {
    const aside = `${this.file}.corrupt-${Date.now()}`;
    try {
      await rename(this.file, aside);
      this.report = { ...this.report, movedAside: aside };
      this.warn(`registration store: ${this.file} ${problem}; moved to ${aside}, starting with no registrations`);
    } catch (error) {
      this.warn(
        `registration store: ${this.file} ${problem} and could not be moved aside (${describeError(error)}); starting with no registrations`,
      );
    }
  }
}

interface ParsedFile {
  readonly registrations: Registration[];
  readonly observations: ObservationRecord[];
}

/** Parses the whole file first, so that a bad line leaves the store untouched. */
function parseStoreFile(text: string): ParsedFile {
  const lines = text.split('\n');
  const header = parseLine(lines[0] ?? '', 1);
  if (header.format !== STORE_FILE_FORMAT) throw new StoreRecordError('line 1: not a registration store file');
  const registrations: Registration[] = [];
  const observations: ObservationRecord[] = [];
  const ids = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const entry = parseLine(line, i + 1);
    try {
      if (entry.registration !== undefined) {
        const registration = registrationFromJson(entry.registration);
        if (ids.has(registration.id)) throw new StoreRecordError(`registration id ${registration.id} appears twice`);
        ids.add(registration.id);
        registrations.push(registration);
      } else if (entry.observation !== undefined) {
        observations.push(observationFromJson(entry.observation));
      }
      // Any other kind of line comes from a later version: skipped.
    } catch (error) {
      throw new StoreRecordError(`line ${i + 1}: ${describeError(error)}`);
    }
  }
  return { registrations, observations };
}

function parseLine(line: string, lineNumber: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new StoreRecordError(`line ${lineNumber}: ${describeError(error)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StoreRecordError(`line ${lineNumber}: object expected`);
  }
  return value as Record<string, unknown>;
}

/** Makes a rename durable; folders cannot be opened for fsync on some systems (Windows): then skipped. */
async function syncDirectory(folder: string): Promise<void> {
  try {
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Best effort only.
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
