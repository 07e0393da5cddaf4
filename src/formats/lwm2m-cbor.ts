/**
 * LwM2M CBOR (content format 11544, LwM2M 1.2 Core TS §7.4.6): one CBOR map
 * nested along the data model. Keys are ids (unsigned integers) or arrays
 * of ids, a path fragment standing for a chain of single-child maps:
 *
 *   {3: {0: {0: "Open Mobile Alliance", 9: 95, 6: {0: 1, 1: 5}}}}
 *   {[3, 0]: {0: "Open Mobile Alliance", 9: 95, 6: {0: 1, 1: 5}}}   (same content)
 *
 * Leaves sit at resource or resource-instance depth: integers (major types
 * 0/1), floats, booleans, text (string, core link, object link "3:0"),
 * byte strings (opaque), time as tag 1 (a plain integer is accepted too).
 * An empty map is an empty object, instance or multiple resource. `null`
 * is only meaningful in a Write-Composite body, where it asks for the
 * removal of that resource instance; anywhere else it is a FormatError.
 * The format has no timestamps: encoding drops leaf times, and several
 * values for one path (a time series) cannot be written at all.
 *
 * Encoding collapses a chain of single-child maps into one array key when
 * that is shorter: {[3, 0, 9]: 95} (7 bytes) rather than {3: {0: {9: 95}}}
 * (8 bytes). A chain of k ids costs k-1 map headers nested, or one array
 * header collapsed, so only chains of three or more ids are collapsed; a
 * read of /3/0 stays {3: {0: {...}}} as in the specification's examples.
 */
import { FormatError, UnsupportedFormatError } from '../errors.js';
import type { Codec, DecodeContext, EncodeContext } from './codec.js';
import { ContentFormat } from './content-format.js';
import { CborMap, CborTag, CborWriter, decodeCbor, type CborValue } from './cbor-io.js';
import { checkValue, timeToSeconds, toLwm2mValue, type WireValue } from './flat-value.js';
import { checkResourceShapes, groupFlatLeaves } from './flat-group.js';
import { cborNumber } from './senml-cbor.js';
import type { ModelLookup } from '../model/definitions.js';
import { formatPath, isValidId, pathsEqual, pathStartsWith, type Lwm2mPath } from '../model/path.js';
import { flattenNode, groupLeaves, type Leaf } from '../model/tree.js';
import {
  formatObjectLink,
  type Lwm2mNode,
  type Lwm2mValue,
  type ObjectInstanceNode,
  type PathNode,
  type ResourceNode,
} from '../model/value.js';

// ------------------------------------------------------------------ decode

/** What a payload holds, before typing and grouping. */
interface RawContent {
  readonly leaves: Array<{ path: Lwm2mPath; wire: WireValue }>;
  /** Paths whose value is null (removals in Write-Composite). */
  readonly nulls: Lwm2mPath[];
  /** Paths of empty maps: empty objects, instances or multiple resources. */
  readonly empties: Lwm2mPath[];
}

function keyIds(key: CborValue, at: Lwm2mPath): number[] {
  const where = `LwM2M CBOR key under ${formatPath(at)}`;
  if (typeof key === 'number') {
    if (!isValidId(key)) throw new FormatError(`${where}: ${key} is not a valid id`);
    return [key];
  }
  if (Array.isArray(key)) {
    if (key.length === 0) throw new FormatError(`${where}: empty path fragment`);
    return key.map((id) => {
      if (!isValidId(id)) throw new FormatError(`${where}: path fragment holds an invalid id`);
      return id;
    });
  }
  throw new FormatError(`${where}: keys must be ids or arrays of ids`);
}

function leafWire(item: CborValue, path: Lwm2mPath): WireValue {
  if (typeof item === 'number' || typeof item === 'bigint') return { kind: 'number', value: item };
  if (typeof item === 'string') return { kind: 'text', value: item };
  if (typeof item === 'boolean') return { kind: 'boolean', value: item };
  if (Buffer.isBuffer(item)) return { kind: 'bytes', value: item };
  const where = `LwM2M CBOR value at ${formatPath(path)}`;
  if (item instanceof CborTag && Number(item.tag) === 1) {
    return { kind: 'time', value: cborNumber(item.value, `${where} (tag 1)`) };
  }
  return { kind: 'number', value: cborNumber(item, where) };
}

