/**
 * Conversions between value trees and flat lists of leaves. Flat formats
 * (SenML, old JSON, LwM2M CBOR) work on leaves; the rest of the engine works
 * on trees. Both directions live here so that every flat codec groups
 * records the same way.
 */
import { FormatError } from '../errors.js';
import { formatPath, pathStartsWith, type Lwm2mPath } from './path.js';
import type { ModelLookup } from './definitions.js';
import type {
  Lwm2mNode,
  Lwm2mValue,
  MultipleResourceNode,
  ObjectInstanceNode,
  ObjectNode,
  PathNode,
  ResourceInstanceNode,
  ResourceNode,
  SingleResourceNode,
} from './value.js';

/** One value at a full resource or resource-instance path. */
export interface Leaf {
  readonly path: Lwm2mPath;
  readonly value: Lwm2mValue;
  readonly time?: number;
}

/** Lists the leaves of a node at `path`, in tree order. */
export function flattenNode(path: Lwm2mPath, node: Lwm2mNode): Leaf[] {
  const out: Leaf[] = [];
  const push = (p: Lwm2mPath, v: Lwm2mValue, time: number | undefined) => {
    out.push(time === undefined ? { path: p, value: v } : { path: p, value: v, time });
  };
  const visitResource = (p: Lwm2mPath, r: ResourceNode) => {
    if (r.kind === 'resource') push(p, r.value, r.time);
    else for (const ri of r.instances.values()) push([...p, ri.id], ri.value, ri.time);
  };
  const visitInstance = (p: Lwm2mPath, inst: ObjectInstanceNode) => {
    for (const r of inst.resources.values()) visitResource([...p, r.id], r);
  };
  switch (node.kind) {
    case 'object':
      for (const inst of node.instances.values()) visitInstance([...path, inst.id], inst);
      break;
    case 'instance':
      visitInstance(path, node);
      break;
    case 'resource':
    case 'multipleResource':
      visitResource(path, node);
      break;
    case 'resourceInstance':
      push(path, node.value, node.time);
      break;
  }
  return out;
}

/**
 * True when the leaf at /o/i/r/ri belongs to a multiple resource. A leaf with
 * four ids always does; a leaf with three ids does unless the model says the
 * resource is multiple (then it is malformed: a value without an instance id).
 */
function isMultipleResource(objectId: number, resourceId: number, model: ModelLookup | undefined): boolean | undefined {
  return model?.resource(objectId, resourceId)?.multiple;
}

/**
 * Builds the node at `path` from leaves that all lie at or below it.
 * Throws FormatError for leaves outside `path`, for leaves above the
 * resource level, and for a resource given both as single value and as
 * instances.
 */
