/**
 * Scenario "server": our LwM2M server (src/server/lwm2m-server.ts) alone
 * in its process (procs/lwm2m-server.ts), the load in other processes.
 *
 *  registrations  N distinct endpoints register, 64 in flight (the same
 *                 generator and figures as the "peers" scenario), ratio vs
 *                 the best JS peer of this bench run; RSS bytes/registration
 *                 after N from the same runs;
 *  cycles         each endpoint registers, then deletes its Location-Path;
 *  fleet          1 000 simulated clients (procs/sim-clients.ts, over 2
 *                 processes) register, then: server.read('/3/0/9') on random
 *                 ones, 64 in flight (ratio vs the raw dgram echo with 1 000
 *                 sockets, "limit"); RSS before/after a bounded number of
 *                 reads; Send (POST /dp, SenML CBOR) from the clients; the
 *                 server observes every client and the clients notify;
 *  memory         100 000 registrations in one server process: bytes per
 *                 registration and the absolute RSS.
 *
 * Every case runs `options.runs` times, each with a fresh server process.
 * Set BENCH_SERVER_CPU_PROF=<folder> to write a V8 CPU profile of every
 * server process there (summarize one with `node dist/bench/profile-summary.js <file>`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cyclesFromChildren, ServerProcess, SimFleet, type ServerFigures } from '../lib/server-runs.js';
import { PEERS, resolvePeer } from '../lib/peers.js';
import { measureRegistrationRun, registerFromChildren } from '../lib/registrations.js';
import { median } from '../lib/stats.js';
import { formatNumber } from '../lib/table.js';
import { failedMeasurement, type BenchOptions, type Measurement, type Scenario } from '../scenario.js';
import { REGISTRATION_LOAD } from './peers.js';

export const SERVER_LOAD = {
  registrations: { endpoints: REGISTRATION_LOAD.endpoints, quickEndpoints: REGISTRATION_LOAD.quickEndpoints, inFlight: REGISTRATION_LOAD.inFlight, processes: 2 },
  cycles: { endpoints: 10_000, quickEndpoints: 2_000, inFlight: 64, processes: 2 },
  /**
   * 7 NON + 1 CON per ACK: enough outstanding notifications to keep the
   * server busy here, few enough that none are dropped in its socket buffer.
   */
  fleet: { clients: 1000, processes: 2, inFlight: 64, nonPerCon: 7 },
  memory: { endpoints: 100_000, quickEndpoints: 20_000, limitMB: 256 },
  /** Reads between the two RSS figures of the drift row (the 1 000 000 of the target scaled down). */
  drift: { reads: 200_000, quickReads: 20_000, target: 1_000_000 },
  /** Targets quoted in the notes. */
  targets: { vsBestPeer: 3, vsRaw: 0.5, bytesPerRegistration: 1536 },
} as const;

const KEYS = {
  registrations: 'server/registrations',
  rss10k: 'server/rss-per-registration',
  cycles: 'server/cycles',
  reads: 'server/reads',
  drift: 'server/read-drift',
  sends: 'server/sends',
  notifications: 'server/notifications',
  rss100k: 'server/rss-per-registration-100k',
  rss100kTotal: 'server/rss-100k-total',
} as const;

const RAW_LIMIT = 'limit/manySockets';

const mid = (xs: readonly number[]): number => (xs.length > 0 ? median(xs) : NaN);
/** A count as people write it: 47, 1 234 (formatNumber would give 47.0). */
const count = (n: number): string => (Math.abs(n) >= 1000 ? formatNumber(n) : String(Math.round(n)));
const plural = (n: number, word: string): string => `${count(n)} ${word}${n === 1 ? '' : 's'}`;

/**
 * What went wrong over the runs of a case, for its note: each text once
 * with how many runs it happened in, and counts added up over the runs.
 */
export class Problems {
  private readonly seen = new Map<string, number>();
  private readonly tallies = new Map<string, number>();
  add(text: string): void {
    this.seen.set(text, (this.seen.get(text) ?? 0) + 1);
  }
  /** Adds n (when > 0) to the count of `what`, e.g. tally('retransmissions', 47). */
  tally(what: string, n: number): void {
    if (n > 0) this.tallies.set(what, (this.tallies.get(what) ?? 0) + n);
  }
  list(): string[] {
    return [
      ...[...this.seen].map(([text, n]) => (n > 1 ? `${text} (${n} runs)` : text)),
      ...[...this.tallies].map(([what, n]) => `${count(n)} ${what} over the runs`),
    ];
  }
}

