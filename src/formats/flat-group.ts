/**
 * How every flat format (SenML JSON/CBOR, old JSON, LwM2M CBOR) turns its
 * decoded leaves into PathNodes, so that all of them group records the
 * same way:
 *
 * - `ctx.paths` (composite): one node per requested path;
 * - `ctx.path` (Read, Observe, Write): one node at that path;
 * - neither (Send): one node per object instance /o/i, with its resources.
 *
 * Records carrying different timestamps form a time series: the grouping
 * is done once per distinct time (in the order the times first appear in
 * the payload), so a notification with three timed values of /3303/0/5700
 * gives three PathNodes for that path.
 */
import { FormatError } from '../errors.js';
import type { DecodeContext } from './codec.js';
import type { ModelLookup } from '../model/definitions.js';
import { formatPath, type Lwm2mPath } from '../model/path.js';
import { buildNode, groupLeaves, type Leaf } from '../model/tree.js';
import type { PathNode } from '../model/value.js';

/** Splits leaves by timestamp, keeping first-appearance order of the times. */
export function splitByTime(leaves: readonly Leaf[]): Leaf[][] {
  const groups = new Map<number | undefined, Leaf[]>();
  for (const leaf of leaves) {
    let group = groups.get(leaf.time);
    if (!group) groups.set(leaf.time, (group = []));
    group.push(leaf);
  }
  return [...groups.values()];
}

/**
 * Rejects a resource that appears both as a single value (/o/i/r) and as
 * instances (/o/i/r/ri) anywhere in the payload, even at different times:
 * a resource is either single or multiple, whatever the timestamp. Takes
 * any records with paths (values, and removals of Write-Composite).
 */
export function checkResourceShapes(leaves: ReadonlyArray<{ readonly path: Lwm2mPath }>): void {
  const shapes = new Map<string, 'single' | 'multiple'>();
  for (const leaf of leaves) {
    if (leaf.path.length < 3) continue; // buildNode reports these with a precise message
    const key = `${leaf.path[0]}/${leaf.path[1]}/${leaf.path[2]}`;
    const shape = leaf.path.length === 3 ? 'single' : 'multiple';
    const seen = shapes.get(key);
    if (seen && seen !== shape) {
      throw new FormatError(`resource /${key} is given both as a single value and as resource instances`);
    }
    shapes.set(key, shape);
  }
}

/** Send grouping: one entry per object instance, in first-appearance order. */
function groupByInstance(leaves: readonly Leaf[], model: ModelLookup | undefined): PathNode[] {
  const byInstance = new Map<string, { path: Lwm2mPath; leaves: Leaf[] }>();
  for (const leaf of leaves) {
    if (leaf.path.length < 3) {
      throw new FormatError(`value at ${formatPath(leaf.path)} is not a resource or resource instance`);
    }
    const key = `${leaf.path[0]}/${leaf.path[1]}`;
    let bucket = byInstance.get(key);
    if (!bucket) byInstance.set(key, (bucket = { path: leaf.path.slice(0, 2), leaves: [] }));
    bucket.leaves.push(leaf);
  }
  return [...byInstance.values()].map(({ path, leaves: group }) => ({ path, node: buildNode(path, group, model) }));
}

/** Groups one set of leaves that share a timestamp. */
function groupOnce(leaves: readonly Leaf[], ctx: DecodeContext): PathNode[] {
  if (ctx.paths && ctx.paths.length > 0) return groupLeaves(leaves, ctx.paths, ctx.model);
  if (ctx.path && ctx.path.length > 0) return [{ path: ctx.path, node: buildNode(ctx.path, leaves, ctx.model) }];
  return groupByInstance(leaves, ctx.model);
}

/**
 * Turns decoded leaves into PathNodes following the decode context (see the
 * module comment). An empty payload for a single path still yields that
 * node (an empty object or instance) when the level allows it.
 */
export function groupFlatLeaves(leaves: readonly Leaf[], ctx: DecodeContext = {}): PathNode[] {
  checkResourceShapes(leaves);
  if (leaves.length === 0) return groupOnce([], ctx);
  const out: PathNode[] = [];
  for (const group of splitByTime(leaves)) out.push(...groupOnce(group, ctx));
  return out;
}