function walk(map: CborMap, at: Lwm2mPath, out: RawContent, kinds: Map<string, 'leaf' | 'map'>): void {
  const keysHere = new Set<string>();
  for (const [key, item] of map.entries) {
    const ids = keyIds(key, at);
    const path = [...at, ...ids];
    const text = formatPath(path);
    if (keysHere.has(text)) throw new FormatError(`LwM2M CBOR map repeats the key for ${text}`);
    keysHere.add(text);
    if (path.length > 4) throw new FormatError(`LwM2M CBOR path ${text} is longer than /o/i/r/ri`);

    if (item instanceof CborMap) {
      if (path.length === 4) throw new FormatError(`LwM2M CBOR: ${text} is a resource instance and cannot hold a map`);
      if (kinds.get(text) === 'leaf') throw new FormatError(`LwM2M CBOR: ${text} is given both as a value and as a map`);
      kinds.set(text, 'map');
      if (item.entries.length === 0) out.empties.push(path);
      walk(item, path, out, kinds);
      continue;
    }
    if (path.length < 3) throw new FormatError(`LwM2M CBOR: value at ${text} is not a resource or resource instance`);
    const before = kinds.get(text);
    if (before === 'map') throw new FormatError(`LwM2M CBOR: ${text} is given both as a value and as a map`);
    if (before === 'leaf') throw new FormatError(`LwM2M CBOR: ${text} is given more than once`);
    kinds.set(text, 'leaf');
    if (item === null) out.nulls.push(path);
    else out.leaves.push({ path, wire: leafWire(item, path) });
  }
}

function readContent(payload: Buffer): RawContent {
  const doc = decodeCbor(payload);
  if (!(doc instanceof CborMap)) throw new FormatError('LwM2M CBOR payload must be a map');
  const out: RawContent = { leaves: [], nulls: [], empties: [] };
  walk(doc, [], out, new Map());
  return out;
}

/**
 * Types the leaves by the model (or by inference), and checks that empty
 * maps at resource depth belong to multiple resources.
 */
function typeLeaves(raw: RawContent, model: ModelLookup | undefined): Leaf[] {
  for (const e of raw.empties) {
    if (e.length === 3 && model?.resource(e[0] as number, e[2] as number)?.multiple === false) {
      throw new FormatError(`LwM2M CBOR: ${formatPath(e)} is a single resource and cannot be an empty map`);
    }
  }
  return raw.leaves.map(({ path, wire }) => ({
    path,
    value: toLwm2mValue(wire, model?.resource(path[0] as number, path[2] as number)?.type, path),
  }));
}

const emptyMultiple = (id: number): ResourceNode => ({ kind: 'multipleResource', id, instances: new Map() });
const emptyInstance = (id: number): ObjectInstanceNode => ({ kind: 'instance', id, resources: new Map() });

/** Adds an empty resource (multiple, no instances) to an instance unless already there. */
function instanceWith(inst: ObjectInstanceNode, resourceId: number | undefined): ObjectInstanceNode {
  if (resourceId === undefined || inst.resources.has(resourceId)) return inst;
  return { ...inst, resources: new Map([...inst.resources, [resourceId, emptyMultiple(resourceId)]]) };
}

/** Inserts the empty container at `empty` into `node` (at `nodePath`) where it is missing. */
function withEmpty(node: Lwm2mNode, nodePath: Lwm2mPath, empty: Lwm2mPath): Lwm2mNode {
  const rel = empty.slice(nodePath.length);
  if (rel.length === 0) return node;
  if (node.kind === 'instance' && rel.length === 1) return instanceWith(node, rel[0]);
  if (node.kind === 'object') {
    const iid = rel[0] as number;
    const inst = instanceWith(node.instances.get(iid) ?? emptyInstance(iid), rel[1]);
    return { ...node, instances: new Map([...node.instances, [iid, inst]]) };
  }
  return node;
}

