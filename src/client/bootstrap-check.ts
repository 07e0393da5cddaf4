/**
 * The bootstrap configuration consistency check (Core TS, Bootstrap-Finish):
 * before answering 2.04 to Bootstrap-Finish the client verifies that what
 * the Bootstrap-Server wrote can be used, and answers 4.06 Not Acceptable
 * with a diagnostic otherwise. The same check decides whether a
 * Bootstrap-Pack or a configuration loaded from disk can be used.
 *
 * A usable LwM2M Server account is a Security instance (/0/x, not a
 * Bootstrap-Server) and a Server instance (/1/y) with the same Short Server
 * ID. Inconsistent (each one a problem):
 *   - no usable LwM2M Server account at all;
 *   - more than one Bootstrap-Server account;
 *   - a Security or Server instance without a valid Short Server ID, two
 *     instances with the same one, or one without its partner;
 *   - a server URI that does not parse, or that this client cannot reach:
 *     it speaks CoAP over UDP without DTLS, so coap:// with NoSec (mode 3);
 *   - a lifetime that is not a positive whole number of seconds.
 */
import { SECURITY, SECURITY_MODE_NOSEC, SecurityRes, SERVER, ServerRes } from './accounts.js';
import type { ObjectTree } from './object-tree.js';

export interface ConfigurationCheck {
  /** True when the configuration can be used as it is. */
  readonly ok: boolean;
  /** What is wrong, one sentence each (the 4.06 diagnostic). */
  readonly problems: readonly string[];
  /** Short Server IDs of the usable LwM2M Server accounts. */
  readonly servers: readonly number[];
}

function integer(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function validSsid(v: number | undefined): v is number {
  return v !== undefined && v >= 1 && v <= 65534;
}

export function checkConfiguration(tree: ObjectTree): ConfigurationCheck {
  const problems: string[] = [];
  const value = (o: number, i: number, r: number): unknown => tree.storedValue([o, i, r])?.value;

  // Security instances: the Bootstrap-Server account(s) and the server accounts by SSID.
  const bootstrapAccounts: number[] = [];
  const security = new Map<number, number>(); // ssid → /0 instance
  for (const sid of tree.instanceIds(SECURITY)) {
    if (value(SECURITY, sid, SecurityRes.bootstrap) === true) {
      bootstrapAccounts.push(sid);
      continue;
    }
    const ssid = integer(value(SECURITY, sid, SecurityRes.shortServerId));
    if (!validSsid(ssid)) {
      problems.push(`/0/${sid} has no valid Short Server ID (/0/${sid}/10 must be 1..65534)`);
      continue;
    }
    const other = security.get(ssid);
    if (other !== undefined) {
      problems.push(`/0/${other} and /0/${sid} both use Short Server ID ${ssid}`);
      continue;
    }
    security.set(ssid, sid);
  }
  if (bootstrapAccounts.length > 1) {
    problems.push(`${bootstrapAccounts.length} Bootstrap-Server accounts (${bootstrapAccounts.map((i) => `/0/${i}`).join(', ')}): at most one is allowed`);
  }

  const server = new Map<number, number>(); // ssid → /1 instance
  for (const iid of tree.instanceIds(SERVER)) {
    const ssid = integer(value(SERVER, iid, ServerRes.shortServerId));
    if (!validSsid(ssid)) {
      problems.push(`/1/${iid} has no valid Short Server ID (/1/${iid}/0 must be 1..65534)`);
      continue;
    }
    const other = server.get(ssid);
    if (other !== undefined) {
      problems.push(`/1/${other} and /1/${iid} both use Short Server ID ${ssid}`);
      continue;
    }
    server.set(ssid, iid);
    const lifetime = value(SERVER, iid, ServerRes.lifetime);
    const lt = integer(lifetime);
    if (lifetime !== undefined && (lt === undefined || lt < 1)) problems.push(`/1/${iid}/1 (lifetime) must be a positive number of seconds`);
    if (!security.has(ssid)) problems.push(`/1/${iid} (Short Server ID ${ssid}) has no Security instance in /0`);
  }

  const servers: number[] = [];
  for (const [ssid, sid] of security) {
    if (!server.has(ssid)) {
      problems.push(`/0/${sid} (Short Server ID ${ssid}) has no Server instance in /1`);
      continue;
    }
    const uri = value(SECURITY, sid, SecurityRes.uri);
    let url: URL | undefined;
    try {
      url = typeof uri === 'string' ? new URL(uri) : undefined;
    } catch {
      url = undefined;
    }
    if (!url) {
      problems.push(`/0/${sid}/0 (server URI) ${typeof uri === 'string' ? `"${uri}" is not a URI` : 'is missing'}`);
      continue;
    }
    const mode = integer(value(SECURITY, sid, SecurityRes.mode));
    if (url.protocol !== 'coap:' || (mode !== undefined && mode !== SECURITY_MODE_NOSEC)) {
      problems.push(`/0/${sid}: ${uri} with security mode ${mode ?? '(none)'} cannot be used: this client speaks coap:// with NoSec (mode 3) only`);
      continue;
    }
    servers.push(ssid);
  }
  if (security.size === 0 && server.size === 0) problems.push('no LwM2M Server account (/0 and /1 instances with the same Short Server ID)');

  servers.sort((a, b) => a - b);
  return { ok: problems.length === 0 && servers.length > 0, problems, servers };
}
