/**
 * Server accounts: one LwM2M Server is one Security instance (/0/x) plus
 * the Server instance (/1/y) with the same Short Server ID. The client's
 * configuration writes them at start; a Bootstrap-Server may rewrite them
 * later, so the registration engine always reads accounts back from the
 * tree rather than from the configuration.
 */
import { CoapCode, Lwm2mError } from '../errors.js';
import type { Lwm2mVersion } from './content.js';
import type { ObjectTree } from './object-tree.js';

export const SECURITY = 0;
export const SERVER = 1;
export const ACCESS_CONTROL = 2;
export const DEVICE = 3;

/** Server resources (object 1). */
export const ServerRes = {
  shortServerId: 0,
  lifetime: 1,
  defaultPmin: 2,
  defaultPmax: 3,
  disable: 4,
  disableTimeout: 5,
  notificationStoring: 6,
  binding: 7,
  updateTrigger: 8,
  bootstrapTrigger: 9,
  bootstrapOnRegistrationFailure: 16,
  communicationRetryCount: 17,
  muteSend: 23,
  defaultNotificationMode: 26,
} as const;

/** Security resources (object 0). */
export const SecurityRes = {
  uri: 0,
  bootstrap: 1,
  mode: 2,
  publicKeyOrIdentity: 3,
  serverPublicKey: 4,
  secretKey: 5,
  shortServerId: 10,
  clientHoldOff: 11,
} as const;

/** Security mode NoSec (/0/x/2 = 3): the only one this client can use without a DTLS layer. */
export const SECURITY_MODE_NOSEC = 3;

export interface ServerConfig {
  /** coap://host:port (coaps:// needs DTLS, which comes with the security layer). */
  uri: string;
  /** 1..65534; default: position in the list + 1. */
  shortServerId?: number;
  /** Registration lifetime in seconds (default 300). */
  lifetime?: number;
  /** Binding without the queue letter: "U" (default), "T", "S", "N". */
  binding?: string;
  /** Queue mode (1.0: binding "UQ"; 1.1+: the Q parameter). */
  queueMode?: boolean;
  /** /1/x/6: store notifications while offline or asleep (default true). */
  notificationStoring?: boolean;
  /** /1/x/2 and /1/x/3, seconds. */
  defaultPmin?: number;
  defaultPmax?: number;
  /** /1/x/5, seconds (default 86400). */
  disableTimeout?: number;
  /** MSISDN sent as `sms=`. */
  sms?: string;
}

export interface ServerAccount {
  readonly securityInstance: number;
  readonly serverInstance: number;
  readonly shortServerId: number;
  readonly uri: string;
  readonly lifetime: number;
  /** Binding letters as stored in /1/x/7. */
  readonly binding: string;
  readonly notificationStoring: boolean;
  readonly defaultPmin?: number;
  readonly defaultPmax?: number;
  readonly disableTimeout: number;
  readonly muteSend: boolean;
  readonly defaultCon?: 0 | 1;
}

/** The Bootstrap-Server account as the application configures it. */
export interface BootstrapAccountConfig {
  /** coap://host:port of the Bootstrap-Server (5783 is customary). */
  uri: string;
  /** /0/x/11 Client Hold Off Time: seconds to wait before a client-initiated bootstrap (default 0). */
  holdOffS?: number;
}

/** The Bootstrap-Server account the tree holds (/0 instance with Bootstrap-Server = true). */
export interface BootstrapAccount {
  readonly securityInstance: number;
  readonly uri: string;
  readonly holdOffS: number;
}

export const DEFAULT_LIFETIME = 300;
export const DEFAULT_DISABLE_TIMEOUT = 86400;

function configError(message: string): Lwm2mError {
  return new Lwm2mError(CoapCode.BadRequest, message);
}

