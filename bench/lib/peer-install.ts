/**
 * Peers are compared in the same run, so a fresh clone must have them:
 * when the bench is given no peers folder, it keeps its own under
 * node_modules/.cache/bench-peers and installs the missing peers there
 * with npm (pinned versions, no effect on the package's own dependencies).
 * A peer that cannot be installed (offline, not in the registry) is left
 * out and its rows say why.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolvePeer, type PeerServer } from './peers.js';

/** The npm spec of each peer the bench installs by itself. */
export const PEER_SPECS: Readonly<Record<string, string>> = {
  'lwm2m-node-lib': 'lwm2m-node-lib@1.4.0',
  lwm2m: 'lwm2m@latest',
};

export function defaultPeersDir(repoRoot: string): string {
  return path.join(repoRoot, 'node_modules', '.cache', 'bench-peers');
}

/** The peers found neither in the repository nor in `peersDir`. */
export function missingPeers(peers: readonly PeerServer[], repoRoot: string, peersDir: string): PeerServer[] {
  return peers.filter((p) => resolvePeer(p.pkg, repoRoot, peersDir) === undefined);
}

/** The npm command line that installs `specs` into `dir`. */
export function npmInstallArgs(dir: string, specs: readonly string[]): string[] {
  return ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', ...specs];
}

export interface InstallReport {
  readonly installed: string[];
  readonly failed: Array<{ pkg: string; reason: string }>;
}

type Runner = (args: string[]) => { status: number | null; stderr: string };

const runNpm: Runner = (args) => {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, args, { encoding: 'utf8', timeout: 180_000 });
  return { status: r.status, stderr: `${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
};

/**
 * Installs each missing peer on its own (one that fails does not keep the
 * others out) and reports what happened.
 */
export function installPeers(
  peers: readonly PeerServer[],
  repoRoot: string,
  peersDir: string,
  log: (line: string) => void,
  run: Runner = runNpm,
): InstallReport {
  const report: InstallReport = { installed: [], failed: [] };
  const missing = missingPeers(peers, repoRoot, peersDir);
  if (missing.length === 0) return report;
  fs.mkdirSync(peersDir, { recursive: true });
  const manifest = path.join(peersDir, 'package.json');
  if (!fs.existsSync(manifest)) fs.writeFileSync(manifest, '{ "name": "bench-peers", "private": true }\n');
  for (const peer of missing) {
    const spec = PEER_SPECS[peer.pkg] ?? peer.pkg;
    log(`bench: installing peer ${spec} into ${peersDir}`);
    const r = run(npmInstallArgs(peersDir, [spec]));
    if (r.status === 0 && resolvePeer(peer.pkg, repoRoot, peersDir) !== undefined) {
      report.installed.push(peer.pkg);
    } else {
      const reason = lastLine(r.stderr) || `npm exited with ${r.status}`;
      report.failed.push({ pkg: peer.pkg, reason });
      log(`bench: could not install ${spec}: ${reason}`);
    }
  }
  return report;
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.find((l) => /E404|ENOTFOUND|ETIMEDOUT|ECONNREFUSED/.test(l)) ?? lines.at(-1) ?? '';
}
