/**
 * The package in Node-RED 5 on Node.js 22 (Node-RED 5 needs Node ≥ 22.9;
 * the project's own Node may be older). Both come from the npm registry:
 * the `node` package ships a Node.js binary, installed with `node-red@5`
 * into node_modules/.cache/node-red-5 (reused while it holds them; `npm ci`
 * clears it, so CI installs afresh, ~30 s). Then the same smoke checks run
 * as against the dev dependency (node-red-smoke.ts).
 *
 * When the install is impossible (no registry, no npm), the suite is
 * skipped locally with the reason, and fails in CI (CI=true).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { nodeRedSmokeTests, ROOT, type NodeRedUnderTest } from './node-red-smoke.js';

const run = promisify(execFile);
const PREFIX = join(ROOT, 'node_modules', '.cache', 'node-red-5');
const PACKAGES = ['node@22', 'node-red@5'];
const INSTALL_TIMEOUT_MS = 5 * 60_000;

/** The Node.js binary the `node` package installed (its preinstall links it; the platform package holds it). */
function nodeBinaryIn(prefix: string): string | undefined {
  const platform = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
  const exe = process.platform === 'win32' ? 'node.exe' : 'node';
  const candidates = [
    join(prefix, 'node_modules', 'node', 'bin', exe),
    join(prefix, 'node_modules', 'node', 'node_modules', platform, 'bin', exe),
    join(prefix, 'node_modules', platform, 'bin', exe),
  ];
  return candidates.find((file) => existsSync(file));
}

function majorOf(packageFile: string): number | undefined {
  if (!existsSync(packageFile)) return undefined;
  const version = (JSON.parse(readFileSync(packageFile, 'utf8')) as { version?: string }).version ?? '';
  return Number(version.split('.')[0]);
}

async function nodeVersion(binary: string): Promise<string> {
  return (await run(binary, ['--version'], { timeout: 10_000 })).stdout.trim();
}

/** Node 22 and Node-RED 5 from the cache, installed first when missing. */
async function nodeRed5(): Promise<NodeRedUnderTest & { nodeVersion: string; nodeRedVersion: number }> {
  const redPackage = join(PREFIX, 'node_modules', 'node-red', 'package.json');
  let binary = nodeBinaryIn(PREFIX);
  const cached = binary !== undefined && majorOf(redPackage) === 5 && (await nodeVersion(binary).catch(() => '')).startsWith('v22.');
  if (!cached) {
    mkdirSync(PREFIX, { recursive: true });
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    // --no-save / --no-package-lock: the cache folder is not a project; engine-strict off: npm itself runs on the older Node
    await run(npm, ['install', '--prefix', PREFIX, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--engine-strict=false', ...PACKAGES], {
      cwd: PREFIX,
      timeout: INSTALL_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    binary = nodeBinaryIn(PREFIX);
  }
  if (!binary) throw new Error(`npm installed ${PACKAGES.join(' ')} into ${PREFIX} but no Node.js binary was found there`);
  const version = await nodeVersion(binary);
  if (!version.startsWith('v22.')) throw new Error(`${binary} is ${version}, not Node 22`);
  const major = majorOf(redPackage);
  if (major !== 5) throw new Error(`${redPackage} is not Node-RED 5 (major ${String(major)})`);
  return { nodeBinary: binary, redJs: join(PREFIX, 'node_modules', 'node-red', 'red.js'), nodeVersion: version, nodeRedVersion: major };
}

describe('nodes: in Node-RED 5 on Node.js 22 (installed from the npm registry at test time)', function () {
  this.timeout(60_000);
  nodeRedSmokeTests(async (ctx) => {
    ctx.timeout(INSTALL_TIMEOUT_MS + 60_000);
    try {
      const red = await nodeRed5();
      console.log(`      Node-RED ${red.nodeRedVersion} on Node.js ${red.nodeVersion} (${red.nodeBinary})`);
      return red;
    } catch (err) {
      const reason = `Node-RED 5 on Node 22 could not be installed: ${(err as Error).message.split('\n')[0]}`;
      if (process.env['CI'] === 'true') throw new Error(reason, { cause: err });
      console.log(`      skipped: ${reason}`);
      return ctx.skip();
    }
  });
});