function cpuProfiling(label: string, run: number): { cpuProfDir?: string; cpuProfName?: string } {
  const dir = process.env.BENCH_SERVER_CPU_PROF;
  if (!dir) return {};
  fs.mkdirSync(dir, { recursive: true });
  return { cpuProfDir: path.resolve(dir), cpuProfName: `server-${label}-run${run}.cpuprofile` };
}

/** A note on the JS peers the registration rows are compared with. */
function peerNote(options: BenchOptions): string {
  const missing = PEERS.filter((p) => !resolvePeer(p.pkg, options.repoRoot, options.peersDir));
  if (missing.length === PEERS.length) {
    return `no JS peer installed, so no ratio (${PEERS.map((p) => p.howToGet).join('; ')})`;
  }
  return missing.length > 0 ? `not installed: ${missing.map((p) => p.name).join(', ')}` : '';
}

// ------------------------------------------------------------------ registrations

async function registrationRows(options: BenchOptions): Promise<Measurement[]> {
  const load = SERVER_LOAD.registrations;
  const endpoints = options.quick ? load.quickEndpoints : load.endpoints;
  const rateBase = {
    key: KEYS.registrations,
    scenario: 'server',
    case: `our Lwm2mServer, ${formatNumber(endpoints)} Registers × ${load.inFlight} in flight (${load.processes} load procs)`,
    metric: 'registrations/s',
    bestOf: { keys: PEERS.map((p) => `peers/${p.name}/rate`) },
    baseline: `peers/${PEERS[0]!.name}/rate`,
  };
  const memBase = {
    key: KEYS.rss10k,
    scenario: 'server',
    case: `our Lwm2mServer, after ${formatNumber(endpoints)} registrations`,
    metric: 'RSS bytes/registration',
    bestOf: { keys: PEERS.map((p) => `peers/${p.name}/rss`), lowerIsBetter: true },
    baseline: `peers/${PEERS[0]!.name}/rss`,
  };
  const rates: number[] = [];
  const rss: number[] = [];
  const heap: number[] = [];
  const cpu: number[] = [];
  const problems = new Problems();
  try {
    for (let run = 1; run <= options.runs; run++) {
      const server = await ServerProcess.start(options.benchDir, { lifetimeMs: 120_000, ...cpuProfiling('registrations', run) });
      try {
        let first: ServerFigures | undefined;
        let last: ServerFigures | undefined;
        const memory = async (): Promise<ServerFigures> => {
          const f = await server.figures();
          first ??= f;
          last = f;
          return f;
        };
        const r = await measureRegistrationRun(options.benchDir, memory, server.port, {
          endpoints,
          inFlight: load.inFlight,
          processes: load.processes,
          maxDurationMs: 90_000,
        });
        options.log(`  our server, run ${run}: ${Math.round(r.rate)} registrations/s, ${Math.round(r.rssPerRegistration)} RSS bytes/registration`);
        if (r.load.registered < endpoints) problems.add(`${endpoints - r.load.registered} of ${endpoints} not registered (${JSON.stringify(r.load.codes)})`);
        if (r.distinctLocations < r.load.registered) problems.add(`only ${r.distinctLocations} distinct Location-Paths`);
        problems.tally('retransmissions', r.load.retransmissions);
        if (last && last.registrations !== r.load.registered) problems.add(`server holds ${last.registrations} registrations`);
        if (r.load.registered > 0) {
          rates.push(r.rate);
          rss.push(r.rssPerRegistration);
          heap.push(r.heapPerRegistration);
          if (first && last) cpu.push((last.cpuUs - first.cpuUs) / r.load.registered);
        }
      } finally {
        await server.stop();
      }
    }
  } catch (err) {
    return [failedMeasurement(rateBase, err), failedMeasurement(memBase, err)];
  }
  const peers = peerNote(options);
  const target = SERVER_LOAD.targets;
  const rateNote = [`server ${mid(cpu).toFixed(1)} µs CPU/registration`, `target ≥ ${target.vsBestPeer}× the best JS peer`, peers, ...problems.list()];
  const bytes = mid(rss);
  const memNote = [
    `heap ${formatNumber(mid(heap))} bytes/registration`,
    `target ≤ ${formatNumber(target.bytesPerRegistration)}: ${bytes <= target.bytesPerRegistration ? 'met' : 'missed'}`,
    `${load.inFlight} client sockets, as for the peers`,
    'RSS includes one-off growth under load (V8 young generation): see the 100 000 row',
    peers,
    ...problems.list(),
  ];
  return [
    { ...rateBase, samples: rates, note: rateNote.filter((t) => t).join('; ') },
    { ...memBase, samples: rss, note: memNote.filter((t) => t).join('; ') },
  ];
}

