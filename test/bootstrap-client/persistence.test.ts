/**
 * What a Bootstrap-Server provisioned survives a restart of the client:
 * file store (atomic, 0600) and load/save hooks.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lwm2mClient } from '../../src/client/client.js';
import { restoreProvisioning, type ProvisioningState, type ProvisioningStore } from '../../src/client/bootstrap-store.js';
import { ObjectTree } from '../../src/client/object-tree.js';
import { codecFor, ContentFormat } from '../../src/formats/index.js';
import { fromPlain } from '../../src/model/plain.js';
import { builtinRegistry } from '../../src/model/registry.js';
import { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { bootstrapClient, delay, FAST, nextEvent, ScriptedBootstrapServer, until } from './helpers.js';

const SENML = ContentFormat.SENML_CBOR;
const model = builtinRegistry().lookupFor(new Map(), '1.1');

function put(bs: ScriptedBootstrapServer, path: number[], plain: unknown) {
  return bs.send({ method: 'PUT', path: '/' + path.join('/'), contentFormat: SENML, payload: codecFor(SENML).encode([{ path, node: fromPlain(path, plain, model) }], { model }) });
}

describe('client bootstrap: persistence of the provisioned configuration', function () {
  this.timeout(20000);
  let bs: ScriptedBootstrapServer;
  let dm: Lwm2mServer;
  let dir: string;
  const clients: Lwm2mClient[] = [];

  beforeEach(async () => {
    bs = await ScriptedBootstrapServer.start();
    dm = new Lwm2mServer({ address: '127.0.0.1', port: 0, transmission: FAST, requestTimeoutMs: 1500 });
    await dm.start();
    dir = mkdtempSync(join(tmpdir(), 'lwm2m-bsclient-'));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.stop({ timeoutMs: 300 });
    await dm.stop();
    await bs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function track(c: Lwm2mClient): Lwm2mClient {
    clients.push(c);
    return c;
  }

  /** Runs a whole bootstrap session by hand: one server account with a secret key, and a bootstrapped 3303 instance. */
  async function provision(client: Lwm2mClient): Promise<void> {
    const asked = bs.waitFor('/bs', 4000, bs.uplinks.length);
    const registered = nextEvent(client, 'registered');
    await client.start();
    await asked;
    await until(() => client.bootstrapState === 'session', 2000, 'the session');
    assert.equal((await bs.send({ method: 'DELETE', path: '/' })).code, '2.02');
    await put(bs, [0, 1], { 0: `coap://127.0.0.1:${dm.address().port}`, 1: false, 2: 3, 3: Buffer.alloc(0), 4: Buffer.alloc(0), 5: Buffer.from([0, 1, 0xfe, 0xff]), 10: 4 });
    await put(bs, [1, 0], { 0: 4, 1: 77, 6: false, 7: 'U' });
    await put(bs, [3303, 5], { 5700: 18.5, 5701: 'Cel' });
    assert.equal((await bs.send({ method: 'POST', path: '/bs' })).code, '2.04');
    await registered;
  }

  it('saves to a file after Bootstrap-Finish; a restarted client registers at once with it', async () => {
    const file = join(dir, 'client.json');
    const first = track(bootstrapClient(bs.uri, { persistence: { file }, objects: { 3303: {} } }));
    await provision(first);
    await until(() => { try { return statSync(file).size > 0; } catch { return false; } }, 2000, 'the file');
    assert.equal(statSync(file).mode & 0o777, 0o600, 'the file holds credentials: owner only');
    const saved = JSON.parse(readFileSync(file, 'utf8')) as ProvisioningState;
    assert.equal(saved.endpoint, 'bs-dev');
    assert.deepEqual(saved.instances, ['/0/0', '/0/1', '/1/0', '/3303/5']);
    assert.ok(saved.values.some((r) => JSON.stringify(r) === JSON.stringify({ n: '/0/1/5', vd: 'AAH-_w' })), 'opaque keys kept exactly');
    await first.stop({ timeoutMs: 300 });

    const bootstrapsBefore = bs.uplinks.length;
    const second = track(bootstrapClient(bs.uri, { persistence: { file }, objects: { 3303: {} } }));
    const registered = nextEvent<[{ lifetime: number; shortServerId: number }]>(second, 'registered');
    await second.start();
    const [info] = await registered;
    assert.equal(info.shortServerId, 4);
    assert.equal(info.lifetime, 77);
    await delay(100);
    assert.equal(bs.uplinks.length, bootstrapsBefore, 'no Bootstrap-Request after a restart');
    assert.deepEqual(second.tree.storedValue([0, 1, 5])?.value, Buffer.from([0, 1, 0xfe, 0xff]));
    assert.equal(second.tree.storedValue([3303, 5, 5700])?.value, 18.5);
    assert.equal(second.tree.instanceOrigin(3303, 5), 'bootstrap');
    assert.equal(second.tree.storedValue([0, 0, 1])?.value, true, 'the Bootstrap-Server account is kept too');
  });

  it('works with a load/save pair, and saves nothing when a bootstrap fails', async () => {
    const saves: ProvisioningState[] = [];
    let stored: ProvisioningState | undefined;
    const store: ProvisioningStore = {
      load: async () => stored,
      save: async (state) => {
        saves.push(state);
        stored = state;
      },
    };
    const failing = track(bootstrapClient(bs.uri, { persistence: store, bootstrap: { uri: bs.uri, sessionTimeoutMs: 300 } }));
    const failed = nextEvent(failing, 'bootstrapFailed');
    await failing.start();
    await failed;
    assert.equal(saves.length, 0);
    await failing.stop({ timeoutMs: 100 });

    const client = track(bootstrapClient(bs.uri, { persistence: store, objects: { 3303: {} } }));
    await provision(client);
    await until(() => saves.length === 1, 2000, 'the save');
    assert.deepEqual(saves[0]!.instances, ['/0/0', '/0/1', '/1/0', '/3303/5']);
    await client.stop({ timeoutMs: 300 });

    const again = track(bootstrapClient(bs.uri, { persistence: store, objects: { 3303: {} } }));
    const registered = nextEvent(again, 'registered');
    await again.start();
    await registered;
  });

  it('refuses to start from a corrupt file rather than losing provisioning data', async () => {
    const file = join(dir, 'client.json');
    writeFileSync(file, '{ "version": 1, ');
    const client = track(bootstrapClient(bs.uri, { persistence: { file } }));
    await assert.rejects(client.start(), /client provisioning file .* is not valid JSON/);
    writeFileSync(file, JSON.stringify({ version: 1, endpoint: 'bs-dev', lwm2mVersion: '1.1', instances: ['/1'], values: [] }));
    await assert.rejects(client.start(), /"\/1" is not an instance path/);
    assert.equal(bs.uplinks.length, 0);
  });

  it('ignores (with a warning) a state saved for another endpoint, and bootstraps', async () => {
    const file = join(dir, 'client.json');
    writeFileSync(file, JSON.stringify({ version: 1, endpoint: 'someone-else', lwm2mVersion: '1.1', savedAt: '', instances: ['/1/0'], values: [{ n: '/1/0/0', v: 1 }] }));
    const client = track(bootstrapClient(bs.uri, { persistence: { file } }));
    const warned = nextEvent<[{ message: string }]>(client, 'warning');
    const asked = bs.waitFor('/bs');
    await client.start();
    const [w] = await warned;
    assert.match(w.message, /belongs to endpoint "someone-else"/);
    await asked;
  });

  it('restoreProvisioning checks the state before touching the tree', async () => {
    const tree = new ObjectTree({ registry: builtinRegistry(), lwm2mVersion: '1.1' });
    tree.addInstance(1, 0, { 0: 1, 1: 60, 6: true, 7: 'U' });
    const bad: ProvisioningState = { version: 1, endpoint: 'x', lwm2mVersion: '1.1', savedAt: '', instances: ['/1/1'], values: [{ n: '/1/2/0', v: 3 }] };
    await assert.rejects(restoreProvisioning(tree, bad), /values of \/1\/2, which is not in "instances"/);
    assert.deepEqual(tree.instanceIds(1), [0], 'untouched');
    const unknown: ProvisioningState = { ...bad, instances: ['/59999/0'], values: [] };
    await assert.rejects(restoreProvisioning(tree, unknown), /object 59999 has no definition/);
    await restoreProvisioning(tree, { ...bad, instances: ['/1/3'], values: [{ n: '/1/3/0', v: 3 }, { n: '/1/3/1', v: 30 }] });
    assert.deepEqual(tree.instanceIds(1), [3], '/1 is replaced whole');
    assert.equal(tree.storedValue([1, 3, 1])?.value, 30);
  });
});
