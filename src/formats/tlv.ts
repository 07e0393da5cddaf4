/**
 * LwM2M TLV (content format 11542), the mandatory format of LwM2M 1.0.
 *
 * Each record is: a type byte, a 1- or 2-byte identifier, an optional 1- to
 * 3-byte length, then the value.
 *
 *   type bits 7-6  kind: 00 object instance, 01 resource instance,
 *                        10 multiple resource, 11 resource with value
 *   type bit 5     identifier is 16 bits (else 8)
 *   type bits 4-3  length field size: 0 = length in bits 2-0, 1/2/3 = 8/16/24-bit length field
 *
 * Object instances and multiple resources contain further records; the
 * other two contain one value whose bytes depend on the resource type
 * (see encodeTlvValue/decodeTlvValue). Records do not name their type, so
 * without a model every value is returned as Opaque holding its raw bytes.
 */
import { FormatError, UnsupportedFormatError } from '../errors.js';
import type { ModelLookup, ResourceDefinition, ResourceType } from '../model/definitions.js';
import { formatPath, MAX_ID, type Lwm2mPath } from '../model/path.js';
import type {
  Lwm2mNode,
  Lwm2mValue,
  MultipleResourceNode,
  ObjectInstanceNode,
  ObjectNode,
  PathNode,
  ResourceInstanceNode,
  ResourceNode,
} from '../model/value.js';
import type { Codec, DecodeContext, EncodeContext } from './codec.js';
import { ContentFormat } from './content-format.js';
import {
  checkInt64,
  checkObjectLink,
  checkUint64,
  dateToSeconds,
  decodeUtf8,
  integerToBigInt,
  normalizeInteger,
  secondsToDate,
} from './scalar.js';
import { conformValue } from './single-value.js';

const NAME = 'TLV';

export type TlvKind = 'objectInstance' | 'resourceInstance' | 'multipleResource' | 'resource';

const KIND_BITS: Readonly<Record<TlvKind, number>> = {
  objectInstance: 0b00,
  resourceInstance: 0b01,
  multipleResource: 0b10,
  resource: 0b11,
};
const KINDS: readonly TlvKind[] = ['objectInstance', 'resourceInstance', 'multipleResource', 'resource'];

/** Largest value a 24-bit length field can announce. */
export const TLV_MAX_LENGTH = 0xffffff;

// ------------------------------------------------------------ raw values

/** Signed big-endian two's complement in the smallest of 1, 2, 4 or 8 bytes. */
function encodeSigned(v: bigint): Buffer {
  if (v >= -0x80n && v <= 0x7fn) return Buffer.from([Number(v) & 0xff]);
  if (v >= -0x8000n && v <= 0x7fffn) {
    const b = Buffer.alloc(2);
    b.writeInt16BE(Number(v));
    return b;
  }
  if (v >= -0x80000000n && v <= 0x7fffffffn) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(Number(v));
    return b;
  }
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
}

/** Unsigned big-endian in the smallest of 1, 2, 4 or 8 bytes. */
function encodeUnsigned(v: bigint): Buffer {
  if (v <= 0xffn) return Buffer.from([Number(v)]);
  if (v <= 0xffffn) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(Number(v));
    return b;
  }
  if (v <= 0xffffffffn) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(Number(v));
    return b;
  }
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b;
}

function decodeSigned(bytes: Buffer, where: string): bigint {
  switch (bytes.length) {
    case 1:
    case 2:
    case 4:
      return BigInt(bytes.readIntBE(0, bytes.length));
    case 8:
      return bytes.readBigInt64BE(0);
    default:
      throw new FormatError(`${where}: a TLV integer has 1, 2, 4 or 8 bytes, got ${bytes.length}`);
  }
}

function decodeUnsigned(bytes: Buffer, where: string): bigint {
  switch (bytes.length) {
    case 1:
    case 2:
    case 4:
      return BigInt(bytes.readUIntBE(0, bytes.length));
    case 8:
      return bytes.readBigUInt64BE(0);
    default:
      throw new FormatError(`${where}: a TLV unsigned integer has 1, 2, 4 or 8 bytes, got ${bytes.length}`);
  }
}

