/**
 * The LwM2M 1.0 JSON format (content format 11543, 1543 before IANA
 * registration; deprecated since 1.1 but still sent by older clients):
 *
 *   {"bn":"/3/0/","bt":1367491215,
 *    "e":[{"n":"0","sv":"Open Mobile Alliance"},{"n":"9","v":95},{"n":"6/0","v":1,"t":-5}]}
 *
 * Entries carry one of `v` (number: integer, float, time), `sv` (string,
 * core link, or base64 for opaque), `bv` (boolean), `ov` (object link
 * "3:0"), and optionally `t`. Names are `bn` + `n`; without `bn` a name
 * without a leading slash is taken relative to the requested path (as
 * Wakaama does). Times are bt + t seconds; a negative result is relative
 * to now. Unlike SenML (RFC 8428) there is no 2^28 rule: the 1.0
 * examples use small absolute base times such as 25462634.
 */
import { FormatError, UnsupportedFormatError } from '../errors.js';
import type { Codec, DecodeContext, EncodeContext } from './codec.js';
import { ContentFormat } from './content-format.js';
import { checkValue, decodeBase64, timeToSeconds, toLwm2mValue, type WireValue } from './flat-value.js';
import { groupFlatLeaves } from './flat-group.js';
import { jsonNumber, JsonNumber, parseJson, type JsonValue } from './json-reader.js';
import { commonPrefix, parseSenmlName, type SenmlOptions } from './senml.js';
import { formatPath, type Lwm2mPath } from '../model/path.js';
import { flattenNode, type Leaf } from '../model/tree.js';
import { formatObjectLink, type Lwm2mValue, type PathNode } from '../model/value.js';

function entryValue(entry: Map<string, JsonValue>, where: string): WireValue {
  const found: WireValue[] = [];
  const v = entry.get('v');
  if (v !== undefined) {
    if (!(v instanceof JsonNumber)) throw new FormatError(`${where}: "v" must be a number`);
    const n = v.value;
    if (typeof n === 'number' && !Number.isFinite(n)) throw new FormatError(`${where}: "v" is out of range`);
    found.push({ kind: 'number', value: n });
  }
  const sv = entry.get('sv');
  if (sv !== undefined) {
    if (typeof sv !== 'string') throw new FormatError(`${where}: "sv" must be a string`);
    found.push({ kind: 'string', value: sv });
  }
  const bv = entry.get('bv');
  if (bv !== undefined) {
    if (typeof bv !== 'boolean') throw new FormatError(`${where}: "bv" must be a boolean`);
    found.push({ kind: 'boolean', value: bv });
  }
  const ov = entry.get('ov');
  if (ov !== undefined) {
    if (typeof ov !== 'string') throw new FormatError(`${where}: "ov" must be a string`);
    found.push({ kind: 'objlnk', value: ov });
  }
  if (found.length !== 1) throw new FormatError(`${where}: expected exactly one of "v", "sv", "bv", "ov"`);
  return found[0] as WireValue;
}

function optionalNumber(container: Map<string, JsonValue>, key: string, where: string): number | undefined {
  const raw = container.get(key);
  if (raw === undefined) return undefined;
  if (!(raw instanceof JsonNumber)) throw new FormatError(`${where}: "${key}" must be a number`);
  const n = Number(raw.value);
  if (!Number.isFinite(n)) throw new FormatError(`${where}: "${key}" is out of range`);
  return n;
}

function decodeLeaves(payload: Buffer, ctx: DecodeContext | undefined, now: number): Leaf[] {
  const root = parseJson(payload);
  if (!(root instanceof Map)) throw new FormatError('LwM2M JSON payload must be an object');
  const bn = root.get('bn');
  if (bn !== undefined && typeof bn !== 'string') throw new FormatError('LwM2M JSON "bn" must be a string');
  const bt = optionalNumber(root, 'bt', 'LwM2M JSON');
  const entries = root.get('e');
  if (!Array.isArray(entries)) throw new FormatError('LwM2M JSON payload needs an "e" array');

  return entries.map((entry, index) => {
    const where = `LwM2M JSON entry #${index}`;
    if (!(entry instanceof Map)) throw new FormatError(`${where} is not an object`);
    const n = entry.get('n');
    if (n !== undefined && typeof n !== 'string') throw new FormatError(`${where}: "n" must be a string`);
    const name = n ?? '';
    let base = bn ?? '';
    if (bn === undefined && ctx?.path && !name.startsWith('/')) base = formatPath(ctx.path) + '/';
    if (base + name === '') throw new FormatError(`${where} has no name`);
    const path = parseSenmlName(base + name);
    if (path.length < 3) throw new FormatError(`${where}: ${formatPath(path)} is not a resource path`);

    let wire = entryValue(entry, where);
    const type = ctx?.model?.resource(path[0] as number, path[2] as number)?.type;
    if (type === 'opaque' && wire.kind === 'string') wire = { kind: 'bytes', value: decodeBase64(wire.value, where) };
    const value = toLwm2mValue(wire, type, path);

    const t = optionalNumber(entry, 't', where);
    if (bt === undefined && t === undefined) return { path, value };
    const resolved = (bt ?? 0) + (t ?? 0);
    return { path, value, time: resolved <= 0 ? now + resolved : resolved };
  });
}

