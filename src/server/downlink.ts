/**
 * Device-management requests (server → client, "downlink") as CoAP request
 * descriptions, and the decoding of their responses. Pure functions: the
 * server decides where and when to send; this module only knows how each
 * LwM2M operation maps onto CoAP (LwM2M Transport TS §6.4) and which content
 * format to use for a client.
 */
import { CoapCode, Lwm2mError, UnsupportedFormatError } from '../errors.js';
import type { CoapMethod } from '../coap/packet.js';
import { ContentFormat, contentFormatName } from '../formats/content-format.js';
import { formatAttributeQuery, type NotificationAttributes } from '../model/attributes.js';
import type { ModelLookup } from '../model/definitions.js';
import { formatExecuteArguments, type ExecuteArgument } from '../model/execute-args.js';
import { formatPath, type Lwm2mPath } from '../model/path.js';
import type { Lwm2mNode, PathNode } from '../model/value.js';
import { codecFor, encodeSenmlPaths } from '../formats/index.js';
import type { Registration } from './registration.js';

/** What the server sends for one operation, before addressing and tokens. */
export interface DownlinkRequest {
  readonly method: CoapMethod;
  /** LwM2M path; the client's alternate root path is prepended when sending. */
  readonly path: Lwm2mPath;
  readonly query?: readonly string[];
  readonly accept?: number;
  readonly contentFormat?: number;
  readonly payload?: Buffer;
  /** 0 = register an observation, 1 = deregister. */
  readonly observe?: 0 | 1;
}

/** Formats a client of each version can be expected to answer in. */
const SINGLE_VALUE_FORMATS: readonly number[] = [ContentFormat.TEXT, ContentFormat.OPAQUE, ContentFormat.CBOR];

/**
 * The content format to ask a client for (Accept) or to write with, unless
 * the caller names one: the format the client prefers (`ct` on its root
 * link) when we speak it, else SenML CBOR for 1.1+ and TLV for 1.0 (the only
 * multi-value format every 1.0 client must support).
 */
export function defaultFormat(reg: Pick<Registration, 'lwm2mVersion' | 'preferredFormat'>, path: Lwm2mPath): number {
  const preferred = reg.preferredFormat;
  if (preferred !== undefined && isSupported(preferred) && (path.length >= 3 || !SINGLE_VALUE_FORMATS.includes(preferred))) {
    return preferred;
  }
  return reg.lwm2mVersion === '1.0' ? ContentFormat.TLV : ContentFormat.SENML_CBOR;
}

/** Composite operations need a multi-path format: SenML CBOR unless the client prefers another one. */
export function defaultCompositeFormat(reg: Pick<Registration, 'preferredFormat'>): number {
  const preferred = reg.preferredFormat;
  const multiPath: readonly number[] = [ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON, ContentFormat.LWM2M_CBOR];
  return preferred !== undefined && multiPath.includes(preferred) ? preferred : ContentFormat.SENML_CBOR;
}

function isSupported(format: number): boolean {
  try {
    codecFor(format);
    return true;
  } catch {
    return false;
  }
}

export function readRequest(path: Lwm2mPath, format: number): DownlinkRequest {
  return { method: 'GET', path, accept: format };
}

export function discoverRequest(path: Lwm2mPath): DownlinkRequest {
  if (path.length === 0) throw new Lwm2mError(CoapCode.BadRequest, 'Discover needs an object, instance or resource path');
  return { method: 'GET', path, accept: ContentFormat.LINK_FORMAT };
}

/**
 * Write: replace (PUT) or partial update (POST, instance level only, per the
 * Transport TS). The node is encoded in `format` with the client's model.
 */
export function writeRequest(
  path: Lwm2mPath,
  node: Lwm2mNode,
  format: number,
  mode: 'replace' | 'update',
  model?: ModelLookup,
): DownlinkRequest {
  if (path.length < 2) throw new Lwm2mError(CoapCode.BadRequest, `Write needs an instance, resource or resource instance path, got ${formatPath(path)}`);
  if (mode === 'update' && path.length !== 2 && path.length !== 3) {
    throw new Lwm2mError(CoapCode.BadRequest, `partial update writes an instance or a multiple resource, not ${formatPath(path)}`);
  }
  const payload = codecFor(format).encode([{ path, node }], model ? { model } : {});
  return { method: mode === 'replace' ? 'PUT' : 'POST', path, contentFormat: format, payload };
}

