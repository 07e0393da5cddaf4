/**
 * text/plain (content format 0): one resource or resource-instance value as
 * text. Core TS "Plain Text": numbers in decimal, Boolean "0"/"1", Time as
 * integer seconds since the epoch, Objlnk "3:0", Opaque as base64 (since
 * 1.1), strings and Corelnk as they are (UTF-8).
 *
 * The text does not say its type: the decoder takes it from the model, and
 * without a model the value stays a string.
 */
import { FormatError } from '../errors.js';
import type { ResourceType } from '../model/definitions.js';
import { formatPath, type Lwm2mPath } from '../model/path.js';
import { formatObjectLink, type Lwm2mValue, type PathNode } from '../model/value.js';
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
  parseObjectLink,
  secondsToDate,
  truncate,
} from './scalar.js';
import {
  checkSingleValueShape,
  conformValue,
  leafResult,
  resourceDefinition,
  singleLeafEntry,
  singleLeafPath,
} from './single-value.js';

const NAME = 'text/plain';

/** Writes one typed value as LwM2M plain text. */
export function valueToText(v: Lwm2mValue, where = 'value'): string {
  switch (v.type) {
    case 'string':
    case 'corelnk':
      return v.value;
    case 'integer':
      return checkInt64(integerToBigInt(v.value, where), where).toString();
    case 'unsigned':
      return checkUint64(integerToBigInt(v.value, where), where).toString();
    case 'float':
      return floatToText(v.value);
    case 'boolean':
      return v.value ? '1' : '0';
    case 'time':
      return dateToSeconds(v.value).toString();
    case 'objlnk':
      return formatObjectLink(checkObjectLink(v.value, where));
    case 'opaque':
      return Buffer.from(v.value).toString('base64');
  }
}

/**
 * Shortest decimal that reads back to the same double (what String() gives),
 * keeping the sign of -0. Non-finite values use the spellings Java's
 * Double.toString produces, which is what Leshan-based peers parse.
 */
function floatToText(n: number): string {
  if (Object.is(n, -0)) return '-0';
  return String(n);
}

const INTEGER_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_FLOATS: Readonly<Record<string, number>> = {
  NaN: NaN,
  Infinity: Infinity,
  '+Infinity': Infinity,
  '-Infinity': -Infinity,
};
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Reads plain text as a value of `type`. Throws FormatError when the text is not such a value. */
export function textToValue(text: string, type: Exclude<ResourceType, 'none'>, where = 'value'): Lwm2mValue {
  // Numbers, booleans and links tolerate surrounding whitespace (a newline from a shell tool); strings do not.
  const token = text.trim();
  const bad = (what: string): never => {
    throw new FormatError(`${where}: "${truncate(text)}" is not ${what}`);
  };
  switch (type) {
    case 'string':
      return { type: 'string', value: text };
    case 'corelnk':
      return { type: 'corelnk', value: text };
    case 'integer': {
      if (!INTEGER_RE.test(token)) bad('an integer');
      return { type: 'integer', value: normalizeInteger(checkInt64(BigInt(token), where)) };
    }
    case 'unsigned': {
      if (!INTEGER_RE.test(token)) bad('an unsigned integer');
      return { type: 'unsigned', value: normalizeInteger(checkUint64(BigInt(token), where)) };
    }
    case 'float': {
      const special = SPECIAL_FLOATS[token];
      if (special !== undefined) return { type: 'float', value: special };
      if (!FLOAT_RE.test(token)) bad('a decimal number');
      return { type: 'float', value: Number(token) };
    }
    case 'boolean':
      if (token === '1') return { type: 'boolean', value: true };
      if (token === '0') return { type: 'boolean', value: false };
      return bad('a boolean ("0" or "1")');
    case 'time': {
      if (!INTEGER_RE.test(token)) bad('a time in seconds since the epoch');
      return { type: 'time', value: secondsToDate(BigInt(token), where) };
    }
    case 'objlnk':
      return { type: 'objlnk', value: parseObjectLink(token, where) };
    case 'opaque':
      return { type: 'opaque', value: decodeBase64(token, where) };
  }
}

/**
 * Strict base64 (RFC 4648 section 4, padding optional): Buffer.from() alone
 * skips characters it does not know, which would turn garbage into bytes.
 */
function decodeBase64(text: string, where: string): Buffer {
  const fail = (): never => {
    throw new FormatError(`${where}: "${truncate(text)}" is not base64`);
  };
  if (!BASE64_RE.test(text) || text.length % 4 === 1) fail();
  const padded = text.length % 4 === 0 ? text : text + '='.repeat(4 - (text.length % 4));
  if (padded.length % 4 !== 0) fail();
  const bytes = Buffer.from(padded, 'base64');
  // re-encoding catches misplaced padding and non-zero trailing bits
  if (bytes.toString('base64') !== padded) fail();
  return bytes;
}

export const textCodec: Codec = {
  format: ContentFormat.TEXT,
  name: NAME,
  multiPath: false,

  encode(entries: readonly PathNode[], ctx?: EncodeContext): Buffer {
    const { path, node } = singleLeafEntry(entries, NAME);
    const where = formatPath(path);
    const def = resourceDefinition(ctx?.model, path);
    checkSingleValueShape(def, path, NAME);
    const v = def ? conformValue(node.value, def.type, where) : node.value;
    return Buffer.from(valueToText(v, where), 'utf8');
  },

  decode(payload: Buffer, ctx?: DecodeContext): PathNode[] {
    const path: Lwm2mPath = singleLeafPath(ctx?.path, NAME);
    const where = formatPath(path);
    const def = resourceDefinition(ctx?.model, path);
    checkSingleValueShape(def, path, NAME);
    const text = decodeUtf8(payload, where);
    const type = def && def.type !== 'none' ? def.type : 'string';
    return leafResult(path, textToValue(text, type, where));
  },
};
