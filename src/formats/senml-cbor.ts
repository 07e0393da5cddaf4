/**
 * SenML CBOR (content format 112): a CBOR array of maps whose keys are the
 * integer labels of RFC 8428 §6 (bver -1, bn -2, bt -3, bu -4, bv -5,
 * bs -6, n 0, u 1, v 2, vs 3, vb 4, s 5, t 6, ut 7, vd 8) plus LwM2M's
 * `vlo`, which has no integer label and is written as the text key "vlo".
 *
 * Decoding accepts text keys for every label too, definite and indefinite
 * lengths, and numbers as integers, floats, bignums (tags 2/3) or decimal
 * fractions (tag 4). Encoding writes integer keys and definite lengths.
 */
import { FormatError } from '../errors.js';
import type { Codec } from './codec.js';
import { ContentFormat } from './content-format.js';
import { CborFloat, CborMap, CborTag, CborWriter, decodeCbor, type CborValue } from './cbor-io.js';
import { createSenmlCodec, type SenmlOptions, type SenmlRecord, type SenmlWire } from './senml.js';

type Label = 'bver' | 'bn' | 'bt' | 'bu' | 'bv' | 'bs' | 'n' | 'u' | 'v' | 'vs' | 'vb' | 's' | 't' | 'ut' | 'vd' | 'vlo';

const INT_LABELS: ReadonlyMap<number, Label> = new Map<number, Label>([
  [-1, 'bver'], [-2, 'bn'], [-3, 'bt'], [-4, 'bu'], [-5, 'bv'], [-6, 'bs'],
  [0, 'n'], [1, 'u'], [2, 'v'], [3, 'vs'], [4, 'vb'], [5, 's'], [6, 't'], [7, 'ut'], [8, 'vd'],
]);
const LABEL_KEYS: ReadonlyMap<Label, number> = new Map([...INT_LABELS].map(([k, l]) => [l, k]));
const TEXT_LABELS: ReadonlySet<string> = new Set<string>([...INT_LABELS.values(), 'vlo']);

/** Longest bignum accepted (bytes); 64-bit values need 8, this leaves room without inviting abuse. */
const MAX_BIGNUM_BYTES = 32;

/**
 * Reads a CBOR number item: integer, float, bignum (tags 2 and 3) or
 * decimal fraction (tag 4). Shared with LwM2M CBOR.
 */
export function cborNumber(item: CborValue, where: string): number | bigint {
  if (typeof item === 'number' || typeof item === 'bigint') return item;
  if (item instanceof CborFloat) return item.value;
  if (item instanceof CborTag) {
    const tag = Number(item.tag);
    if ((tag === 2 || tag === 3) && Buffer.isBuffer(item.value)) {
      if (item.value.length > MAX_BIGNUM_BYTES) throw new FormatError(`${where}: bignum too large`);
      const magnitude = item.value.length === 0 ? 0n : BigInt('0x' + item.value.toString('hex'));
      const v = tag === 2 ? magnitude : -1n - magnitude;
      return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    }
    if (tag === 4 && Array.isArray(item.value) && item.value.length === 2) {
      const [exponent, mantissa] = item.value;
      // the mantissa must be an integer or a bignum, never a float
      if (typeof exponent === 'number' && Math.abs(exponent) <= 400 && !(mantissa instanceof CborFloat)) {
        const m = cborNumber(mantissa as CborValue, where);
        if (typeof m === 'bigint' || Number.isInteger(m)) {
          // divide for negative exponents: 45 / 10 is exactly 4.5, 45 * 0.1 is not
          return exponent < 0 ? Number(m) / 10 ** -exponent : Number(m) * 10 ** exponent;
        }
      }
      throw new FormatError(`${where}: invalid decimal fraction`);
    }
  }
  throw new FormatError(`${where} must be a number`);
}

function labelOf(key: CborValue, index: number): Label | undefined {
  if (typeof key === 'number') return INT_LABELS.get(key);
  if (typeof key === 'string') {
    if (TEXT_LABELS.has(key)) return key as Label;
    // RFC 8428 §4.4: labels ending in "_" must be understood, or the pack refused
    if (key.endsWith('_')) throw new FormatError(`SenML CBOR record #${index}: unsupported must-understand label "${key}"`);
    return undefined;
  }
  throw new FormatError(`SenML CBOR record #${index}: labels must be integers or text`);
}