/** The value bytes of one typed value, as a TLV record carries them. */
export function encodeTlvValue(v: Lwm2mValue, where = 'value'): Buffer {
  switch (v.type) {
    case 'integer':
      return encodeSigned(checkInt64(integerToBigInt(v.value, where), where));
    case 'unsigned':
      return encodeUnsigned(checkUint64(integerToBigInt(v.value, where), where));
    case 'time':
      return encodeSigned(checkInt64(dateToSeconds(v.value), where));
    case 'float': {
      // 4 bytes only when float32 holds the value exactly (NaN and the infinities included)
      if (Number.isNaN(v.value) || Math.fround(v.value) === v.value) {
        const b = Buffer.alloc(4);
        b.writeFloatBE(v.value);
        return b;
      }
      const b = Buffer.alloc(8);
      b.writeDoubleBE(v.value);
      return b;
    }
    case 'boolean':
      return Buffer.from([v.value ? 1 : 0]);
    case 'objlnk': {
      const link = checkObjectLink(v.value, where);
      const b = Buffer.alloc(4);
      b.writeUInt16BE(link.objectId, 0);
      b.writeUInt16BE(link.instanceId, 2);
      return b;
    }
    case 'string':
    case 'corelnk':
      return Buffer.from(v.value, 'utf8');
    case 'opaque':
      return Buffer.from(v.value);
  }
}

/** Reads the value bytes of one TLV record as `type`; wrong lengths or bytes are a FormatError. */
export function decodeTlvValue(bytes: Buffer, type: Exclude<ResourceType, 'none'>, where = 'value'): Lwm2mValue {
  switch (type) {
    case 'integer':
      return { type: 'integer', value: normalizeInteger(decodeSigned(bytes, where)) };
    case 'unsigned':
      return { type: 'unsigned', value: normalizeInteger(decodeUnsigned(bytes, where)) };
    case 'time':
      return { type: 'time', value: secondsToDate(decodeSigned(bytes, where), where) };
    case 'float':
      if (bytes.length === 4) return { type: 'float', value: bytes.readFloatBE(0) };
      if (bytes.length === 8) return { type: 'float', value: bytes.readDoubleBE(0) };
      throw new FormatError(`${where}: a TLV float has 4 or 8 bytes, got ${bytes.length}`);
    case 'boolean':
      if (bytes.length !== 1) throw new FormatError(`${where}: a TLV boolean has 1 byte, got ${bytes.length}`);
      if (bytes[0] !== 0 && bytes[0] !== 1) {
        throw new FormatError(`${where}: a TLV boolean is 0 or 1, got ${bytes[0]}`);
      }
      return { type: 'boolean', value: bytes[0] === 1 };
    case 'objlnk':
      if (bytes.length !== 4) throw new FormatError(`${where}: a TLV object link has 4 bytes, got ${bytes.length}`);
      return { type: 'objlnk', value: { objectId: bytes.readUInt16BE(0), instanceId: bytes.readUInt16BE(2) } };
    case 'string':
      return { type: 'string', value: decodeUtf8(bytes, where) };
    case 'corelnk':
      return { type: 'corelnk', value: decodeUtf8(bytes, where) };
    case 'opaque':
      return { type: 'opaque', value: Buffer.from(bytes) };
  }
}

// ------------------------------------------------------------ records

/** One TLV record at one nesting level; `value` is a view into the payload. */
export interface TlvRecord {
  readonly kind: TlvKind;
  readonly id: number;
  readonly value: Buffer;
}

/** Encodes one record around already-encoded content (a value, or nested records). */
export function encodeTlvRecord(kind: TlvKind, id: number, content: Buffer): Buffer {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) throw new FormatError(`TLV identifier ${id} is out of range`);
  const length = content.length;
  if (length > TLV_MAX_LENGTH) {
    throw new UnsupportedFormatError(`TLV records hold at most ${TLV_MAX_LENGTH} bytes, got ${length}`);
  }
  const wideId = id > 0xff;
  const lengthBytes = length <= 7 ? 0 : length <= 0xff ? 1 : length <= 0xffff ? 2 : 3;
  const headerSize = 1 + (wideId ? 2 : 1) + lengthBytes;
  // every byte is written below (header, then content), so the pooled unsafe allocation is fine
  const out = Buffer.allocUnsafe(headerSize + length);
  out[0] = (KIND_BITS[kind] << 6) | (wideId ? 0x20 : 0) | (lengthBytes << 3) | (lengthBytes === 0 ? length : 0);
  let pos = 1;
  if (wideId) {
    out.writeUInt16BE(id, pos);
    pos += 2;
  } else {
    out[pos++] = id;
  }
  if (lengthBytes > 0) out.writeUIntBE(length, pos, lengthBytes);
  content.copy(out, headerSize);
  return out;
}

