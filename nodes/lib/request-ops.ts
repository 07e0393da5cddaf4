/**
 * Runs one device-management request on the engine and turns the answer
 * into the pieces of the output message (payload, msg.lwm2m). Kept apart
 * from the Node-RED node so the mapping reads in one place.
 */
import { CoapCode, Lwm2mError } from '../../src/errors.js';
import { ContentFormat } from '../../src/formats/content-format.js';
import type { ExecuteArgument } from '../../src/model/execute-args.js';
import { formatPath, type Lwm2mPath } from '../../src/model/path.js';
import type { PathNode } from '../../src/model/value.js';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { formatFields } from './messages.js';
import { parseAttributes, type RequestOperation, type ResolvedRequest } from './request-input.js';
import { describePath, describeResources, timedRecords } from './summary.js';

/** The CoAP code each operation succeeds with. */
export const SUCCESS_CODE: Readonly<Record<RequestOperation, string>> = {
  read: CoapCode.Content,
  discover: CoapCode.Content,
  'read-composite': CoapCode.Content,
  write: CoapCode.Changed,
  'write-update': CoapCode.Changed,
  'write-attributes': CoapCode.Changed,
  execute: CoapCode.Changed,
  'write-composite': CoapCode.Changed,
  create: CoapCode.Created,
  delete: CoapCode.Deleted,
};

export interface RequestOutcome {
  /** The new msg.payload; absent = the message keeps the payload it came with (writes, execute, ...). */
  readonly payload?: unknown;
  /** msg.path after the request: the path acted on ("/3303/2" after a Create), or the composite paths. */
  readonly path: string | string[];
  /** Everything for msg.lwm2m. */
  readonly lwm2m: Record<string, unknown>;
}

function bad(message: string): Lwm2mError {
  return new Lwm2mError(CoapCode.BadRequest, message);
}

/** Plain-object check for values typed by a person (not arrays, Buffers or Dates). */
function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v) && !(v instanceof Date);
}

export async function performRequest(server: Lwm2mServer, req: ResolvedRequest): Promise<RequestOutcome> {
  const { endpoint, operation } = req;
  const options = {
    ...(req.format !== undefined ? { format: req.format } : {}),
    ...(req.timeoutMs !== undefined ? { timeoutMs: req.timeoutMs } : {}),
  };
  const path = req.paths[0] as Lwm2mPath;
  let payload: { value: unknown } | undefined;
  let format = req.format;
  let entries: readonly PathNode[] | undefined;
  let finalPath: Lwm2mPath = path;
  const extra: Record<string, unknown> = {};

  switch (operation) {
    case 'read': {
      const result = await server.read(endpoint, path, options);
      payload = { value: result.value };
      format = result.format;
      entries = result.entries;
      break;
    }
    case 'discover': {
      const links = await server.discover(endpoint, path, options);
      const reg = server.getRegistration(endpoint);
      const model = reg ? server.modelFor(reg) : undefined;
      payload = {
        value: links.map((link) => {
          // resource links get the resource's name from the model
          const name = link.path && model ? describePath(model, link.path).name : undefined;
          return {
            path: link.path ? formatPath(link.path) : link.uri,
            ...(name !== undefined ? { name } : {}),
            attributes: link.attributes,
          };
        }),
      };
      format = ContentFormat.LINK_FORMAT;
      break;
    }
    case 'write':
    case 'write-update':
      await server.write(endpoint, path, req.payload, { ...options, mode: operation === 'write' ? 'replace' : 'update' });
      break;
    case 'write-attributes': {
      const attributes = parseAttributes(req.payload, 'msg.payload');
      if (!attributes) throw bad('write-attributes needs the attributes in msg.payload, e.g. { "pmin": 10, "pmax": 60 }');
      await server.writeAttributes(endpoint, path, attributes, options);
      break;
    }
    case 'execute':
      await server.execute(endpoint, path, executeArguments(req.payload), options);
      break;
    case 'create': {
      if (!isRecord(req.payload)) {
        throw bad('create needs msg.payload as an object of resource id → value, e.g. { "5700": 21.5, "5701": "Cel" }');
      }
      const objectId = path[0] as number;
      const chosen = path[1];
      const id = await server.create(endpoint, objectId, req.payload, { ...options, ...(chosen !== undefined ? { instanceId: chosen } : {}) });
      if (id !== undefined) {
        extra['instanceId'] = id;
        finalPath = [objectId, id];
      }
      break;
    }
    case 'delete':
      await server.delete(endpoint, path, options);
      break;
    case 'read-composite': {
      const result = await server.readComposite(endpoint, req.paths, options);
      payload = { value: result.value };
      format = result.format;
      entries = result.entries;
      break;
    }
    case 'write-composite':
      await server.writeComposite(endpoint, req.payload as Record<string, unknown>, options);
      break;
  }

  const reg = server.getRegistration(endpoint);
  const model = reg ? server.modelFor(reg) : undefined;
  const composite = operation === 'read-composite' || operation === 'write-composite';
  const pathOut: string | string[] = composite ? req.paths.map(formatPath) : formatPath(finalPath);
  const lwm2m: Record<string, unknown> = {
    endpoint,
    path: pathOut,
    operation,
    code: SUCCESS_CODE[operation],
    ...formatFields(format),
    ...(reg ? { registration: reg.id } : {}),
    timestamp: Date.now(),
    ...(model && !composite ? describePath(model, finalPath) : {}),
    ...extra,
  };
  if (model && entries) {
    const resources = describeResources(model, entries);
    if (Object.keys(resources).length > 0) lwm2m['resources'] = resources;
  }
  const records = entries && timedRecords(entries);
  if (records) lwm2m['records'] = records;
  return payload ? { payload: payload.value, path: pathOut, lwm2m } : { path: pathOut, lwm2m };
}

/**
 * Execute arguments from msg.payload: a string ("0='on',1") or a list of
 * `{ digit, value }`. Anything else (an inject node's timestamp, an empty
 * object) means no arguments.
 */
export function executeArguments(payload: unknown): string | ExecuteArgument[] {
  if (typeof payload === 'string') return payload.trim();
  if (Array.isArray(payload)) return payload as ExecuteArgument[];
  return '';
}
