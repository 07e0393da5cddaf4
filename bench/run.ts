/**
 * `npm run bench`: runs the scenarios of scenarios/index.ts one after the
 * other, prints one table to stdout (progress goes to stderr) and writes
 * the same table as Markdown to bench/results/<timestamp>.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArgsError, parseArgs, USAGE, type BenchArgs } from './lib/args.js';
import { defaultPeersDir, installPeers } from './lib/peer-install.js';
import { PEERS } from './lib/peers.js';
import { buildRows, formatMarkdown, formatText } from './lib/table.js';
import { failedMeasurement, type BenchOptions, type Measurement } from './scenario.js';
import { SCENARIOS, selectScenarios } from './scenarios/index.js';

/** dist/bench/run.js → the repository root two levels up. */
const BENCH_DIR = __dirname;
const REPO_ROOT = path.resolve(__dirname, '..', '..');

export function benchOptions(args: BenchArgs, log: (line: string) => void): BenchOptions {
  const peersDir = args.peersDir ?? process.env.BENCH_PEERS_DIR ?? defaultPeersDir(REPO_ROOT);
  return {
    quick: args.quick,
    runs: args.runs ?? (args.quick ? 1 : 3),
    durationMs: args.durationMs ?? (args.quick ? 700 : 2000),
    warmupMs: args.quick ? 300 : 500,
    repoRoot: REPO_ROOT,
    benchDir: BENCH_DIR,
    ...(peersDir ? { peersDir: path.resolve(peersDir) } : {}),
    log,
  };
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
}

function machineLine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  return `Node ${process.version}, ${os.platform()} ${os.arch()}, ${cpus.length} × ${cpus[0]?.model.trim() ?? 'CPU'}, load average at start ${load}`;
}

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ArgsError) {
      process.stderr.write(`${err.message}\n${USAGE}\n`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.list) {
    for (const s of SCENARIOS) process.stdout.write(`${s.name.padEnd(10)} ${s.description}\n`);
    return 0;
  }
  let scenarios;
  try {
    scenarios = selectScenarios(args.only);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const options = benchOptions(args, log);
  const peersWanted = scenarios.some((s) => s.name === 'peers' || s.name === 'server');
  if (peersWanted && args.installPeers && options.peersDir === defaultPeersDir(REPO_ROOT)) {
    installPeers(PEERS, REPO_ROOT, options.peersDir, log);
  }
  const started = new Date();
  const machine = machineLine();
  log(`bench: ${scenarios.map((s) => s.name).join(', ')} — ${options.runs} run(s) per case, ${options.durationMs} ms windows`);
  log(machine);

  const measurements: Measurement[] = [];
  for (const scenario of scenarios) {
    const t0 = Date.now();
    log(`[${scenario.name}] ${scenario.description}`);
    try {
      measurements.push(...(await scenario.run(options)));
    } catch (err) {
      measurements.push(failedMeasurement({ key: `${scenario.name}/failed`, scenario: scenario.name, case: '(scenario)', metric: '' }, err));
    }
    log(`[${scenario.name}] done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  const rows = buildRows(measurements);
  const elapsed = ((Date.now() - started.getTime()) / 1000).toFixed(0);
  process.stdout.write(`${formatText(rows)}\n`);

  const resultsDir = path.join(REPO_ROOT, 'bench', 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${timestamp(started)}.md`);
  const markdown = [
    `# Bench results, ${started.toISOString()}`,
    '',
    `${machine}. Scenarios: ${scenarios.map((s) => s.name).join(', ')}; ${options.runs} run(s) per case, ` +
      `${options.durationMs} ms measured windows after ${options.warmupMs} ms warm-up${options.quick ? ' (--quick)' : ''}; ` +
      `total ${elapsed} s.`,
    '',
    'Median and min–max over the runs; Ratio = this median / the median of the row named in "vs", measured in the same bench run.',
    '',
    formatMarkdown(rows),
    '',
  ].join('\n');
  fs.writeFileSync(file, markdown);
  log(`bench: ${elapsed} s; table written to ${path.relative(process.cwd(), file) || file}`);
  return measurements.some((m) => m.error) ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