/** Writes the Security and Server instances of the configured servers. */
export function installServerAccounts(tree: ObjectTree, servers: readonly ServerConfig[], version: Lwm2mVersion): void {
  tree.addObject(SECURITY);
  tree.addObject(SERVER);
  // The client implements Disable and (1.1+) Bootstrap-Request Trigger in every server account.
  tree.implementExecutable(SERVER, ServerRes.disable);
  tree.implementExecutable(SERVER, ServerRes.bootstrapTrigger);
  const seen = new Set<number>();
  servers.forEach((cfg, index) => {
    const ssid = cfg.shortServerId ?? index + 1;
    if (!Number.isInteger(ssid) || ssid < 1 || ssid > 65534) throw configError(`server ${cfg.uri}: shortServerId must be 1..65534`);
    if (seen.has(ssid)) throw configError(`shortServerId ${ssid} is used by two servers`);
    seen.add(ssid);
    let url: URL;
    try {
      url = new URL(cfg.uri);
    } catch {
      throw configError(`server URI "${cfg.uri}" is not a URI`);
    }
    if (url.protocol !== 'coap:') throw configError(`server URI "${cfg.uri}": only coap:// is supported here (coaps:// needs the DTLS layer)`);
    const lifetime = cfg.lifetime ?? DEFAULT_LIFETIME;
    if (!Number.isInteger(lifetime) || lifetime < 1) throw configError(`server ${cfg.uri}: lifetime must be a positive integer`);
    const binding = (cfg.binding ?? 'U').replace(/Q/g, '');
    const storedBinding = version === '1.0' && cfg.queueMode ? `${binding}Q` : binding;
    tree.addInstance(SECURITY, index, {
      [SecurityRes.uri]: cfg.uri,
      [SecurityRes.bootstrap]: false,
      [SecurityRes.mode]: 3,
      [SecurityRes.publicKeyOrIdentity]: Buffer.alloc(0),
      [SecurityRes.serverPublicKey]: Buffer.alloc(0),
      [SecurityRes.secretKey]: Buffer.alloc(0),
      [SecurityRes.shortServerId]: ssid,
    });
    const server: Record<number, unknown> = {
      [ServerRes.shortServerId]: ssid,
      [ServerRes.lifetime]: lifetime,
      [ServerRes.notificationStoring]: cfg.notificationStoring ?? true,
      [ServerRes.binding]: storedBinding,
      [ServerRes.disableTimeout]: cfg.disableTimeout ?? DEFAULT_DISABLE_TIMEOUT,
    };
    if (cfg.defaultPmin !== undefined) server[ServerRes.defaultPmin] = cfg.defaultPmin;
    if (cfg.defaultPmax !== undefined) server[ServerRes.defaultPmax] = cfg.defaultPmax;
    tree.addInstance(SERVER, index, server);
  });
}

/**
 * Writes the Bootstrap-Server account into /0 (instance `instanceId`):
 * NoSec, no Short Server ID (a Bootstrap-Server has none), the hold-off.
 */
export function installBootstrapAccount(tree: ObjectTree, cfg: BootstrapAccountConfig, instanceId: number): void {
  let url: URL;
  try {
    url = new URL(cfg.uri);
  } catch {
    throw configError(`bootstrap server URI "${cfg.uri}" is not a URI`);
  }
  if (url.protocol !== 'coap:') throw configError(`bootstrap server URI "${cfg.uri}": only coap:// is supported here (coaps:// needs the DTLS layer)`);
  const holdOff = cfg.holdOffS ?? 0;
  if (!Number.isInteger(holdOff) || holdOff < 0) throw configError('bootstrap holdOffS must be a whole number of seconds ≥ 0');
  tree.addObject(SECURITY);
  tree.addInstance(SECURITY, instanceId, {
    [SecurityRes.uri]: cfg.uri,
    [SecurityRes.bootstrap]: true,
    [SecurityRes.mode]: SECURITY_MODE_NOSEC,
    [SecurityRes.publicKeyOrIdentity]: Buffer.alloc(0),
    [SecurityRes.serverPublicKey]: Buffer.alloc(0),
    [SecurityRes.secretKey]: Buffer.alloc(0),
    [SecurityRes.clientHoldOff]: holdOff,
  });
}

/** True for the /0 instance that is a Bootstrap-Server account. */
export function isBootstrapSecurityInstance(tree: ObjectTree, instanceId: number): boolean {
  return tree.storedValue([SECURITY, instanceId, SecurityRes.bootstrap])?.value === true;
}