// ------------------------------------------------------------------ Register + De-register

async function cycleRows(options: BenchOptions): Promise<Measurement[]> {
  const load = SERVER_LOAD.cycles;
  const endpoints = options.quick ? load.quickEndpoints : load.endpoints;
  const base = {
    key: KEYS.cycles,
    scenario: 'server',
    case: `our Lwm2mServer, ${formatNumber(endpoints)} × (Register, De-register) × ${load.inFlight} in flight`,
    metric: 'cycles/s',
  };
  const rates: number[] = [];
  const cpu: number[] = [];
  const left: number[] = [];
  const problems = new Problems();
  try {
    for (let run = 1; run <= options.runs; run++) {
      const server = await ServerProcess.start(options.benchDir, { lifetimeMs: 120_000, ...cpuProfiling('cycles', run) });
      try {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const before = await server.figures();
        const r = await cyclesFromChildren(options.benchDir, { host: '127.0.0.1', port: server.port, endpoints, inFlight: load.inFlight, processes: load.processes, maxDurationMs: 90_000 });
        const after = await server.figures();
        options.log(`  our server, run ${run}: ${Math.round(r.rate)} Register + De-register cycles/s`);
        if (r.cycles < endpoints) problems.add(`${endpoints - r.cycles} of ${endpoints} cycles incomplete (${JSON.stringify(r.codes)})`);
        problems.tally('retransmissions', r.retransmissions);
        if (r.cycles > 0) {
          rates.push(r.rate);
          cpu.push((after.cpuUs - before.cpuUs) / r.cycles);
          left.push(after.registrations);
        }
      } finally {
        await server.stop();
      }
    }
  } catch (err) {
    return [failedMeasurement(base, err)];
  }
  const note = [
    `= ${formatNumber(2 * mid(rates))} requests/s`,
    `server ${mid(cpu).toFixed(1)} µs CPU/cycle`,
    left.some((n) => n > 0) ? `registrations left after the runs: ${left.join(', ')}` : 'no registration left after a run',
    ...problems.list(),
  ];
  return [{ ...base, samples: rates, note: note.join('; ') }];
}

// ------------------------------------------------------------------ the fleet of simulated clients

interface FleetFigures {
  reads: number[];
  readCpu: number[];
  drift: number[];
  heapDrift: number[];
  sends: number[];
  sendEvents: number[];
  sendCpu: number[];
  notifications: number[];
  notificationsSent: number[];
  notificationCpu: number[];
  /** Notifications/s the clients sent minus the events/s the server counted, per run. */
  notificationGap: number[];
  /** Problems per row, and those of the clients that belong to every row. */
  problems: { reads: Problems; sends: Problems; notifications: Problems; clients: Problems };
}

