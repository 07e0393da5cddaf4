/**
 * The settings of an `lwm2m-client` config node (one simulated or gateway
 * device), read from what the editor stored and checked once, and turned
 * into the options of the client engine in one place (`clientOptions`).
 *
 * How the device reaches its server is kept apart (`accountOptions`): today
 * one LwM2M server URI; a bootstrap URI is one more field there once the
 * engine bootstraps.
 */
import type { Lwm2mClientOptions } from '../../src/client/client.js';
import { isLwm2mVersion, type Lwm2mVersion } from '../../src/client/content.js';
import type { DeviceInfo } from '../../src/client/device.js';
import type { Logger } from '../../src/coap/transport.js';
import { Lwm2mError } from '../../src/errors.js';
import { formatPath, parsePath, type Lwm2mPath } from '../../src/model/path.js';
import { flagField, jsonObjectField, numberField, SettingsError, textField } from './settings-fields.js';

/** Objects to expose with their plain values: objectId → instanceId → resourceId → value. */
export type ObjectValues = Record<string, Record<string, Record<string, unknown>>>;

export interface ClientSettings {
  /** Endpoint client name (`ep=`). */
  readonly endpoint: string;
  /** The LwM2M server: coap://host:port. */
  readonly serverUri: string;
  readonly version: Lwm2mVersion;
  /** Registration lifetime (s). */
  readonly lifetime: number;
  readonly queueMode: boolean;
  /** Queue mode: how long the device stays awake after its last exchange (ms). */
  readonly awakeTimeMs: number;
  /** Local UDP port; 0 = any free port. */
  readonly port: number;
  readonly device: DeviceInfo;
  /** Extra objects and their initial values (the Device object's extra values under "3"). */
  readonly objects: ObjectValues;
  /** Kept for DTLS (a later version): stored as Node-RED credentials, not used to connect yet. */
  readonly psk?: { readonly identity: string; readonly key: string };
}

export const DEFAULT_CLIENT = Object.freeze({
  serverUri: 'coap://127.0.0.1:5683',
  version: '1.1' as Lwm2mVersion,
  lifetime: 300,
  awakeTimeMs: 93_000,
});

/** Objects a device always has and the client manages itself (accounts, access control). */
const MANAGED_OBJECTS: Readonly<Record<number, string>> = { 0: 'Security', 1: 'LwM2M Server', 2: 'Access Control' };

/** Longest lifetime whose Update timer fits Node's timers (about 24 days). */
const MAX_LIFETIME = 2_000_000;

/** Checks a server URI: coap:// with a host; coaps:// waits for DTLS. */
export function parseServerUri(raw: unknown, name: string): string {
  const uri = textField(raw);
  if (uri === '') throw new SettingsError(`${name} is missing (e.g. coap://127.0.0.1:5683)`);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new SettingsError(`${name} "${uri}" is not a URI (e.g. coap://127.0.0.1:5683)`);
  }
  if (url.protocol === 'coaps:') throw new SettingsError(`${name} "${uri}": coaps:// (DTLS) is not available in this version, use coap://`);
  if (url.protocol !== 'coap:') throw new SettingsError(`${name} "${uri}" must start with coap://`);
  if (url.hostname === '') throw new SettingsError(`${name} "${uri}" names no host`);
  return uri;
}

/** "3303/0, 3303/1; 6/0 3306" → the instances (and bare objects) to expose. */
export function parseObjectList(raw: unknown): ObjectValues {
  const out: ObjectValues = {};
  for (const item of textField(raw).split(/[\s,;]+/).filter((s) => s !== '')) {
    const path = pathOf(item, `object list entry "${item}"`);
    if (path.length === 0 || path.length > 2) {
      throw new SettingsError(`object list entry "${item}" must be an object or an instance, e.g. 3303/0`);
    }
    const [objectId, instanceId] = path as [number, number | undefined];
    checkExposable(objectId, item);
    const instances = (out[objectId] ??= {});
    if (instanceId !== undefined) instances[instanceId] ??= {};
  }
  return out;
}

/**
 * Initial values: `{ "/3303/0": { "5700": 21.5 }, "/3303/1/5700": 19 }`, keys
 * at object, instance, resource or resource-instance level (the value has
 * the shape of that level, as in msg.payload), merged into `into`.
 */
export function mergeInitialValues(into: ObjectValues, values: Readonly<Record<string, unknown>>): ObjectValues {
  for (const [key, value] of Object.entries(values)) {
    const where = `initial value "${key}"`;
    const path = pathOf(key, where);
    const [objectId, instanceId, resourceId, riid] = path;
    if (objectId === undefined) throw new SettingsError(`${where}: give an object, instance or resource path, e.g. /3303/0/5700`);
    checkExposable(objectId, key);
    const instances = (into[objectId] ??= {});
    if (instanceId === undefined) {
      for (const [iid, resources] of Object.entries(record(value, `${where} must be { instanceId: { resourceId: value } }`))) {
        if (!/^\d+$/.test(iid)) throw new SettingsError(`${where}: instance id "${iid}" is not a number`);
        Object.assign((instances[iid] ??= {}), record(resources, `${where}: instance ${iid} must be { resourceId: value }`));
      }
      continue;
    }
    const resources = (instances[instanceId] ??= {});
    if (resourceId === undefined) Object.assign(resources, record(value, `${where} must be { resourceId: value }`));
    else if (riid === undefined) resources[resourceId] = value;
    else {
      const current = resources[resourceId];
      const multi = current !== null && typeof current === 'object' && !Array.isArray(current) ? (current as Record<string, unknown>) : {};
      resources[resourceId] = { ...multi, [riid]: value };
    }
  }
  return into;
}