export function writeAttributesRequest(path: Lwm2mPath, attributes: NotificationAttributes): DownlinkRequest {
  if (path.length === 0) throw new Lwm2mError(CoapCode.BadRequest, 'Write-Attributes needs an object, instance or resource path');
  const query = formatAttributeQuery(attributes);
  if (query.length === 0) throw new Lwm2mError(CoapCode.BadRequest, 'Write-Attributes without any attribute');
  return { method: 'PUT', path, query };
}

export function executeRequest(path: Lwm2mPath, args: readonly ExecuteArgument[] | string = []): DownlinkRequest {
  if (path.length !== 3) throw new Lwm2mError(CoapCode.BadRequest, `Execute needs a resource path (/o/i/r), got ${formatPath(path)}`);
  const text = typeof args === 'string' ? args : formatExecuteArguments(args);
  return text === ''
    ? { method: 'POST', path }
    : { method: 'POST', path, contentFormat: ContentFormat.TEXT, payload: Buffer.from(text, 'utf8') };
}

/**
 * Create: POST /o with the new instance(s). With an instance id the payload
 * names it; without, the client chooses and answers with Location-Path.
 */
export function createRequest(objectId: number, instances: readonly Lwm2mNode[], format: number, model?: ModelLookup): DownlinkRequest {
  const entries: PathNode[] = instances.map((node) => {
    if (node.kind !== 'instance') throw new Lwm2mError(CoapCode.BadRequest, 'Create takes object instances');
    return { path: [objectId, node.id], node };
  });
  let payload: Buffer;
  if (entries.length === 1) {
    payload = codecFor(format).encode(entries, model ? { model } : {});
  } else {
    const instancesMap = new Map(entries.map((e) => [e.node.id, e.node as Extract<Lwm2mNode, { kind: 'instance' }>]));
    payload = codecFor(format).encode([{ path: [objectId], node: { kind: 'object', id: objectId, instances: instancesMap } }], model ? { model } : {});
  }
  return { method: 'POST', path: [objectId], contentFormat: format, payload };
}

export function deleteRequest(path: Lwm2mPath): DownlinkRequest {
  if (path.length !== 2) throw new Lwm2mError(CoapCode.BadRequest, `Delete needs an object instance path (/o/i), got ${formatPath(path)}`);
  return { method: 'DELETE', path };
}

export function observeRequest(path: Lwm2mPath, format: number, cancel = false): DownlinkRequest {
  return { method: 'GET', path, accept: format, observe: cancel ? 1 : 0 };
}

/** Read-Composite / Observe-Composite: FETCH / with the list of paths as SenML. */
export function compositeReadRequest(
  paths: readonly Lwm2mPath[],
  format: number,
  observe?: 0 | 1,
  requestFormat: number = format === ContentFormat.SENML_JSON ? ContentFormat.SENML_JSON : ContentFormat.SENML_CBOR,
): DownlinkRequest {
  if (paths.length === 0) throw new Lwm2mError(CoapCode.BadRequest, 'a composite operation needs at least one path');
  const base: DownlinkRequest = {
    method: 'FETCH',
    path: [],
    accept: format,
    contentFormat: requestFormat,
    payload: encodeSenmlPaths(paths, requestFormat),
  };
  return observe === undefined ? base : { ...base, observe };
}

/** Write-Composite: iPATCH / with the values at their paths. */
export function compositeWriteRequest(entries: readonly PathNode[], format: number, model?: ModelLookup): DownlinkRequest {
  if (entries.length === 0) throw new Lwm2mError(CoapCode.BadRequest, 'Write-Composite needs at least one value');
  const codec = codecFor(format);
  if (!codec.multiPath) throw new UnsupportedFormatError(`Write-Composite cannot be sent as ${contentFormatName(format)}`);
  return { method: 'iPATCH', path: [], contentFormat: format, payload: codec.encode(entries, model ? { model } : {}) };
}