async function fleetRun(options: BenchOptions, run: number, f: FleetFigures): Promise<void> {
  const load = SERVER_LOAD.fleet;
  const { warmupMs, durationMs } = options;
  // The load side runs a little longer than the server's counting window, so that window is full.
  const loadMs = durationMs + 250;
  const lifetimeMs = 180_000;
  const server = await ServerProcess.start(options.benchDir, { lifetimeMs, ...cpuProfiling('fleet', run) });
  let fleet: SimFleet | undefined;
  try {
    fleet = await SimFleet.start(options.benchDir, { port: server.port, clients: load.clients, processes: load.processes, lifetimeMs });
    const reg = await fleet.register(load.inFlight, 60_000);
    if (reg.ok < load.clients) throw new Error(`only ${reg.ok} of ${load.clients} simulated clients registered (${JSON.stringify(reg.codes)})`);
    f.problems.clients.tally('Register retransmissions', reg.retransmissions);
    const endpoints = fleet.endpoints;
    const start = await server.figures();

    // Reads for a time window.
    const reads = await server.reads({ endpoints, inFlight: load.inFlight, warmupMs, durationMs }, warmupMs + durationMs + 30_000);
    f.reads.push(reads.rate);
    f.readCpu.push(reads.cpuUs / Math.max(1, reads.total));
    if (reads.failed > 0) f.problems.reads.add(`${plural(reads.failed, 'read')} failed (${reads.firstError ?? '?'})`);
    if (reads.wrong > 0) f.problems.reads.add(`${plural(reads.wrong, 'read')} with a wrong value`);

    // RSS across a bounded number of reads.
    const driftReads = options.quick ? SERVER_LOAD.drift.quickReads : SERVER_LOAD.drift.reads;
    const before = await server.figures();
    const counted = await server.reads({ endpoints, inFlight: load.inFlight, count: driftReads }, 120_000);
    const after = await server.figures();
    f.problems.reads.tally('server retransmissions', (after.coap.retransmissions ?? 0) - (start.coap.retransmissions ?? 0));
    f.problems.reads.tally('server timeouts', (after.coap.timeouts ?? 0) - (start.coap.timeouts ?? 0));
    if (counted.failed > 0) f.problems.reads.add(`${plural(counted.failed, 'read')} failed in the RSS run (${counted.firstError ?? '?'})`);
    f.drift.push(((after.rss - before.rss) / before.rss) * 100);
    f.heapDrift.push(((after.heapUsed - before.heapUsed) / before.heapUsed) * 100);

    // Send from the clients; the server counts its 'send' events.
    const [sent, sendEvents] = await Promise.all([
      fleet.sends({ inFlight: load.inFlight, warmupMs, durationMs: loadMs }),
      server.events({ event: 'send', warmupMs, durationMs }),
    ]);
    f.sends.push(sent.rate);
    f.sendEvents.push(sendEvents.rate);
    f.sendCpu.push(sendEvents.cpuUs / Math.max(1, sendEvents.total));
    if (sent.failed > 0) f.problems.sends.add(`${plural(sent.failed, 'Send')} not answered 2.04 (${JSON.stringify(sent.codes)})`);
    f.problems.sends.tally('client retransmissions', sent.retransmissions);

    // Observe every client, then let them notify; the server counts 'notification' events.
    const observed = await server.observe({ endpoints, inFlight: load.inFlight }, 60_000);
    if (observed.failed > 0) f.problems.notifications.add(`${plural(observed.failed, 'observe')} failed (${observed.firstError ?? '?'})`);
    const [notified, notes] = await Promise.all([
      fleet.notify({ nonPerCon: load.nonPerCon, warmupMs, durationMs: loadMs }),
      server.events({ event: 'notification', warmupMs, durationMs }),
    ]);
    f.notifications.push(notes.rate);
    f.notificationsSent.push(notified.sentRate);
    f.notificationGap.push(notified.sentRate - notes.rate);
    f.notificationCpu.push(notes.cpuUs / Math.max(1, notes.total));
    if (notified.observed < load.clients) f.problems.notifications.add(`only ${notified.observed} clients observed`);
    if (notified.failed > 0) f.problems.notifications.add(`${plural(notified.failed, 'CON notification')} not acknowledged (${JSON.stringify(notified.codes)})`);
    f.problems.notifications.tally('CON notification retransmissions', notified.retransmissions);

    const counters = await fleet.counters();
    if (counters.refused > 0) f.problems.clients.add(`clients refused ${plural(counters.refused, 'request')}`);
    options.log(
      `  our server, run ${run}: ${Math.round(reads.rate)} reads/s, RSS ${f.drift.at(-1)!.toFixed(1)}% over ${formatNumber(driftReads)} reads, ` +
        `${Math.round(sent.rate)} Sends/s, ${Math.round(notes.rate)} notifications/s`,
    );
  } finally {
    await fleet?.stop();
    await server.stop();
  }
}