/**
 * Splits `buf` into the records of one nesting level. Every byte must belong
 * to a record: a header or value running past the end is a FormatError.
 */
export function readTlvRecords(buf: Buffer): TlvRecord[] {
  const records: TlvRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const start = pos;
    const type = buf[pos++] as number;
    const idBytes = type & 0x20 ? 2 : 1;
    const lengthBytes = (type >> 3) & 0x03;
    if (pos + idBytes + lengthBytes > buf.length) {
      throw new FormatError(`TLV header at byte ${start} is truncated`);
    }
    const id = idBytes === 2 ? buf.readUInt16BE(pos) : (buf[pos] as number);
    pos += idBytes;
    // bits 2-0 hold the length only when there is no length field
    const length = lengthBytes === 0 ? type & 0x07 : buf.readUIntBE(pos, lengthBytes);
    pos += lengthBytes;
    if (length > buf.length - pos) {
      throw new FormatError(`TLV record at byte ${start} announces ${length} bytes, only ${buf.length - pos} left`);
    }
    if (id > MAX_ID) throw new FormatError(`TLV record at byte ${start} uses the reserved identifier ${id}`);
    records.push({ kind: KINDS[type >> 6] as TlvKind, id, value: buf.subarray(pos, pos + length) });
    pos += length;
  }
  return records;
}

// ------------------------------------------------------------ decoding to the tree

const KIND_NAMES: Readonly<Record<TlvKind, string>> = {
  objectInstance: 'object instance',
  resourceInstance: 'resource instance',
  multipleResource: 'multiple resource',
  resource: 'resource',
};

class TlvTreeDecoder {
  constructor(
    private readonly objectId: number,
    private readonly model: ModelLookup | undefined,
  ) {}

  private definition(resourceId: number): ResourceDefinition | undefined {
    return this.model?.resource(this.objectId, resourceId);
  }

  /** Typed when the model knows the resource, raw Opaque otherwise. */
  private leafValue(resourceId: number, bytes: Buffer, where: string): Lwm2mValue {
    const def = this.definition(resourceId);
    if (!def) return { type: 'opaque', value: Buffer.from(bytes) };
    if (def.type === 'none') throw new FormatError(`${where} is an executable resource: it carries no value`);
    return decodeTlvValue(bytes, def.type, where);
  }

  checkMultiple(resourceId: number, multiple: boolean, where: string): void {
    const def = this.definition(resourceId);
    if (def && def.multiple !== multiple) {
      throw new FormatError(
        `${where}: resource ${resourceId} is ${def.multiple ? 'multiple' : 'single'} but the TLV gives it as ${multiple ? 'multiple' : 'single'}`,
      );
    }
  }

  resourceInstances(base: Lwm2mPath, resourceId: number, records: readonly TlvRecord[]): Map<number, ResourceInstanceNode> {
    const out = new Map<number, ResourceInstanceNode>();
    for (const rec of records) {
      const where = formatPath([...base, rec.id]);
      if (rec.kind !== 'resourceInstance') {
        throw new FormatError(`${formatPath(base)}: a ${KIND_NAMES[rec.kind]} record inside a multiple resource`);
      }
      if (out.has(rec.id)) throw new FormatError(`${where} given more than once`);
      out.set(rec.id, { kind: 'resourceInstance', id: rec.id, value: this.leafValue(resourceId, rec.value, where) });
    }
    return out;
  }

  resource(base: Lwm2mPath, rec: TlvRecord): ResourceNode {
    const path = [...base, rec.id];
    const where = formatPath(path);
    if (rec.kind === 'resource') {
      this.checkMultiple(rec.id, false, where);
      return { kind: 'resource', id: rec.id, value: this.leafValue(rec.id, rec.value, where) };
    }
    if (rec.kind === 'multipleResource') {
      this.checkMultiple(rec.id, true, where);
      return { kind: 'multipleResource', id: rec.id, instances: this.resourceInstances(path, rec.id, readTlvRecords(rec.value)) };
    }
    throw new FormatError(`${formatPath(base)}: a ${KIND_NAMES[rec.kind]} record where a resource was expected`);
  }

  resources(base: Lwm2mPath, records: readonly TlvRecord[]): Map<number, ResourceNode> {
    const out = new Map<number, ResourceNode>();
    for (const rec of records) {
      if (out.has(rec.id)) throw new FormatError(`${formatPath([...base, rec.id])} given more than once`);
      out.set(rec.id, this.resource(base, rec));
    }
    return out;
  }

