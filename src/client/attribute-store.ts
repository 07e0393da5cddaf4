/**
 * Notification attributes written by each Server (Write-Attributes), kept
 * per Short Server ID and per level (object, instance, resource, resource
 * instance), and the effective set an observation uses: the Server's
 * defaults (/1/x/2 pmin, /1/x/3 pmax) overridden by the object's, then the
 * instance's, then the resource's (then the resource instance's) attributes
 * — Core TS §5.1.2 "Attributes ... inheritance".
 */
import { CoapCode, Lwm2mError } from '../errors.js';
import {
  ATTRIBUTE_NAMES,
  attributeSince,
  checkAttributeConsistency,
  type AttributeName,
  type NotificationAttributes,
} from '../model/attributes.js';
import type { ResourceDefinition } from '../model/definitions.js';
import { formatPath, pathStartsWith, type Lwm2mPath } from '../model/path.js';
import type { Lwm2mVersion } from './content.js';

/** Attributes as stored: numbers only (a `null` in a write clears the attribute). */
export type AttributeSet = { -readonly [K in AttributeName]?: number };

/** What an observation evaluates with: pmin always known (0 when nothing says otherwise). */
export interface EffectiveAttributes extends AttributeSet {
  pmin: number;
}

export interface ServerDefaults {
  pmin?: number;
  pmax?: number;
  /** /1/x/26 Default Notification Mode (1.2): 0 NON, 1 CON. */
  con?: 0 | 1;
}

const NUMERIC_TYPES = new Set(['integer', 'unsigned', 'float']);

function bad(message: string): Lwm2mError {
  return new Lwm2mError(CoapCode.BadRequest, message);
}

function versionAtLeast(version: Lwm2mVersion, since: string): boolean {
  return Number(version.replace('.', '')) >= Number(since.replace('.', ''));
}

/**
 * Checks where an attribute may be attached (Core TS §5.1.2): gt/lt/st on
 * numeric resources only, edge on boolean resources only, attributes newer
 * than the client's LwM2M version refused, and resource-instance level only
 * in 1.2. All violations are 4.00.
 */
export function checkAttributePlacement(
  attrs: NotificationAttributes,
  path: Lwm2mPath,
  resource: ResourceDefinition | undefined,
  version: Lwm2mVersion,
): void {
  if (path.length === 0) throw bad('attributes cannot be attached to the root path');
  if (path.length === 4 && version !== '1.2') throw bad(`LwM2M ${version} has no attributes on resource instances`);
  for (const name of ATTRIBUTE_NAMES) {
    if (!(name in attrs)) continue;
    if (!versionAtLeast(version, attributeSince(name))) {
      throw bad(`attribute ${name} is not part of LwM2M ${version}`);
    }
    if (attrs[name] === null) continue;
    if (name === 'gt' || name === 'lt' || name === 'st') {
      if (path.length < 3 || !resource || !NUMERIC_TYPES.has(resource.type)) {
        throw bad(`attribute ${name} applies to numeric resources only (${formatPath(path)})`);
      }
    }
    if (name === 'edge' && (path.length < 3 || resource?.type !== 'boolean')) {
      throw bad(`attribute edge applies to boolean resources only (${formatPath(path)})`);
    }
  }
}

export class AttributeStore {
  private readonly byServer = new Map<number, Map<string, AttributeSet>>();

  /** Attributes attached at exactly this level for this server. */
  attached(shortServerId: number, path: Lwm2mPath): Readonly<AttributeSet> | undefined {
    return this.byServer.get(shortServerId)?.get(formatPath(path));
  }

  /**
   * Applies a Write-Attributes: values set, `null` clears. The resulting set
   * at that level must be consistent (pmin ≤ pmax, lt < gt, ...) or nothing
   * changes (4.00).
   */
  write(shortServerId: number, path: Lwm2mPath, attrs: NotificationAttributes): void {
    let levels = this.byServer.get(shortServerId);
    const key = formatPath(path);
    const next: AttributeSet = { ...levels?.get(key) };
    for (const name of ATTRIBUTE_NAMES) {
      if (!(name in attrs) || attrs[name] === undefined) continue;
      const v = attrs[name];
      if (v === null) delete next[name];
      else next[name] = v;
    }
    checkAttributeConsistency(next as NotificationAttributes);
    if (!levels) this.byServer.set(shortServerId, (levels = new Map()));
    if (Object.keys(next).length === 0) levels.delete(key);
    else levels.set(key, next);
  }

  /** Attributes attached at `path` or above it (object → instance → resource), merged, without server defaults. */
  merged(shortServerId: number, path: Lwm2mPath): AttributeSet {
    const out: AttributeSet = {};
    const levels = this.byServer.get(shortServerId);
    if (levels) {
      for (let n = 1; n <= path.length; n++) {
        const set = levels.get(formatPath(path.slice(0, n)));
        if (set) Object.assign(out, set);
      }
    }
    return out;
  }

  /** The effective attributes of `path` for a server: defaults, then object → instance → resource → instance. */
  effective(shortServerId: number, path: Lwm2mPath, defaults: ServerDefaults = {}): EffectiveAttributes {
    const out: EffectiveAttributes = { pmin: defaults.pmin ?? 0 };
    if (defaults.pmax !== undefined) out.pmax = defaults.pmax;
    if (defaults.con !== undefined) out.con = defaults.con;
    return Object.assign(out, this.merged(shortServerId, path));
  }

  /** Drops attributes at or below a path (an instance was deleted). */
  removeBelow(path: Lwm2mPath): void {
    for (const levels of this.byServer.values()) {
      for (const key of [...levels.keys()]) {
        const p = key === '/' ? [] : key.slice(1).split('/').map(Number);
        if (pathStartsWith(p, path)) levels.delete(key);
      }
    }
  }

  /** Forgets everything a server wrote (its account went away). */
  clearServer(shortServerId: number): void {
    this.byServer.delete(shortServerId);
  }
}