async function fleetRows(options: BenchOptions): Promise<Measurement[]> {
  const load = SERVER_LOAD.fleet;
  const clients = `${formatNumber(load.clients)} simulated clients (${load.processes} load procs)`;
  const driftReadsPlanned = options.quick ? SERVER_LOAD.drift.quickReads : SERVER_LOAD.drift.reads;
  const bases = {
    reads: {
      key: KEYS.reads,
      scenario: 'server',
      case: `server.read('/3/0/9') TLV, ${clients}, ${load.inFlight} in flight`,
      metric: 'reads/s',
      baseline: RAW_LIMIT,
    },
    drift: {
      key: KEYS.drift,
      scenario: 'server',
      case: `RSS after ${formatNumber(driftReadsPlanned)} more reads vs before (GC'd both)`,
      metric: '% RSS change',
    },
    sends: {
      key: KEYS.sends,
      scenario: 'server',
      case: `Send (POST /dp, SenML CBOR) from ${clients}, ${load.inFlight} in flight`,
      metric: 'Sends/s (2.04)',
      baseline: RAW_LIMIT,
    },
    notifications: {
      key: KEYS.notifications,
      scenario: 'server',
      case: `notification events, ${formatNumber(load.clients)} observed clients, ${load.nonPerCon} NON + 1 CON per ACK`,
      metric: 'notifications/s',
      alsoVs: [RAW_LIMIT],
    },
  } as const;
  const f: FleetFigures = {
    reads: [],
    readCpu: [],
    drift: [],
    heapDrift: [],
    sends: [],
    sendEvents: [],
    sendCpu: [],
    notifications: [],
    notificationsSent: [],
    notificationCpu: [],
    notificationGap: [],
    problems: { reads: new Problems(), sends: new Problems(), notifications: new Problems(), clients: new Problems() },
  };
  let error: unknown;
  for (let run = 1; run <= options.runs && error === undefined; run++) {
    try {
      await fleetRun(options, run, f);
    } catch (err) {
      error = err;
    }
  }
  if (error !== undefined && f.reads.length === 0) return Object.values(bases).map((b) => failedMeasurement(b, error));
  const clientProblems = f.problems.clients.list();
  const errorField = error !== undefined ? { error: failedMeasurement(bases.reads, error).error! } : {};
  const readsPerSecond = mid(f.reads);
  const fullRunS = readsPerSecond > 0 ? SERVER_LOAD.drift.target / readsPerSecond : NaN;
  return [
    {
      ...bases.reads,
      samples: f.reads,
      note: [`server ${mid(f.readCpu).toFixed(1)} µs CPU/read`, `target ≥ ${SERVER_LOAD.targets.vsRaw.toFixed(2)}× raw`, ...f.problems.reads.list(), ...clientProblems].join('; '),
      ...errorField,
    },
    {
      ...bases.drift,
      samples: f.drift,
      note: [
        `heap ${mid(f.heapDrift) >= 0 ? '+' : ''}${mid(f.heapDrift).toFixed(1)}%`,
        `scaled down from ${formatNumber(SERVER_LOAD.drift.target)} reads: at ${formatNumber(readsPerSecond)} reads/s those take ~${Math.round(fullRunS)} s a run, ` +
          `~${Math.round((fullRunS * options.runs) / 60)} min for ${plural(options.runs, 'run')} of a bench that has 10 min in all`,
      ].join('; '),
      ...errorField,
    },
    {
      ...bases.sends,
      samples: f.sends,
      note: [`server counted ${formatNumber(mid(f.sendEvents))} 'send' events/s`, `server ${mid(f.sendCpu).toFixed(1)} µs CPU/Send`, ...f.problems.sends.list(), ...clientProblems].join('; '),
      ...errorField,
    },
    {
      ...bases.notifications,
      samples: f.notifications,
      note: [
        `clients sent ${formatNumber(mid(f.notificationsSent))}/s`,
        `sent − counted: ${formatNumber(mid(f.notificationGap))}/s`,
        `server ${mid(f.notificationCpu).toFixed(1)} µs CPU/notification`,
        'one datagram in per notification (+ an ACK out per CON), two per echo round trip',
        ...f.problems.notifications.list(),
        ...clientProblems,
      ].join('; '),
      ...errorField,
    },
  ];
}

// ------------------------------------------------------------------ 100 000 registrations

