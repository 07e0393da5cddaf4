/**
 * Admin HTTP endpoints that feed the editor's dropdowns and autocompletion:
 *
 *   GET /lwm2m-server/:id/endpoints?q=&limit=    registered endpoints of a server config node
 *   GET /lwm2m-server/:id/endpoints/:endpoint    one registration (objects, instances, names)
 *   GET /lwm2m/objects[?server=]                 object ids, names and versions
 *   GET /lwm2m/objects/:id[?server=&endpoint=&version=]   resources of one object
 *
 * All are read-only and guarded by the `lwm2m-server.read` permission (the
 * editor's "read" scope grants it). The answers are computed by the pure
 * functions below so they can be checked without HTTP.
 */
import type { ObjectDefinition } from '../../src/model/definitions.js';
import { builtinRegistry, type ObjectRegistry } from '../../src/model/registry.js';
import type { HttpResponse, NodeRedRuntime } from '../node-red-types.js';
import { formatHostPort, type ServerRuntime } from './server-runtime.js';
import { runtimeOf } from './server-node.js';
import { registrationSummary, type RegistrationSummary } from './summary.js';

export const ADMIN_PERMISSION = 'lwm2m-server.read';
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

export interface EndpointEntry {
  readonly endpoint: string;
  readonly version: string;
  readonly queueMode: boolean;
  readonly awake: boolean;
  readonly address: string;
  readonly updatedAt: number;
}

/** Registered endpoints whose name contains `query` (any case), sorted, at most `limit`. */
export function listEndpoints(runtime: ServerRuntime, query = '', limit = DEFAULT_LIMIT): EndpointEntry[] {
  const server = runtime.server;
  if (!server) return [];
  const needle = query.toLowerCase();
  return server
    .registrations()
    .filter((reg) => reg.endpoint.toLowerCase().includes(needle))
    .sort((a, b) => (a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0))
    .slice(0, limit)
    .map((reg) => ({
      endpoint: reg.endpoint,
      version: reg.lwm2mVersion,
      queueMode: reg.queueMode,
      awake: server.isAwake(reg.endpoint),
      address: formatHostPort(reg.peer.host, reg.peer.port),
      updatedAt: reg.updatedAt,
    }));
}

export function endpointDetails(runtime: ServerRuntime, endpoint: string): RegistrationSummary | undefined {
  const server = runtime.server;
  const reg = server?.getRegistration(endpoint);
  return server && reg ? registrationSummary(reg, server.modelFor(reg)) : undefined;
}

export interface ObjectEntry {
  readonly id: number;
  readonly name: string;
  readonly versions: readonly string[];
}

export function listObjects(registry: ObjectRegistry): ObjectEntry[] {
  return registry.ids().map((id) => ({ id, name: registry.get(id)?.name ?? '', versions: registry.versions(id) }));
}

export interface ObjectDetails {
  readonly id: number;
  readonly name: string;
  readonly version: string;
  readonly versions: readonly string[];
  readonly multiple: boolean;
  readonly resources: readonly {
    id: number;
    name: string;
    type: string;
    operations: string;
    multiple: boolean;
    mandatory: boolean;
    units?: string;
    range?: string;
  }[];
}

export function objectDetails(def: ObjectDefinition, versions: readonly string[]): ObjectDetails {
  return {
    id: def.id,
    name: def.name,
    version: def.version,
    versions,
    multiple: def.multiple,
    resources: [...def.resources.values()]
      .sort((a, b) => a.id - b.id)
      .map((r) => ({
        id: r.id,
        name: r.name,
        type: r.type,
        operations: r.operations,
        multiple: r.multiple,
        mandatory: r.mandatory,
        ...(r.units ? { units: r.units } : {}),
        ...(r.range ? { range: r.range } : {}),
      })),
  };
}

function queryText(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function notFound(res: HttpResponse, message: string): void {
  res.status(404).json({ error: message });
}

export function registerAdminEndpoints(RED: NodeRedRuntime): void {
  const canRead = RED.auth.needsPermission(ADMIN_PERMISSION);

  RED.httpAdmin.get('/lwm2m-server/:id/endpoints', canRead, (req, res) => {
    const runtime = runtimeOf(RED, req.params['id']);
    if (!runtime) return notFound(res, 'no deployed lwm2m-server node with this id');
    const limit = Number(queryText(req.query['limit']) || DEFAULT_LIMIT);
    const bounded = Number.isInteger(limit) && limit > 0 ? Math.min(limit, MAX_LIMIT) : DEFAULT_LIMIT;
    res.json(listEndpoints(runtime, queryText(req.query['q']), bounded));
  });

  RED.httpAdmin.get('/lwm2m-server/:id/endpoints/:endpoint', canRead, (req, res) => {
    const runtime = runtimeOf(RED, req.params['id']);
    if (!runtime) return notFound(res, 'no deployed lwm2m-server node with this id');
    const details = endpointDetails(runtime, req.params['endpoint'] ?? '');
    if (!details) return notFound(res, 'no registered client with this endpoint name');
    res.json(details);
  });

  RED.httpAdmin.get('/lwm2m/objects', canRead, (req, res) => {
    // without a (running) server node the editor still gets the built-in OMNA objects
    const runtime = runtimeOf(RED, req.query['server']);
    res.json(listObjects(runtime?.registry ?? builtinRegistry()));
  });

  RED.httpAdmin.get('/lwm2m/objects/:id', canRead, (req, res) => {
    const id = Number(req.params['id']);
    const runtime = runtimeOf(RED, req.query['server']);
    const registry = runtime?.registry ?? builtinRegistry();
    if (!Number.isInteger(id)) return notFound(res, 'object ids are numbers');
    // the version a device registered with, when the editor names the device
    const endpoint = queryText(req.query['endpoint']);
    const server = runtime?.server;
    const reg = endpoint && server ? server.getRegistration(endpoint) : undefined;
    const version = queryText(req.query['version']);
    const def = reg && server ? server.modelFor(reg).object(id) : registry.get(id, version || undefined);
    if (!def) return notFound(res, `object ${id}${version ? ` version ${version}` : ''} is not known`);
    res.json(objectDetails(def, registry.versions(id)));
  });
}
