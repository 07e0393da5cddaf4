/**
 * `npm start` as a newcomer runs it: scripts/start.js deploys the
 * end-to-end demo on first start into a fresh user directory, and the demo
 * works with nothing configured — the simulated device registers with the
 * demo server on 127.0.0.1:5683, the temperature is observed, /3/0 is
 * read, Send arrives, and the Reboot is seen on the device side, which
 * registers again. Checked through the editor's own debug channel (the
 * /comms WebSocket the debug sidebar uses) and the admin API.
 *
 * Runs start.js from a copy of the repository's layout in a temporary
 * folder (scripts/, examples/, package.json; node_modules and the compiled
 * output linked), so the working tree's .node-red-user/ is never touched.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { tempDir } from './helpers.js';

const ROOT = resolve(__dirname, '..', '..', '..');
const COMPILED = resolve(__dirname, '..', '..');

interface DebugMessage {
  readonly name?: string;
  readonly topic?: string;
  readonly msg: string;
}

/** The `ws` client Node-RED's editor API itself uses (Node 20 has no global WebSocket). */
interface WsClient {
  on(event: 'open', listener: () => void): void;
  on(event: 'message', listener: (data: Buffer) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  send(data: string): void;
  close(): void;
}
type WsConstructor = new (url: string) => WsClient;

function wsClient(): WsConstructor {
  const editorApi = require.resolve('@node-red/editor-api', { paths: [require.resolve('node-red', { paths: [ROOT] })] });
  return require(require.resolve('ws', { paths: [editorApi] })) as WsConstructor;
}

function freeTcpPort(): Promise<number> {
  return new Promise((done, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => done(port));
    });
  });
}

/** True when UDP 127.0.0.1:5683 (the demo server's port) can be bound now. */
function demoPortFree(): Promise<boolean> {
  return new Promise((done) => {
    const socket = createSocket('udp4');
    socket.once('error', () => done(false));
    socket.bind(5683, '127.0.0.1', () => socket.close(() => done(true)));
  });
}

/** The repository's layout, minus everything start.js does not need. */
function stageRepository(dir: string): void {
  mkdirSync(join(dir, 'scripts'));
  cpSync(join(ROOT, 'scripts', 'start.js'), join(dir, 'scripts', 'start.js'));
  cpSync(join(ROOT, 'examples'), join(dir, 'examples'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  // package.json names dist/nodes/*.js: the compiled output these tests come from
  symlinkSync(COMPILED, join(dir, 'dist'), 'dir');
}

describe('nodes: npm start deploys a demo that works with nothing configured', function () {
  this.timeout(60_000);
  const work = tempDir('lwm2m-demo-');
  let child: ChildProcess | undefined;
  let ws: WsClient | undefined;
  let output = '';
  let base = '';
  const debug: DebugMessage[] = [];

  before(async function () {
    if (!(await demoPortFree())) {
      if (process.env['CI'] === 'true') throw new Error('UDP 127.0.0.1:5683 is in use: the demo server cannot start');
      console.log('      skipped: UDP 127.0.0.1:5683 is in use here (is `npm start` running?)');
      return this.skip();
    }
    stageRepository(work.dir);
    const port = await freeTcpPort();
    base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [join(work.dir, 'scripts', 'start.js')], {
      cwd: work.dir,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const deadline = Date.now() + 40_000;
    while (!/Started flows/.test(output)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`Node-RED did not start the demo:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // the debug sidebar's channel: every debug node's message
    const WebSocket = wsClient();
    const socket = new WebSocket(`ws://127.0.0.1:${port}/comms`);
    ws = socket;
    await new Promise<void>((open, fail) => {
      socket.on('open', open);
      socket.on('error', fail);
    });
    socket.on('message', (data) => {
      for (const event of JSON.parse(data.toString()) as { topic: string; data: DebugMessage }[]) {
        if (event.topic === 'debug') debug.push(event.data);
      }
    });
    socket.send(JSON.stringify({ subscribe: 'debug' }));
  });

  after(async () => {
    ws?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      const force = setTimeout(() => child?.kill('SIGKILL'), 8000);
      await exited;
      clearTimeout(force);
    }
    work.remove();
  });

  /** Waits for a debug message of the debug node `name` that `match` accepts. */
  async function seen(name: string, match: (m: DebugMessage) => boolean, what: string, timeoutMs = 10_000): Promise<DebugMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = debug.find((m) => m.name === name && match(m));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${what} in the debug sidebar; got:\n${debug.map((m) => `[${m.name}] ${m.topic}`).join('\n')}\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  function inject(name: string): Promise<Response> {
    const flow = JSON.parse(readFileSync(join(work.dir, '.node-red-user', 'flows.json'), 'utf8')) as { id: string; type: string; name?: string }[];
    const node = flow.find((n) => n.type === 'inject' && n.name === name);
    assert.ok(node, `the demo has an inject node "${name}"`);
    return fetch(`${base}/inject/${node.id}`, { method: 'POST' });
  }

  it('deploys the demo on first start, with the online catalogue and update check off', () => {
    assert.match(output, /start: deployed the demo flow from examples[/\\]demo-end-to-end\.json/);
    assert.ok(existsSync(join(work.dir, '.node-red-user', 'flows.json')));
    const settings = readFileSync(join(work.dir, '.node-red-user', 'settings.js'), 'utf8');
    assert.match(settings, /palette: \{ catalogues: \[\] \}/);
    assert.match(settings, /telemetry: \{ enabled: false \}/);
    assert.match(output, /LwM2M server listening on 127\.0\.0\.1:5683/);
    assert.match(output, /LwM2M client "demo-device" started, registering to coap:\/\/127\.0\.0\.1:5683/);
  });

  it('shows the device registering, and its temperature observed and changing', async () => {
    await seen('events', (m) => m.topic === 'demo-device/registered', 'registration event');
    await seen('device side', (m) => m.topic === 'demo-device/registered', 'registration on the device side');
    const first = await seen('temperature', () => true, 'an observed temperature');
    assert.match(first.msg, /^\d+(\.\d)?$/);
    // the thermometer ticks every 5 s: another, different value follows (drift makes equal values rare but possible)
    await seen('temperature', (m) => m !== first, 'a second temperature', 20_000);
  });

  it('reads the Device object, sends the temperature, and re-registers after a Reboot', async () => {
    assert.equal((await inject('read /3/0')).status, 200);
    const device = JSON.parse((await seen('device object', () => true, 'the Device object')).msg) as Record<string, unknown>;
    assert.equal(device['0'], 'LwM2M toolkit demo');
    assert.equal(device['2'], 'demo-device');

    assert.equal((await inject('send every 30 s')).status, 200);
    await seen('events', (m) => m.topic === 'demo-device/send', 'Send data');

    const registrations = (): number => debug.filter((m) => m.name === 'events' && m.topic === 'demo-device/registered').length;
    const before = registrations();
    assert.equal((await inject('reboot demo-device')).status, 200);
    const result = JSON.parse((await seen('reboot result', () => true, 'the Execute result')).msg) as { code: string };
    assert.equal(result.code, '2.04');
    await seen('device side', (m) => m.topic === 'demo-device/3/0/4', 'the Reboot on the device side');
    const deadline = Date.now() + 10_000;
    while (registrations() === before) {
      if (Date.now() > deadline) throw new Error('the device did not register again after the Reboot');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(debug.filter((m) => m.name === 'failures'), [], 'no failure on the way');
    assert.doesNotMatch(output, /\[error\]/);
  });
});
