import assert from 'node:assert/strict';
import type { Lwm2mClient } from '../../src/client/client.js';
import { senmlCborCodec } from '../../src/formats/senml-cbor.js';
import { senmlJsonCodec } from '../../src/formats/senml-json.js';
import { formatPath } from '../../src/model/path.js';
import { valueToPlain } from '../../src/model/plain.js';
import { flattenNode } from '../../src/model/tree.js';
import { ScriptedServer, startRegistered, testClient } from './helpers.js';

describe('client Send', function () {
  this.timeout(15000);
  let server: ScriptedServer;
  let client: Lwm2mClient;

  async function setup(version: '1.0' | '1.1' | '1.2' = '1.1'): Promise<void> {
    server = await ScriptedServer.start();
    client = testClient(server, { lwm2mVersion: version, objectVersions: { 3303: '1.1' }, objects: { 3303: { 0: { 5700: 20.5, 5701: 'Cel' } } } });
    await startRegistered(client);
  }
  afterEach(async () => {
    await client.stop({ timeoutMs: 300 });
    await server.close();
  });

  function leaves(payload: Buffer, codec = senmlCborCodec): Array<[string, unknown, number | undefined]> {
    return codec
      .decode(payload, { model: client.tree.model })
      .flatMap((e) => flattenNode(e.path, e.node))
      .map((l) => [formatPath(l.path), valueToPlain(l.value), l.time]);
  }

  it('posts current values to /dp in SenML CBOR', async () => {
    await setup();
    await client.send(['/3303/0/5700', '/3/0/0']);
    const up = await server.waitFor((u) => u.path === '/dp');
    assert.equal(up.method, 'POST');
    assert.equal(up.contentFormat, 112);
    assert.deepEqual(leaves(up.payload), [
      ['/3303/0/5700', 20.5, undefined],
      ['/3/0/0', 'LwM2M toolkit for Node-RED', undefined],
    ]);
  });

  it('keeps the timestamps of batched readings', async () => {
    await setup();
    await client.send(
      { '/3303/0/5700': [{ value: 19, time: new Date(1_700_000_000_000) }, { value: 19.5, time: 1_700_000_060 }, { value: 20 }] },
      { format: 110 },
    );
    const up = await server.waitFor((u) => u.path === '/dp');
    assert.equal(up.contentFormat, 110);
    const got = leaves(up.payload, senmlJsonCodec);
    assert.deepEqual(got.slice(0, 2), [
      ['/3303/0/5700', 19, 1_700_000_000],
      ['/3303/0/5700', 19.5, 1_700_000_060],
    ]);
    assert.equal(got[2]![1], 20);
  });

  it('refuses bad readings before anything is sent (4.00)', async () => {
    await setup();
    await assert.rejects(client.send({ '/3303/0/5700': [{ value: 1, time: Number.NaN }] }), (err: Error & { code?: string }) => err.code === '4.00');
    await assert.rejects(client.send({ '/3303/0/5700': 'warm' }), (err: Error & { code?: string }) => err.code === '4.00');
    await assert.rejects(client.send({ '/3303/0/5700/x': 1 }), (err: Error & { code?: string }) => err.code === '4.00');
    assert.equal(server.uplinks.filter((u) => u.path === '/dp').length, 0);
  });

  it('rejects with the server code when Send is refused', async () => {
    await setup();
    server.respond = (req) => (req.path[0] === 'dp' ? { code: '4.00' } : undefined);
    await assert.rejects(client.send(['/3303/0/5700']), (err: Error & { code?: string }) => err.code === '4.00');
  });

  it('has no Send for LwM2M 1.0', async () => {
    await setup('1.0');
    await assert.rejects(client.send(['/3303/0/5700']), (err: Error & { code?: string }) => err.code === '4.04');
  });

  it('skips a server that muted Send (/1/x/23) unless asked for it by id', async () => {
    await setup('1.2');
    client.setValue('/1/0/23', true);
    await assert.rejects(client.send(['/3303/0/5700']), (err: Error & { code?: string }) => err.code === '4.04');
    await client.send(['/3303/0/5700'], { shortServerId: 1, format: 11544 });
    const up = await server.waitFor((u) => u.path === '/dp');
    assert.equal(up.contentFormat, 11544);
  });
});
