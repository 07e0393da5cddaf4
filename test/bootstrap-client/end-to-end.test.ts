/**
 * End to end over loopback: our Bootstrap-Server provisions our client,
 * which then registers to our LwM2M Server. Every version, the failures
 * (each side says what happened), restarts, and server-initiated bootstrap.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lwm2mBootstrapServer, type BootstrapFailed, type BootstrapFinished, type BootstrapSessionInfo } from '../../src/bootstrap/bootstrap-server.js';
import { BootstrapConfigStore } from '../../src/bootstrap/config-store.js';
import type { BootstrapConfig } from '../../src/bootstrap/config.js';
import type { Lwm2mClient } from '../../src/client/client.js';
import type { BootstrapFailure, BootstrapRefusal, BootstrapResult, BootstrapStarted } from '../../src/client/bootstrap.js';
import { ContentFormat } from '../../src/formats/index.js';
import { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import type { Registration } from '../../src/server/registration.js';
import { bootstrapClient, delay, FAST, nextEvent } from './helpers.js';

const EP = 'bs-dev';

function configFor(dmPort: number, extra: Partial<BootstrapConfig> = {}): BootstrapConfig {
  return {
    objects: {
      0: { 1: { 0: `coap://127.0.0.1:${dmPort}`, 1: false, 2: 3, 3: { hex: '' }, 4: { hex: '' }, 5: { hex: '' }, 10: 101 } },
      1: { 0: { 0: 101, 1: 60, 6: false, 7: 'U' } },
    },
    ...extra,
  };
}

describe('client bootstrap: end to end with the Bootstrap-Server and the LwM2M Server', function () {
  this.timeout(30000);
  let dir: string;
  let bs: Lwm2mBootstrapServer;
  let dm: Lwm2mServer;
  const clients: Lwm2mClient[] = [];
  const extraServers: Lwm2mBootstrapServer[] = [];

  async function startBootstrapServer(configs = BootstrapConfigStore.inMemory()): Promise<Lwm2mBootstrapServer> {
    const server = new Lwm2mBootstrapServer({ address: '127.0.0.1', port: 0, configs, transmission: FAST, requestTimeoutMs: 1500, sessionTimeoutMs: 6000 });
    await server.start();
    return server;
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lwm2m-bsclient-e2e-'));
    dm = new Lwm2mServer({ address: '127.0.0.1', port: 0, transmission: FAST, requestTimeoutMs: 1500 });
    await dm.start();
    bs = await startBootstrapServer();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.stop({ timeoutMs: 300 });
    for (const s of extraServers.splice(0)) await s.stop();
    await bs.stop();
    await dm.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function client(bsServer: Lwm2mBootstrapServer, options: Parameters<typeof bootstrapClient>[1] = {}): Lwm2mClient {
    const uri = `coap://127.0.0.1:${bsServer.address().port}`;
    const c = bootstrapClient(uri, { endpoint: EP, ...options, bootstrap: { ...options.bootstrap, uri } });
    clients.push(c);
    return c;
  }

  function dmPort(): number {
    return dm.address().port;
  }

  it('LwM2M 1.0: Bootstrap-Request, TLV writes, Finish, then Register', async () => {
    await bs.configs.set(EP, configFor(dmPort()));
    const c = client(bs, { lwm2mVersion: '1.0' });
    const finished = nextEvent<[BootstrapFinished]>(bs, 'sessionFinished');
    const registered = nextEvent<[Registration]>(dm, 'registered');
    const clientFinished = nextEvent<[BootstrapResult]>(c, 'bootstrapFinished');
    await c.start();
    const [session] = await finished;
    assert.equal(session.endpoint, EP);
    assert.equal(session.mode, 'request');
    assert.equal(session.format, ContentFormat.TLV);
    assert.deepEqual(session.written, ['/0/1', '/1/0']);
    const [result] = await clientFinished;
    assert.equal(result.mode, 'request');
    assert.deepEqual(result.written, ['/0/1', '/1/0']);
    assert.deepEqual(result.servers, [101]);
    const [reg] = await registered;
    assert.equal(reg.endpoint, EP);
    assert.equal(reg.lwm2mVersion, '1.0');
    assert.equal(reg.lifetime, 60);
  });

  it('LwM2M 1.1: SenML CBOR through pct, Bootstrap-Discover and Bootstrap-Read answered', async () => {
    await bs.configs.set(EP, configFor(dmPort(), { discover: true, read: ['/1'] }));
    const c = client(bs, { lwm2mVersion: '1.1' });
    const finished = nextEvent<[BootstrapFinished]>(bs, 'sessionFinished');
    const registered = nextEvent<[Registration]>(dm, 'registered');
    await c.start();
    const [session] = await finished;
    assert.equal(session.format, ContentFormat.SENML_CBOR);
    const discovered = new Map(session.discovered!.map((l) => [l.uri, l.params]));
    assert.equal(discovered.get('/')?.lwm2m, '1.1');
    assert.equal(discovered.get('/0/0')?.uri, `coap://127.0.0.1:${bs.address().port}`, 'the Bootstrap-Server sees its own account');
    assert.ok(discovered.has('/3/0'));
    assert.deepEqual(session.read?.['/1'], { 0: { 0: 101, 1: 60, 6: false, 7: 'U' } });
    const [reg] = await registered;
    assert.equal(reg.lwm2mVersion, '1.1');
  });

  it('LwM2M 1.2: Bootstrap-Pack-Request, no session, then Register', async () => {
    await bs.configs.set(EP, configFor(dmPort()));
    const c = client(bs, { lwm2mVersion: '1.2' });
    const started = nextEvent<[BootstrapSessionInfo]>(bs, 'sessionStarted');
    const registered = nextEvent<[Registration]>(dm, 'registered');
    const clientFinished = nextEvent<[BootstrapResult]>(c, 'bootstrapFinished');
    await c.start();
    const [info] = await started;
    assert.equal(info.mode, 'pack');
    const [result] = await clientFinished;
    assert.equal(result.mode, 'pack');
    assert.deepEqual(result.written, ['/0/1', '/1/0']);
    const [reg] = await registered;
    assert.equal(reg.lwm2mVersion, '1.2');
    assert.equal(bs.activeSessions().length, 0);
  });

  it('no configuration: 4.04 on both sides, and the client asks again until one exists', async () => {
    const c = client(bs);
    const failedOnServer = nextEvent<[BootstrapFailed]>(bs, 'sessionFailed');
    const failedOnClient = nextEvent<[BootstrapFailure]>(c, 'bootstrapFailed');
    await c.start();
    const [serverSide] = await failedOnServer;
    assert.equal(serverSide.step, 'request');
    assert.equal(serverSide.code, '4.04');
    const [clientSide] = await failedOnClient;
    assert.equal(clientSide.code, '4.04');
    assert.match(clientSide.reason, /no configuration for this endpoint/);
    assert.ok(clientSide.retryInMs > 0);
    const registered = nextEvent<[Registration]>(dm, 'registered', 6000);
    await bs.configs.set(EP, configFor(dmPort()));
    const [reg] = await registered;
    assert.equal(reg.endpoint, EP);
  });

  it('a provisioned server that cannot be reached: registration fails, the client bootstraps again', async () => {
    const gone = new Lwm2mServer({ address: '127.0.0.1', port: 0 });
    await gone.start();
    const deadPort = gone.address().port;
    await gone.stop();
    await bs.configs.set(EP, configFor(deadPort));
    const c = client(bs, { requestTimeoutMs: 300, retry: { initialDelayMs: 50, maxDelayMs: 200, factor: 2 }, bootstrap: { uri: '', registrationAttempts: 2 } });
    const sessions: BootstrapFinished[] = [];
    bs.on('sessionFinished', (s) => sessions.push(s));
    const events: string[] = [];
    c.on('registrationFailed', (f) => events.push(`registrationFailed:${f.uri === `coap://127.0.0.1:${deadPort}`}`));
    c.on('bootstrapStarted', (s) => events.push(`bootstrapStarted:${s.trigger}`));
    c.on('bootstrapFinished', () => events.push('bootstrapFinished'));
    const again = nextEvent<[BootstrapStarted]>(c, 'bootstrapStarted', 8000, (s) => s.trigger === 'registration-failure');
    await c.start();
    await again;
    await nextEvent(bs, 'sessionFinished', 4000);
    assert.deepEqual(events.slice(0, 5), ['bootstrapStarted:start', 'bootstrapFinished', 'registrationFailed:true', 'registrationFailed:true', 'bootstrapStarted:registration-failure']);
    assert.equal(sessions.length, 2, 'the Bootstrap-Server served the client twice');
  });

  it('the client refuses a write: the server\'s session fails at that write, the client undoes the session', async () => {
    await bs.configs.set(EP, configFor(dmPort(), { objects: { ...configFor(dmPort()).objects, 3: { 0: { 0: 'Evil Corp' } } } }));
    const c = client(bs, { bootstrap: { uri: '', sessionTimeoutMs: 800 } });
    const failedOnServer = nextEvent<[BootstrapFailed]>(bs, 'sessionFailed');
    const refused = nextEvent<[BootstrapRefusal]>(c, 'bootstrapRefused');
    const failedOnClient = nextEvent<[BootstrapFailure]>(c, 'bootstrapFailed');
    await c.start();
    const [serverSide] = await failedOnServer;
    assert.equal(serverSide.step, 'write');
    assert.equal(serverSide.code, '4.05');
    assert.match(serverSide.reason, /Bootstrap-Write \/3\/0 failed: 4.05.*belongs to the device/);
    const [refusal] = await refused;
    assert.deepEqual({ operation: refusal.operation, path: refusal.path, code: refusal.code }, { operation: 'write', path: '/3/0', code: '4.05' });
    const [clientSide] = await failedOnClient;
    assert.equal(clientSide.code, '5.04');
    assert.match(clientSide.reason, /no Bootstrap-Finish within 800 ms/);
    assert.deepEqual(c.tree.instanceIds(1), [], 'the accounts written before the refusal are undone');
    assert.notEqual(c.tree.storedValue([3, 0, 0])?.value, 'Evil Corp');
    assert.equal(dm.registrations().length, 0);
  });

  it('configurations survive restarts: the Bootstrap-Server\'s file, then the client\'s', async () => {
    const configFile = join(dir, 'bootstrap.json');
    const clientFile = join(dir, 'client.json');
    const store = await BootstrapConfigStore.open(configFile);
    await store.set(EP, configFor(dmPort()));
    const first = await startBootstrapServer(store);
    await first.stop();

    const restarted = await startBootstrapServer(await BootstrapConfigStore.open(configFile));
    extraServers.push(restarted);
    const c = client(restarted, { persistence: { file: clientFile } });
    const registered = nextEvent<[Registration]>(dm, 'registered');
    await c.start();
    await registered;
    await c.stop({ timeoutMs: 300 });

    let sessions = 0;
    restarted.on('sessionStarted', () => sessions++);
    const again = client(restarted, { persistence: { file: clientFile } });
    const registeredAgain = nextEvent<[Registration]>(dm, 'registered');
    await again.start();
    const [reg] = await registeredAgain;
    assert.equal(reg.endpoint, EP);
    await delay(100);
    assert.equal(sessions, 0, 'the restarted client registers without bootstrapping');
    assert.equal(again.bootstrapState, 'idle');
  });

  it('server-initiated bootstrap (1.1): Execute /1/0/9 → De-register, bootstrap, Register again', async () => {
    await bs.configs.set(EP, configFor(dmPort()));
    const c = client(bs, { lwm2mVersion: '1.1' });
    const registered = nextEvent(c, 'registered');
    await c.start();
    await registered;
    const events: string[] = [];
    for (const name of ['bootstrapRequired', 'deregistered', 'bootstrapStarted', 'bootstrapFinished', 'registered']) c.on(name as 'registered', () => events.push(name));
    const deregistered = nextEvent<[Registration]>(dm, 'deregistered');
    const secondSession = nextEvent<[BootstrapFinished]>(bs, 'sessionFinished');
    const registeredAgain = nextEvent<[Registration]>(dm, 'registered');
    const clientRegisteredAgain = nextEvent(c, 'registered');
    const started = nextEvent<[BootstrapStarted]>(c, 'bootstrapStarted');
    await dm.execute(EP, '/1/0/9');
    await deregistered;
    const [start] = await started;
    assert.equal(start.trigger, 'server');
    await secondSession;
    const [reg] = await registeredAgain;
    assert.equal(reg.endpoint, EP);
    await clientRegisteredAgain;
    assert.deepEqual(events, ['bootstrapRequired', 'deregistered', 'bootstrapStarted', 'bootstrapFinished', 'registered']);
  });

  it('the application may bootstrap again too (client.bootstrap())', async () => {
    await bs.configs.set(EP, configFor(dmPort()));
    const c = client(bs);
    const registered = nextEvent<[Registration]>(dm, 'registered');
    await c.start();
    await registered;
    const started = nextEvent<[BootstrapStarted]>(c, 'bootstrapStarted');
    const registeredAgain = nextEvent<[Registration]>(dm, 'registered');
    await c.bootstrap();
    assert.equal((await started)[0].trigger, 'application');
    await registeredAgain;
  });
});