function pathOf(text: string, where: string): Lwm2mPath {
  try {
    return parsePath(text.startsWith('/') ? text : `/${text}`);
  } catch (err) {
    throw new SettingsError(`${where}: ${err instanceof Lwm2mError ? err.message : String(err)}`);
  }
}

function checkExposable(objectId: number, where: string): void {
  const managed = MANAGED_OBJECTS[objectId];
  if (managed) throw new SettingsError(`"${where}": object ${objectId} (${managed}) is managed by the client itself from its server settings`);
}

function record(v: unknown, message: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new SettingsError(message);
  return v as Record<string, unknown>;
}

/** Raw editor values and the node's credentials (`{ identity, key }`). */
export function parseClientSettings(raw: Readonly<Record<string, unknown>>, credentials?: Readonly<Record<string, unknown>>): ClientSettings {
  const endpoint = textField(raw['endpoint']);
  if (endpoint === '') throw new SettingsError('the endpoint name is missing');
  if (/[\s&?/]/.test(endpoint)) throw new SettingsError(`endpoint name "${endpoint}" must not contain spaces, "&", "?" or "/"`);
  const serverUri = parseServerUri(raw['uri'] ?? DEFAULT_CLIENT.serverUri, 'server URI');
  const versionText = textField(raw['version']) || DEFAULT_CLIENT.version;
  if (!isLwm2mVersion(versionText)) throw new SettingsError(`LwM2M version must be 1.0, 1.1 or 1.2, got "${versionText}"`);
  const lifetime = numberField(raw['lifetime'], 'lifetime', DEFAULT_CLIENT.lifetime, { integer: true, min: 1, max: MAX_LIFETIME });
  const awake = numberField(raw['awake'], 'queue-mode awake time', DEFAULT_CLIENT.awakeTimeMs / 1000, { min: 0.1, max: 86_400 });
  const port = numberField(raw['port'], 'local port', 0, { integer: true, min: 0, max: 65535 });
  const device: DeviceInfo = {};
  const fields = { manufacturer: 'manufacturer', model: 'modelNumber', serial: 'serialNumber', firmware: 'firmwareVersion' } as const;
  for (const [field, key] of Object.entries(fields)) {
    const v = textField(raw[field]);
    if (v !== '') device[key] = v;
  }
  const objects = parseObjectList(raw['objects']);
  const values = jsonObjectField(raw['values'], 'initial values');
  if (values) mergeInitialValues(objects, values);
  const identity = textField(credentials?.['identity']);
  const key = typeof credentials?.['key'] === 'string' ? credentials['key'] : '';
  return {
    endpoint,
    serverUri,
    version: versionText,
    lifetime,
    queueMode: flagField(raw['queue'], false),
    awakeTimeMs: Math.round(awake * 1000),
    port,
    device,
    objects,
    ...(identity !== '' || key !== '' ? { psk: { identity, key } } : {}),
  };
}

/** Where the device registers. The bootstrap URI joins here once the engine bootstraps. */
export function accountOptions(settings: ClientSettings): Pick<Lwm2mClientOptions, 'servers'> {
  return {
    servers: [{ uri: settings.serverUri, shortServerId: 1, lifetime: settings.lifetime, binding: 'U', queueMode: settings.queueMode }],
  };
}

/**
 * The engine's options. `objects` replaces the configured objects (a device
 * that registers again after a De-register keeps the values it had).
 */
export function clientOptions(settings: ClientSettings, extra: { logger?: Logger; objects?: ObjectValues } = {}): Lwm2mClientOptions {
  return {
    endpoint: settings.endpoint,
    lwm2mVersion: settings.version,
    ...accountOptions(settings),
    port: settings.port,
    device: settings.device,
    objects: extra.objects ?? settings.objects,
    ...(settings.queueMode ? { awakeTimeMs: settings.awakeTimeMs } : {}),
    ...(extra.logger ? { logger: extra.logger } : {}),
  };
}

/** "coap://127.0.0.1:5683" → "127.0.0.1:5683" for short status texts. */
export function shortUri(uri: string): string {
  return uri.replace(/^coaps?:\/\//, '');
}

/** The paths of the instances a configuration exposes, e.g. ["/3303/0", "/6/0"] (for the editor and logs). */
export function exposedInstances(objects: ObjectValues): string[] {
  const out: string[] = [];
  for (const [oid, instances] of Object.entries(objects)) {
    const ids = Object.keys(instances);
    if (ids.length === 0) out.push(formatPath([Number(oid)]));
    for (const iid of ids) out.push(formatPath([Number(oid), Number(iid)]));
  }
  return out;
}
