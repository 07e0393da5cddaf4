/**
 * What the single-value codecs (text/plain, octet-stream, plain CBOR) have
 * in common: they carry exactly one resource or resource-instance value, so
 * they all check the same shape on encode, need the same path on decode, and
 * look the resource type up in the model the same way.
 */
import { FormatError, UnsupportedFormatError } from '../errors.js';
import type { ModelLookup, ResourceDefinition, ResourceType } from '../model/definitions.js';
import { formatPath, type Lwm2mPath } from '../model/path.js';
import type { Lwm2mValue, PathNode, ResourceInstanceNode, SingleResourceNode } from '../model/value.js';
import { checkInt64, checkUint64, integerToBigInt, normalizeInteger, secondsToDate } from './scalar.js';

/** The one leaf a single-value codec encodes. */
export interface LeafEntry {
  readonly path: Lwm2mPath;
  readonly node: SingleResourceNode | ResourceInstanceNode;
}

/**
 * Checks that `entries` is one single resource (at /o/i/r) or one resource
 * instance (at /o/i/r/ri). Anything else cannot be carried by the format.
 */
export function singleLeafEntry(entries: readonly PathNode[], formatName: string): LeafEntry {
  if (entries.length !== 1) {
    throw new UnsupportedFormatError(`${formatName} carries exactly one value, got ${entries.length} entries`);
  }
  const { path, node } = entries[0] as PathNode;
  if (node.kind !== 'resource' && node.kind !== 'resourceInstance') {
    throw new UnsupportedFormatError(
      `${formatName} carries a single resource or resource instance, not a ${describeKind(node.kind)} (${formatPath(path)})`,
    );
  }
  const expectedLength = node.kind === 'resource' ? 3 : 4;
  if (path.length !== expectedLength || path[expectedLength - 1] !== node.id) {
    throw new FormatError(`${node.kind} ${node.id} does not sit at path ${formatPath(path)}`);
  }
  return { path, node };
}

/** The decode path of a single-value payload: required, and a resource or resource-instance path. */
export function singleLeafPath(path: Lwm2mPath | undefined, formatName: string): Lwm2mPath {
  if (!path) throw new FormatError(`${formatName} payload cannot be decoded without the path it answers`);
  if (path.length !== 3 && path.length !== 4) {
    throw new FormatError(
      `${formatName} carries a single resource or resource instance value; ${formatPath(path)} is neither`,
    );
  }
  return path;
}

/** The model's definition of the resource at `path` (/o/i/r or below), when known. */
export function resourceDefinition(model: ModelLookup | undefined, path: Lwm2mPath): ResourceDefinition | undefined {
  if (!model || path.length < 3) return undefined;
  return model.resource(path[0] as number, path[2] as number);
}

/**
 * What the model says about the resource at `path`, checked against a
 * single-value format: a whole multiple resource (/3/0/6) cannot be carried,
 * only one of its instances (/3/0/6/0); a single resource has no instances;
 * an executable resource has no value at all.
 */
export function checkSingleValueShape(def: ResourceDefinition | undefined, path: Lwm2mPath, formatName: string): void {
  if (def?.multiple && path.length === 3) {
    throw new UnsupportedFormatError(
      `${formatName} carries a single value; ${formatPath(path)} is a multiple resource (address one instance)`,
    );
  }
  if (def && !def.multiple && path.length === 4) {
    throw new FormatError(`${formatPath(path)}: resource ${def.id} is single, it has no resource instances`);
  }
  if (def?.type === 'none') {
    throw new UnsupportedFormatError(`${formatPath(path)} is an executable resource: it carries no value`);
  }
}

/** Wraps a decoded value into the one PathNode a single-value decoder returns. */
export function leafResult(path: Lwm2mPath, v: Lwm2mValue): PathNode[] {
  const id = path[path.length - 1] as number;
  const node: SingleResourceNode | ResourceInstanceNode =
    path.length === 3 ? { kind: 'resource', id, value: v } : { kind: 'resourceInstance', id, value: v };
  return [{ path, node }];
}

/**
 * Brings a value to the resource type the model declares, when that is
 * possible without losing anything (an integer written to a Float resource,
 * a number of seconds written to a Time resource). Anything else is an error
 * rather than a guess.
 */
export function conformValue(v: Lwm2mValue, type: ResourceType, where: string): Lwm2mValue {
  if (v.type === type) return v;
  const fail = (): never => {
    throw new FormatError(`${where}: a ${v.type} value cannot be written to a ${type} resource`);
  };
  switch (type) {
    case 'none':
      throw new UnsupportedFormatError(`${where} is an executable resource: it carries no value`);
    case 'integer':
      if (v.type === 'unsigned' || (v.type === 'float' && Number.isInteger(v.value))) {
        return { type: 'integer', value: normalizeInteger(checkInt64(integerToBigInt(v.value, where), where)) };
      }
      return fail();
    case 'unsigned':
      if (v.type === 'integer' || (v.type === 'float' && Number.isInteger(v.value))) {
        return { type: 'unsigned', value: normalizeInteger(checkUint64(integerToBigInt(v.value, where), where)) };
      }
      return fail();
    case 'float':
      if (v.type === 'integer' || v.type === 'unsigned') {
        const n = Number(v.value);
        // only when the double holds the integer exactly (no silent rounding of 64-bit values)
        if (typeof v.value === 'bigint' && BigInt(n) !== v.value) fail();
        return { type: 'float', value: n };
      }
      return fail();
    case 'time':
      if (v.type === 'integer' || v.type === 'unsigned') {
        return { type: 'time', value: secondsToDate(integerToBigInt(v.value, where), where) };
      }
      return fail();
    case 'string':
      if (v.type === 'corelnk') return { type: 'string', value: v.value };
      return fail();
    case 'corelnk':
      if (v.type === 'string') return { type: 'corelnk', value: v.value };
      return fail();
    default:
      return fail();
  }
}

function describeKind(kind: string): string {
  switch (kind) {
    case 'object':
      return 'whole object';
    case 'instance':
      return 'object instance';
    case 'multipleResource':
      return 'multiple resource';
    default:
      return kind;
  }
}
