/**
 * Interoperability with OpenSSL (the `openssl` command line, Debian package
 * openssl): its DTLS 1.2 client against our server, our client against its
 * server, for each PSK suite. In CI a missing `openssl` fails the suite.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Peer } from '../../src/coap/transport.js';
import type { DtlsServerTransport } from '../../src/dtls/server-transport.js';
import type { CipherSuiteName } from '../../src/dtls/suites-option.js';
import { connectClient, findTool, freeUdpPort, requireTool, startProcess, startServer, waitFor, type RunningProcess } from './helpers.js';

const OPENSSL = findTool('openssl');
const PSK_HEX = '0102030405060708090a0b0c0d0e0f10';
const PSK = Buffer.from(PSK_HEX, 'hex');

const SUITES: Array<{ ours: CipherSuiteName; openssl: string }> = [
  { ours: 'TLS_PSK_WITH_AES_128_CCM_8', openssl: 'PSK-AES128-CCM8' },
  { ours: 'TLS_PSK_WITH_AES_128_GCM_SHA256', openssl: 'PSK-AES128-GCM-SHA256' },
  { ours: 'TLS_PSK_WITH_AES_128_CBC_SHA256', openssl: 'PSK-AES128-CBC-SHA256' },
];

describe('dtls: interop with OpenSSL', function () {
  this.timeout(20000);
  const processes: RunningProcess[] = [];

  before(function () {
    requireTool(this, OPENSSL, 'openssl (apt-get install -y openssl)');
  });

  afterEach(async () => {
    for (const p of processes.splice(0)) {
      p.kill();
      await p.done;
    }
  });

  function run(args: string[]): RunningProcess {
    const p = startProcess(OPENSSL!, args, { timeoutMs: 15_000 });
    processes.push(p);
    return p;
  }

  describe('openssl s_client → our server', () => {
    let server: DtlsServerTransport;
    let received: Array<{ text: string; peer: Peer }>;

    beforeEach(async () => {
      server = await startServer({ psk: (id) => (id === 'id' ? PSK : undefined), retransmitInitialMs: 500 });
      received = [];
      server.setHandler((d, peer) => {
        received.push({ text: d.toString(), peer });
        server.send(Buffer.from(`echo:${d.toString()}`), peer);
      });
    });

    afterEach(() => server.close());

    for (const { openssl } of SUITES) {
      it(`completes a handshake with ${openssl} and exchanges data both ways`, async () => {
        const client = run(['s_client', '-dtls1_2', '-psk_identity', 'id', '-psk', PSK_HEX, '-cipher', openssl, '-connect', `127.0.0.1:${server.address().port}`]);
        await client.waitForOutput(/Cipher is /);
        client.write('hello from openssl\n');
        await client.waitForOutput(/echo:hello from openssl/);
        assert.equal(received.length, 1);
        assert.equal(received[0]!.text, 'hello from openssl\n');
        assert.equal(received[0]!.peer.identity, 'id');
        assert.match(client.output(), new RegExp(`Cipher is ${openssl}`));
        assert.match(client.output(), /Extended master secret: yes/);
        assert.match(client.output(), /Secure Renegotiation IS supported/);
        // End of input: s_client sends close_notify and exits.
        client.endInput();
        const { code } = await client.done;
        assert.equal(code, 0);
        await waitFor(() => server.state.sessions === 0, 3000, 'the session to close');
        assert.ok(server.stats.alertsReceived >= 1);
      });
    }

    it('takes a PSK identity hint (ServerKeyExchange) when configured', async () => {
      await server.close();
      server = await startServer({ psk: (id) => (id === 'id' ? PSK : undefined), pskIdentityHint: 'lwm2m', retransmitInitialMs: 500 });
      server.setHandler((d, peer) => server.send(Buffer.from(`echo:${d.toString()}`), peer));
      const client = run(['s_client', '-dtls1_2', '-psk_identity', 'id', '-psk', PSK_HEX, '-cipher', 'PSK-AES128-CCM8', '-connect', `127.0.0.1:${server.address().port}`]);
      await client.waitForOutput(/PSK identity hint: lwm2m/);
      client.write('x\n');
      await client.waitForOutput(/echo:x/);
    });

    it('refuses a wrong key: no session, the failure is reported', async () => {
      const failed = once(server, 'handshake-failed');
      const client = run(['s_client', '-dtls1_2', '-psk_identity', 'id', '-psk', 'ffffffffffffffffffffffffffffffff', '-cipher', 'PSK-AES128-CCM8', '-connect', `127.0.0.1:${server.address().port}`]);
      const [failure] = await failed;
      assert.match(failure.error.message, /did not authenticate/);
      const { code } = await client.done;
      assert.notEqual(code, 0);
      assert.deepEqual(server.state, { sessions: 0, handshakes: 0 });
    });
  });

  describe('our client → openssl s_server', () => {
    for (const { ours, openssl } of SUITES) {
      it(`completes a handshake with ${openssl} and exchanges data both ways`, async () => {
        const port = await freeUdpPort();
        const server = run(['s_server', '-dtls1_2', '-nocert', '-psk', PSK_HEX, '-psk_identity', 'id', '-psk_hint', 'ossl-hint', '-cipher', openssl, '-accept', String(port)]);
        await server.waitForOutput(/ACCEPT/);
        const client = await connectClient(port, { identity: 'id', psk: PSK, cipherSuites: [ours], retransmitInitialMs: 500 });
        try {
          assert.equal(client.cipherSuite, ours);
          assert.equal(client.identityHint, 'ossl-hint');
          const got = new Promise<string>((resolve) => client.setHandler((d) => resolve(d.toString())));
          client.send(Buffer.from('hello from node\n'), client.peer);
          await server.waitForOutput(/hello from node/);
          assert.match(server.output(), new RegExp(`CIPHER is ${openssl}`));
          assert.doesNotMatch(server.output(), /client identity not what we expected/);
          server.write('hello from s_server\n');
          assert.equal(await got, 'hello from s_server\n');
        } finally {
          await client.close();
        }
        // Our close_notify ends the connection on OpenSSL's side.
        await server.waitForOutput(/DONE|CONNECTION CLOSED/);
      });
    }

    it('fails cleanly against a server with another key', async () => {
      const port = await freeUdpPort();
      const server = run(['s_server', '-dtls1_2', '-nocert', '-psk', 'ffffffffffffffffffffffffffffffff', '-cipher', 'PSK-AES128-CCM8', '-accept', String(port)]);
      await server.waitForOutput(/ACCEPT/);
      // OpenSSL drops a Finished that does not authenticate without an alert: the handshake runs into its timeout.
      await assert.rejects(connectClient(port, { identity: 'id', psk: PSK, retransmitInitialMs: 300, handshakeTimeoutMs: 2000 }), /timed out/);
    });
  });
});
