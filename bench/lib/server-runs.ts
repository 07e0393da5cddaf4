/**
 * Parent side of the server scenarios: our LwM2M server in its own process
 * (procs/lwm2m-server.ts), the simulated clients spread over load
 * processes (procs/sim-clients.ts), and the Register + De-register load
 * (procs/cycle-load.ts). Each call waits with a deadline, so a hung child
 * fails the case instead of stalling the bench.
 */
import * as path from 'node:path';
import type { EndpointRange, EventsResult, ReadsResult } from '../procs/lwm2m-server.js';
import type { CycleLoadParams, CycleLoadResult } from './cycle-load.js';
import { BenchChild, stopAll, type ChildMessage } from './proc.js';
import { split } from './round-trips.js';
import type { NotifyResult, PhaseResult, SimClientsParams, SimCounters } from './sim-clients.js';

/** What the server process reports about itself (memory after a forced GC). */
export interface ServerFigures {
  readonly rss: number;
  readonly heapUsed: number;
  readonly cpuUs: number;
  readonly gc: boolean;
  readonly registrations: number;
  readonly observations: number;
  readonly coap: Readonly<Record<string, number>>;
}

type Reply<T> = ChildMessage & T;

export interface ServerStartOptions {
  /** Killed after this long whatever it does. */
  readonly lifetimeMs: number;
  /** Write a V8 CPU profile of the server process into this folder (--cpu-prof)... */
  readonly cpuProfDir?: string;
  /** ...under this file name. */
  readonly cpuProfName?: string;
  readonly requestTimeoutMs?: number;
}

export class ServerProcess {
  private constructor(
    private readonly child: BenchChild,
    readonly port: number,
  ) {}

  static async start(benchDir: string, options: ServerStartOptions): Promise<ServerProcess> {
    const execArgv = ['--expose-gc'];
    if (options.cpuProfDir) {
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
      if (options.cpuProfName) execArgv.push(`--cpu-prof-name=${options.cpuProfName}`);
    }
    const child = new BenchChild(path.join(benchDir, 'procs', 'lwm2m-server.js'), 'LwM2M server', {
      args: [JSON.stringify({ ...(options.requestTimeoutMs !== undefined ? { requestTimeoutMs: options.requestTimeoutMs } : {}) })],
      execArgv,
      lifetimeMs: options.lifetimeMs,
    });
    try {
      const { port } = await child.next<Reply<{ port: number }>>('ready', 20_000);
      return new ServerProcess(child, port);
    } catch (err) {
      await child.stop();
      throw err;
    }
  }

  figures(): Promise<ServerFigures> {
    return this.child.ask<Reply<ServerFigures>>({ type: 'figures' }, 'figures', 30_000);
  }

  /** Reads for a time window (warmupMs + durationMs) or a count. */
  reads(p: { endpoints: readonly EndpointRange[]; inFlight: number } & ({ warmupMs: number; durationMs: number } | { count: number }), timeoutMs: number): Promise<ReadsResult> {
    return this.child.ask<Reply<ReadsResult>>({ type: 'reads', ...p }, 'reads', timeoutMs);
  }

  observe(p: { endpoints: readonly EndpointRange[]; inFlight: number }, timeoutMs: number): Promise<{ observed: number; failed: number; firstError?: string }> {
    return this.child.ask<Reply<{ observed: number; failed: number; firstError?: string }>>({ type: 'observe', ...p }, 'observed', timeoutMs);
  }

  events(p: { event: 'notification' | 'send'; warmupMs: number; durationMs: number }): Promise<EventsResult> {
    return this.child.ask<Reply<EventsResult>>({ type: 'events', ...p }, 'events', p.warmupMs + p.durationMs + 10_000);
  }

  stop(): Promise<void> {
    // A CPU profile is written while the process exits: give it time.
    return this.child.stop(10_000);
  }
}