function addEmpties(entries: PathNode[], empties: readonly Lwm2mPath[]): PathNode[] {
  return entries.map((entry) => {
    let node = entry.node;
    for (const empty of empties) {
      if (empty.length > entry.path.length && pathStartsWith(empty, entry.path)) node = withEmpty(node, entry.path, empty);
    }
    return node === entry.node ? entry : { path: entry.path, node };
  });
}

/** True when nothing in the payload lies at or below `path` except an empty map exactly there. */
function isEmptyResourceAt(path: Lwm2mPath, raw: RawContent, leaves: readonly Leaf[]): boolean {
  return (
    path.length === 3 &&
    raw.empties.some((e) => pathsEqual(e, path)) &&
    !leaves.some((l) => pathStartsWith(l.path, path))
  );
}

function group(raw: RawContent, leaves: Leaf[], ctx: DecodeContext): PathNode[] {
  const paths = ctx.paths;
  if (paths && paths.length > 0) {
    // groupLeaves omits resource paths without values; an explicit empty map there is an empty multiple resource
    const grouped = addEmpties(groupLeaves(leaves, paths, ctx.model), raw.empties);
    const out: PathNode[] = [];
    for (const p of paths) {
      const found = grouped.find((e) => pathsEqual(e.path, p));
      if (found) out.push(found);
      else if (isEmptyResourceAt(p, raw, leaves)) out.push({ path: p, node: emptyMultiple(p[2] as number) });
    }
    return out;
  }
  if (ctx.path && isEmptyResourceAt(ctx.path, raw, leaves)) {
    return [{ path: ctx.path, node: emptyMultiple(ctx.path[2] as number) }];
  }
  return addEmpties(groupFlatLeaves(leaves, ctx), raw.empties);
}

function decode(payload: Buffer, ctx: DecodeContext = {}): PathNode[] {
  const raw = readContent(payload);
  if (raw.nulls.length > 0) {
    throw new FormatError(`LwM2M CBOR: null value at ${formatPath(raw.nulls[0] as Lwm2mPath)} is only allowed in Write-Composite`);
  }
  const leaves = typeLeaves(raw, ctx.model);
  checkResourceShapes(leaves);
  return group(raw, leaves, ctx);
}

/** What a Write-Composite body in LwM2M CBOR asks for. */
export interface Lwm2mCborWriteComposite {
  /** One entry per written resource or resource instance (empty maps: empty multiple resources). */
  readonly entries: PathNode[];
  /** Resource instances (or resources) whose value is null: to be removed. */
  readonly removed: Lwm2mPath[];
}

/** Decodes a Write-Composite (iPATCH) body, where null leaves request removals. */
export function decodeLwm2mCborWriteComposite(payload: Buffer, model?: ModelLookup): Lwm2mCborWriteComposite {
  const raw = readContent(payload);
  const leaves = typeLeaves(raw, model);
  checkResourceShapes([...leaves, ...raw.nulls.map((path) => ({ path }))]);
  const entries = groupLeaves(leaves, undefined, model);
  for (const e of raw.empties) {
    if (e.length === 3 && !leaves.some((l) => pathStartsWith(l.path, e))) entries.push({ path: e, node: emptyMultiple(e[2] as number) });
  }
  return { entries, removed: raw.nulls };
}

// ------------------------------------------------------------------ encode

type Trie = { readonly kind: 'map'; readonly children: Map<number, Trie | TrieLeaf> };
type TrieLeaf = { readonly kind: 'leaf'; readonly value: Lwm2mValue | null };

function newTrie(): Trie {
  return { kind: 'map', children: new Map() };
}

/** Walks to the map at `path`, creating maps on the way. */
function mapAt(root: Trie, path: Lwm2mPath): Trie {
  let cur = root;
  for (const id of path) {
    const next = cur.children.get(id);
    if (next?.kind === 'leaf') throw new FormatError(`${formatPath(path)} lies below the value at a shorter path`);
    if (next) cur = next;
    else {
      const created = newTrie();
      cur.children.set(id, created);
      cur = created;
    }
  }
  return cur;
}

