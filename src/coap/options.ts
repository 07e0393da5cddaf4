/**
 * CoAP option numbers (RFC 7252 section 5.10, RFC 7641, RFC 7959) and
 * helpers to read and write the options the engine uses. Readers take the
 * option list of any message; writers replace every instance of an option
 * number so that a helper can be called twice without duplicating it.
 */
import { CoapFormatError, CoapMessageError } from './errors.js';
import { EMPTY_BUFFER, type CoapOption } from './packet.js';

export const OptionNumber = {
  IfMatch: 1,
  UriHost: 3,
  ETag: 4,
  IfNoneMatch: 5,
  Observe: 6,
  UriPort: 7,
  LocationPath: 8,
  Oscore: 9,
  UriPath: 11,
  ContentFormat: 12,
  MaxAge: 14,
  UriQuery: 15,
  HopLimit: 16,
  Accept: 17,
  QBlock1: 19,
  LocationQuery: 20,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  QBlock2: 31,
  ProxyUri: 35,
  ProxyScheme: 39,
  Size1: 60,
  NoResponse: 258,
} as const;

/** Critical options (odd numbers) this layer understands; any other critical option is rejected. */
const KNOWN_CRITICAL: ReadonlySet<number> = new Set([
  OptionNumber.IfMatch,
  OptionNumber.UriHost,
  OptionNumber.IfNoneMatch,
  OptionNumber.UriPort,
  OptionNumber.UriPath,
  OptionNumber.UriQuery,
  OptionNumber.Accept,
  OptionNumber.Block2,
  OptionNumber.Block1,
  OptionNumber.ProxyUri,
  OptionNumber.ProxyScheme,
]);

/** The first critical option we do not implement, or undefined (RFC 7252 5.4.1). */
export function unknownCriticalOption(options: readonly CoapOption[]): number | undefined {
  for (let i = 0; i < options.length; i++) {
    const n = options[i]!.number;
    if (n & 1 && !KNOWN_CRITICAL.has(n)) return n;
  }
  return undefined;
}

/** First value of an option, or undefined. */
export function getOption(options: readonly CoapOption[], number: number): Buffer | undefined {
  for (let i = 0; i < options.length; i++) {
    if (options[i]!.number === number) return options[i]!.value;
  }
  return undefined;
}

/** Whether the option is present. */
export function hasOption(options: readonly CoapOption[], number: number): boolean {
  return getOption(options, number) !== undefined;
}

/** Every value of a repeatable option, in order. */
export function getOptionValues(options: readonly CoapOption[], number: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < options.length; i++) {
    if (options[i]!.number === number) out.push(options[i]!.value);
  }
  return out;
}

/** Every value of a repeatable string option (Uri-Path, Uri-Query, Location-Path), decoded as UTF-8. */
export function getStringOptions(options: readonly CoapOption[], number: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < options.length; i++) {
    if (options[i]!.number === number) out.push(options[i]!.value.toString('utf8'));
  }
  return out;
}

/** Removes every instance of an option number (in place). */
export function removeOption(options: CoapOption[], number: number): void {
  let w = 0;
  for (let r = 0; r < options.length; r++) {
    if (options[r]!.number !== number) options[w++] = options[r]!;
  }
  options.length = w;
}

/** Replaces every instance of `number` by the given values (none = remove). */
export function setOption(options: CoapOption[], number: number, ...values: Buffer[]): void {
  removeOption(options, number);
  for (const value of values) options.push({ number, value });
}

/** Shared encodings of 0..255 (option values are never written to after encoding). */
const SMALL_UINTS: readonly Buffer[] = Array.from({ length: 256 }, (_, i) => (i === 0 ? EMPTY_BUFFER : Buffer.from([i])));

/** Encodes an unsigned integer option value in the fewest bytes (0 → zero-length). */
export function encodeUint(value: number): Buffer {
  if (!(Number.isInteger(value) && value >= 0 && value <= 0xffffffff)) {
    throw new CoapMessageError(`option value ${value} is not a 32-bit unsigned integer`);
  }
  if (value < 0x100) return SMALL_UINTS[value]!;
  const len = value < 0x100 ? 1 : value < 0x10000 ? 2 : value < 0x1000000 ? 3 : 4;
  const buf = Buffer.allocUnsafe(len);
  buf.writeUIntBE(value, 0, len);
  return buf;
}

/** Decodes an unsigned integer option value of at most `maxBytes` bytes. */
export function decodeUint(value: Buffer, maxBytes: number, what = 'option'): number {
  if (value.length > maxBytes) {
    throw new CoapFormatError('option', `${what} value of ${value.length} bytes (max ${maxBytes})`);
  }
  let n = 0;
  for (let i = 0; i < value.length; i++) n = n * 256 + value[i]!;
  return n;
}