function parseRecord(item: CborValue, index: number): SenmlRecord {
  if (!(item instanceof CborMap)) throw new FormatError(`SenML CBOR record #${index} is not a map`);
  const rec: SenmlRecord = {};
  const seen = new Set<Label>();
  for (const [key, value] of item.entries) {
    const label = labelOf(key, index);
    if (label === undefined) continue; // an extension label we may ignore
    if (seen.has(label)) throw new FormatError(`SenML CBOR record #${index}: label "${label}" given twice`);
    seen.add(label);
    const where = `SenML CBOR record #${index}, "${label}"`;
    switch (label) {
      case 'bn':
      case 'bu':
      case 'n':
      case 'u':
      case 'vs':
      case 'vlo':
        if (typeof value !== 'string') throw new FormatError(`${where} must be a text string`);
        rec[label] = value;
        break;
      case 'vb':
        if (typeof value !== 'boolean') throw new FormatError(`${where} must be a boolean`);
        rec.vb = value;
        break;
      case 'vd':
        if (!Buffer.isBuffer(value)) throw new FormatError(`${where} must be a byte string`);
        rec.vd = value;
        break;
      case 'bs':
        cborNumber(value, where); // base sum: validated, unused by LwM2M
        break;
      default:
        rec[label] = cborNumber(value, where);
    }
  }
  return rec;
}

function writeNumber(w: CborWriter, value: number | bigint, asFloat: boolean): void {
  if (asFloat || (typeof value === 'number' && !Number.isSafeInteger(value))) w.float(Number(value));
  else w.int(value);
}

function serializeRecord(w: CborWriter, rec: SenmlRecord): void {
  const fields: Array<[Label, (w: CborWriter) => void]> = [];
  const text = (label: Label, v: string | undefined) => {
    if (v !== undefined) fields.push([label, (x) => x.text(v)]);
  };
  const num = (label: Label, v: number | bigint | undefined, asFloat = false) => {
    if (v !== undefined) fields.push([label, (x) => writeNumber(x, v, asFloat)]);
  };
  text('bn', rec.bn);
  num('bt', rec.bt);
  text('bu', rec.bu);
  num('bv', rec.bv);
  num('bver', rec.bver);
  text('n', rec.n);
  text('u', rec.u);
  num('v', rec.v, rec.vFloat === true);
  text('vs', rec.vs);
  if (rec.vb !== undefined) {
    const vb = rec.vb;
    fields.push(['vb', (x) => x.bool(vb)]);
  }
  if (rec.vd !== undefined) {
    const vd = rec.vd;
    fields.push(['vd', (x) => x.bytes(vd)]);
  }
  text('vlo', rec.vlo);
  num('s', rec.s);
  num('t', rec.t);
  num('ut', rec.ut);
  w.mapHeader(fields.length);
  for (const [label, write] of fields) {
    const key = LABEL_KEYS.get(label);
    if (key === undefined) w.text(label); // vlo has no integer label
    else w.int(key);
    write(w);
  }
}

export const senmlCborWire: SenmlWire = {
  format: ContentFormat.SENML_CBOR,
  parse(payload: Buffer): SenmlRecord[] {
    const doc = decodeCbor(payload);
    if (!Array.isArray(doc)) throw new FormatError('SenML CBOR payload must be an array of records');
    return doc.map(parseRecord);
  },
  serialize(records: readonly SenmlRecord[]): Buffer {
    const w = new CborWriter();
    w.arrayHeader(records.length);
    for (const rec of records) serializeRecord(w, rec);
    return w.toBuffer();
  },
};

/** A SenML CBOR codec; `options.now` fixes the clock used for relative times (tests). */
export function createSenmlCborCodec(options?: SenmlOptions): Codec {
  return createSenmlCodec(senmlCborWire, 'senml-cbor', options);
}

export const senmlCborCodec: Codec = createSenmlCborCodec();
