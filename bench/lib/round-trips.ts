/**
 * One round-trip run, parent side: start the server process, start the
 * load processes (the sockets split between them), let them all go at
 * once, add up their rates, and read the server's CPU time for the run.
 */
import * as path from 'node:path';
import type { RoundTripServerKind } from '../procs/rr-server.js';
import { BenchChild, stopAll, type ChildMessage } from './proc.js';
import type { RoundTripLoadResult } from './round-trip-load.js';

export interface RoundTripShape {
  readonly sockets: number;
  readonly inFlight: number;
  /** Load processes the sockets are spread over. */
  readonly loadProcesses: number;
}

export interface RoundTripRun {
  /** Round trips per second, summed over the load processes. */
  readonly rate: number;
  /** Server CPU time per round trip (µs), over the whole run. */
  readonly serverCpuUsPerRt: number;
  /** CPU use of the busiest load process over its run (0..1 of one core). */
  readonly loadCpuShare: number;
  readonly lost: number;
  readonly bad: number;
  readonly rotations: number;
  readonly cutShort: boolean;
}

interface Figures extends ChildMessage {
  readonly cpuUs: number;
  readonly rss: number;
}

/** Splits n items into k near-equal parts. */
export function split(n: number, k: number): number[] {
  const parts: number[] = [];
  for (let i = 0; i < k; i++) parts.push(Math.floor(n / k) + (i < n % k ? 1 : 0));
  return parts.filter((p) => p > 0);
}

export async function runRoundTrips(
  benchDir: string,
  server: RoundTripServerKind,
  shape: RoundTripShape,
  timing: { warmupMs: number; durationMs: number },
): Promise<RoundTripRun> {
  const lifetimeMs = timing.warmupMs + timing.durationMs + 30_000;
  const children: BenchChild[] = [];
  try {
    const srv = new BenchChild(path.join(benchDir, 'procs', 'rr-server.js'), `${server} server`, {
      args: [JSON.stringify({ kind: server })],
      lifetimeMs,
    });
    children.push(srv);
    const { port } = await srv.next<ChildMessage & { port: number }>('ready', 10_000);
    const loads = split(shape.sockets, shape.loadProcesses).map((sockets, i) => {
      const child = new BenchChild(path.join(benchDir, 'procs', 'rr-load.js'), `load ${i + 1}`, {
        args: [
          JSON.stringify({
            host: '127.0.0.1',
            port,
            sockets,
            inFlight: shape.inFlight,
            warmupMs: timing.warmupMs,
            durationMs: timing.durationMs,
            expect: server === 'echo' ? 'echo' : 'coap',
          }),
        ],
        lifetimeMs,
      });
      children.push(child);
      return child;
    });
    await Promise.all(loads.map((l) => l.next('ready', 15_000)));
    const before = await srv.ask<Figures>({ type: 'figures' }, 'figures', 5000);
    const results = loads.map((l) => l.next<ChildMessage & RoundTripLoadResult>('result', lifetimeMs));
    for (const l of loads) l.send({ type: 'go' });
    const done = await Promise.all(results);
    const after = await srv.ask<Figures>({ type: 'figures' }, 'figures', 5000);
    const total = done.reduce((sum, r) => sum + r.totalResponses, 0);
    return {
      rate: done.reduce((sum, r) => sum + r.rate, 0),
      serverCpuUsPerRt: total > 0 ? (after.cpuUs - before.cpuUs) / total : NaN,
      loadCpuShare: Math.max(...done.map((r) => r.cpuUs / 1000 / r.wallMs)),
      lost: done.reduce((sum, r) => sum + r.lost, 0),
      bad: done.reduce((sum, r) => sum + r.bad, 0),
      rotations: done.reduce((sum, r) => sum + r.rotations, 0),
      cutShort: done.some((r) => r.cutShort),
    };
  } finally {
    await stopAll(children);
  }
}

/** The two load shapes of the round-trip scenarios. */
export const SHAPES = {
  /** One client socket keeping 16 requests outstanding. */
  oneSocket: { label: '1 socket × 16 in flight', sockets: 1, inFlight: 16, loadProcesses: 1 },
  /** 1000 client sockets with one request outstanding each, spread over two load processes. */
  manySockets: { label: '1000 sockets × 1 in flight', sockets: 1000, inFlight: 1, loadProcesses: 2 },
} as const satisfies Record<string, RoundTripShape & { label: string }>;

export type ShapeName = keyof typeof SHAPES;

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/**
 * Repeats one round-trip case `runs` times (a fresh server each run) and
 * returns its samples and a note with the medians of the side figures.
 */
export async function measureRoundTripCase(
  options: { benchDir: string; runs: number; warmupMs: number; durationMs: number; log: (line: string) => void },
  server: RoundTripServerKind,
  shapeName: ShapeName,
): Promise<{ samples: number[]; note: string }> {
  const shape = SHAPES[shapeName];
  const samples: number[] = [];
  const cpu: number[] = [];
  const loadShare: number[] = [];
  let lost = 0;
  let bad = 0;
  let rotations = 0;
  let cut = false;
  for (let run = 1; run <= options.runs; run++) {
    const r = await runRoundTrips(options.benchDir, server, shape, options);
    options.log(`  ${server}, ${shape.label}, run ${run}: ${Math.round(r.rate)} round trips/s`);
    samples.push(r.rate);
    cpu.push(r.serverCpuUsPerRt);
    loadShare.push(r.loadCpuShare);
    lost += r.lost;
    bad += r.bad;
    rotations += r.rotations;
    cut ||= r.cutShort;
  }
  const mid = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const parts = [
    `server ${mid(cpu).toFixed(1)} µs CPU/round trip`,
    `${shape.loadProcesses} load proc${shape.loadProcesses > 1 ? 's' : ''} at ${percent(mid(loadShare))} CPU`,
  ];
  if (lost > 0) parts.push(`${lost} lost`);
  if (bad > 0) parts.push(`${bad} bad answers`);
  if (rotations > 0 && server !== 'echo') parts.push(`client socket renewed ${rotations}× (every 60 000 message ids)`);
  if (cut) parts.push('window cut short (message ids used up)');
  return { samples, note: parts.join(', ') };
}
