/**
 * Smoke checks of the package inside a real Node-RED process, shared by
 * the test against the installed dev dependency (Node-RED 4 on this
 * machine's Node) and the one against Node-RED 5 on Node 22.
 *
 * Node-RED starts with this package in `nodesDir` and a flow of every node
 * type: a server, a simulated device registering with it, a bootstrap
 * server. The checks go through Node-RED's admin HTTP API: every type
 * registered without error; editor HTML, help, catalogues and icons
 * served; the flow running (the device registered); the admin endpoints
 * honouring Node-RED's permissions; credentials kept out of the flow file.
 * Bounded in time; the process is killed at the end.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { freeUdpPort } from './device-helpers.js';
import { tempDir } from './helpers.js';

export const ROOT = resolve(__dirname, '..', '..', '..');
/** dist/ in `npm test`, another output folder during development. */
const COMPILED = resolve(__dirname, '..', '..');
const MODULE = '@lwm2m-toolkit/node-red-lwm2m';

/** The Node-RED to start, and the Node.js to start it with. */
export interface NodeRedUnderTest {
  readonly nodeBinary: string;
  readonly redJs: string;
}

interface PackageJson {
  name: string;
  'node-red': { nodes: Record<string, string> };
  [key: string]: unknown;
}

function packageJson(): PackageJson {
  return JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
}

