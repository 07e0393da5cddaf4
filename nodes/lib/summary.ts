/**
 * Plain, JSON-friendly views of engine objects for `msg.payload` and
 * `msg.lwm2m`: a registration summary, and resource names and units from
 * the object model for the paths a message carries.
 */
import type { ModelLookup } from '../../src/model/definitions.js';
import { formatPath, type Lwm2mPath } from '../../src/model/path.js';
import { toPlain, type PlainTree } from '../../src/model/plain.js';
import { flattenNode } from '../../src/model/tree.js';
import type { PathNode } from '../../src/model/value.js';
import type { Registration } from '../../src/server/registration.js';
import { formatHostPort } from './server-runtime.js';

export interface ObjectSummary {
  readonly id: number;
  /** Name from the object model, when the object is known. */
  readonly name?: string;
  /** Object version the client announced (absent = the default for its LwM2M version). */
  readonly version?: string;
  readonly instances: readonly number[];
}

export interface RegistrationSummary {
  readonly endpoint: string;
  readonly registrationId: string;
  /** Seconds. */
  readonly lifetime: number;
  /** LwM2M version of the client ("1.0", "1.1", "1.2"). */
  readonly version: string;
  readonly binding: string;
  readonly queueMode: boolean;
  readonly smsNumber?: string;
  readonly rootPath: string;
  readonly objects: readonly ObjectSummary[];
  /** Where the client's datagrams come from: "host:port". */
  readonly address: string;
  /** The authenticated DTLS identity, when there is one. */
  readonly identity?: string;
  /** Milliseconds since the epoch. */
  readonly registeredAt: number;
  readonly updatedAt: number;
  readonly expiresAt: number;
}

export function registrationSummary(reg: Registration, model?: ModelLookup): RegistrationSummary {
  const objects = reg.objects.map((o): ObjectSummary => {
    const name = model?.object(o.id)?.name;
    return {
      id: o.id,
      ...(name !== undefined ? { name } : {}),
      ...(o.version !== undefined ? { version: o.version } : {}),
      instances: [...o.instances],
    };
  });
  return {
    endpoint: reg.endpoint,
    registrationId: reg.id,
    lifetime: reg.lifetime,
    version: reg.lwm2mVersion,
    binding: reg.binding,
    queueMode: reg.queueMode,
    ...(reg.smsNumber !== undefined ? { smsNumber: reg.smsNumber } : {}),
    rootPath: reg.rootPath,
    objects,
    address: formatHostPort(reg.peer.host, reg.peer.port),
    ...(reg.peer.identity !== undefined ? { identity: reg.peer.identity } : {}),
    registeredAt: reg.registeredAt,
    updatedAt: reg.updatedAt,
    expiresAt: reg.expiresAt,
  };
}

/** Which parts of a registration an Update changed: 'lifetime', 'binding', 'objects', 'address', ... */
export function registrationChanges(previous: Registration, next: Registration): string[] {
  const changed: string[] = [];
  if (previous.lifetime !== next.lifetime) changed.push('lifetime');
  if (previous.binding !== next.binding || previous.queueMode !== next.queueMode) changed.push('binding');
  if (previous.smsNumber !== next.smsNumber) changed.push('smsNumber');
  if (JSON.stringify(previous.objects) !== JSON.stringify(next.objects)) changed.push('objects');
  if (previous.peer.key !== next.peer.key) changed.push('address');
  return changed;
}

/** Model facts about one resource. */
export interface ResourceInfo {
  readonly name: string;
  readonly type: string;
  readonly units?: string;
}

/** Name and units of the object / resource a single path points at. */
export interface PathInfo {
  readonly objectName?: string;
  readonly name?: string;
  readonly units?: string;
}

export function describePath(model: ModelLookup, path: Lwm2mPath): PathInfo {
  const [objectId, , resourceId] = path;
  if (objectId === undefined) return {};
  const objectName = model.object(objectId)?.name;
  const res = resourceId !== undefined ? model.resource(objectId, resourceId) : undefined;
  return {
    ...(objectName !== undefined ? { objectName } : {}),
    ...(res ? { name: res.name } : {}),
    ...(res?.units ? { units: res.units } : {}),
  };
}

/**
 * `{ "/3/0/9": { name: "Battery Level", type: "integer", units: "%" } }` for
 * every resource the entries hold that the model knows (keyed by the
 * resource path, once per multiple resource).
 */
export function describeResources(model: ModelLookup, entries: readonly PathNode[]): Record<string, ResourceInfo> {
  const out: Record<string, ResourceInfo> = {};
  for (const entry of entries) {
    for (const leaf of flattenNode(entry.path, entry.node)) {
      const [objectId, instanceId, resourceId] = leaf.path;
      if (objectId === undefined || instanceId === undefined || resourceId === undefined) continue;
      const key = formatPath([objectId, instanceId, resourceId]);
      if (key in out) continue;
      const def = model.resource(objectId, resourceId);
      if (def) out[key] = def.units ? { name: def.name, type: def.type, units: def.units } : { name: def.name, type: def.type };
    }
  }
  return out;
}

/** One timestamped value of a time series (Send with history, notifications with timestamps). */
export interface TimedRecord {
  readonly path: string;
  readonly value: PlainTree;
  readonly time: Date;
}

/**
 * Every timestamped leaf, in the order the device sent them, or undefined
 * when nothing carried a time (the usual case). `msg.payload` only holds the
 * latest value per path; this keeps the history.
 */
export function timedRecords(entries: readonly PathNode[]): TimedRecord[] | undefined {
  const out: TimedRecord[] = [];
  for (const entry of entries) {
    for (const leaf of flattenNode(entry.path, entry.node)) {
      if (leaf.time === undefined) continue;
      out.push({
        path: formatPath(leaf.path),
        value: toPlain({ kind: 'resource', id: leaf.path[leaf.path.length - 1] ?? 0, value: leaf.value }),
        time: new Date(leaf.time * 1000),
      });
    }
  }
  return out.length > 0 ? out : undefined;
}