/** The Bootstrap-Server account (the first one, should a configuration hold several), if any. */
export function readBootstrapAccount(tree: ObjectTree): BootstrapAccount | undefined {
  for (const sid of tree.instanceIds(SECURITY)) {
    if (!isBootstrapSecurityInstance(tree, sid)) continue;
    const uri = tree.storedValue([SECURITY, sid, SecurityRes.uri])?.value;
    if (typeof uri !== 'string') continue;
    const holdOff = num(tree.storedValue([SECURITY, sid, SecurityRes.clientHoldOff])?.value);
    return { securityInstance: sid, uri, holdOffS: holdOff !== undefined && holdOff > 0 ? holdOff : 0 };
  }
  return undefined;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** The server accounts the tree holds now (Bootstrap-Server accounts excluded), by Short Server ID. */
export function readServerAccounts(tree: ObjectTree): ServerAccount[] {
  const servers = new Map<number, number>();
  for (const iid of tree.instanceIds(SERVER)) {
    const ssid = num(tree.storedValue([SERVER, iid, ServerRes.shortServerId])?.value);
    if (ssid !== undefined) servers.set(ssid, iid);
  }
  const out: ServerAccount[] = [];
  for (const sid of tree.instanceIds(SECURITY)) {
    if (tree.storedValue([SECURITY, sid, SecurityRes.bootstrap])?.value === true) continue;
    const ssid = num(tree.storedValue([SECURITY, sid, SecurityRes.shortServerId])?.value);
    const uri = tree.storedValue([SECURITY, sid, SecurityRes.uri])?.value;
    if (ssid === undefined || typeof uri !== 'string') continue;
    const serverInstance = servers.get(ssid);
    if (serverInstance === undefined) continue;
    const get = (rid: number): unknown => tree.storedValue([SERVER, serverInstance, rid])?.value;
    const account: ServerAccount = {
      securityInstance: sid,
      serverInstance,
      shortServerId: ssid,
      uri,
      lifetime: num(get(ServerRes.lifetime)) ?? DEFAULT_LIFETIME,
      binding: typeof get(ServerRes.binding) === 'string' ? (get(ServerRes.binding) as string) : 'U',
      notificationStoring: get(ServerRes.notificationStoring) !== false,
      disableTimeout: num(get(ServerRes.disableTimeout)) ?? DEFAULT_DISABLE_TIMEOUT,
      muteSend: get(ServerRes.muteSend) === true,
      ...(num(get(ServerRes.defaultPmin)) !== undefined ? { defaultPmin: num(get(ServerRes.defaultPmin)) } : {}),
      ...(num(get(ServerRes.defaultPmax)) !== undefined ? { defaultPmax: num(get(ServerRes.defaultPmax)) } : {}),
      ...(num(get(ServerRes.defaultNotificationMode)) === 1 ? { defaultCon: 1 as const } : num(get(ServerRes.defaultNotificationMode)) === 0 ? { defaultCon: 0 as const } : {}),
    };
    out.push(account);
  }
  return out.sort((a, b) => a.shortServerId - b.shortServerId);
}

/**
 * Access Control instances (/2) when more than one server is configured
 * (Core TS §E.3): one per object instance, owned by the first server, with
 * full rights (Read, Write, Execute, Delete = 15) for every server, and one
 * per object with instance id 65535 granting Create (16).
 */
export function installAccessControl(tree: ObjectTree, shortServerIds: readonly number[]): void {
  if (shortServerIds.length < 2 || !tree.resolveDefinition(ACCESS_CONTROL)) return;
  tree.addObject(ACCESS_CONTROL);
  const owner = shortServerIds[0] as number;
  const full = Object.fromEntries(shortServerIds.map((ssid) => [ssid, 15]));
  const create = Object.fromEntries(shortServerIds.map((ssid) => [ssid, 16]));
  for (const objectId of tree.objectIds()) {
    if (objectId === SECURITY || objectId === ACCESS_CONTROL) continue;
    const def = tree.definition(objectId);
    if (def?.multiple && objectId !== SERVER) {
      tree.addInstance(ACCESS_CONTROL, undefined, { 0: objectId, 1: 65535, 2: create, 3: owner });
    }
    for (const iid of tree.instanceIds(objectId)) {
      tree.addInstance(ACCESS_CONTROL, undefined, { 0: objectId, 1: iid, 2: full, 3: owner });
    }
  }
}