function putLeaf(root: Trie, path: Lwm2mPath, value: Lwm2mValue | null): void {
  const parent = mapAt(root, path.slice(0, -1));
  const id = path[path.length - 1] as number;
  const existing = parent.children.get(id);
  if (existing?.kind === 'leaf') {
    throw new UnsupportedFormatError(`LwM2M CBOR cannot carry two values for ${formatPath(path)} (time series need SenML)`);
  }
  if (existing) throw new FormatError(`${formatPath(path)} is given both as a value and as a container`);
  parent.children.set(id, { kind: 'leaf', value });
}

/** Empty objects, instances and multiple resources of a node (they have no leaves but must be written). */
function emptyContainers(path: Lwm2mPath, node: Lwm2mNode): Lwm2mPath[] {
  switch (node.kind) {
    case 'object':
      if (node.instances.size === 0) return [path];
      return [...node.instances.values()].flatMap((i) => emptyContainers([...path, i.id], i));
    case 'instance':
      if (node.resources.size === 0) return [path];
      return [...node.resources.values()].flatMap((r) => emptyContainers([...path, r.id], r));
    case 'multipleResource':
      return node.instances.size === 0 ? [path] : [];
    default:
      return [];
  }
}

function writeValue(w: CborWriter, v: Lwm2mValue | null): void {
  if (v === null) {
    w.null();
    return;
  }
  switch (v.type) {
    case 'string':
    case 'corelnk':
      w.text(v.value);
      return;
    case 'integer':
    case 'unsigned':
      w.int(v.value);
      return;
    case 'float':
      w.float(v.value);
      return;
    case 'boolean':
      w.bool(v.value);
      return;
    case 'opaque':
      w.bytes(v.value);
      return;
    case 'time':
      w.tag(1).int(timeToSeconds(v.value));
      return;
    case 'objlnk':
      w.text(formatObjectLink(v.value));
      return;
  }
}

function writeMap(w: CborWriter, trie: Trie): void {
  w.mapHeader(trie.children.size);
  for (const [id, child] of trie.children) {
    // follow the chain of single-child maps below this key
    const ids = [id];
    let cur: Trie | TrieLeaf = child;
    while (cur.kind === 'map' && cur.children.size === 1) {
      const [[nextId, next]] = cur.children as Map<number, Trie | TrieLeaf>;
      ids.push(nextId as number);
      cur = next as Trie | TrieLeaf;
    }
    if (ids.length < 3) {
      // collapsing one or two ids saves nothing: keep the plain nested form
      w.int(id);
      cur = child;
    } else {
      w.arrayHeader(ids.length);
      for (const x of ids) w.int(x);
    }
    if (cur.kind === 'leaf') writeValue(w, cur.value);
    else writeMap(w, cur);
  }
}

function encodeTrie(entries: readonly PathNode[], removed: readonly Lwm2mPath[] = []): Buffer {
  const root = newTrie();
  for (const entry of entries) {
    for (const leaf of flattenNode(entry.path, entry.node)) {
      checkValue(leaf.value, leaf.path);
      putLeaf(root, leaf.path, leaf.value);
    }
    for (const empty of emptyContainers(entry.path, entry.node)) mapAt(root, empty);
  }
  for (const path of removed) {
    if (path.length < 3) throw new FormatError(`cannot remove ${formatPath(path)}: not a resource path`);
    putLeaf(root, path, null);
  }
  const w = new CborWriter();
  writeMap(w, root);
  return w.toBuffer();
}

/** Encodes a Write-Composite (iPATCH) body; `removed` paths are written as null. */
export function encodeLwm2mCborWriteComposite(entries: readonly PathNode[], removed: readonly Lwm2mPath[]): Buffer {
  return encodeTrie(entries, removed);
}

export const lwm2mCborCodec: Codec = {
  format: ContentFormat.LWM2M_CBOR,
  name: 'lwm2m-cbor',
  multiPath: true,
  encode(entries: readonly PathNode[], _ctx?: EncodeContext): Buffer {
    return encodeTrie(entries);
  },
  decode,
};
