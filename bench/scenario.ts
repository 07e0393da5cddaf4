/**
 * The contract between the bench runner and its scenarios. A scenario is
 * one module that exports an object of type `Scenario`; the runner picks
 * scenarios from `scenarios/index.ts`, runs them one after another and
 * turns their measurements into one table.
 *
 * A scenario starts the system under test and its load generator as
 * separate child processes (see lib/proc.ts), repeats each case
 * `options.runs` times and returns one `Measurement` per case and metric.
 */

export interface BenchOptions {
  /** --quick: one run, shorter windows, smaller counts (for development). */
  readonly quick: boolean;
  /** How many times each case is repeated (>= 3 unless quick). */
  readonly runs: number;
  /** Measured window of one throughput run (ms). */
  readonly durationMs: number;
  /** Traffic before the measured window starts (ms): lets the JIT and caches settle. */
  readonly warmupMs: number;
  /** The repository root (package.json, node_modules). */
  readonly repoRoot: string;
  /** Where the compiled bench lives (dist/bench), to find the child scripts. */
  readonly benchDir: string;
  /** Extra folder whose node_modules may hold the peer packages (--peers-dir). */
  readonly peersDir?: string;
  /** Progress lines (stderr): stdout is kept for the one result table. */
  readonly log: (line: string) => void;
}

/** One row of the result table: one case, one metric, several runs. */
export interface Measurement {
  /** Unique key ("limit/1x16"), used by other rows to name their baseline. */
  readonly key: string;
  readonly scenario: string;
  /** What was measured, e.g. "node-coap, 1 socket × 16 in flight". */
  readonly case: string;
  /** The unit of the figures, e.g. "round trips/s", "MB/s", "MB RSS". */
  readonly metric: string;
  /** One figure per run; empty when the case could not run. */
  readonly samples: readonly number[];
  /** Key of the row this one is compared with (ratio = median / baseline median). */
  readonly baseline?: string;
  /**
   * Compare with whichever of these rows did best in this bench run: the
   * highest median (the lowest with `lowerIsBetter`) among those that have
   * figures. `baseline` is the row named when none of them has any.
   */
  readonly bestOf?: { readonly keys: readonly string[]; readonly lowerIsBetter?: boolean };
  /** Further rows to compare with: their ratios go into the notes. */
  readonly alsoVs?: readonly string[];
  /** Short extra facts: CPU per round trip, losses, what was loaded... */
  readonly note?: string;
  /** Why the case has no figures because it failed (crashed, timed out): the bench exits non-zero. */
  readonly error?: string;
  /** Why the case was not run although nothing failed (e.g. a peer package is not installed). */
  readonly skipped?: string;
}

export interface Scenario {
  /** Short name used by --only (lower case, no spaces). */
  readonly name: string;
  /** One line for --list. */
  readonly description: string;
  run(options: BenchOptions): Promise<Measurement[]>;
}

/** A row for a case that could not be measured. */
export function failedMeasurement(base: Omit<Measurement, 'samples' | 'error'>, error: unknown): Measurement {
  const message = error instanceof Error ? error.message : String(error);
  return { ...base, samples: [], error: message.split('\n')[0]!.slice(0, 200) };
}
