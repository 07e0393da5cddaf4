/**
 * libcoap's command-line client (Debian package libcoap3-bin) as an
 * independent CoAP peer: it registers with our server and de-registers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { nextEvent, startServer } from './helpers.js';

const run = promisify(execFile);

async function findCoapClient(): Promise<string | undefined> {
  for (const name of ['coap-client-notls', 'coap-client']) {
    try {
      await run('sh', ['-c', `command -v ${name}`]);
      return name;
    } catch {
      // try the next name
    }
  }
  return undefined;
}

describe('server: libcoap coap-client as an independent peer', function () {
  let binary: string | undefined;
  let server: Lwm2mServer;

  before(async function () {
    binary = await findCoapClient();
    if (!binary) {
      if (process.env.CI) throw new Error('libcoap coap-client is not installed (apt-get install libcoap3-bin)');
      this.skip();
    }
  });
  beforeEach(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await server.stop();
  });

  it('registers (2.01 + Location-Path) and de-registers (2.02)', async () => {
    const port = server.address().port;
    const registered = nextEvent(server, 'registered');
    const reg = await run(binary as string, [
      '-m', 'post', '-U', '-B', '5', '-t', '40', '-e', '</1/0>,</3/0>,</3303/0>',
      `coap://127.0.0.1:${port}/rd?ep=libcoap-client&lt=300&lwm2m=1.1&b=U`,
    ]);
    const [registration] = await registered;
    assert.equal(registration.endpoint, 'libcoap-client');
    assert.equal(registration.lifetime, 300);
    assert.deepEqual(registration.objects.map((o) => o.id), [1, 3, 3303]);
    assert.equal(reg.stderr.includes('4.'), false, reg.stderr);

    const deregistered = nextEvent(server, 'deregistered');
    await run(binary as string, ['-m', 'delete', '-U', '-B', '5', `coap://127.0.0.1:${port}/rd/${registration.id}`]);
    assert.equal((await deregistered)[0].id, registration.id);
    assert.equal(server.registrations().length, 0);
  });

  it('gets 4.00 for a Register without an endpoint name', async () => {
    const port = server.address().port;
    const out = await run(binary as string, ['-m', 'post', '-U', '-B', '5', '-v', '6', '-e', '</3/0>', `coap://127.0.0.1:${port}/rd?lt=60`]).catch((err: { stdout: string; stderr: string }) => err);
    assert.match(`${out.stdout}${out.stderr}`, /4\.00/);
    assert.equal(server.registrations().length, 0);
  });
});
