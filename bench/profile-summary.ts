/**
 * `node dist/bench/profile-summary.js <file.cpuprofile> [top]`: the
 * functions with the most self time in a V8 CPU profile (as written by
 * `node --cpu-prof`, e.g. with BENCH_SERVER_CPU_PROF=<folder> for the
 * server scenario's processes), one line each: self ms, share of the
 * samples, function and where it lives.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  /** "name (file:line)" — the same function at the same place adds up. */
  readonly name: string;
  readonly selfMs: number;
  /** Share of all sampled time (0..1). */
  readonly share: number;
}

/** Self time per function, largest first. */
export function selfTimes(profile: CpuProfile): SelfTime[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const perNode = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = Math.max(0, profile.timeDeltas[i] ?? 0);
    total += dt;
    const id = profile.samples[i]!;
    perNode.set(id, (perNode.get(id) ?? 0) + dt);
  }
  const perName = new Map<string, number>();
  for (const [id, us] of perNode) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const where = frame.url ? `${path.basename(frame.url)}:${frame.lineNumber + 1}` : 'native';
    const name = `${frame.functionName || '(anonymous)'} (${where})`;
    perName.set(name, (perName.get(name) ?? 0) + us);
  }
  return [...perName]
    .map(([name, us]) => ({ name, selfMs: us / 1000, share: total > 0 ? us / total : 0 }))
    .sort((a, b) => b.selfMs - a.selfMs);
}

function main(): number {
  const [file, topText] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: node dist/bench/profile-summary.js <file.cpuprofile> [top]\n');
    return 2;
  }
  const top = topText ? Number(topText) : 25;
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const rows = selfTimes(profile);
  const totalMs = rows.reduce((s, r) => s + r.selfMs, 0);
  process.stdout.write(`${path.basename(file)}: ${totalMs.toFixed(0)} ms sampled\n`);
  for (const r of rows.slice(0, top)) {
    process.stdout.write(`${r.selfMs.toFixed(0).padStart(8)} ms ${(r.share * 100).toFixed(1).padStart(5)}%  ${r.name}\n`);
  }
  return 0;
}

if (require.main === module) process.exitCode = main();
