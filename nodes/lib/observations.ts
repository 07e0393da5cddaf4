/**
 * The observations one `lwm2m-observe` node owns. Every node sees every
 * notification of its server; it emits only those of observations it
 * started (or adopted), so two observe nodes on the same path each get
 * their own stream and never each other's.
 *
 * Ownership is recorded in the runtime's `claims` map (observation id →
 * node id), shared by all nodes of one server. An observation nobody claims
 * is one left over from before a restart or a redeploy (the store keeps
 * observations): a node that wants the same thing adopts it when it starts
 * observing every registered device, or replaces it when a message asks.
 */
import { CoapCode, Lwm2mError } from '../../src/errors.js';
import type { NotificationAttributes } from '../../src/model/attributes.js';
import { formatPath, type Lwm2mPath } from '../../src/model/path.js';
import type { PlainTree } from '../../src/model/plain.js';
import type { PathNode } from '../../src/model/value.js';
import type { Lwm2mServer, ObservationInfo } from '../../src/server/lwm2m-server.js';
import type { Registration } from '../../src/server/registration.js';
import type { ServerRuntime } from './server-runtime.js';

/** What to observe on one device. */
export interface ObserveTarget {
  readonly endpoint: string;
  readonly paths: readonly Lwm2mPath[];
  /** One Observe-Composite for all paths (LwM2M 1.1+), rather than one observation per path. */
  readonly composite: boolean;
  readonly attributes?: NotificationAttributes;
  readonly format?: number;
  readonly timeoutMs?: number;
}

/** An observation just started, with the value the device answered. */
export interface StartedObservation {
  readonly observation: ObservationInfo;
  /** The plain value: of the path (single) or by path (composite). */
  readonly value: PlainTree | Record<string, PlainTree>;
  readonly entries: readonly PathNode[];
  readonly format: number;
  readonly registration: Registration;
}

/** Splits a target into what one observation covers: the whole list when composite, else each path alone. */
export function observationTargets(target: ObserveTarget): ObserveTarget[] {
  if (target.composite) return [target];
  return target.paths.map((path) => ({ ...target, paths: [path] }));
}

function samePaths(a: readonly Lwm2mPath[], b: readonly Lwm2mPath[]): boolean {
  return a.length === b.length && a.every((p, i) => formatPath(p) === formatPath(b[i] as Lwm2mPath));
}

function matches(info: ObservationInfo, target: ObserveTarget): boolean {
  return info.endpoint === target.endpoint && info.kind === (target.composite ? 'composite' : 'single') && samePaths(info.paths, target.paths);
}

/** The observation is of exactly these paths, or is a single observation of one of them. */
function covers(info: ObservationInfo, paths: readonly Lwm2mPath[]): boolean {
  if (samePaths(info.paths, paths)) return true;
  const own = info.paths[0];
  return info.kind === 'single' && own !== undefined && paths.some((p) => formatPath(p) === formatPath(own));
}

/** True when the registration lists the object (and instance) every path of the target points into. */
export function registrationHasPaths(reg: Registration, paths: readonly Lwm2mPath[]): boolean {
  return paths.every((path) => {
    const [objectId, instanceId] = path;
    const object = reg.objects.find((o) => o.id === objectId);
    if (!object) return false;
    return instanceId === undefined || object.instances.length === 0 || object.instances.includes(instanceId);
  });
}

export class OwnedObservations {
  private readonly owned = new Map<string, ObservationInfo>();

  constructor(
    private readonly runtime: ServerRuntime,
    private readonly ownerId: string,
  ) {}

  get size(): number {
    return this.owned.size;
  }

  owns(id: string): boolean {
    return this.owned.has(id) && this.runtime.claims.get(id) === this.ownerId;
  }

  /** Forget an observation that ended (cancelled, device gone, error). */
  release(id: string): boolean {
    if (!this.owned.delete(id)) return false;
    if (this.runtime.claims.get(id) === this.ownerId) this.runtime.claims.delete(id);
    return true;
  }

  /**
   * Takes over an unclaimed observation identical to `target` (left from
   * before a restart). Returns it, or undefined when there is none.
   */
  adopt(server: Lwm2mServer, target: ObserveTarget): ObservationInfo | undefined {
    const found = server.observations(target.endpoint).find((info) => matches(info, target) && !this.runtime.claims.has(info.id));
    if (found) this.claim(found);
    return found;
  }

  /**
   * Starts one observation (one path, or one composite). An identical
   * observation this node already owns, or one nobody owns, is cancelled
   * passively first so the device does not notify twice.
   */
  async start(server: Lwm2mServer, target: ObserveTarget): Promise<StartedObservation> {
    for (const info of server.observations(target.endpoint)) {
      if (!matches(info, target)) continue;
      const owner = this.runtime.claims.get(info.id);
      if (owner !== undefined && owner !== this.ownerId) continue;
      this.release(info.id);
      await server.cancelObservation(target.endpoint, { id: info.id }, 'passive');
    }
    const options = {
      ...(target.format !== undefined ? { format: target.format } : {}),
      ...(target.timeoutMs !== undefined ? { timeoutMs: target.timeoutMs } : {}),
    };
    if (target.composite) {
      if (target.attributes) {
        for (const path of target.paths) await server.writeAttributes(target.endpoint, path, target.attributes, options);
      }
      const { observation, current } = await server.observeComposite(target.endpoint, target.paths, options);
      this.claim(observation);
      return { observation, value: current.value, entries: current.entries, format: current.format, registration: current.registration };
    }
    const path = target.paths[0];
    if (!path) throw new Lwm2mError(CoapCode.BadRequest, 'nothing to observe: no path');
    const { observation, current } = await server.observe(target.endpoint, path, {
      ...options,
      ...(target.attributes ? { attributes: target.attributes } : {}),
    });
    this.claim(observation);
    return { observation, value: current.value, entries: current.entries, format: current.format, registration: current.registration };
  }

  /**
   * Cancels (actively: the device is told) the owned observations of
   * `endpoint`, all of them or those of exactly `paths`. Returns how many.
   */
  async cancel(server: Lwm2mServer, endpoint: string | undefined, paths?: readonly Lwm2mPath[]): Promise<number> {
    let count = 0;
    for (const info of [...this.owned.values()]) {
      if (endpoint !== undefined && info.endpoint !== endpoint) continue;
      if (paths && !covers(info, paths)) continue;
      this.release(info.id);
      count += await server.cancelObservation(info.endpoint, { id: info.id }, 'active');
    }
    return count;
  }

  /**
   * Close handler: forgets every owned observation (passively: the device's
   * next notification gets a Reset). The cancellations all start at once, so
   * the store has dropped them before this call returns.
   */
  async cancelAllPassively(server: Lwm2mServer | undefined): Promise<void> {
    const all = [...this.owned.values()];
    for (const info of all) this.release(info.id);
    if (!server) return;
    await Promise.all(all.map((info) => server.cancelObservation(info.endpoint, { id: info.id }, 'passive').catch(() => 0)));
  }

  /** Releases the claims without touching the observations (they stay in the store for a restart). */
  releaseAll(): void {
    for (const id of [...this.owned.keys()]) this.release(id);
  }

  private claim(info: ObservationInfo): void {
    this.owned.set(info.id, info);
    this.runtime.claims.set(info.id, this.ownerId);
  }
}

/** Runs `task` over `items`, at most `limit` at a time (observing a whole fleet at start). */
export async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
