import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ddfXml } from '../model/ddf-fixtures.js';
import {
  eventually,
  helper,
  lastStatus,
  loadFlow,
  registerDevice,
  runtimeOfNode,
  serverConfig,
  serverOf,
  statuses,
  TAB,
  tempDir,
} from './helpers.js';

describe('nodes: lwm2m-server config node', function () {
  this.timeout(10_000);
  afterEach(() => helper.unload());

  it('starts listening and shows it in the status of the nodes that use it', async () => {
    await loadFlow([TAB, serverConfig(), { id: 'ev', type: 'lwm2m-events', z: 'flow1', server: 'srv', wires: [[]] }]);
    const server = await serverOf();
    const { port } = server.address();
    assert.ok(port > 0);
    await eventually(() => lastStatus('ev')?.text === `listening 127.0.0.1:${port}`, 'listening status');
    assert.equal(lastStatus('ev')?.fill, 'green');
    assert.equal(statuses('ev')[0]?.text, 'starting', 'the status says starting before the socket is bound');
  });

  it('shows a port in use as a red status and refuses requests with 5.03', async () => {
    const blocker = createSocket('udp4');
    await new Promise<void>((resolve) => blocker.bind(0, '127.0.0.1', resolve));
    const busyPort = blocker.address().port;
    try {
      await loadFlow([TAB, serverConfig('srv', { port: String(busyPort) }), { id: 'ev', type: 'lwm2m-events', z: 'flow1', server: 'srv', wires: [[]] }]);
      await assert.rejects(runtimeOfNode().ready(), (err: Error & { code?: string }) => err.code === '5.03' && /already in use/.test(err.message));
      await eventually(() => lastStatus('ev')?.fill === 'red', 'red status');
      assert.match(lastStatus('ev')?.text ?? '', /in use/);
    } finally {
      blocker.close();
    }
  });

  it('rejects unusable settings with a message naming the field', async () => {
    await loadFlow([TAB, serverConfig('srv', { port: '70000' }), { id: 'ev', type: 'lwm2m-events', z: 'flow1', server: 'srv', wires: [[]] }]);
    assert.equal(runtimeOfNode().state.status, 'failed');
    await eventually(() => /port must be a whole number/.test(lastStatus('ev')?.text ?? ''), 'settings error in status');
  });

  it('releases the socket on close, so the next flow binds the same port', async () => {
    await loadFlow([TAB, serverConfig()]);
    const port = (await serverOf()).address().port;
    const client = await registerDevice('srv', 'dev-close');
    await client.close();
    await helper.unload();
    await loadFlow([TAB, serverConfig('srv2', { port: String(port) })]);
    const again = await serverOf('srv2');
    assert.equal(again.address().port, port);
    assert.equal(again.registrations().length, 0, 'without persistence the registrations went with the old engine');
  });

  it('keeps registrations in a file under the user directory across a restart, and deletes it with the node', async () => {
    const tmp = tempDir('lwm2m-nodes-');
    try {
      await loadFlow([TAB, serverConfig('cfg.1', { persist: true })], { userDir: tmp.dir });
      const runtime = runtimeOfNode('cfg.1');
      const file = runtime.storeFile;
      assert.equal(file, join(tmp.dir, 'lwm2m', 'server-cfg_1.jsonl'));
      const client = await registerDevice('cfg.1', 'dev-kept');
      await client.close();
      await helper.unload(); // stop: the store is flushed and closed
      assert.ok(existsSync(file!), 'the store file exists after close');

      await loadFlow([TAB, serverConfig('cfg.1', { persist: true })], { userDir: tmp.dir });
      const server = await serverOf('cfg.1');
      assert.deepEqual(server.registrations().map((r) => r.endpoint), ['dev-kept']);

      // a deleted config node (close with removed = true) takes its file along
      await runtimeOfNode('cfg.1').stop(true);
      assert.equal(existsSync(file!), false);
    } finally {
      await helper.unload();
      tmp.remove();
    }
  });

  it('loads extra object models from a folder relative to the user directory', async () => {
    const tmp = tempDir('lwm2m-models-');
    try {
      mkdirSync(join(tmp.dir, 'models'));
      writeFileSync(
        join(tmp.dir, 'models', 'acme.xml'),
        ddfXml({ id: '33000', name: 'Acme Valve', items: [{ id: '1', name: 'Opening', type: 'Float', units: '%', operations: 'RW' }] }),
      );
      await loadFlow([TAB, serverConfig('srv', { models: 'models' })], { userDir: tmp.dir });
      const server = await serverOf();
      assert.equal(server.registry.get(33000)?.name, 'Acme Valve');
      assert.equal(server.registry.get(3)?.name, 'Device', 'built-in objects stay');
    } finally {
      await helper.unload();
      tmp.remove();
    }
  });

  it('does not start with a broken model folder, and says which file', async () => {
    const tmp = tempDir('lwm2m-models-');
    try {
      writeFileSync(join(tmp.dir, 'broken.xml'), '<LWM2M><Object><Name>no id</Name></Object></LWM2M>');
      await loadFlow([TAB, serverConfig('srv', { models: tmp.dir }), { id: 'ev', type: 'lwm2m-events', z: 'flow1', server: 'srv', wires: [[]] }]);
      await assert.rejects(runtimeOfNode().ready(), /broken\.xml/);
      await eventually(() => lastStatus('ev')?.fill === 'red', 'red status');
    } finally {
      await helper.unload();
      tmp.remove();
    }
  });

  it('shows "no LwM2M server configured" on a flow node without a server', async () => {
    await loadFlow([TAB, { id: 'ev', type: 'lwm2m-events', z: 'flow1', server: '', wires: [[]] }]);
    assert.equal(lastStatus('ev')?.text, 'no LwM2M server configured');
  });
});