function freeTcpPort(): Promise<number> {
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
  const pkg = packageJson();
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

/** Polls `check` (an async probe) until it holds, or fails with `what` and the process output. */
async function until(check: () => Promise<boolean>, what: string, deadline: number, output: () => string): Promise<void> {
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The flow every smoke test starts: each node type of the package, the device registering with the server. */
function smokeFlow(serverPort: number): object[] {
  return [
    { id: 'tab1', type: 'tab', label: 'smoke' },
    { id: 'srv1', type: 'lwm2m-server', address: '127.0.0.1', port: String(serverPort), persist: false },
    { id: 'ev1', type: 'lwm2m-events', z: 'tab1', server: 'srv1', x: 100, y: 100, wires: [[]] },
    { id: 'req1', type: 'lwm2m-request', z: 'tab1', server: 'srv1', operation: 'read', x: 100, y: 160, wires: [[]] },
    { id: 'obs1', type: 'lwm2m-observe', z: 'tab1', server: 'srv1', paths: '/3303/0/5700', auto: true, x: 100, y: 220, wires: [[]] },
    {
      id: 'dev1',
      type: 'lwm2m-client',
      endpoint: 'smoke-device',
      uri: `coap://127.0.0.1:${serverPort}`,
      version: '1.1',
      lifetime: '60',
      objects: '3303/0',
      values: '{"/3303/0": {"5700": 20.5}}',
    },
    { id: 'cin1', type: 'lwm2m-client-in', z: 'tab1', client: 'dev1', x: 300, y: 100, wires: [[]] },
    { id: 'cout1', type: 'lwm2m-client-out', z: 'tab1', client: 'dev1', operation: 'set', path: '/3303/0/5700', x: 300, y: 160, wires: [] },
    { id: 'bs1', type: 'lwm2m-bootstrap-server', address: '127.0.0.1', port: '0', persist: false, template: '' },
    { id: 'boot1', type: 'lwm2m-bootstrap', z: 'tab1', server: 'bs1', operation: 'set', x: 300, y: 220, wires: [[]] },
  ];
}

const SETTINGS_AUTH = `
  // token "reader" may read, "admin" may do everything, "nobody" nothing
  adminAuth: {
    type: 'credentials',
    users: [],
    tokens: function (token) {
      if (token === 'reader') return Promise.resolve({ user: 'reader', permissions: 'read' });
      if (token === 'admin') return Promise.resolve({ user: 'admin', permissions: '*' });
      if (token === 'nobody') return Promise.resolve({ user: 'nobody', permissions: [] });
      return Promise.resolve(null);
    },
  },`;

/**
 * Registers the smoke tests in the current `describe`. `prepare` finds (or
 * installs) the Node-RED to run; it may skip the suite.
 */
export function nodeRedSmokeTests(prepare: (ctx: Mocha.Context) => Promise<NodeRedUnderTest>): void {
  const work = tempDir('lwm2m-node-red-');
  let child: ChildProcess | undefined;
  let base = '';
  let output = '';
  let userDir = '';
  const reader = { Authorization: 'Bearer reader' };
  const admin = { Authorization: 'Bearer admin' };

  before(async function () {
    const red = await prepare(this);
    for (const file of Object.values(packageJson()['node-red'].nodes)) {
      const compiled = join(COMPILED, file.replace(/^dist\//, ''));
      assert.ok(existsSync(compiled), `${compiled} is built`);
      assert.ok(existsSync(compiled.replace(/\.js$/, '.html')), `${compiled.replace(/\.js$/, '.html')} is copied (scripts/copy-assets.js)`);
    }
    userDir = join(work.dir, 'user');
    mkdirSync(userDir, { recursive: true });
    const port = await freeTcpPort();
    base = `http://127.0.0.1:${port}`;
    writeFileSync(join(userDir, 'flows.json'), JSON.stringify(smokeFlow(await freeUdpPort())));
    const settings = join(userDir, 'settings.js');
    writeFileSync(
      settings,
      `module.exports = {
  uiHost: '127.0.0.1',
  uiPort: ${port},
  flowFile: 'flows.json',
  credentialSecret: 'smoke-test-secret',
  nodesDir: [${JSON.stringify(packageDir(work.dir))}],
  logging: { console: { level: 'info', metrics: false, audit: false } },
  editorTheme: { projects: { enabled: false }, tours: false, palette: { catalogues: [] } },
  telemetry: { enabled: false },${SETTINGS_AUTH}
};
`,
    );
    child = spawn(red.nodeBinary, [red.redJs, '--userDir', userDir, '--settings', settings], { cwd: work.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 40_000;
    // the admin API answers once the runtime has loaded the nodes
    const res = await fetchWithin(`${base}/nodes`, { headers: { Accept: 'application/json', ...reader } }, deadline);
    assert.equal(res.status, 200, output);
    await until(async () => /Started flows/.test(output), 'the flows to start', deadline, () => output);
  });

  after(async () => {
    if (child) await stop(child);
    work.remove();
  });

  it('registers every node type of the package without error', async () => {
    const pkg = packageJson();
    const res = await fetch(`${base}/nodes`, { headers: { Accept: 'application/json', ...reader } });
    const sets = (await res.json()) as { module: string; types: string[]; err?: string; enabled: boolean }[];
    const ours = sets.filter((s) => s.module === MODULE);
    for (const set of ours) assert.equal(set.err, undefined, `${set.types.join(',')}: ${set.err}`);
    const types = ours.flatMap((s) => s.types).sort();
    assert.deepEqual(types, Object.keys(pkg['node-red'].nodes).sort());
    assert.ok(ours.every((s) => s.enabled));
  });

  it('serves the editor HTML and help of every node, the message catalogues and the icons', async () => {
    const res = await fetch(`${base}/nodes`, { headers: { Accept: 'text/html', ...reader } });
    const html = await res.text();
    for (const type of Object.keys(packageJson()['node-red'].nodes)) {
      assert.ok(html.includes(`data-template-name="${type}"`), `${type} editor template`);
      assert.ok(html.includes(`data-help-name="${type}"`), `${type} help`);
    }
    const catalogue = async (file: string): Promise<Record<string, { label: Record<string, string> }>> => {
      const answer = await fetch(`${base}/locales/${MODULE}/${file}?lng=en-US`, { headers: reader });
      assert.equal(answer.status, 200, file);
      return (await answer.json()) as Record<string, { label: Record<string, string> }>;
    };
    assert.equal((await catalogue('lwm2m-request'))['lwm2m-request']?.label['operation'], 'Operation');
    assert.equal((await catalogue('lwm2m-client'))['lwm2m-client']?.label['endpoint'], 'Endpoint name');
    assert.equal((await catalogue('lwm2m-client-in'))['lwm2m-client-in']?.label['connection'], 'Connection');
    assert.equal((await catalogue('lwm2m-bootstrap'))['lwm2m-bootstrap']?.label['events'], 'Session events');
    for (const icon of ['lwm2m-events.svg', 'lwm2m-request.svg', 'lwm2m-observe.svg', 'lwm2m-client-in.svg', 'lwm2m-client-out.svg', 'lwm2m-bootstrap.svg']) {
      const svg = await fetch(`${base}/icons/${MODULE}/${icon}`, { headers: reader });
      assert.equal(svg.status, 200, icon);
      assert.match(await svg.text(), /<svg/);
    }
  });

  it('runs a flow of every node: the server and the bootstrap server listen, the device registers', async () => {
    const deadline = Date.now() + 15_000;
    await until(
      async () => {
        const res = await fetch(`${base}/lwm2m-server/srv1/endpoints`, { headers: reader });
        const list = (await res.json()) as { endpoint: string }[];
        return list.some((e) => e.endpoint === 'smoke-device');
      },
      'smoke-device to register',
      deadline,
      () => output,
    );
    const clients = (await (await fetch(`${base}/lwm2m/clients`, { headers: reader })).json()) as { id: string; state: string }[];
    assert.deepEqual(clients.map((c) => [c.id, c.state]), [['dev1', 'registered']]);
    const bootstrap = await fetch(`${base}/lwm2m-bootstrap-server/bs1/endpoints`, { headers: reader });
    assert.deepEqual(await bootstrap.json(), { endpoints: [], hasDefault: false, active: [] });
    assert.match(output, /LwM2M server listening on 127\.0\.0\.1:\d+/);
    assert.match(output, /LwM2M bootstrap server listening on 127\.0\.0\.1:\d+/);
    assert.match(output, /LwM2M client "smoke-device" started/);
    assert.doesNotMatch(output, /\[error\]/);
    assert.doesNotMatch(output, /Waiting for missing types/);
  });

  it('guards its admin endpoints with Node-RED permissions', async () => {
    for (const path of ['/lwm2m/objects', '/lwm2m/clients', '/lwm2m-bootstrap-server/bs1/endpoints', '/lwm2m-server/srv1/endpoints']) {
      assert.equal((await fetch(`${base}${path}`)).status, 401, `${path} without a token`);
      assert.equal((await fetch(`${base}${path}`, { headers: { Authorization: 'Bearer nobody' } })).status, 401, `${path} without rights`);
      assert.equal((await fetch(`${base}${path}`, { headers: reader })).status, 200, `${path} for a reader`);
    }
    const objects = (await (await fetch(`${base}/lwm2m/objects`, { headers: reader })).json()) as { id: number; name: string }[];
    assert.equal(objects.find((o) => o.id === 3)?.name, 'Device');
  });

  it('keeps the device\'s PSK key out of the flow file, in the encrypted credentials', async () => {
    const flows = JSON.parse(readFileSync(join(userDir, 'flows.json'), 'utf8')) as Record<string, unknown>[];
    const device = flows.find((n) => n['id'] === 'dev1')!;
    const deployed = flows.map((n) => (n['id'] === 'dev1' ? { ...device, credentials: { identity: 'smoke-id', key: 'smoke-psk-key' } } : n));
    const res = await fetch(`${base}/flows`, {
      method: 'POST',
      headers: { ...admin, 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(deployed),
    });
    assert.ok(res.ok, `deploy answered ${res.status}: ${await res.text()}`);
    const written = readFileSync(join(userDir, 'flows.json'), 'utf8');
    assert.doesNotMatch(written, /smoke-psk-key|smoke-id/);
    assert.ok(existsSync(join(userDir, 'flows_cred.json')), 'credentials go to flows_cred.json');
    assert.doesNotMatch(readFileSync(join(userDir, 'flows_cred.json'), 'utf8'), /smoke-psk-key/, 'encrypted with credentialSecret');
    const deadline = Date.now() + 15_000;
    await until(
      async () => {
        const list = (await (await fetch(`${base}/lwm2m/clients`, { headers: reader })).json()) as { state: string }[];
        return list[0]?.state === 'registered';
      },
      'the device to register again after the full deploy',
      deadline,
      () => output,
    );
    assert.doesNotMatch(output, /smoke-psk-key/, 'the key never reaches the log');
  });
}
