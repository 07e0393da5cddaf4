/**
 * Scenario "memory": RSS of an idle Node-RED (the devDependency node-red,
 * started with its own red.js and a fresh temporary userDir), bare and
 * with this package loaded (settings.nodesDir = [repository root], the way
 * a developer loads an unpublished node collection). Measured from inside
 * the Node-RED process (procs/memory-probe.js, preloaded) after start-up
 * settles and a forced GC. The ratio of the loaded case to the bare one is
 * the package's memory cost.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { BenchChild, type ChildMessage } from '../lib/proc.js';
import { formatNumber } from '../lib/table.js';
import { failedMeasurement, type BenchOptions, type Measurement, type Scenario } from '../scenario.js';

interface Figures extends ChildMessage {
  readonly rss: number;
  readonly heapUsed: number;
}

async function freeTcpPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The module names of the node sets Node-RED has loaded (admin API GET /nodes). */
function loadedModules(port: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/nodes', headers: { Accept: 'application/json' }, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        try {
          const sets = JSON.parse(body) as Array<{ module?: string }>;
          resolve(sets.map((s) => s.module ?? ''));
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('GET /nodes timed out')));
    req.on('error', reject);
  });
}

interface PackageJson {
  name: string;
  'node-red'?: { nodes?: Record<string, string> };
}

interface NodeRedRun {
  readonly rss: number;
  readonly heapUsed: number;
  /** Node sets Node-RED lists for this package. */
  readonly packageSets: number;
}

async function runNodeRed(options: BenchOptions, loadPackage: boolean, pkg: PackageJson): Promise<NodeRedRun> {
  const redJs = require.resolve('node-red/red.js', { paths: [options.repoRoot] });
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-node-red-'));
  const port = await freeTcpPort();
  const settings = {
    uiHost: '127.0.0.1',
    uiPort: port,
    flowFile: 'flows.json',
    telemetry: { enabled: false },
    logging: { console: { level: 'info', metrics: false, audit: false } },
    ...(loadPackage ? { nodesDir: [options.repoRoot] } : {}),
  };
  const settingsFile = path.join(userDir, 'bench-settings.js');
  fs.writeFileSync(settingsFile, `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
  let started: () => void = () => {};
  const startedP = new Promise<void>((resolve) => (started = resolve));
  let out = '';
  const child = new BenchChild(redJs, loadPackage ? 'Node-RED with package' : 'Node-RED', {
    args: ['--userDir', userDir, '--settings', settingsFile],
    execArgv: ['--expose-gc', '--require', path.join(options.benchDir, 'procs', 'memory-probe.js')],
    cwd: userDir,
    lifetimeMs: 90_000,
    onStdout: (text) => {
      out = (out + text).slice(-4096);
      if (out.includes('Started flows')) started();
    },
  });
  try {
    const failed = child.next('never', 60_000).then(
      () => undefined,
      (err: Error) => {
        throw new Error(`Node-RED did not start: ${err.message}; last output: ${out.trim().split('\n').slice(-2).join(' | ')}`);
      },
    );
    await Promise.race([startedP, failed]);
    await new Promise((resolve) => setTimeout(resolve, options.quick ? 1500 : 3000));
    const figures = await child.ask<Figures>({ type: 'figures' }, 'figures', 10_000);
    const modules = await loadedModules(port);
    return { rss: figures.rss, heapUsed: figures.heapUsed, packageSets: modules.filter((m) => m === pkg.name).length };
  } finally {
    await child.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  }
}

export const memoryScenario: Scenario = {
  name: 'memory',
  description: 'RSS of an idle Node-RED, bare and with this package loaded (nodesDir)',
  async run(options) {
    const pkg = JSON.parse(fs.readFileSync(path.join(options.repoRoot, 'package.json'), 'utf8')) as PackageJson;
    const nodeFiles = Object.keys(pkg['node-red']?.nodes ?? {}).length;
    const variants = [false, true].map((loaded) => ({
      loaded,
      base: {
        key: `memory/${loaded ? 'with-package' : 'bare'}`,
        scenario: 'memory',
        case: loaded ? `idle Node-RED + ${pkg.name} (nodesDir)` : 'idle Node-RED, fresh userDir',
        metric: 'MB RSS',
        baseline: 'memory/bare',
      },
      rss: [] as number[],
      heap: [] as number[],
      sets: 0,
      error: undefined as unknown,
    }));
    // Bare and loaded runs alternate, so that a change in the machine's load hits both alike.
    for (let run = 1; run <= options.runs; run++) {
      for (const v of variants) {
        if (v.error !== undefined) continue;
        try {
          const r = await runNodeRed(options, v.loaded, pkg);
          options.log(`  ${v.base.case}, run ${run}: ${(r.rss / 1e6).toFixed(1)} MB RSS`);
          v.rss.push(r.rss / 1e6);
          v.heap.push(r.heapUsed / 1e6);
          v.sets = r.packageSets;
        } catch (err) {
          v.error = err;
        }
      }
    }
    const mid = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const rows: Measurement[] = [];
    for (const v of variants) {
      if (v.error !== undefined) {
        rows.push(failedMeasurement(v.base, v.error));
        continue;
      }
      const notes = [`heap ${formatNumber(mid(v.heap))} MB after GC`];
      if (v.loaded) {
        const bare = variants[0]!;
        if (bare.rss.length > 0) {
          const diff = mid(v.rss) - mid(bare.rss);
          notes.push(`${diff >= 0 ? '+' : ''}${diff.toFixed(1)} MB RSS, ${(mid(v.heap) - mid(bare.heap) >= 0 ? '+' : '') + (mid(v.heap) - mid(bare.heap)).toFixed(1)} MB heap vs bare`);
        }
        notes.push(`package declares ${nodeFiles} node file${nodeFiles === 1 ? '' : 's'}, Node-RED lists ${v.sets} node set${v.sets === 1 ? '' : 's'} of it`);
      }
      rows.push({ ...v.base, samples: v.rss, note: notes.join(', ') });
    }
    return rows;
  },
};