export function buildNode(path: Lwm2mPath, leaves: readonly Leaf[], model?: ModelLookup): Lwm2mNode {
  if (path.length === 0) {
    throw new FormatError('cannot build a single node at the root path; group by object first');
  }
  type MutableResource = { single?: SingleResourceNode; instances?: Map<number, ResourceInstanceNode> };
  const objects = new Map<number, Map<number, Map<number, MutableResource>>>();
  for (const leaf of leaves) {
    if (!pathStartsWith(leaf.path, path) && !pathStartsWith(path, leaf.path)) {
      throw new FormatError(`value for ${formatPath(leaf.path)} lies outside requested path ${formatPath(path)}`);
    }
    if (leaf.path.length < 3) {
      throw new FormatError(`value at ${formatPath(leaf.path)} is not a resource or resource instance`);
    }
    const [o, i, r, ri] = leaf.path as [number, number, number, number | undefined];
    let instances = objects.get(o);
    if (!instances) objects.set(o, (instances = new Map()));
    let resources = instances.get(i);
    if (!resources) instances.set(i, (resources = new Map()));
    let res = resources.get(r);
    if (!res) resources.set(r, (res = {}));
    if (ri === undefined) {
      if (isMultipleResource(o, r, model) === true) {
        throw new FormatError(`resource ${formatPath(leaf.path)} is multiple: its values need resource instance ids`);
      }
      if (res.instances || res.single) {
        throw new FormatError(`resource ${formatPath(leaf.path)} given more than once`);
      }
      res.single = leaf.time === undefined
        ? { kind: 'resource', id: r, value: leaf.value }
        : { kind: 'resource', id: r, value: leaf.value, time: leaf.time };
    } else {
      if (isMultipleResource(o, r, model) === false) {
        throw new FormatError(`resource /${o}/${i}/${r} is single: it has no resource instance ${ri}`);
      }
      if (res.single) throw new FormatError(`resource /${o}/${i}/${r} given both as a value and as instances`);
      if (!res.instances) res.instances = new Map();
      if (res.instances.has(ri)) throw new FormatError(`resource instance ${formatPath(leaf.path)} given more than once`);
      res.instances.set(ri, leaf.time === undefined
        ? { kind: 'resourceInstance', id: ri, value: leaf.value }
        : { kind: 'resourceInstance', id: ri, value: leaf.value, time: leaf.time });
    }
  }

  const toResource = (id: number, res: MutableResource): ResourceNode =>
    res.single ?? ({ kind: 'multipleResource', id, instances: res.instances ?? new Map() } satisfies MultipleResourceNode);
  const toInstance = (id: number, resources: Map<number, MutableResource>): ObjectInstanceNode => ({
    kind: 'instance',
    id,
    resources: new Map([...resources].map(([rid, res]) => [rid, toResource(rid, res)])),
  });

  const [o, i, r, ri] = path as [number, number | undefined, number | undefined, number | undefined];
  const instances = objects.get(o) ?? new Map<number, Map<number, MutableResource>>();
  if (i === undefined) {
    const node: ObjectNode = {
      kind: 'object',
      id: o,
      instances: new Map([...instances].map(([iid, res]) => [iid, toInstance(iid, res)])),
    };
    return node;
  }
  const resources = instances.get(i) ?? new Map<number, MutableResource>();
  if (r === undefined) return toInstance(i, resources);
  const res = resources.get(r);
  if (ri === undefined) {
    if (!res) {
      if (isMultipleResource(o, r, model) === true) return { kind: 'multipleResource', id: r, instances: new Map() };
      throw new FormatError(`no value for ${formatPath(path)}`);
    }
    return toResource(r, res);
  }
  const inst = res?.instances?.get(ri);
  if (!inst) throw new FormatError(`no value for ${formatPath(path)}`);
  return inst;
}

/**
 * Groups leaves into one PathNode per requested path (composite operations).
 * Leaves not under any requested path are an error. With no requested paths,
 * each leaf becomes its own PathNode (resource or resource instance).
 */
export function groupLeaves(leaves: readonly Leaf[], requested: readonly Lwm2mPath[] | undefined, model?: ModelLookup): PathNode[] {
  if (!requested || requested.length === 0) {
    return leaves.map((leaf) => ({ path: leaf.path, node: buildNode(leaf.path, [leaf], model) }));
  }
  const buckets = requested.map(() => [] as Leaf[]);
  for (const leaf of leaves) {
    // deepest matching requested path wins, so /3/0 and /3/0/9 can both be asked for
    let best = -1;
    requested.forEach((p, idx) => {
      if (pathStartsWith(leaf.path, p) && (best < 0 || p.length > (requested[best] as Lwm2mPath).length)) best = idx;
    });
    if (best < 0) throw new FormatError(`value for ${formatPath(leaf.path)} was not requested`);
    (buckets[best] as Leaf[]).push(leaf);
  }
  const out: PathNode[] = [];
  requested.forEach((p, idx) => {
    const bucket = buckets[idx] as Leaf[];
    if (bucket.length === 0 && p.length >= 3) return; // absent resource: omitted, as a device may do
    out.push({ path: p, node: buildNode(p, bucket, model) });
  });
  return out;
}
