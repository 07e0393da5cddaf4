/**
 * SenML (RFC 8428) as LwM2M uses it (Core TS 1.1/1.2 §7.4.4, §7.4.5): the
 * logic shared by SenML JSON (110) and SenML CBOR (112).
 *
 * The two wire forms only differ in how a pack of records is written; both
 * hand this module a list of SenmlRecord and get one back. Here live the
 * rules that give records their meaning:
 * - base fields (bn, bt, bv) carry over to the following records;
 * - name = bn + n, which must be an LwM2M path;
 * - time = bt + t in seconds; a resolved time below 2^28 is relative to now;
 * - exactly one value field (v, vs, vb, vd, or LwM2M's vlo) per record;
 * - typing by the resource definition when known (flat-value.ts).
 */
import { FormatError, PathError } from '../errors.js';
import type { Codec, DecodeContext, EncodeContext } from './codec.js';
import type { ContentFormatNumber } from './content-format.js';
import { checkValue, timeToSeconds, toLwm2mValue, type WireValue } from './flat-value.js';
import { groupFlatLeaves } from './flat-group.js';
import { formatPath, parsePath, type Lwm2mPath } from '../model/path.js';
import type { ModelLookup } from '../model/definitions.js';
import { flattenNode, type Leaf } from '../model/tree.js';
import type { Lwm2mValue, PathNode } from '../model/value.js';
import { formatObjectLink } from '../model/value.js';

/**
 * One SenML record with the labels LwM2M uses. Numbers are number or BigInt
 * (64-bit integers stay exact). `vFloat` is only used when encoding: it asks
 * the CBOR writer to write `v` as a float even when it is integral.
 */
export interface SenmlRecord {
  bn?: string;
  bt?: number | bigint;
  bu?: string;
  bv?: number | bigint;
  bver?: number | bigint;
  n?: string;
  u?: string;
  v?: number | bigint;
  vFloat?: boolean;
  vs?: string;
  vb?: boolean;
  vd?: Buffer;
  vlo?: string;
  s?: number | bigint;
  t?: number | bigint;
  ut?: number | bigint;
}

/** A way of writing a pack of records: JSON (110) or CBOR (112). */
export interface SenmlWire {
  readonly format: ContentFormatNumber;
  /** Parses a pack; throws FormatError for anything that is not a pack of well-typed records. */
  parse(payload: Buffer): SenmlRecord[];
  serialize(records: readonly SenmlRecord[]): Buffer;
}

/** RFC 8428 §4.5.3: times below 2^28 (about 8.5 years) are relative to "now". */
export const RELATIVE_TIME_LIMIT = 2 ** 28;

/** A record with its name, time and value resolved against the base fields. */
export interface ResolvedRecord {
  readonly path: Lwm2mPath;
  /** Absolute seconds since the epoch, when the record has a time. */
  readonly time?: number;
  /** Undefined for records without a value (composite request bodies, removals). */
  readonly value?: WireValue;
}

export interface SenmlOptions {
  /** Current time in seconds, for relative SenML times. Defaults to the clock. */
  readonly now?: () => number;
}

const defaultNow = (): number => Date.now() / 1000;

/**
 * Parses a resolved SenML name into an LwM2M path. Stricter than parsePath:
 * ids with leading zeros ("/3/06") are refused, since they usually mean a
 * base name and a name were glued without their slash ("/3/0" + "6/0").
 */
export function parseSenmlName(name: string): Lwm2mPath {
  if (!/^\/?(?:(?:0|[1-9]\d*)(?:\/(?:0|[1-9]\d*))*)?\/?$/.test(name) || name === '') {
    throw new FormatError(`SenML name "${name}" is not an LwM2M path`);
  }
  try {
    return parsePath(name);
  } catch (err) {
    if (err instanceof PathError) throw new FormatError(`SenML name "${name}": ${err.message}`);
    throw err;
  }
}

function addNumbers(a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const isInt = (x: number | bigint) => typeof x === 'bigint' || Number.isInteger(x);
    if (isInt(a) && isInt(b)) return BigInt(a) + BigInt(b);
  }
  return Number(a) + Number(b);
}