  instance(rec: TlvRecord): ObjectInstanceNode {
    const base = [this.objectId, rec.id];
    return { kind: 'instance', id: rec.id, resources: this.resources(base, readTlvRecords(rec.value)) };
  }
}

function expectId(rec: TlvRecord, id: number, path: Lwm2mPath): void {
  if (rec.id !== id) {
    throw new FormatError(`TLV ${KIND_NAMES[rec.kind]} ${rec.id} does not match the requested path ${formatPath(path)}`);
  }
}

/**
 * Decodes a TLV payload into the node at `path`:
 *   /o       object-instance records
 *   /o/i     the bare resource records, or one object-instance record with id i around them
 *   /o/i/r   one resource record or one multiple-resource record with id r
 *            (bare resource-instance records are tolerated for a multiple resource)
 *   /o/i/r/ri one resource-instance record with id ri (also tolerated inside its multiple-resource record)
 * Anything else (wrong nesting, an id that is not the path's, truncation) is a FormatError.
 */
export function decodeTlv(payload: Buffer, path: Lwm2mPath, model?: ModelLookup): Lwm2mNode {
  if (path.length < 1 || path.length > 4) {
    throw new FormatError(`a TLV payload answers an object, instance, resource or resource instance path, not ${formatPath(path)}`);
  }
  const [o, i, r, ri] = path as [number, number | undefined, number | undefined, number | undefined];
  const dec = new TlvTreeDecoder(o, model);
  const records = readTlvRecords(payload);

  if (i === undefined) {
    const instances = new Map<number, ObjectInstanceNode>();
    for (const rec of records) {
      if (rec.kind !== 'objectInstance') {
        throw new FormatError(`${formatPath(path)}: a ${KIND_NAMES[rec.kind]} record where an object instance was expected`);
      }
      if (instances.has(rec.id)) throw new FormatError(`${formatPath([o, rec.id])} given more than once`);
      instances.set(rec.id, dec.instance(rec));
    }
    return { kind: 'object', id: o, instances } satisfies ObjectNode;
  }

  if (r === undefined) {
    // clients answer an instance either with its bare resources or wrapped in one object-instance record
    const first = records[0];
    if (records.length === 1 && first?.kind === 'objectInstance') {
      expectId(first, i, path);
      return dec.instance(first);
    }
    if (records.some((rec) => rec.kind === 'objectInstance')) {
      throw new FormatError(`${formatPath(path)}: object instance records mixed with resources, or more than one instance`);
    }
    return { kind: 'instance', id: i, resources: dec.resources([o, i], records) } satisfies ObjectInstanceNode;
  }

  const first = records[0];
  if (!first) throw new FormatError(`${formatPath(path)}: empty TLV payload`);

  if (ri === undefined) {
    if (records.length === 1 && (first.kind === 'resource' || first.kind === 'multipleResource')) {
      expectId(first, r, path);
      return dec.resource([o, i], first);
    }
    // tolerated: the instances of a multiple resource without their enclosing record
    if (records.every((rec) => rec.kind === 'resourceInstance')) {
      dec.checkMultiple(r, true, formatPath(path));
      const node: MultipleResourceNode = {
        kind: 'multipleResource',
        id: r,
        instances: dec.resourceInstances(path, r, records),
      };
      return node;
    }
    throw new FormatError(`${formatPath(path)}: expected one resource record, got ${describeRecords(records)}`);
  }

  dec.checkMultiple(r, true, formatPath(path));
  if (records.length === 1 && first.kind === 'resourceInstance') {
    expectId(first, ri, path);
    return dec.resourceInstances([o, i, r], r, records).get(ri) as ResourceInstanceNode;
  }
  // tolerated: the one instance wrapped in its multiple-resource record
  if (records.length === 1 && first.kind === 'multipleResource') {
    expectId(first, r, [o, i, r]);
    const inner = readTlvRecords(first.value);
    const only = inner[0];
    if (inner.length === 1 && only?.kind === 'resourceInstance') {
      expectId(only, ri, path);
      return dec.resourceInstances([o, i, r], r, inner).get(ri) as ResourceInstanceNode;
    }
  }
  throw new FormatError(`${formatPath(path)}: expected one resource instance record, got ${describeRecords(records)}`);
}

function describeRecords(records: readonly TlvRecord[]): string {
  const listed = records.slice(0, 4).map((rec) => `${KIND_NAMES[rec.kind]} ${rec.id}`);
  if (records.length > 4) listed.push(`${records.length - 4} more`);
  return listed.join(', ');
}

