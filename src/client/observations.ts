/**
 * Observations the servers hold on the client (Observe and
 * Observe-Composite): one NotifyScheduler per observation decides when to
 * notify (notify-rules.ts); this module samples the observed values, builds
 * the notification in the observation's content format and hands it to the
 * client for delivery (which may store it while the device sleeps).
 */
import type { OutgoingNotification } from '../coap/api.js';
import type { ObserverHandle } from '../coap/observer.js';
import { CoapCode, Lwm2mError } from '../errors.js';
import { formatPath, pathStartsWith, type Lwm2mPath } from '../model/path.js';
import { flattenNode } from '../model/tree.js';
import type { Lwm2mNode, Lwm2mValue, PathNode } from '../model/value.js';
import type { AttributeStore, EffectiveAttributes, ServerDefaults } from './attribute-store.js';
import type { Clock } from './clock.js';
import { encodeComposite, encodeReadResponse, type Lwm2mVersion } from './content.js';
import { NotifyScheduler, type Sample } from './notify-rules.js';
import type { InstanceEvent, ObjectTree, Origin } from './object-tree.js';

export interface ObservationHost {
  readonly clock: Clock;
  readonly tree: ObjectTree;
  readonly attributes: AttributeStore;
  /** Version the server registered with, its defaults (/1/x/2, /1/x/3, /1/x/26). */
  serverInfo(shortServerId: number): { version: Lwm2mVersion; defaults: ServerDefaults } | undefined;
  /** Preferred content format (1.1+ default). */
  readonly preferredFormat: number | undefined;
  /** Delivers (or stores) a notification. */
  deliver(observation: Observation, notification: OutgoingNotification): Promise<void>;
  /** Reports that an observation ended. */
  ended(observation: Observation, reason: string): void;
  /** Reports an internal failure. */
  warn(message: string, err?: unknown): void;
}

export interface ObservationInit {
  readonly shortServerId: number;
  readonly handle: ObserverHandle;
  readonly paths: readonly Lwm2mPath[];
  readonly composite: boolean;
  /** Content format of the first response; notifications use the same. */
  readonly format: number;
  /** The values sent in the Observe response. */
  readonly initial: readonly PathNode[];
}

function valueKey(v: Lwm2mValue): string {
  switch (v.type) {
    case 'opaque':
      return `o:${v.value.toString('hex')}`;
    case 'time':
      return `t:${v.value.getTime()}`;
    case 'objlnk':
      return `l:${v.value.objectId}:${v.value.instanceId}`;
    default:
      return `${v.type[0]}:${String(v.value)}`;
  }
}

/** The sample (fingerprint, numeric/boolean value) of observed nodes. */
export function sampleOf(entries: readonly PathNode[]): Sample {
  const leaves = entries.flatMap((e) => flattenNode(e.path, e.node));
  const fingerprint = entries.map((e) => formatPath(e.path)).join(',') + '|' + leaves.map((l) => `${formatPath(l.path)}=${valueKey(l.value)}`).join(';');
  if (leaves.length === 1) {
    const v = (leaves[0] as { value: Lwm2mValue }).value;
    if (v.type === 'integer' || v.type === 'unsigned' || v.type === 'float') return { fingerprint, number: Number(v.value) };
    if (v.type === 'boolean') return { fingerprint, boolean: v.value };
  }
  return { fingerprint };
}

let nextObservationId = 1;

export class Observation {
  readonly id = nextObservationId++;
  readonly shortServerId: number;
  readonly handle: ObserverHandle;
  readonly paths: readonly Lwm2mPath[];
  readonly composite: boolean;
  readonly format: number;
  readonly scheduler: NotifyScheduler;

  constructor(
    private readonly manager: ObservationManager,
    init: ObservationInit,
    attrs: EffectiveAttributes,
  ) {
    this.shortServerId = init.shortServerId;
    this.handle = init.handle;
    this.paths = init.paths;
    this.composite = init.composite;
    this.format = init.format;
    this.scheduler = new NotifyScheduler(manager.host.clock, attrs, {
      evaluate: async () => {
        try {
          return sampleOf(await this.readAll());
        } catch (err) {
          // A target that disappeared is a change: the notification reports 4.04.
          if (err instanceof Lwm2mError && err.code === CoapCode.NotFound) return { fingerprint: '(gone)' };
          throw err;
        }
      },
      send: () => this.send(),
      onError: (err) => this.manager.host.warn(`observation of ${this.describe()} failed`, err),
    }, sampleOf(init.initial));
  }

  describe(): string {
    return this.paths.map(formatPath).join(',');
  }

  /** True when a change at `changed` concerns this observation. */
  concerns(changed: Lwm2mPath): boolean {
    return this.paths.some((p) => pathStartsWith(changed, p) || pathStartsWith(p, changed));
  }

