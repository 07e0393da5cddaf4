/**
 * Content formats as the client speaks them: which formats each LwM2M
 * version allows, which one answers a Read when the server names none, and
 * encoding/decoding with the right CoAP code when something does not fit.
 *
 * Codes (Core TS §5, Transport TS §6.4):
 * - an Accept the client cannot produce for that target → 4.06 Not Acceptable;
 * - a request body in a format the client does not take → 4.15;
 * - a body that does not decode → 4.00 (FormatError from the codec).
 */
import { CoapCode, Lwm2mError, UnsupportedFormatError } from '../errors.js';
import { ContentFormat, contentFormatName, codecFor, isValueFormat, type Codec } from '../formats/index.js';
import { LEGACY_CONTENT_FORMAT } from '../formats/content-format.js';
import type { ModelLookup } from '../model/definitions.js';
import type { Lwm2mPath } from '../model/path.js';
import type { Lwm2mNode, PathNode } from '../model/value.js';

export type Lwm2mVersion = '1.0' | '1.1' | '1.2';

export const LWM2M_VERSIONS: readonly Lwm2mVersion[] = ['1.0', '1.1', '1.2'];

/** Value formats of each version (link-format is only for Discover and Register). */
const FORMATS_BY_VERSION: Readonly<Record<Lwm2mVersion, ReadonlySet<number>>> = {
  '1.0': new Set([ContentFormat.TEXT, ContentFormat.OPAQUE, ContentFormat.TLV, ContentFormat.OLD_JSON]),
  '1.1': new Set([
    ContentFormat.TEXT, ContentFormat.OPAQUE, ContentFormat.CBOR, ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR,
    ContentFormat.TLV, ContentFormat.OLD_JSON,
  ]),
  '1.2': new Set([
    ContentFormat.TEXT, ContentFormat.OPAQUE, ContentFormat.CBOR, ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR,
    ContentFormat.TLV, ContentFormat.OLD_JSON, ContentFormat.LWM2M_CBOR,
  ]),
};

/** Formats that carry several paths (composite operations, Send). */
const COMPOSITE_FORMATS: ReadonlySet<number> = new Set([ContentFormat.SENML_JSON, ContentFormat.SENML_CBOR, ContentFormat.LWM2M_CBOR]);

export function isLwm2mVersion(v: unknown): v is Lwm2mVersion {
  return v === '1.0' || v === '1.1' || v === '1.2';
}

/** Folds the legacy experimental numbers (1542, 1543) onto the IANA ones. */
export function canonicalFormat(format: number): number {
  return LEGACY_CONTENT_FORMAT[format] ?? format;
}

export function supportedFormats(version: Lwm2mVersion): ReadonlySet<number> {
  return FORMATS_BY_VERSION[version];
}

export function isCompositeFormat(format: number): boolean {
  return COMPOSITE_FORMATS.has(canonicalFormat(format));
}

/** The codec of a format this client version takes, or 4.15. */
export function codecForRequest(format: number, version: Lwm2mVersion): Codec {
  const f = canonicalFormat(format);
  if (!isValueFormat(f) || !FORMATS_BY_VERSION[version].has(f)) {
    throw new UnsupportedFormatError(`content format ${contentFormatName(format)} (${format}) is not accepted by this LwM2M ${version} client`);
  }
  return codecFor(f);
}

function notAcceptable(message: string): Lwm2mError {
  return new Lwm2mError(CoapCode.NotAcceptable, message);
}

/** True for a node that is one value (single resource or resource instance). */
function isSingleValue(node: Lwm2mNode): boolean {
  return node.kind === 'resource' || node.kind === 'resourceInstance';
}

/**
 * The format answering a Read/Observe of `node` when the request has no
 * Accept: LwM2M 1.0 uses text (opaque for opaque values) for one value and
 * TLV for anything larger; 1.1 and 1.2 use `preferred` (SenML CBOR unless
 * configured otherwise).
 */
export function defaultReadFormat(version: Lwm2mVersion, node: Lwm2mNode, preferred?: number): number {
  if (version === '1.0') {
    if (isSingleValue(node)) {
      const v = (node as { value: { type: string } }).value;
      return v.type === 'opaque' ? ContentFormat.OPAQUE : ContentFormat.TEXT;
    }
    return ContentFormat.TLV;
  }
  return preferred ?? ContentFormat.SENML_CBOR;
}

/**
 * Encodes the answer to a Read (or a notification). `accept` is the
 * request's Accept option. Returns the payload and its format; 4.06 when
 * the wanted format cannot carry the node or is not one of this version's.
 */
export function encodeReadResponse(
  path: Lwm2mPath,
  node: Lwm2mNode,
  version: Lwm2mVersion,
  accept: number | undefined,
  model: ModelLookup,
  preferred?: number,
): { payload: Buffer; format: number } {
  const format = accept === undefined ? defaultReadFormat(version, node, preferred) : canonicalFormat(accept);
  if (!isValueFormat(format) || !FORMATS_BY_VERSION[version].has(format)) {
    throw notAcceptable(`this LwM2M ${version} client cannot answer in content format ${contentFormatName(format)} (${format})`);
  }
  const codec = codecFor(format);
  try {
    return { payload: codec.encode([{ path, node }], { model }), format };
  } catch (err) {
    if (err instanceof UnsupportedFormatError) throw notAcceptable(err.message);
    throw err;
  }
}

/** Encodes several path nodes (Read-Composite, Observe-Composite, Send) in a multi-path format. */
export function encodeComposite(entries: readonly PathNode[], format: number, version: Lwm2mVersion, model: ModelLookup): Buffer {
  const f = canonicalFormat(format);
  if (!COMPOSITE_FORMATS.has(f) || !FORMATS_BY_VERSION[version].has(f)) {
    throw notAcceptable(`content format ${contentFormatName(format)} (${format}) cannot carry a composite answer for a LwM2M ${version} client`);
  }
  return codecFor(f).encode(entries, { model });
}

/**
 * Decodes the body of a Write or Create. A missing Content-Format is 4.00
 * (the body cannot be read), an unsupported one 4.15.
 */
export function decodeRequestBody(
  payload: Buffer,
  format: number | undefined,
  path: Lwm2mPath,
  version: Lwm2mVersion,
  model: ModelLookup,
): PathNode[] {
  if (format === undefined) throw new Lwm2mError(CoapCode.BadRequest, 'the request body has no Content-Format option');
  const codec = codecForRequest(format, version);
  return codec.decode(payload, { path, model });
}