/** Phase results of several load processes put together. */
export interface FleetPhase {
  readonly ok: number;
  readonly failed: number;
  readonly codes: Readonly<Record<string, number>>;
  /** Sum of the processes' window rates. */
  readonly rate: number;
  readonly elapsedMs: number;
  /** CPU share of the busiest load process over its phase (0..1 of a core). */
  readonly loadCpuShare: number;
  readonly retransmissions: number;
  readonly timeouts: number;
}

export interface FleetNotify extends FleetPhase {
  readonly observed: number;
  readonly nonSent: number;
  readonly conSent: number;
  /** Notifications per second sent inside the load processes' windows. */
  readonly sentRate: number;
}

function mergeCodes(results: ReadonlyArray<{ codes: Readonly<Record<string, number>> }>): Record<string, number> {
  const codes: Record<string, number> = {};
  for (const r of results) for (const [code, n] of Object.entries(r.codes)) codes[code] = (codes[code] ?? 0) + n;
  return codes;
}

function mergePhases(results: readonly PhaseResult[]): FleetPhase {
  return {
    ok: results.reduce((s, r) => s + r.ok, 0),
    failed: results.reduce((s, r) => s + r.failed, 0),
    codes: mergeCodes(results),
    rate: results.reduce((s, r) => s + r.rate, 0),
    elapsedMs: Math.max(...results.map((r) => r.elapsedMs)),
    loadCpuShare: Math.max(...results.map((r) => (r.elapsedMs > 0 ? r.cpuUs / 1000 / r.elapsedMs : 0))),
    retransmissions: results.reduce((s, r) => s + r.retransmissions, 0),
    timeouts: results.reduce((s, r) => s + r.timeouts, 0),
  };
}

/** The simulated clients, split over load processes (each its own index range). */
export class SimFleet {
  private constructor(
    private readonly children: BenchChild[],
    private readonly shares: readonly EndpointRange[],
  ) {}

  static async start(
    benchDir: string,
    p: { port: number; clients: number; processes: number; prefix?: string; lifetimeMs: number; ackTimeoutMs?: number },
  ): Promise<SimFleet> {
    const prefix = p.prefix ?? 'sim-';
    const counts = split(p.clients, Math.max(1, p.processes));
    const children: BenchChild[] = [];
    const shares: EndpointRange[] = [];
    let first = 0;
    for (let i = 0; i < counts.length; i++) {
      const params: SimClientsParams = {
        host: '127.0.0.1',
        port: p.port,
        clients: counts[i]!,
        prefix,
        firstIndex: first,
        ...(p.ackTimeoutMs !== undefined ? { ackTimeoutMs: p.ackTimeoutMs } : {}),
      };
      shares.push({ prefix, first, count: counts[i]! });
      first += counts[i]!;
      children.push(new BenchChild(path.join(benchDir, 'procs', 'sim-clients.js'), `simulated clients ${i + 1}`, { args: [JSON.stringify(params)], lifetimeMs: p.lifetimeMs }));
    }
    try {
      await Promise.all(children.map((c) => c.next('ready', 20_000)));
    } catch (err) {
      await stopAll(children);
      throw err;
    }
    return new SimFleet(children, shares);
  }

  /** Which endpoints the fleet has (for the server's reads and observes). */
  get endpoints(): readonly EndpointRange[] {
    return this.shares;
  }

  /** Every client registers; `inFlight` Registers outstanding over all processes. */
  async register(inFlight: number, maxDurationMs: number): Promise<FleetPhase> {
    const windows = split(inFlight, this.children.length);
    const results = await Promise.all(
      this.children.map((c, i) =>
        c.ask<Reply<PhaseResult>>({ type: 'register', inFlight: Math.max(1, windows[i] ?? 1), maxDurationMs }, 'registered', maxDurationMs + 10_000),
      ),
    );
    return mergePhases(results);
  }