function valueMember(v: Lwm2mValue): string {
  switch (v.type) {
    case 'integer':
    case 'unsigned':
      return `"v":${jsonNumber(v.value)}`;
    case 'float':
      if (!Number.isFinite(v.value)) throw new UnsupportedFormatError(`LwM2M JSON cannot carry the number ${v.value}`);
      return `"v":${jsonNumber(v.value)}`;
    case 'time':
      return `"v":${timeToSeconds(v.value)}`;
    case 'string':
    case 'corelnk':
      return `"sv":${JSON.stringify(v.value)}`;
    case 'opaque':
      // 1.0 JSON carries opaque data as standard base64 text
      return `"sv":"${v.value.toString('base64')}"`;
    case 'boolean':
      return `"bv":${v.value}`;
    case 'objlnk':
      return `"ov":"${formatObjectLink(v.value)}"`;
  }
}

/**
 * Chooses bn as the common prefix of the paths, kept one id short of the
 * shortest path so that every entry has a non-empty "n" (1.0 clients
 * expect one), e.g. "/3/0/" + "9" for a single resource.
 */
function baseName(paths: readonly Lwm2mPath[]): Lwm2mPath {
  const prefix = commonPrefix(paths);
  const shortest = Math.min(...paths.map((p) => p.length));
  return prefix.slice(0, Math.min(prefix.length, shortest - 1));
}

function encodeLeaves(leaves: readonly Leaf[], ctx: EncodeContext | undefined): Buffer {
  for (const leaf of leaves) {
    checkValue(leaf.value, leaf.path);
    if (leaf.time !== undefined && !(Number.isFinite(leaf.time) && leaf.time > 0)) {
      // zero and negative times read back as "relative to now"
      throw new FormatError(`${formatPath(leaf.path)}: timestamp ${leaf.time} cannot be expressed in LwM2M JSON`);
    }
  }
  const prefix = leaves.length === 0 ? [] : baseName(leaves.map((l) => l.path));
  const baseTime = ctx?.baseTime;
  const useBaseTime =
    baseTime !== undefined && Number.isFinite(baseTime) && leaves.length > 0 && leaves.every((l) => l.time !== undefined);
  const items = leaves.map((leaf) => {
    const parts = [`"n":"${leaf.path.slice(prefix.length).join('/')}"`, valueMember(leaf.value)];
    if (leaf.time !== undefined) {
      const t = useBaseTime ? leaf.time - (baseTime as number) : leaf.time;
      if (t !== 0 || !useBaseTime) parts.push(`"t":${jsonNumber(t)}`);
    }
    return `{${parts.join(',')}}`;
  });
  const bn = prefix.length === 0 ? '/' : formatPath(prefix) + '/';
  const bt = useBaseTime ? `"bt":${jsonNumber(baseTime as number)},` : '';
  return Buffer.from(`{"bn":"${bn}",${bt}"e":[${items.join(',')}]}`, 'utf8');
}

/** An old-JSON codec; `options.now` fixes the clock used for relative times (tests). */
export function createOldJsonCodec(options: SenmlOptions = {}): Codec {
  const now = options.now ?? ((): number => Date.now() / 1000);
  return {
    format: ContentFormat.OLD_JSON,
    name: 'json',
    multiPath: true,
    encode(entries: readonly PathNode[], ctx?: EncodeContext): Buffer {
      return encodeLeaves(entries.flatMap((e) => flattenNode(e.path, e.node)), ctx);
    },
    decode(payload: Buffer, ctx?: DecodeContext): PathNode[] {
      return groupFlatLeaves(decodeLeaves(payload, ctx, now()), ctx);
    },
  };
}

export const oldJsonCodec: Codec = createOldJsonCodec();