  /** The current values of the observed paths (composite: missing paths are left out). */
  async readAll(): Promise<PathNode[]> {
    const tree = this.manager.host.tree;
    const ctx = { origin: 'server' as Origin, shortServerId: this.shortServerId };
    if (!this.composite) {
      const path = this.paths[0] as Lwm2mPath;
      return [{ path, node: await tree.read(path, ctx) }];
    }
    const out: PathNode[] = [];
    for (const path of this.paths) {
      try {
        out.push({ path, node: await tree.read(path, ctx) });
      } catch (err) {
        if (!(err instanceof Lwm2mError && err.code === CoapCode.NotFound)) throw err;
      }
    }
    return out;
  }

  private async send(): Promise<Sample | undefined> {
    const host = this.manager.host;
    const server = host.serverInfo(this.shortServerId);
    if (!server || !this.handle.active) return undefined;
    const con = this.scheduler.attributes.con;
    const confirmable = con === undefined ? undefined : con === 1;
    let entries: PathNode[];
    try {
      entries = await this.readAll();
    } catch (err) {
      if (err instanceof Lwm2mError && err.code === CoapCode.NotFound) {
        // The observed target is gone: an error notification ends the observation (RFC 7641 §4.2).
        await host.deliver(this, { code: CoapCode.NotFound, ...(confirmable !== undefined ? { confirmable } : {}) });
        return undefined;
      }
      throw err;
    }
    const model = host.tree.model;
    let payload: Buffer;
    if (this.composite) {
      payload = encodeComposite(entries, this.format, server.version, model);
    } else {
      const { path, node } = entries[0] as { path: Lwm2mPath; node: Lwm2mNode };
      payload = encodeReadResponse(path, node, server.version, this.format, model).payload;
    }
    await host.deliver(this, { code: CoapCode.Content, payload, contentFormat: this.format, ...(confirmable !== undefined ? { confirmable } : {}) });
    return sampleOf(entries);
  }

  stop(): void {
    this.scheduler.stop();
  }
}

export class ObservationManager {
  private readonly observations = new Map<number, Observation>();

  constructor(readonly host: ObservationHost) {
    host.tree.on('change', (path) => this.changed(path));
    host.tree.on('instances', (event: InstanceEvent) => this.changed([event.objectId, event.instanceId]));
  }

  /** Attributes an observation of `paths` uses (composite: the tightest pmin/pmax, no thresholds). */
  effectiveAttributes(shortServerId: number, paths: readonly Lwm2mPath[], composite: boolean): EffectiveAttributes {
    const defaults = this.host.serverInfo(shortServerId)?.defaults ?? {};
    const sets = paths.map((p) => this.host.attributes.effective(shortServerId, p, defaults));
    if (!composite) return sets[0] ?? { pmin: defaults.pmin ?? 0 };
    const out: EffectiveAttributes = { pmin: Math.min(...sets.map((s) => s.pmin)) };
    const pmaxes = sets.map((s) => s.pmax).filter((v): v is number => v !== undefined && v > 0);
    if (pmaxes.length > 0) out.pmax = Math.min(...pmaxes);
    if (sets.some((s) => s.con === 1)) out.con = 1;
    else if (sets.some((s) => s.con === 0)) out.con = 0;
    return out;
  }

  start(init: ObservationInit): Observation {
    const obs = new Observation(this, init, this.effectiveAttributes(init.shortServerId, init.paths, init.composite));
    this.observations.set(obs.id, obs);
    init.handle.once('end', (reason) => {
      if (this.observations.delete(obs.id)) {
        obs.stop();
        this.host.ended(obs, reason);
      }
    });
    return obs;
  }

  /** Active observations (of one server when given). */
  list(shortServerId?: number): Observation[] {
    return [...this.observations.values()].filter((o) => shortServerId === undefined || o.shortServerId === shortServerId);
  }

  private changed(path: Lwm2mPath): void {
    for (const obs of this.observations.values()) if (obs.concerns(path)) obs.scheduler.changed();
  }

  /** Forces an evaluation of observations below or above a path (values from read handlers changed). */
  touch(path: Lwm2mPath): void {
    this.changed(path);
  }

  /** Re-reads the attributes of a server's observations (after Write-Attributes). */
  refreshAttributes(shortServerId: number): void {
    for (const obs of this.list(shortServerId)) {
      obs.scheduler.setAttributes(this.effectiveAttributes(shortServerId, obs.paths, obs.composite));
    }
  }

  /** Ends the observations of a server (a new registration, or the account went away). */
  endServer(shortServerId: number, endObservation: (handle: ObserverHandle) => void): void {
    for (const obs of this.list(shortServerId)) endObservation(obs.handle);
  }

  /** Waits for queued notification work (tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.observations.values()].map((o) => o.scheduler.idle()));
  }
}
