/**
 * SenML bodies of the composite operations (LwM2M 1.1+), in SenML JSON or
 * SenML CBOR:
 * - Read-Composite / Observe-Composite requests (FETCH): a list of paths,
 *   one record per path holding only a name (`n`, or `bn` + `n`);
 * - Write-Composite requests (iPATCH): records for any objects; a record
 *   with a name and no value asks for the removal of that resource
 *   instance (the SenML-ETCH convention of RFC 8790, as LwM2M clients
 *   implement it).
 */
import { FormatError, UnsupportedFormatError } from '../errors.js';
import { ContentFormat } from './content-format.js';
import { checkValue } from './flat-value.js';
import { checkResourceShapes } from './flat-group.js';
import { recordsToLeaves, resolveRecords, valueFields, type SenmlOptions, type SenmlRecord, type SenmlWire } from './senml.js';
import { senmlCborWire } from './senml-cbor.js';
import { senmlJsonWire } from './senml-json.js';
import type { ModelLookup } from '../model/definitions.js';
import { formatPath, type Lwm2mPath } from '../model/path.js';
import { flattenNode, groupLeaves } from '../model/tree.js';
import type { PathNode } from '../model/value.js';

function wireFor(format: number): SenmlWire {
  if (format === ContentFormat.SENML_JSON) return senmlJsonWire;
  if (format === ContentFormat.SENML_CBOR) return senmlCborWire;
  throw new UnsupportedFormatError(`content format ${format} is not SenML JSON (110) or SenML CBOR (112)`);
}

/** Body of a Read-/Observe-Composite request: `[{"n":"/3/0/0"},{"n":"/1/0/1"}]`. */
export function encodeSenmlPaths(paths: readonly Lwm2mPath[], format: number): Buffer {
  return wireFor(format).serialize(paths.map((p) => ({ n: formatPath(p) })));
}

/**
 * Reads the paths of a Read-/Observe-Composite request body. Records must
 * hold a name only: a value there is a malformed request (FormatError).
 */
export function decodeSenmlPaths(payload: Buffer, format: number): Lwm2mPath[] {
  const wire = wireFor(format);
  return resolveRecords(wire.parse(payload), 0).map((rec) => {
    if (rec.value !== undefined) {
      throw new FormatError(`composite request record for ${formatPath(rec.path)} must not carry a value`);
    }
    return rec.path;
  });
}

/** What a Write-Composite body asks for. */
export interface WriteCompositeContent {
  /** One entry per written resource or resource instance, as named in the body. */
  readonly entries: PathNode[];
  /** Resource instances (or resources) to remove: records without a value. */
  readonly removed: Lwm2mPath[];
}

export interface WriteCompositeOptions extends SenmlOptions {
  readonly model?: ModelLookup;
}

/**
 * Decodes a Write-Composite body. Each record keeps its own path (a value
 * for /3/0/6/1 stays a resource-instance entry, so that the writer updates
 * that instance only); a path named twice is a FormatError.
 */
export function decodeSenmlWriteComposite(
  payload: Buffer,
  format: number,
  options: WriteCompositeOptions = {},
): WriteCompositeContent {
  const wire = wireFor(format);
  const now = options.now ? options.now() : Date.now() / 1000;
  const records = resolveRecords(wire.parse(payload), now);
  const seen = new Set<string>();
  for (const rec of records) {
    const key = formatPath(rec.path);
    if (seen.has(key)) throw new FormatError(`Write-Composite names ${key} more than once`);
    seen.add(key);
  }
  const removed = records.filter((r) => r.value === undefined).map((r) => r.path);
  for (const path of removed) {
    if (path.length < 3) throw new FormatError(`Write-Composite cannot remove ${formatPath(path)}: not a resource path`);
  }
  const leaves = recordsToLeaves(records.filter((r) => r.value !== undefined), options.model);
  checkResourceShapes([...leaves, ...removed.map((path) => ({ path }))]);
  return { entries: groupLeaves(leaves, undefined, options.model), removed };
}

/** Encodes a Write-Composite body (full names, no base fields). */
export function encodeSenmlWriteComposite(
  entries: readonly PathNode[],
  removed: readonly Lwm2mPath[],
  format: number,
): Buffer {
  const wire = wireFor(format);
  const records: SenmlRecord[] = [];
  for (const entry of entries) {
    for (const leaf of flattenNode(entry.path, entry.node)) {
      checkValue(leaf.value, leaf.path);
      records.push({ n: formatPath(leaf.path), ...valueFields(leaf.value) });
    }
  }
  for (const path of removed) records.push({ n: formatPath(path) });
  return wire.serialize(records);
}
