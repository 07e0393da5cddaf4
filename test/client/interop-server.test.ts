/**
 * Engine to engine: our client against our server (src/server), over
 * loopback UDP, in each LwM2M version.
 */
import assert from 'node:assert/strict';
import { Lwm2mClient } from '../../src/client/client.js';
import type { Lwm2mVersion } from '../../src/client/content.js';
import { Lwm2mServer, type NotificationEvent, type SendEvent } from '../../src/server/lwm2m-server.js';
import { until } from './helpers.js';

for (const version of ['1.0', '1.1', '1.2'] as Lwm2mVersion[]) {
  describe(`client ↔ server engine, LwM2M ${version}`, function () {
    this.timeout(15000);
    let server: Lwm2mServer;
    let client: Lwm2mClient;

    before(async () => {
      server = new Lwm2mServer({ address: '127.0.0.1', port: 0, transmission: { ackTimeoutMs: 300 } });
      await server.start();
      client = new Lwm2mClient({
        endpoint: `interop-${version}`,
        lwm2mVersion: version,
        bindAddress: '127.0.0.1',
        servers: [{ uri: `coap://127.0.0.1:${server.address().port}`, lifetime: 60 }],
        objectVersions: { 3303: '1.1' },
        objects: { 3303: { 0: { 5700: 18.5, 5701: 'Cel' } } },
        device: { manufacturer: 'ACME' },
        transmission: { ackTimeoutMs: 300 },
      });
      const registered = new Promise<void>((r) => server.once('registered', () => r()));
      await client.start();
      await registered;
    });

    after(async () => {
      await client.stop({ timeoutMs: 500 });
      await server.stop();
    });

    it('registers with the version and objects the client declares', () => {
      const reg = server.getRegistration(`interop-${version}`);
      assert.ok(reg);
      assert.equal(reg.lwm2mVersion, version);
    });

    it('reads, writes, executes, creates and deletes', async () => {
      const ep = `interop-${version}`;
      assert.equal((await server.read(ep, '/3/0/0')).value, 'ACME');
      assert.deepEqual((await server.read(ep, '/3303/0')).value, { 5700: 18.5, 5701: 'Cel' });
      await server.write(ep, '/3303/0/5750', 'garden');
      assert.equal(await client.getValue('/3303/0/5750'), 'garden');
      const executed = new Promise<string>((r) => client.once('execute', (e) => r(e.path)));
      await server.execute(ep, '/3/0/4');
      assert.equal(await executed, '/3/0/4');
      const id = await server.create(ep, 3303, { 5750: 'new' });
      const created = id ?? 1;
      assert.equal(await client.getValue(`/3303/${created}/5750`), 'new');
      await server.delete(ep, `/3303/${created}`);
      assert.equal(client.tree.hasInstance(3303, created), false);
    });

    it('observes with attributes and receives notifications', async () => {
      const ep = `interop-${version}`;
      const got: NotificationEvent[] = [];
      server.on('notification', (n) => got.push(n));
      await server.observe(ep, '/3303/0/5700', { attributes: { pmin: 0, st: 1 } });
      client.setValue('/3303/0/5700', 18.9);
      client.setValue('/3303/0/5700', 20);
      await until(() => got.length >= 1, 3000, 'notification');
      assert.deepEqual(got.map((n) => n.value['/3303/0/5700']), [20]);
    });

    if (version !== '1.0') {
      it('sends data that the server receives', async () => {
        const received = new Promise<SendEvent>((r) => server.once('send', (e) => r(e)));
        await client.send(['/3303/0/5700']);
        const e = await received;
        assert.deepEqual(e.value['/3303/0'], { 5700: 20 });
      });
    }
  });
}