function recordValue(rec: SenmlRecord, baseValue: number | bigint | undefined, where: string): WireValue | undefined {
  const present: WireValue[] = [];
  if (rec.v !== undefined) {
    present.push({ kind: 'number', value: baseValue === undefined ? rec.v : addNumbers(baseValue, rec.v) });
  }
  if (rec.vs !== undefined) present.push({ kind: 'string', value: rec.vs });
  if (rec.vb !== undefined) present.push({ kind: 'boolean', value: rec.vb });
  if (rec.vd !== undefined) present.push({ kind: 'bytes', value: rec.vd });
  if (rec.vlo !== undefined) present.push({ kind: 'objlnk', value: rec.vlo });
  if (present.length > 1) throw new FormatError(`SenML record ${where} has more than one value field`);
  if (present.length === 0 && baseValue !== undefined) return { kind: 'number', value: baseValue };
  return present[0];
}

/**
 * Resolves base name, base time and base value over a pack (RFC 8428 §4.6).
 * `now` is the current time in seconds, for relative times.
 */
export function resolveRecords(records: readonly SenmlRecord[], now: number): ResolvedRecord[] {
  let baseName = '';
  let baseTime: number | undefined;
  let baseValue: number | bigint | undefined;
  return records.map((rec, index) => {
    if (rec.bn !== undefined) baseName = rec.bn;
    if (rec.bt !== undefined) baseTime = Number(rec.bt);
    if (rec.bv !== undefined) baseValue = rec.bv;
    const name = baseName + (rec.n ?? '');
    if (name === '') throw new FormatError(`SenML record #${index} has no name`);
    const path = parseSenmlName(name);
    const value = recordValue(rec, baseValue, `#${index} (${name})`);
    let time: number | undefined;
    if (baseTime !== undefined || rec.t !== undefined) {
      const resolved = (baseTime ?? 0) + Number(rec.t ?? 0);
      if (!Number.isFinite(resolved)) throw new FormatError(`SenML record #${index} has an invalid time`);
      time = resolved < RELATIVE_TIME_LIMIT ? now + resolved : resolved;
    }
    const out: { path: Lwm2mPath; time?: number; value?: WireValue } = { path };
    if (time !== undefined) out.time = time;
    if (value !== undefined) out.value = value;
    return out;
  });
}

/** Types resolved records into leaves; every record must carry a value. */
export function recordsToLeaves(records: readonly ResolvedRecord[], model: ModelLookup | undefined): Leaf[] {
  return records.map((rec) => {
    if (rec.value === undefined) throw new FormatError(`SenML record for ${formatPath(rec.path)} has no value`);
    if (rec.path.length < 3) {
      throw new FormatError(`SenML record for ${formatPath(rec.path)} carries a value above the resource level`);
    }
    const def = model?.resource(rec.path[0] as number, rec.path[2] as number);
    const value = toLwm2mValue(rec.value, def?.type, rec.path);
    return rec.time === undefined ? { path: rec.path, value } : { path: rec.path, value, time: rec.time };
  });
}

/** The SenML value fields for a typed value. */
export function valueFields(v: Lwm2mValue): SenmlRecord {
  switch (v.type) {
    case 'string':
    case 'corelnk':
      return { vs: v.value };
    case 'integer':
    case 'unsigned':
      return { v: v.value };
    case 'float':
      return { v: v.value, vFloat: true };
    case 'boolean':
      return { vb: v.value };
    case 'opaque':
      return { vd: v.value };
    case 'time':
      return { v: timeToSeconds(v.value) };
    case 'objlnk':
      return { vlo: formatObjectLink(v.value) };
  }
}

/** Common leading ids of all paths. */
export function commonPrefix(paths: readonly Lwm2mPath[]): Lwm2mPath {
  if (paths.length === 0) return [];
  let prefix = paths[0] as Lwm2mPath;
  for (const p of paths) {
    let i = 0;
    while (i < prefix.length && i < p.length && prefix[i] === p[i]) i++;
    if (i < prefix.length) prefix = prefix.slice(0, i);
  }
  return prefix;
}

