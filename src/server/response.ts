/**
 * Turns CoAP responses to downlink requests into typed results, or into
 * Lwm2mErrors that say which operation on which device failed and why.
 */
import { FormatError, Lwm2mError, UnsupportedFormatError } from '../errors.js';
import type { CoapResponse } from '../coap/api.js';
import { getContentFormat, getLocationPath } from '../coap/options.js';
import { ContentFormat, codecFor, contentFormatName, linkAttributes, linkPath, parseLinkFormat } from '../formats/index.js';
import type { LinkAttributes } from '../formats/link-format.js';
import type { ModelLookup } from '../model/definitions.js';
import { formatPath, type Lwm2mPath } from '../model/path.js';
import type { PathNode } from '../model/value.js';

/** Names of the response codes LwM2M clients use, for error messages. */
const CODE_NAMES: Readonly<Record<string, string>> = {
  '4.00': 'Bad Request',
  '4.01': 'Unauthorized',
  '4.02': 'Bad Option',
  '4.03': 'Forbidden',
  '4.04': 'Not Found',
  '4.05': 'Method Not Allowed',
  '4.06': 'Not Acceptable',
  '4.08': 'Request Entity Incomplete',
  '4.09': 'Conflict',
  '4.12': 'Precondition Failed',
  '4.13': 'Request Entity Too Large',
  '4.15': 'Unsupported Content-Format',
  '5.00': 'Internal Server Error',
  '5.01': 'Not Implemented',
  '5.03': 'Service Unavailable',
  '5.04': 'Gateway Timeout',
};

export function codeName(code: string): string {
  return CODE_NAMES[code] ?? code;
}

/** Throws unless the response code is one of `expected`. */
export function expectCode(response: CoapResponse, expected: readonly string[], what: string): void {
  if (expected.includes(response.code)) return;
  const diagnostic = response.payload.length > 0 && response.payload.length <= 200 && isPrintable(response.payload)
    ? `: ${response.payload.toString('utf8')}`
    : '';
  throw new Lwm2mError(response.code, `${what} failed: ${response.code} ${codeName(response.code)}${diagnostic}`);
}

function isPrintable(buf: Buffer): boolean {
  for (const b of buf) if (b < 0x20 || b > 0x7e) return false;
  return true;
}

/** The Content-Format of a response (undefined when absent). */
export function responseFormat(response: CoapResponse): number | undefined {
  return getContentFormat(response.options);
}

/**
 * Decodes the payload of a Read/Observe/composite answer. A response
 * without Content-Format is taken as text/plain, as CoAP says.
 */
export function decodeContent(
  response: CoapResponse,
  ctx: { path?: Lwm2mPath; paths?: readonly Lwm2mPath[]; model?: ModelLookup },
  what: string,
): { format: number; entries: PathNode[] } {
  const format = responseFormat(response) ?? ContentFormat.TEXT;
  try {
    const entries = codecFor(format).decode(response.payload, ctx);
    return { format, entries };
  } catch (err) {
    if (err instanceof FormatError || err instanceof UnsupportedFormatError) {
      throw new Lwm2mError(err.code, `${what}: the device answered with ${contentFormatName(format)} that does not decode: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** One link of a Discover answer. */
export interface DiscoveredLink {
  /** The link target as sent ("/3/0/1"). */
  readonly uri: string;
  /** Its LwM2M path, when it is one. */
  readonly path?: Lwm2mPath;
  readonly attributes: LinkAttributes;
  /** Every parameter as sent, for attributes this version does not know. */
  readonly params: Readonly<Record<string, string | true>>;
}

export function decodeDiscover(response: CoapResponse, rootPath: string, what: string): DiscoveredLink[] {
  const format = responseFormat(response);
  if (format !== undefined && format !== ContentFormat.LINK_FORMAT) {
    throw new Lwm2mError('4.15', `${what}: expected link-format, got ${contentFormatName(format)}`);
  }
  try {
    return parseLinkFormat(response.payload).map((link) => {
      const path = linkPath(link, rootPath);
      const params: Record<string, string | true> = {};
      for (const [k, v] of link.params) params[k] = v;
      return path === undefined
        ? { uri: link.uri, attributes: linkAttributes(link), params }
        : { uri: link.uri, path, attributes: linkAttributes(link), params };
    });
  } catch (err) {
    if (err instanceof Lwm2mError) throw new Lwm2mError(err.code, `${what}: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The instance id a Create response names in Location-Path (`/o/i`), if any. */
export function createdInstanceId(response: CoapResponse): number | undefined {
  const segments = getLocationPath(response.options);
  const last = segments[segments.length - 1];
  if (last === undefined || !/^\d{1,5}$/.test(last)) return undefined;
  return Number(last);
}

export function describeOperation(op: string, endpoint: string, path: Lwm2mPath | readonly Lwm2mPath[]): string {
  const where = Array.isArray(path) && Array.isArray(path[0])
    ? (path as readonly Lwm2mPath[]).map(formatPath).join(', ')
    : formatPath(path as Lwm2mPath);
  return `${op} ${where} on ${endpoint}`;
}
