/**
 * SenML JSON (content format 110): a JSON array of records with text
 * labels. `vd` (opaque) is base64url without padding (RFC 8428 §5).
 * The record semantics are shared with SenML CBOR in senml.ts.
 */
import { FormatError, UnsupportedFormatError } from '../errors.js';
import type { Codec } from './codec.js';
import { ContentFormat } from './content-format.js';
import { decodeBase64, encodeBase64Url } from './flat-value.js';
import { jsonNumber, JsonNumber, parseJson, type JsonValue } from './json-reader.js';
import { createSenmlCodec, type SenmlOptions, type SenmlRecord, type SenmlWire } from './senml.js';

type NumberLabel = 'bt' | 'bv' | 'bver' | 'v' | 's' | 't' | 'ut';
type TextLabel = 'bn' | 'bu' | 'n' | 'u' | 'vs' | 'vlo';

const NUMBER_LABELS: ReadonlySet<string> = new Set<NumberLabel>(['bt', 'bv', 'bver', 'v', 's', 't', 'ut']);
const TEXT_LABELS: ReadonlySet<string> = new Set<TextLabel>(['bn', 'bu', 'n', 'u', 'vs', 'vlo']);

function parseRecord(member: JsonValue, index: number): SenmlRecord {
  if (!(member instanceof Map)) throw new FormatError(`SenML JSON record #${index} is not an object`);
  const rec: SenmlRecord = {};
  for (const [label, value] of member) {
    const where = `SenML JSON record #${index}, "${label}"`;
    if (NUMBER_LABELS.has(label)) {
      if (!(value instanceof JsonNumber)) throw new FormatError(`${where} must be a number`);
      const n = value.value;
      // "1e999" is valid JSON but no number: refuse it rather than read Infinity
      if (typeof n === 'number' && !Number.isFinite(n)) throw new FormatError(`${where} is out of range`);
      rec[label as NumberLabel] = n;
    } else if (TEXT_LABELS.has(label)) {
      if (typeof value !== 'string') throw new FormatError(`${where} must be a string`);
      rec[label as TextLabel] = value;
    } else if (label === 'vb') {
      if (typeof value !== 'boolean') throw new FormatError(`${where} must be a boolean`);
      rec.vb = value;
    } else if (label === 'vd') {
      if (typeof value !== 'string') throw new FormatError(`${where} must be a base64url string`);
      rec.vd = decodeBase64(value, where);
    } else if (label.endsWith('_')) {
      // RFC 8428 §4.4: labels ending in "_" must be understood, or the pack refused
      throw new FormatError(`${where}: unsupported must-understand label`);
    }
    // any other label is an extension we may ignore (RFC 8428 §4.4)
  }
  return rec;
}

function numberText(value: number | bigint, label: string): string {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new UnsupportedFormatError(`SenML JSON cannot carry the number ${value} ("${label}")`);
  }
  return jsonNumber(value);
}

function serializeRecord(rec: SenmlRecord): string {
  const parts: string[] = [];
  const text = (label: string, v: string | undefined) => {
    if (v !== undefined) parts.push(`"${label}":${JSON.stringify(v)}`);
  };
  const num = (label: string, v: number | bigint | undefined) => {
    if (v !== undefined) parts.push(`"${label}":${numberText(v, label)}`);
  };
  text('bn', rec.bn);
  num('bt', rec.bt);
  text('bu', rec.bu);
  num('bv', rec.bv);
  num('bver', rec.bver);
  text('n', rec.n);
  text('u', rec.u);
  num('v', rec.v);
  text('vs', rec.vs);
  if (rec.vb !== undefined) parts.push(`"vb":${rec.vb}`);
  if (rec.vd !== undefined) parts.push(`"vd":"${encodeBase64Url(rec.vd)}"`);
  text('vlo', rec.vlo);
  num('s', rec.s);
  num('t', rec.t);
  num('ut', rec.ut);
  return `{${parts.join(',')}}`;
}

export const senmlJsonWire: SenmlWire = {
  format: ContentFormat.SENML_JSON,
  parse(payload: Buffer): SenmlRecord[] {
    const doc = parseJson(payload);
    if (!Array.isArray(doc)) throw new FormatError('SenML JSON payload must be an array of records');
    return doc.map(parseRecord);
  },
  serialize(records: readonly SenmlRecord[]): Buffer {
    return Buffer.from(`[${records.map(serializeRecord).join(',')}]`, 'utf8');
  },
};

/** A SenML JSON codec; `options.now` fixes the clock used for relative times (tests). */
export function createSenmlJsonCodec(options?: SenmlOptions): Codec {
  return createSenmlCodec(senmlJsonWire, 'senml-json', options);
}

export const senmlJsonCodec: Codec = createSenmlJsonCodec();