/**
 * Chooses the base name and the names. All records at one path: bn is that
 * path and records carry no n (as in the specification's single-resource
 * example). Otherwise bn is the common prefix ("/3/0/" + "0", "6/1", ...)
 * when that saves more characters than the bn field costs.
 */
function chooseNames(paths: readonly Lwm2mPath[]): { bn?: string; names: (string | undefined)[] } {
  const prefix = commonPrefix(paths);
  if (paths.length > 0 && paths.every((p) => p.length === prefix.length) && prefix.length > 0) {
    return { bn: formatPath(prefix), names: paths.map(() => undefined) };
  }
  const prefixText = prefix.length === 0 ? '' : formatPath(prefix) + '/';
  const saved = prefixText.length * paths.length;
  const cost = prefixText.length + 8; // "bn":"…", in JSON; about the same in CBOR
  if (prefix.length > 0 && saved >= cost) {
    return { bn: prefixText, names: paths.map((p) => p.slice(prefix.length).join('/')) };
  }
  return { names: paths.map((p) => formatPath(p)) };
}

/**
 * Lists leaves as SenML records. With `baseTime` (and every leaf timed) the
 * first record carries bt and the others t relative to it; a base time is
 * never used when some leaf has no time, since such a record would then
 * inherit bt as its time.
 */
export function leavesToRecords(leaves: readonly Leaf[], baseTime?: number): SenmlRecord[] {
  const seen = new Set<string>();
  for (const leaf of leaves) {
    checkValue(leaf.value, leaf.path);
    if (leaf.time !== undefined && !(Number.isFinite(leaf.time) && leaf.time >= RELATIVE_TIME_LIMIT)) {
      // below 2^28 a SenML time means "relative to now": such a timestamp cannot be written
      throw new FormatError(`${formatPath(leaf.path)}: timestamp ${leaf.time} cannot be expressed in SenML`);
    }
    const key = `${leaf.path.join('/')}@${leaf.time ?? ''}`;
    if (seen.has(key)) throw new FormatError(`${formatPath(leaf.path)} is given twice for the same time`);
    seen.add(key);
  }
  const { bn, names } = chooseNames(leaves.map((l) => l.path));
  const useBaseTime =
    baseTime !== undefined && Number.isFinite(baseTime) && leaves.length > 0 && leaves.every((l) => l.time !== undefined);
  return leaves.map((leaf, i) => {
    const rec: SenmlRecord = {};
    if (i === 0 && bn !== undefined) rec.bn = bn;
    if (i === 0 && useBaseTime) rec.bt = baseTime;
    const n = names[i];
    if (n !== undefined) rec.n = n;
    Object.assign(rec, valueFields(leaf.value));
    if (leaf.time !== undefined) {
      const t = useBaseTime ? leaf.time - (baseTime as number) : leaf.time;
      if (t !== 0 || !useBaseTime) rec.t = t;
    }
    return rec;
  });
}

/** Decodes a payload into PathNodes grouped as the context asks (flat-group.ts). */
export function decodeSenml(wire: SenmlWire, payload: Buffer, ctx: DecodeContext | undefined, now: number): PathNode[] {
  const records = resolveRecords(wire.parse(payload), now);
  return groupFlatLeaves(recordsToLeaves(records, ctx?.model), ctx);
}

export function encodeSenml(wire: SenmlWire, entries: readonly PathNode[], ctx: EncodeContext | undefined): Buffer {
  const leaves = entries.flatMap((e) => flattenNode(e.path, e.node));
  return wire.serialize(leavesToRecords(leaves, ctx?.baseTime));
}

/** Builds a Codec over a SenML wire form. */
export function createSenmlCodec(wire: SenmlWire, name: string, options: SenmlOptions = {}): Codec {
  const now = options.now ?? defaultNow;
  return {
    format: wire.format,
    name,
    multiPath: true,
    encode: (entries, ctx) => encodeSenml(wire, entries, ctx),
    decode: (payload, ctx) => decodeSenml(wire, payload, ctx, now()),
  };
}
