/**
 * Our LwM2M server (src/server) as the system under test of the server
 * scenarios, alone in its process. argv[2]: {"requestTimeoutMs"?: n}.
 * Listens on 127.0.0.1 (a free port), sends {type:'ready', port}, then
 * answers:
 *   figures                         memory after a forced GC (start with --expose-gc), CPU, registrations
 *   reads {endpoints, inFlight, warmupMs, durationMs} | {endpoints, inFlight, count}
 *                                   server.read(random endpoint, '/3/0/9', TLV), a fixed number in flight
 *   observe {endpoints, inFlight}   server.observe(endpoint, '/3/0/9') on each
 *   events {event, warmupMs, durationMs}
 *                                   counts 'notification' or 'send' events inside the window
 * Endpoint lists travel as {prefix, first, count} ranges, not as names.
 */
import { performance } from 'node:perf_hooks';
import { fail, params, processFigures, send, serve } from '../lib/child.js';
import type { ChildMessage } from '../lib/proc.js';
import { READ_PATH, READ_VALUE } from '../lib/sim-clients.js';

/** Endpoints prefix + first .. prefix + (first + count - 1). */
export interface EndpointRange {
  readonly prefix: string;
  readonly first: number;
  readonly count: number;
}

export interface ReadsResult {
  /** Successful reads inside the window (all of them for a count-bound run). */
  readonly reads: number;
  /** Reads started over the whole run (warm-up included). */
  readonly total: number;
  readonly failed: number;
  /** Reads that came back with a value other than the one the clients answer. */
  readonly wrong: number;
  readonly windowMs: number;
  readonly rate: number;
  readonly cpuUs: number;
  /** The first error message seen, if any. */
  readonly firstError?: string;
}

export interface EventsResult {
  readonly events: number;
  readonly windowMs: number;
  readonly rate: number;
  /** Events over the whole count (warm-up included). */
  readonly total: number;
  readonly cpuUs: number;
}

const TLV = 11542;

export function endpointNames(ranges: readonly EndpointRange[]): string[] {
  return ranges.flatMap((r) => Array.from({ length: r.count }, (_, i) => `${r.prefix}${r.first + i}`));
}

async function main(): Promise<void> {
  // Loaded here, not at the top: a missing or broken server module is reported to the parent.
  const { Lwm2mServer } = require('../../src/server/lwm2m-server.js') as typeof import('../../src/server/lwm2m-server.js');
  const p = params<{ requestTimeoutMs?: number }>();
  const server = new Lwm2mServer({ address: '127.0.0.1', port: 0, requestTimeoutMs: p.requestTimeoutMs ?? 5000 });
  const counts = { notification: 0, send: 0 };
  server.on('notification', () => counts.notification++);
  server.on('send', () => counts.send++);
  server.on('warning', () => {});
  await server.start();
  const expected = READ_VALUE;
  const readPath = `/${READ_PATH}`;

  /** Reads until the window ends (time-bound) or `count` reads are done (count-bound). */
  const reads = async (msg: ChildMessage): Promise<ReadsResult> => {
    const names = endpointNames(msg.endpoints as EndpointRange[]);
    if (names.length === 0) throw new Error('reads: no endpoints');
    const inFlight = Math.max(1, Number(msg.inFlight));
    const count = msg.count === undefined ? Infinity : Number(msg.count);
    const warmupMs = Number(msg.warmupMs ?? 0);
    const durationMs = msg.durationMs === undefined ? Infinity : Number(msg.durationMs);
    let started = 0;
    let ok = 0;
    let failed = 0;
    let wrong = 0;
    let firstError: string | undefined;
    let running = true;
    let windowStart = performance.now();
    let windowStartOk = 0;
    let windowEnd = -1;
    let windowEndOk = 0;
    const cpu0 = process.cpuUsage();
    const timers: NodeJS.Timeout[] = [];
    const endWindow = (): void => {
      if (windowEnd >= 0) return;
      running = false;
      windowEnd = performance.now();
      windowEndOk = ok;
    };
    if (Number.isFinite(durationMs)) {
      timers.push(
        setTimeout(() => {
          windowStart = performance.now();
          windowStartOk = ok;
        }, warmupMs),
        setTimeout(endWindow, warmupMs + durationMs),
      );
    }
    const worker = async (): Promise<void> => {
      while (running && started < count) {
        started++;
        const name = names[Math.floor(Math.random() * names.length)]!;
        try {
          const r = await server.read(name, readPath, { format: TLV });
          if (r.value === expected) ok++;
          else wrong++;
        } catch (err) {
          failed++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    endWindow();
    for (const t of timers) clearTimeout(t);
    const cpu = process.cpuUsage(cpu0);
    const windowMs = windowEnd - windowStart;
    const reads = windowEndOk - windowStartOk;
    return { reads, total: started, failed, wrong, windowMs, rate: windowMs > 0 ? (reads * 1000) / windowMs : 0, cpuUs: cpu.user + cpu.system, ...(firstError ? { firstError } : {}) };
  };

  const observe = async (msg: ChildMessage): Promise<{ observed: number; failed: number; firstError?: string }> => {
    const names = endpointNames(msg.endpoints as EndpointRange[]);
    const inFlight = Math.max(1, Number(msg.inFlight));
    let next = 0;
    let observed = 0;
    let failed = 0;
    let firstError: string | undefined;
    const worker = async (): Promise<void> => {
      while (next < names.length) {
        const name = names[next++]!;
        try {
          await server.observe(name, readPath, { format: TLV });
          observed++;
        } catch (err) {
          failed++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    return { observed, failed, ...(firstError ? { firstError } : {}) };
  };

  const events = async (msg: ChildMessage): Promise<EventsResult> => {
    const event = msg.event as keyof typeof counts;
    if (!(event in counts)) throw new Error(`events: unknown event "${String(msg.event)}"`);
    const cpu0 = process.cpuUsage();
    const total0 = counts[event];
    await new Promise((resolve) => setTimeout(resolve, Number(msg.warmupMs)));
    const t0 = performance.now();
    const n0 = counts[event];
    await new Promise((resolve) => setTimeout(resolve, Number(msg.durationMs)));
    const windowMs = performance.now() - t0;
    const n = counts[event] - n0;
    const cpu = process.cpuUsage(cpu0);
    return { events: n, windowMs, rate: (n * 1000) / windowMs, total: counts[event] - total0, cpuUs: cpu.user + cpu.system };
  };

  serve(
    {
      figures: () =>
        send({ ...processFigures(true), registrations: server.store.size, observations: server.store.observationCount, coap: { ...server.coap.stats } }),
      reads: async (msg) => send({ type: 'reads', ...(await reads(msg)) }),
      observe: async (msg) => send({ type: 'observed', ...(await observe(msg)) }),
      events: async (msg) => send({ type: 'events', ...(await events(msg)) }),
    },
    () => server.stop(),
  );
  send({ type: 'ready', port: server.address().port });
}

if (require.main === module) main().catch(fail);
