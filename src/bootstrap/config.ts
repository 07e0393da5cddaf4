/**
 * Bootstrap configurations: what a Bootstrap-Server provisions into a
 * client. A configuration is plain JSON-friendly data (it is stored in a
 * file and edited from flows):
 *
 *   {
 *     "delete": ["/"],                       // Bootstrap-Delete first (default "/")
 *     "objects": {
 *       "0": { "1": { "0": "coap://192.0.2.1:5683", "1": false, "2": 3, "10": 101 } },
 *       "1": { "0": { "0": 101, "1": 300, "7": "U" } }
 *     },
 *     "read": ["/1"],                        // optional Bootstrap-Read (1.1+)
 *     "discover": false                      // optional Bootstrap-Discover first
 *   }
 *
 * Opaque values (keys, identities) are written as { "hex": "..." } or
 * { "base64": "..." }; strings containing "{endpoint}" get the client's
 * endpoint name substituted, so one default template serves many devices.
 */
import { CoapCode, Lwm2mError } from '../errors.js';
import type { ModelLookup } from '../model/definitions.js';
import { formatPath, isValidId, parsePath, type Lwm2mPath } from '../model/path.js';
import { fromPlain } from '../model/plain.js';
import type { ObjectInstanceNode } from '../model/value.js';

export type PlainConfigValue = string | number | boolean | { hex: string } | { base64: string } | null;

export interface BootstrapConfig {
  /** Paths to Bootstrap-Delete before writing; default ["/"] (everything but the bootstrap account and /3). */
  delete?: string[];
  /** Object instances to Bootstrap-Write: objectId → instanceId → resourceId → value (or { riid: value }). */
  objects: Record<string, Record<string, Record<string, PlainConfigValue | Record<string, PlainConfigValue>>>>;
  /** Paths to Bootstrap-Read after writing (LwM2M 1.1+); the answers are reported in the session event. */
  read?: string[];
  /** Send Bootstrap-Discover on "/" first and report the answer. */
  discover?: boolean;
  /** Content format to write with; default TLV for 1.0 clients, SenML CBOR (or the client's `pct`) for 1.1+. */
  format?: number;
  /** LwM2M version the client speaks, when known ("1.0" selects TLV and the 1.0 object versions). */
  lwm2mVersion?: '1.0' | '1.1' | '1.2';
}

export interface BootstrapWrite {
  readonly path: Lwm2mPath;
  readonly node: ObjectInstanceNode;
}

function bad(message: string): Lwm2mError {
  return new Lwm2mError(CoapCode.BadRequest, message);
}

/** Checks a configuration's shape; throws 4.00 with a message naming the bad part. */
export function validateConfig(config: unknown, where = 'bootstrap configuration'): BootstrapConfig {
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw bad(`${where} must be an object`);
  const c = config as Record<string, unknown>;
  if (!c.objects || typeof c.objects !== 'object' || Array.isArray(c.objects)) throw bad(`${where}: "objects" must be an object`);
  for (const [oid, instances] of Object.entries(c.objects as Record<string, unknown>)) {
    if (!/^\d+$/.test(oid) || !isValidId(Number(oid))) throw bad(`${where}: object id "${oid}" is not valid`);
    if (!instances || typeof instances !== 'object' || Array.isArray(instances)) throw bad(`${where}: objects.${oid} must map instance ids to resources`);
    for (const [iid, resources] of Object.entries(instances as Record<string, unknown>)) {
      if (!/^\d+$/.test(iid) || !isValidId(Number(iid))) throw bad(`${where}: instance id "${iid}" of object ${oid} is not valid`);
      if (!resources || typeof resources !== 'object' || Array.isArray(resources)) throw bad(`${where}: objects.${oid}.${iid} must map resource ids to values`);
    }
  }
  for (const key of ['delete', 'read'] as const) {
    const list = c[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw bad(`${where}: "${key}" must be a list of paths`);
    for (const p of list) {
      if (typeof p !== 'string') throw bad(`${where}: "${key}" must be a list of paths`);
      parsePath(p);
    }
  }
  if (c.discover !== undefined && typeof c.discover !== 'boolean') throw bad(`${where}: "discover" must be true or false`);
  if (c.format !== undefined && (typeof c.format !== 'number' || !Number.isInteger(c.format))) throw bad(`${where}: "format" must be a content-format number`);
  if (c.lwm2mVersion !== undefined && !['1.0', '1.1', '1.2'].includes(c.lwm2mVersion as string)) throw bad(`${where}: "lwm2mVersion" must be 1.0, 1.1 or 1.2`);
  return c as unknown as BootstrapConfig;
}

/** Replaces "{endpoint}" in every string value (templates for endpoints without their own configuration). */
export function substituteEndpoint(config: BootstrapConfig, endpoint: string): BootstrapConfig {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.split('{endpoint}').join(endpoint);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return walk(config) as BootstrapConfig;
}

/** { hex } / { base64 } → Buffer, recursively; everything else unchanged. */
function decodeBinary(v: unknown, where: string): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && typeof o.hex === 'string') {
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(o.hex)) throw bad(`${where}: "${o.hex}" is not hexadecimal`);
      return Buffer.from(o.hex, 'hex');
    }
    if (keys.length === 1 && typeof o.base64 === 'string') return Buffer.from(o.base64, 'base64');
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = decodeBinary(x, `${where}/${k}`);
    return out;
  }
  return v;
}

/** The Bootstrap-Write requests of a configuration, one per object instance, typed through the model. */
export function configWrites(config: BootstrapConfig, model: ModelLookup): BootstrapWrite[] {
  const writes: BootstrapWrite[] = [];
  const objectIds = Object.keys(config.objects).map(Number).sort((a, b) => a - b);
  for (const oid of objectIds) {
    const instances = config.objects[String(oid)] ?? {};
    for (const iid of Object.keys(instances).map(Number).sort((a, b) => a - b)) {
      const path = [oid, iid];
      const plain = decodeBinary(instances[String(iid)], formatPath(path));
      const node = fromPlain(path, plain, model);
      writes.push({ path, node: node as ObjectInstanceNode });
    }
  }
  return writes;
}

/** JSON form of a configuration for the store file (Buffers are not expected: configs stay plain). */
export function cloneConfig(config: BootstrapConfig): BootstrapConfig {
  return JSON.parse(JSON.stringify(config)) as BootstrapConfig;
}
