/**
 * The registration load generator: registers N distinct endpoints with an
 * LwM2M server (`POST /rd?ep=..&lt=..&lwm2m=..&b=U` + a link-format body),
 * `inFlight` at a time, and returns the rate and each endpoint's
 * Location-Path. Generic over the server: it only speaks CoAP on
 * 127.0.0.1:port, so the same code measures the peers and our server.
 */
import { optionStrings, runWindowedRequests, type CoapRequestSpec } from './coap-requests.js';

export interface RegistrationLoadParams {
  readonly host: string;
  readonly port: number;
  /** How many endpoints to register. */
  readonly endpoints: number;
  readonly inFlight: number;
  /** UDP sockets (default: one per in-flight slot, like separate devices). */
  readonly sockets?: number;
  /** Endpoint names are prefix + index (default "bench-"). */
  readonly prefix?: string;
  /** Index of the first endpoint (load split over processes). */
  readonly firstIndex?: number;
  /** Registration lifetime in seconds (default one day: nothing expires during the bench). */
  readonly lifetime?: number;
  readonly lwm2mVersion?: string;
  /** Registration body (link-format); a small device's objects by default. */
  readonly links?: string;
  readonly maxDurationMs: number;
  readonly ackTimeoutMs?: number;
}

export interface RegistrationLoadResult {
  readonly registered: number;
  readonly failed: number;
  readonly retransmissions: number;
  readonly codes: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
  /** Registrations per second. */
  readonly rate: number;
  readonly timedOut: boolean;
  /** Location-Path segments per endpoint (by index from firstIndex), null when it failed. */
  readonly locations: ReadonlyArray<readonly string[] | null>;
}

/** Objects of a typical small device: Server, Device, Connectivity Monitoring, Firmware, two temperature sensors. */
export const DEFAULT_LINKS = '</>;rt="oma.lwm2m";ct=11542,</1>;ver=1.1,</1/0>,</3>;ver=1.1,</3/0>,</4/0>,</5/0>,</3303/0>,</3303/1>';

export const CONTENT_FORMAT_LINK = 40;

export function registerRequest(endpoint: string, options: { lifetime?: number; lwm2mVersion?: string; links?: string } = {}): CoapRequestSpec {
  return {
    method: 'POST',
    path: ['rd'],
    query: [`ep=${endpoint}`, `lt=${options.lifetime ?? 86400}`, `lwm2m=${options.lwm2mVersion ?? '1.1'}`, 'b=U'],
    contentFormat: CONTENT_FORMAT_LINK,
    payload: Buffer.from(options.links ?? DEFAULT_LINKS),
  };
}

/**
 * De-register: DELETE on the Location-Path the Register answered. A server
 * may send "rd/x" as one option; each segment becomes its own Uri-Path.
 */
export function deregisterRequest(location: readonly string[]): CoapRequestSpec {
  return { method: 'DELETE', path: location.flatMap((s) => s.split('/')).filter((s) => s !== '') };
}

export async function runRegistrationLoad(p: RegistrationLoadParams): Promise<RegistrationLoadResult> {
  const prefix = p.prefix ?? 'bench-';
  const first = p.firstIndex ?? 0;
  const locations: Array<string[] | null> = new Array<string[] | null>(p.endpoints).fill(null);
  const result = await runWindowedRequests(
    {
      host: p.host,
      port: p.port,
      count: p.endpoints,
      inFlight: p.inFlight,
      ...(p.sockets !== undefined ? { sockets: p.sockets } : {}),
      ...(p.ackTimeoutMs !== undefined ? { ackTimeoutMs: p.ackTimeoutMs } : {}),
      maxDurationMs: p.maxDurationMs,
    },
    (i) => registerRequest(`${prefix}${first + i}`, p),
    (i, packet) => {
      if (packet.code !== '2.01') return false;
      const location = optionStrings(packet, 'Location-Path');
      if (location.length === 0) return false;
      locations[i] = location;
      return true;
    },
  );
  return {
    registered: result.succeeded,
    failed: result.failed,
    retransmissions: result.retransmissions,
    codes: result.codes,
    elapsedMs: result.elapsedMs,
    rate: result.rate,
    timedOut: result.timedOut,
    locations,
  };
}
