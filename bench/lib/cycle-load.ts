/**
 * The Register + De-register load generator: each endpoint registers, then
 * deletes the Location-Path it was given (one "cycle"), `inFlight` cycles
 * at a time. Each in-flight slot is a lane of its own, one socket with one
 * request outstanding (a device registering and leaving again), so a
 * De-register always follows its own Register's answer.
 */
import { runWindowedRequests, optionStrings } from './coap-requests.js';
import { deregisterRequest, registerRequest } from './registration-load.js';
import { split } from './round-trips.js';

export interface CycleLoadParams {
  readonly host: string;
  readonly port: number;
  /** How many endpoints go through one cycle each. */
  readonly endpoints: number;
  readonly inFlight: number;
  readonly prefix?: string;
  readonly firstIndex?: number;
  readonly lifetime?: number;
  readonly maxDurationMs: number;
  readonly ackTimeoutMs?: number;
}

export interface CycleLoadResult {
  /** Cycles whose De-register was answered 2.02. */
  readonly cycles: number;
  /** Registers refused or unanswered, and De-registers not answered 2.02. */
  readonly failed: number;
  readonly retransmissions: number;
  readonly codes: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
  /** Cycles per second. */
  readonly rate: number;
  readonly timedOut: boolean;
}

export async function runCycleLoad(p: CycleLoadParams): Promise<CycleLoadResult> {
  const prefix = p.prefix ?? 'cycle-';
  const first = p.firstIndex ?? 0;
  // Lane j takes endpoints j, j + lanes, j + 2·lanes, ...
  const lanes = split(p.endpoints, Math.max(1, Math.min(p.inFlight, p.endpoints)));
  let cycles = 0;
  const results = await Promise.all(
    lanes.map((count, lane) => {
      const endpointOf = (k: number): number => first + lane + k * lanes.length;
      const locations: Array<string[] | null> = new Array<string[] | null>(count).fill(null);
      return runWindowedRequests(
        {
          host: p.host,
          port: p.port,
          count: 2 * count,
          inFlight: 1,
          sockets: 1,
          maxDurationMs: p.maxDurationMs,
          ...(p.ackTimeoutMs !== undefined ? { ackTimeoutMs: p.ackTimeoutMs } : {}),
        },
        (i) => {
          const k = i >> 1;
          if (i % 2 === 0) return registerRequest(`${prefix}${endpointOf(k)}`, p.lifetime !== undefined ? { lifetime: p.lifetime } : {});
          const location = locations[k];
          if (!location) throw new Error('not registered'); // counted as a failure, the lane goes on
          return deregisterRequest(location);
        },
        (i, packet) => {
          const k = i >> 1;
          if (i % 2 === 0) {
            const location = optionStrings(packet, 'Location-Path');
            if (packet.code !== '2.01' || location.length === 0) return false;
            locations[k] = location;
            return true;
          }
          if (packet.code !== '2.02') return false;
          cycles++;
          return true;
        },
      );
    }),
  );
  const codes: Record<string, number> = {};
  for (const r of results) for (const [code, n] of Object.entries(r.codes)) codes[code] = (codes[code] ?? 0) + n;
  const elapsedMs = Math.max(0, ...results.map((r) => r.elapsedMs));
  return {
    cycles,
    failed: results.reduce((s, r) => s + r.failed, 0),
    retransmissions: results.reduce((s, r) => s + r.retransmissions, 0),
    codes,
    elapsedMs,
    rate: elapsedMs > 0 ? (cycles * 1000) / elapsedMs : 0,
    timedOut: results.some((r) => r.timedOut),
  };
}
