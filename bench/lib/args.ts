/**
 * Command line of `npm run bench -- [options]`.
 */

export interface BenchArgs {
  /** Scenario names from --only=a,b (undefined: all). */
  readonly only?: readonly string[];
  readonly quick: boolean;
  readonly runs?: number;
  readonly durationMs?: number;
  readonly peersDir?: string;
  /** Install missing peers into the default peers folder (default true; --no-peer-install turns it off). */
  readonly installPeers: boolean;
  readonly list: boolean;
  readonly help: boolean;
}

export const USAGE = `Usage: npm run bench -- [options]
  --only=a,b       run only these scenarios (see --list)
  --quick          one run per case, shorter windows and counts (development)
  --runs=N         repetitions per case (default 3, 1 with --quick)
  --duration=MS    measured window of a throughput run (default 2000, 700 with --quick)
  --peers-dir=DIR  folder whose node_modules holds peer packages (also $BENCH_PEERS_DIR); without it
                   missing peers are installed into node_modules/.cache/bench-peers
  --no-peer-install  do not install missing peers (their rows say NOT RUN)
  --list           list the scenarios and exit
  --help           this text
Environment: BENCH_SERVER_CPU_PROF=DIR writes a V8 CPU profile of each "server" scenario
server process to DIR; node dist/bench/profile-summary.js FILE lists its top self times.`;

export class ArgsError extends Error {}

function positiveInt(name: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new ArgsError(`${name} wants a positive integer (got "${text}")`);
  return Number(text);
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  let only: string[] | undefined;
  let quick = false;
  let runs: number | undefined;
  let durationMs: number | undefined;
  let peersDir: string | undefined;
  let installPeers = true;
  let list = false;
  let help = false;
  for (const arg of argv) {
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const value = eq < 0 ? undefined : arg.slice(eq + 1);
    const need = (): string => {
      if (value === undefined || value === '') throw new ArgsError(`${name} needs a value (${name}=...)`);
      return value;
    };
    switch (name) {
      case '--only':
        only = need().split(',').map((s) => s.trim()).filter((s) => s !== '');
        if (only.length === 0) throw new ArgsError('--only names no scenario');
        break;
      case '--quick':
        if (value !== undefined) throw new ArgsError('--quick takes no value');
        quick = true;
        break;
      case '--runs':
        runs = positiveInt(name, need());
        break;
      case '--duration':
        durationMs = positiveInt(name, need());
        break;
      case '--peers-dir':
        peersDir = need();
        break;
      case '--no-peer-install':
        if (value !== undefined) throw new ArgsError('--no-peer-install takes no value');
        installPeers = false;
        break;
      case '--list':
        list = true;
        break;
      case '--help':
      case '-h':
        help = true;
        break;
      default:
        throw new ArgsError(`unknown option "${arg}"`);
    }
  }
  return {
    ...(only ? { only } : {}),
    quick,
    ...(runs !== undefined ? { runs } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    ...(peersDir !== undefined ? { peersDir } : {}),
    installPeers,
    list,
    help,
  };
}