  async sends(p: { inFlight: number; warmupMs: number; durationMs: number }): Promise<FleetPhase> {
    const windows = split(p.inFlight, this.children.length);
    const results = await Promise.all(
      this.children.map((c, i) =>
        c.ask<Reply<PhaseResult>>({ type: 'sends', ...p, inFlight: Math.max(1, windows[i] ?? 1) }, 'sent', p.warmupMs + p.durationMs + 10_000),
      ),
    );
    return mergePhases(results);
  }

  async notify(p: { nonPerCon: number; warmupMs: number; durationMs: number }): Promise<FleetNotify> {
    const results = await Promise.all(
      this.children.map((c) => c.ask<Reply<NotifyResult>>({ type: 'notify', ...p }, 'notified', p.warmupMs + p.durationMs + 10_000)),
    );
    return {
      ...mergePhases(results),
      observed: results.reduce((s, r) => s + r.observed, 0),
      nonSent: results.reduce((s, r) => s + r.nonSent, 0),
      conSent: results.reduce((s, r) => s + r.conSent, 0),
      sentRate: results.reduce((s, r) => s + (r.windowMs > 0 ? (r.sentInWindow * 1000) / r.windowMs : 0), 0),
    };
  }

  /** The clients' own counters, added up. */
  async counters(): Promise<SimCounters & { observed: number }> {
    const all = await Promise.all(this.children.map((c) => c.ask<Reply<SimCounters & { observed: number }>>({ type: 'counters' }, 'counters', 10_000)));
    const sum = (k: keyof SimCounters | 'observed'): number => all.reduce((s, r) => s + r[k], 0);
    return {
      readsAnswered: sum('readsAnswered'),
      observesAccepted: sum('observesAccepted'),
      observesCancelled: sum('observesCancelled'),
      refused: sum('refused'),
      malformed: sum('malformed'),
      retransmissions: sum('retransmissions'),
      timeouts: sum('timeouts'),
      resetsReceived: sum('resetsReceived'),
      observed: sum('observed'),
    };
  }

  stop(): Promise<void> {
    return stopAll(this.children);
  }
}

/** Runs the Register + De-register load from `processes` children (the lanes split between them) and adds up. */
export async function cyclesFromChildren(
  benchDir: string,
  p: Omit<CycleLoadParams, 'firstIndex'> & { processes: number },
): Promise<CycleLoadResult> {
  const counts = split(p.endpoints, Math.max(1, p.processes));
  const windows = split(p.inFlight, counts.length);
  const children: BenchChild[] = [];
  try {
    let first = 0;
    for (let i = 0; i < counts.length; i++) {
      const { processes: _unused, ...rest } = p;
      const params: CycleLoadParams = { ...rest, endpoints: counts[i]!, inFlight: Math.max(1, windows[i] ?? 1), firstIndex: first };
      first += counts[i]!;
      children.push(new BenchChild(path.join(benchDir, 'procs', 'cycle-load.js'), `cycle load ${i + 1}`, { args: [JSON.stringify(params)], lifetimeMs: p.maxDurationMs + 30_000 }));
    }
    await Promise.all(children.map((c) => c.next('ready', 10_000)));
    const pending = children.map((c) => c.next<Reply<CycleLoadResult>>('result', p.maxDurationMs + 20_000));
    for (const c of children) c.send({ type: 'go' });
    const results = await Promise.all(pending);
    const cycles = results.reduce((s, r) => s + r.cycles, 0);
    const elapsedMs = Math.max(...results.map((r) => r.elapsedMs));
    return {
      cycles,
      failed: results.reduce((s, r) => s + r.failed, 0),
      retransmissions: results.reduce((s, r) => s + r.retransmissions, 0),
      codes: mergeCodes(results),
      elapsedMs,
      rate: elapsedMs > 0 ? (cycles * 1000) / elapsedMs : 0,
      timedOut: results.some((r) => r.timedOut),
    };
  } finally {
    await stopAll(children);
  }
}