function uintOption(options: readonly CoapOption[], number: number, maxBytes: number, what: string): number | undefined {
  const v = getOption(options, number);
  return v === undefined ? undefined : decodeUint(v, maxBytes, what);
}

function setUint(options: CoapOption[], number: number, value: number | undefined): void {
  if (value === undefined) removeOption(options, number);
  else setOption(options, number, encodeUint(value));
}

function encodeStrings(values: readonly string[], what: string): Buffer[] {
  return values.map((s) => {
    const b = Buffer.from(s, 'utf8');
    if (b.length > 255) throw new CoapMessageError(`${what} "${s.slice(0, 20)}..." longer than 255 bytes`);
    return b;
  });
}

/** "/3/0/1" → ["3", "0", "1"]; "/" and "" → []. */
export function splitPath(path: string): string[] {
  const segments = path.split('/');
  if (segments[0] === '') segments.shift();
  if (segments.length === 1 && segments[0] === '') return [];
  return segments;
}

/** Query options from "k=v" strings or an object ({ pmin: 10, Q: null } → "pmin=10", "Q"). */
export function queryStrings(query: readonly string[] | Readonly<Record<string, string | number | boolean | null | undefined>>): string[] {
  if (Array.isArray(query)) return [...(query as readonly string[])];
  const out: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    out.push(v === null ? k : `${k}=${String(v)}`);
  }
  return out;
}

// --- readers -------------------------------------------------------------

export const getUriPath = (o: readonly CoapOption[]): string[] => getStringOptions(o, OptionNumber.UriPath);
export const getUriQuery = (o: readonly CoapOption[]): string[] => getStringOptions(o, OptionNumber.UriQuery);
export const getLocationPath = (o: readonly CoapOption[]): string[] => getStringOptions(o, OptionNumber.LocationPath);
export const getLocationQuery = (o: readonly CoapOption[]): string[] => getStringOptions(o, OptionNumber.LocationQuery);
export const getContentFormat = (o: readonly CoapOption[]): number | undefined =>
  uintOption(o, OptionNumber.ContentFormat, 2, 'Content-Format');
export const getAccept = (o: readonly CoapOption[]): number | undefined => uintOption(o, OptionNumber.Accept, 2, 'Accept');
export const getObserve = (o: readonly CoapOption[]): number | undefined => uintOption(o, OptionNumber.Observe, 3, 'Observe');
export const getMaxAge = (o: readonly CoapOption[]): number | undefined => uintOption(o, OptionNumber.MaxAge, 4, 'Max-Age');
export const getSize1 = (o: readonly CoapOption[]): number | undefined => uintOption(o, OptionNumber.Size1, 4, 'Size1');
export const getSize2 = (o: readonly CoapOption[]): number | undefined => uintOption(o, OptionNumber.Size2, 4, 'Size2');
export const getETag = (o: readonly CoapOption[]): Buffer | undefined => getOption(o, OptionNumber.ETag);

// --- writers (replace existing instances) --------------------------------

export function setUriPath(o: CoapOption[], segments: readonly string[]): void {
  setOption(o, OptionNumber.UriPath, ...encodeStrings(segments, 'Uri-Path segment'));
}
export function setUriQuery(o: CoapOption[], query: readonly string[]): void {
  setOption(o, OptionNumber.UriQuery, ...encodeStrings(query, 'Uri-Query'));
}
/** Each segment is its own Location-Path option ("rd", "5a3f"), as LwM2M servers must send it. */
export function setLocationPath(o: CoapOption[], segments: readonly string[]): void {
  setOption(o, OptionNumber.LocationPath, ...encodeStrings(segments, 'Location-Path segment'));
}
export function setLocationQuery(o: CoapOption[], query: readonly string[]): void {
  setOption(o, OptionNumber.LocationQuery, ...encodeStrings(query, 'Location-Query'));
}
export const setContentFormat = (o: CoapOption[], v: number | undefined): void => setUint(o, OptionNumber.ContentFormat, v);
export const setAccept = (o: CoapOption[], v: number | undefined): void => setUint(o, OptionNumber.Accept, v);
export function setObserve(o: CoapOption[], v: number | undefined): void {
  setUint(o, OptionNumber.Observe, v === undefined ? undefined : v & 0xffffff);
}
export const setMaxAge = (o: CoapOption[], v: number | undefined): void => setUint(o, OptionNumber.MaxAge, v);
export const setSize1 = (o: CoapOption[], v: number | undefined): void => setUint(o, OptionNumber.Size1, v);
export const setSize2 = (o: CoapOption[], v: number | undefined): void => setUint(o, OptionNumber.Size2, v);
export function setETag(o: CoapOption[], etag: Buffer | undefined): void {
  if (etag !== undefined && (etag.length < 1 || etag.length > 8)) throw new CoapMessageError('ETag must be 1 to 8 bytes');
  if (etag === undefined) removeOption(o, OptionNumber.ETag);
  else setOption(o, OptionNumber.ETag, etag);
}
