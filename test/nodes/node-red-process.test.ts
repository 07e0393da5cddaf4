/**
 * Starts a real Node-RED (the installed dev dependency) with this package
 * in `nodesDir`, and checks over its admin HTTP API that every node type of
 * the package is registered without error, that the editor gets the node
 * HTML, help, message catalogues and icons, that a flow with the nodes
 * starts, and that the package's admin endpoints honour Node-RED's
 * permissions. Bounded in time; the process is killed at the end.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { tempDir } from './helpers.js';

const ROOT = resolve(__dirname, '..', '..', '..');
/** dist/ in `npm test`, another output folder during development. */
const COMPILED = resolve(__dirname, '..', '..');
const MODULE = '@lwm2m-toolkit/node-red-lwm2m';

interface PackageJson {
  name: string;
  'node-red': { nodes: Record<string, string> };
  [key: string]: unknown;
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * The folder Node-RED should load the package from: the repository itself
 * when the tests run from dist/, else a stand-in package whose node paths
 * point into the folder these tests were compiled to.
 */
function packageDir(work: string): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
  if (COMPILED === join(ROOT, 'dist')) return ROOT;
  const dir = join(work, 'package');
  mkdirSync(dir, { recursive: true });
  const nodes: Record<string, string> = {};
  for (const [type, file] of Object.entries(pkg['node-red'].nodes)) {
    nodes[type] = relative(dir, join(COMPILED, file.replace(/^dist\//, '')));
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, 'node-red': { ...pkg['node-red'], nodes } }));
  return dir;
}

async function fetchWithin(url: string, init: RequestInit, deadline: number): Promise<Response> {
  for (;;) {
    try {
      return await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Node-RED did not answer ${url} in time: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      done();
    });
    child.kill('SIGTERM');
  });
}

describe('nodes: in a real Node-RED process', function () {
  this.timeout(60_000);
  const work = tempDir('lwm2m-node-red-');
  let child: ChildProcess | undefined;
  let base = '';
  let output = '';
  const auth = { Authorization: 'Bearer reader' };

  before(async () => {
    const pkgJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
    for (const file of Object.values(pkgJson['node-red'].nodes)) {
      const compiled = join(COMPILED, file.replace(/^dist\//, ''));
      assert.ok(existsSync(compiled), `${compiled} is built`);
      assert.ok(existsSync(compiled.replace(/\.js$/, '.html')), `${compiled.replace(/\.js$/, '.html')} is copied (scripts/copy-assets.js)`);
    }
    const userDir = join(work.dir, 'user');
    mkdirSync(userDir, { recursive: true });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(userDir, 'flows.json'),
      JSON.stringify([
        { id: 'tab1', type: 'tab', label: 'smoke' },
        { id: 'srv1', type: 'lwm2m-server', address: '127.0.0.1', port: '0', persist: false },
        { id: 'ev1', type: 'lwm2m-events', z: 'tab1', server: 'srv1', x: 100, y: 100, wires: [[]] },
        { id: 'req1', type: 'lwm2m-request', z: 'tab1', server: 'srv1', operation: 'read', x: 100, y: 160, wires: [[]] },
        { id: 'obs1', type: 'lwm2m-observe', z: 'tab1', server: 'srv1', paths: '/3303/0/5700', auto: true, x: 100, y: 220, wires: [[]] },
      ]),
    );
    const settings = join(userDir, 'settings.js');
    writeFileSync(
      settings,
      `module.exports = {
  uiHost: '127.0.0.1',
  uiPort: ${port},
  flowFile: 'flows.json',
  nodesDir: [${JSON.stringify(packageDir(work.dir))}],
  logging: { console: { level: 'info', metrics: false, audit: false } },
  editorTheme: { projects: { enabled: false }, tours: false },
  telemetry: { enabled: false },
  // token "reader" may read, token "nobody" may do nothing
  adminAuth: {
    type: 'credentials',
    users: [],
    tokens: function (token) {
      if (token === 'reader') return Promise.resolve({ user: 'reader', permissions: 'read' });
      if (token === 'nobody') return Promise.resolve({ user: 'nobody', permissions: [] });
      return Promise.resolve(null);
    },
  },
};
`,
    );
    const redJs = require.resolve('node-red/red.js', { paths: [ROOT] });
    child = spawn(process.execPath, [redJs, '--userDir', userDir, '--settings', settings], { cwd: work.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 40_000;
    // the admin API answers once the runtime has loaded the nodes
    const res = await fetchWithin(`${base}/nodes`, { headers: { Accept: 'application/json', ...auth } }, deadline);
    assert.equal(res.status, 200, output);
    while (!/Started flows/.test(output)) {
      if (Date.now() > deadline) throw new Error(`flows did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    if (child) await stop(child);
    work.remove();
  });

  it('registers every node type of the package without error', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
    const res = await fetch(`${base}/nodes`, { headers: { Accept: 'application/json', ...auth } });
    const sets = (await res.json()) as { module: string; types: string[]; err?: string; enabled: boolean }[];
    const ours = sets.filter((s) => s.module === MODULE);
    for (const set of ours) assert.equal(set.err, undefined, `${set.types.join(',')}: ${set.err}`);
    const types = ours.flatMap((s) => s.types).sort();
    assert.deepEqual(types, Object.keys(pkg['node-red'].nodes).sort());
    assert.ok(ours.every((s) => s.enabled));
  });

  it('serves the editor HTML and help of every node, the message catalogue and the icons', async () => {
    const res = await fetch(`${base}/nodes`, { headers: { Accept: 'text/html', ...auth } });
    const html = await res.text();
    for (const type of ['lwm2m-server', 'lwm2m-events', 'lwm2m-request', 'lwm2m-observe']) {
      assert.ok(html.includes(`data-template-name="${type}"`), `${type} editor template`);
      assert.ok(html.includes(`data-help-name="${type}"`), `${type} help`);
    }
    const catalogue = await fetch(`${base}/locales/${MODULE}/lwm2m-request?lng=en-US`, { headers: auth });
    assert.equal(catalogue.status, 200);
    const messages = (await catalogue.json()) as { 'lwm2m-request': { label: { operation: string } } };
    assert.equal(messages['lwm2m-request'].label.operation, 'Operation');
    for (const icon of ['lwm2m-events.svg', 'lwm2m-request.svg', 'lwm2m-observe.svg']) {
      const svg = await fetch(`${base}/icons/${MODULE}/${icon}`, { headers: auth });
      assert.equal(svg.status, 200, icon);
      assert.match(await svg.text(), /<svg/);
    }
  });

  it('starts a flow of the nodes: the server listens and nothing failed', () => {
    assert.match(output, /LwM2M server listening on 127\.0\.0\.1:\d+/);
    assert.doesNotMatch(output, /\[error\]/);
    assert.doesNotMatch(output, /Waiting for missing types/);
  });

  it('guards its admin endpoints with Node-RED permissions', async () => {
    const anonymous = await fetch(`${base}/lwm2m/objects`);
    assert.equal(anonymous.status, 401);
    const noRights = await fetch(`${base}/lwm2m/objects`, { headers: { Authorization: 'Bearer nobody' } });
    assert.equal(noRights.status, 401);
    const reader = await fetch(`${base}/lwm2m/objects`, { headers: auth });
    assert.equal(reader.status, 200);
    const objects = (await reader.json()) as { id: number; name: string }[];
    assert.equal(objects.find((o) => o.id === 3)?.name, 'Device');
    const endpoints = await fetch(`${base}/lwm2m-server/srv1/endpoints`, { headers: auth });
    assert.deepEqual(await endpoints.json(), []);
  });
});
