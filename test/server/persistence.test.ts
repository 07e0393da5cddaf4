import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObserverHandle } from '../../src/coap/observer.js';
import { ContentFormat } from '../../src/formats/index.js';
import { FileRegistrationStore } from '../../src/server/file-store.js';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { nextEvent, ScriptedClient, startServer } from './helpers.js';

describe('server: registrations and observations survive a restart (file store)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lwm2m-server-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a client and recognises its notifications after the server restarts, without re-registering', async () => {
    const file = join(dir, 'registrations.jsonl');
    let server: Lwm2mServer = await startServer({ store: await FileRegistrationStore.open(file, { flushDelayMs: 10 }) });
    const port = server.address().port;
    const client = await ScriptedClient.connect(server);
    let handle: ObserverHandle | undefined;
    client.answer((req) => {
      if (req.observe === 0) handle = req.acceptObservation();
      return { code: '2.05', contentFormat: ContentFormat.TEXT, payload: '42' };
    });
    try {
      await client.register(['ep=persistent', 'lt=300', 'lwm2m=1.1'], '</1/0>,</3/0>,</3303/0>');
      const { observation } = await server.observe('persistent', '/3303/0/5700', { format: ContentFormat.TEXT });
      await server.stop();
      await server.store.close();

      // a new process would do exactly this: open the file, start on the same port
      server = await startServer({ port, store: await FileRegistrationStore.open(file) });
      const reg = server.getRegistration('persistent');
      assert.ok(reg, 'the registration is back');
      assert.equal((await server.read('persistent', '/3/0/9', { format: ContentFormat.TEXT })).value, 42);
      assert.deepEqual(server.observations('persistent').map((o) => o.id), [observation.id]);

      const notified = nextEvent(server, 'notification');
      await client.endpoint.notify(handle!, { code: '2.05', contentFormat: ContentFormat.TEXT, payload: '43.5', confirmable: true });
      const [event] = await notified;
      assert.equal(event.observation.id, observation.id);
      assert.deepEqual(event.value, { '/3303/0/5700': 43.5 });
    } finally {
      await client.close();
      await server.stop();
      await server.store.close();
    }
  });
});
