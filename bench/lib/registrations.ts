/**
 * Parent side of the registration load: runs lib/registration-load.ts in
 * one or more child processes (the endpoints split between them, each its
 * own index range) against a server listening on 127.0.0.1:port, and puts
 * their results together.
 */
import * as path from 'node:path';
import { BenchChild, stopAll, type ChildMessage } from './proc.js';
import type { RegistrationLoadParams, RegistrationLoadResult } from './registration-load.js';
import { split } from './round-trips.js';

export type RegistrationRunParams = Omit<RegistrationLoadParams, 'firstIndex'> & {
  /** Load processes the endpoints are spread over (default 1). */
  readonly processes?: number;
};

export async function registerFromChildren(benchDir: string, p: RegistrationRunParams): Promise<RegistrationLoadResult> {
  const processes = Math.max(1, p.processes ?? 1);
  const counts = split(p.endpoints, processes);
  const inFlights = split(p.inFlight, counts.length);
  const children: BenchChild[] = [];
  try {
    let first = 0;
    for (let i = 0; i < counts.length; i++) {
      const { processes: _unused, ...rest } = p;
      const params: RegistrationLoadParams = { ...rest, endpoints: counts[i]!, inFlight: Math.max(1, inFlights[i] ?? 1), firstIndex: first };
      first += counts[i]!;
      children.push(
        new BenchChild(path.join(benchDir, 'procs', 'reg-load.js'), `registration load ${i + 1}`, {
          args: [JSON.stringify(params)],
          lifetimeMs: p.maxDurationMs + 30_000,
        }),
      );
    }
    await Promise.all(children.map((c) => c.next('ready', 10_000)));
    const pending = children.map((c) => c.next<ChildMessage & RegistrationLoadResult>('result', p.maxDurationMs + 20_000));
    for (const c of children) c.send({ type: 'go' });
    const results = await Promise.all(pending);
    const registered = results.reduce((s, r) => s + r.registered, 0);
    const elapsedMs = Math.max(...results.map((r) => r.elapsedMs));
    const codes: Record<string, number> = {};
    for (const r of results) for (const [code, n] of Object.entries(r.codes)) codes[code] = (codes[code] ?? 0) + n;
    return {
      registered,
      failed: results.reduce((s, r) => s + r.failed, 0),
      retransmissions: results.reduce((s, r) => s + r.retransmissions, 0),
      codes,
      elapsedMs,
      rate: elapsedMs > 0 ? (registered * 1000) / elapsedMs : 0,
      timedOut: results.some((r) => r.timedOut),
      locations: results.flatMap((r) => r.locations),
    };
  } finally {
    await stopAll(children);
  }
}

/** Memory of the server process, read after a forced GC. */
export interface ServerMemory {
  readonly rss: number;
  readonly heapUsed: number;
}

export interface RegistrationRun {
  readonly rate: number;
  /** (RSS after − RSS before) / registrations, both after a forced GC in the server. */
  readonly rssPerRegistration: number;
  readonly heapPerRegistration: number;
  readonly load: RegistrationLoadResult;
  /** How many distinct Location-Paths the server handed out. */
  readonly distinctLocations: number;
}

/**
 * Registers `endpoints` endpoints with a running server (listening on
 * 127.0.0.1:port; `memory` reads its figures, e.g. by asking a
 * procs/peer-server.ts process) and works out the rate and the memory per
 * registration.
 */
export async function measureRegistrationRun(
  benchDir: string,
  memory: () => Promise<ServerMemory>,
  port: number,
  load: Omit<RegistrationRunParams, 'host' | 'port'>,
): Promise<RegistrationRun> {
  // Let start-up work (timers, lazy loading) finish before the "before" figure.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const before = await memory();
  const result = await registerFromChildren(benchDir, { ...load, host: '127.0.0.1', port });
  const after = await memory();
  const n = Math.max(1, result.registered);
  return {
    rate: result.rate,
    rssPerRegistration: (after.rss - before.rss) / n,
    heapPerRegistration: (after.heapUsed - before.heapUsed) / n,
    load: result,
    distinctLocations: new Set(result.locations.filter((l) => l !== null).map((l) => l.join('/'))).size,
  };
}
