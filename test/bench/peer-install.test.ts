import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installPeers, missingPeers, npmInstallArgs, PEER_SPECS } from '../../bench/lib/peer-install.js';
import type { PeerServer } from '../../bench/lib/peers.js';

function peer(pkg: string): PeerServer {
  return { name: pkg, pkg, howToGet: '', start: () => Promise.reject(new Error('not started in this test')) };
}

/** Writes a loadable package `pkg` under dir/node_modules, as npm would. */
function fakeInstall(dir: string, pkg: string): void {
  const at = path.join(dir, 'node_modules', pkg);
  fs.mkdirSync(at, { recursive: true });
  fs.writeFileSync(path.join(at, 'package.json'), JSON.stringify({ name: pkg, version: '9.9.9', main: 'index.js' }));
  fs.writeFileSync(path.join(at, 'index.js'), 'module.exports = {};');
}

describe('bench / peers installed by the bench itself', () => {
  let repo: string;
  let peersDir: string;
  beforeEach(() => {
    repo = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-repo-'));
    fs.writeFileSync(path.join(repo, 'package.json'), '{}');
    peersDir = path.join(repo, 'node_modules', '.cache', 'bench-peers');
  });
  afterEach(() => fs.rmSync(repo, { recursive: true, force: true }));

  it('installs only the missing peers, each with its pinned spec, and reports failures per peer', () => {
    fakeInstall(repo, 'already-here');
    const calls: string[][] = [];
    const lines: string[] = [];
    const report = installPeers([peer('already-here'), peer('lwm2m-node-lib'), peer('lwm2m')], repo, peersDir, (l) => lines.push(l), (args) => {
      calls.push(args);
      if (args.includes(PEER_SPECS['lwm2m-node-lib']!)) {
        fakeInstall(peersDir, 'lwm2m-node-lib');
        return { status: 0, stderr: '' };
      }
      return { status: 1, stderr: 'npm error code E404\nnpm error 404 Not Found - GET https://registry/lwm2m\n' };
    });
    assert.deepEqual(calls, [npmInstallArgs(peersDir, ['lwm2m-node-lib@1.4.0']), npmInstallArgs(peersDir, ['lwm2m@latest'])]);
    assert.deepEqual(report.installed, ['lwm2m-node-lib']);
    assert.equal(report.failed.length, 1);
    assert.equal(report.failed[0]!.pkg, 'lwm2m');
    assert.match(report.failed[0]!.reason, /E404/);
    assert.ok(fs.existsSync(path.join(peersDir, 'package.json')), 'the peers folder gets its own package.json');
    assert.deepEqual(missingPeers([peer('lwm2m-node-lib'), peer('lwm2m')], repo, peersDir).map((p) => p.pkg), ['lwm2m']);
    assert.ok(lines.some((l) => l.includes('could not install lwm2m@latest')));
  });

  it('runs npm not at all when every peer is present', () => {
    fakeInstall(peersDir, 'lwm2m-node-lib');
    let called = false;
    const report = installPeers([peer('lwm2m-node-lib')], repo, peersDir, () => {}, () => {
      called = true;
      return { status: 0, stderr: '' };
    });
    assert.equal(called, false);
    assert.deepEqual(report, { installed: [], failed: [] });
  });

  it('counts an npm run that exits 0 but leaves nothing loadable as a failure', () => {
    const report = installPeers([peer('lwm2m-node-lib')], repo, peersDir, () => {}, () => ({ status: 0, stderr: '' }));
    assert.equal(report.failed[0]?.pkg, 'lwm2m-node-lib');
  });
});