async function bigMemoryRows(options: BenchOptions): Promise<Measurement[]> {
  const load = SERVER_LOAD.memory;
  const endpoints = options.quick ? load.quickEndpoints : load.endpoints;
  const perReg = {
    key: KEYS.rss100k,
    scenario: 'server',
    case: `our Lwm2mServer, after ${formatNumber(endpoints)} registrations`,
    metric: 'RSS bytes/registration',
    baseline: KEYS.rss10k,
  };
  const total = {
    key: KEYS.rss100kTotal,
    scenario: 'server',
    case: `${formatNumber(endpoints)} registrations in one process (target < ${load.limitMB} MB)`,
    metric: 'MB RSS',
  };
  const rss: number[] = [];
  const heap: number[] = [];
  const absolute: number[] = [];
  const absoluteHeap: number[] = [];
  const rates: number[] = [];
  const marginal: number[] = [];
  const problems = new Problems();
  try {
    for (let run = 1; run <= options.runs; run++) {
      const server = await ServerProcess.start(options.benchDir, { lifetimeMs: 240_000, ...cpuProfiling('memory', run) });
      try {
        // Two steps, so the growth from the first `firstStep` registrations on is seen apart.
        const firstStep = Math.min(SERVER_LOAD.registrations.endpoints, endpoints);
        const loadOf = (n: number, prefix: string) => ({
          host: '127.0.0.1',
          port: server.port,
          endpoints: n,
          prefix,
          inFlight: SERVER_LOAD.registrations.inFlight,
          processes: SERVER_LOAD.registrations.processes,
          maxDurationMs: 180_000,
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        const before = await server.figures();
        const a = await registerFromChildren(options.benchDir, loadOf(firstStep, 'mem-a-'));
        const middle = await server.figures();
        const b = await registerFromChildren(options.benchDir, loadOf(endpoints - firstStep, 'mem-b-'));
        const after = await server.figures();
        const registered = a.registered + b.registered;
        if (registered < endpoints) problems.add(`${endpoints - registered} of ${endpoints} not registered (${JSON.stringify({ ...a.codes, ...b.codes })})`);
        if (after.registrations !== registered) problems.add(`server holds ${after.registrations} registrations`);
        if (registered > 0) {
          const perRegistration = (after.rss - before.rss) / registered;
          rss.push(perRegistration);
          heap.push((after.heapUsed - before.heapUsed) / registered);
          if (b.registered > 0) marginal.push((after.rss - middle.rss) / b.registered);
          absolute.push(after.rss / 1e6);
          absoluteHeap.push(after.heapUsed / 1e6);
          rates.push((registered * 1000) / (a.elapsedMs + b.elapsedMs));
          options.log(`  our server, run ${run}: ${formatNumber(registered)} registrations, ${Math.round(perRegistration)} RSS bytes/registration, ${(after.rss / 1e6).toFixed(0)} MB RSS`);
        }
      } finally {
        await server.stop();
      }
    }
  } catch (err) {
    return [failedMeasurement(perReg, err), failedMeasurement(total, err)];
  }
  const over = absolute.filter((mb) => mb >= load.limitMB).length;
  return [
    {
      ...perReg,
      samples: rss,
      note: [
        `heap ${formatNumber(mid(heap))} bytes/registration`,
        `RSS from registration ${formatNumber(Math.min(SERVER_LOAD.registrations.endpoints, endpoints))} on: ${formatNumber(mid(marginal))} bytes/registration`,
        `registered at ${formatNumber(mid(rates))}/s`,
        ...problems.list(),
      ].join('; '),
    },
    {
      ...total,
      samples: absolute,
      note: [
        over === 0 ? `under ${load.limitMB} MB in every run` : `${load.limitMB} MB or more in ${over} of ${absolute.length} runs`,
        `heap ${formatNumber(mid(absoluteHeap))} MB after GC`,
        ...problems.list(),
      ].join('; '),
    },
  ];
}

export const serverScenario: Scenario = {
  name: 'server',
  description:
    'our LwM2M server: registrations/s (vs the best JS peer), Register+De-register cycles/s, reads/s, Sends/s and notifications/s ' +
    'with 1 000 simulated clients (vs raw dgram), RSS per registration at 10 000 and 100 000, RSS across reads',
  async run(options) {
    return [...(await registrationRows(options)), ...(await cycleRows(options)), ...(await fleetRows(options)), ...(await bigMemoryRows(options))];
  },
};