// ------------------------------------------------------------ encoding from the tree

class TlvTreeEncoder {
  constructor(
    private readonly objectId: number,
    private readonly model: ModelLookup | undefined,
  ) {}

  private valueBytes(resourceId: number, v: Lwm2mValue, where: string): Buffer {
    const def = this.model?.resource(this.objectId, resourceId);
    // raw Opaque (a value decoded without model) is written back byte for byte
    if (!def || v.type === 'opaque') return encodeTlvValue(v, where);
    return encodeTlvValue(conformValue(v, def.type, where), where);
  }

  private checkMultiple(resourceId: number, multiple: boolean, where: string): void {
    const def = this.model?.resource(this.objectId, resourceId);
    if (def && def.multiple !== multiple) {
      throw new FormatError(`${where}: resource ${resourceId} is ${def.multiple ? 'multiple' : 'single'} in the model`);
    }
  }

  resourceInstance(base: Lwm2mPath, resourceId: number, ri: ResourceInstanceNode): Buffer {
    const where = formatPath([...base, ri.id]);
    return encodeTlvRecord('resourceInstance', ri.id, this.valueBytes(resourceId, ri.value, where));
  }

  resource(base: Lwm2mPath, res: ResourceNode): Buffer {
    const path = [...base, res.id];
    const where = formatPath(path);
    if (res.kind === 'resource') {
      this.checkMultiple(res.id, false, where);
      return encodeTlvRecord('resource', res.id, this.valueBytes(res.id, res.value, where));
    }
    this.checkMultiple(res.id, true, where);
    const parts = [...res.instances.values()].map((ri) => this.resourceInstance(path, res.id, ri));
    return encodeTlvRecord('multipleResource', res.id, Buffer.concat(parts));
  }

  resources(base: Lwm2mPath, inst: ObjectInstanceNode): Buffer {
    return Buffer.concat([...inst.resources.values()].map((res) => this.resource(base, res)));
  }

  wrappedInstance(inst: ObjectInstanceNode): Buffer {
    return encodeTlvRecord('objectInstance', inst.id, this.resources([this.objectId, inst.id], inst));
  }
}

/**
 * Encodes the node at `path`: an object as object-instance records, an
 * instance as its bare resource records, a resource as one (multiple)
 * resource record, a resource instance as one resource-instance record.
 * An instance given at its object's path (/3 with instance 0, the body of a
 * Create) is wrapped in its object-instance record so its id travels along.
 */
export function encodeTlv(path: Lwm2mPath, node: Lwm2mNode, model?: ModelLookup): Buffer {
  const o = path[0];
  if (o === undefined) throw new UnsupportedFormatError('TLV cannot carry the root path');
  const enc = new TlvTreeEncoder(o, model);
  const misplaced = (): never => {
    throw new FormatError(`a ${node.kind} node with id ${node.id} does not sit at path ${formatPath(path)}`);
  };
  const last = path[path.length - 1];
  switch (node.kind) {
    case 'object':
      if (path.length !== 1 || node.id !== o) misplaced();
      return Buffer.concat([...node.instances.values()].map((inst) => enc.wrappedInstance(inst)));
    case 'instance':
      if (path.length === 1) return enc.wrappedInstance(node);
      if (path.length !== 2 || node.id !== last) misplaced();
      return enc.resources(path, node);
    case 'resource':
    case 'multipleResource':
      if (path.length !== 3 || node.id !== last) misplaced();
      return enc.resource(path.slice(0, 2), node);
    case 'resourceInstance':
      if (path.length !== 4 || node.id !== last) misplaced();
      return enc.resourceInstance(path.slice(0, 3), path[2] as number, node);
  }
}

// ------------------------------------------------------------ codec

export const tlvCodec: Codec = {
  format: ContentFormat.TLV,
  name: NAME,
  multiPath: false,

  encode(entries: readonly PathNode[], ctx?: EncodeContext): Buffer {
    if (entries.length !== 1) {
      throw new UnsupportedFormatError(`${NAME} carries the node of one path, got ${entries.length} entries`);
    }
    const { path, node } = entries[0] as PathNode;
    return encodeTlv(path, node, ctx?.model);
  },

  decode(payload: Buffer, ctx?: DecodeContext): PathNode[] {
    const path = ctx?.path;
    if (!path) throw new FormatError(`${NAME} payload cannot be decoded without the path it answers`);
    return [{ path, node: decodeTlv(payload, path, ctx?.model) }];
  },
};
