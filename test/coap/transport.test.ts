import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { UdpTransport } from '../../src/coap/udp-transport.js';
import { udpPeer, udpPeerKey, type Peer } from '../../src/coap/transport.js';
import { rawSocket, recordingLogger, waitFor } from './helpers.js';

describe('coap/udp-transport', () => {
  it('binds IPv4 on an ephemeral port and delivers datagrams with stable peer keys', async () => {
    const t = await UdpTransport.bind({ address: '127.0.0.1', port: 0 });
    try {
      const a = t.address();
      assert.equal(a.family, 'IPv4');
      assert.ok(a.port > 0);
      const got: { data: string; peer: Peer }[] = [];
      t.setHandler((data, peer) => got.push({ data: data.toString(), peer }));
      const s1 = await rawSocket();
      const s2 = await rawSocket();
      s1.send('one', a.port, '127.0.0.1');
      s2.send('two', a.port, '127.0.0.1');
      s1.send('three', a.port, '127.0.0.1');
      await waitFor(() => got.length === 3, 1000, 'three datagrams');
      assert.deepEqual(
        got.map((g) => [g.data, g.peer.key]),
        [
          ['one', udpPeerKey('127.0.0.1', s1.address().port)],
          ['two', udpPeerKey('127.0.0.1', s2.address().port)],
          ['three', `udp:[127.0.0.1]:${s1.address().port}`],
        ],
      );
      // And back: the reply reaches the sender.
      const reply = once(s2, 'message');
      t.send(Buffer.from('pong'), got[1]!.peer);
      assert.equal(String((await reply)[0]), 'pong');
      s1.close();
      s2.close();
    } finally {
      await t.close();
    }
  });

  it('uses udp6 for an IPv6 bind address', async () => {
    const t = await UdpTransport.bind({ address: '::1' });
    try {
      assert.equal(t.address().family, 'IPv6');
      const got: Peer[] = [];
      t.setHandler((_d, peer) => got.push(peer));
      const s = await rawSocket('udp6');
      s.send('x', t.address().port, '::1');
      await waitFor(() => got.length === 1, 1000, 'a datagram');
      assert.equal(got[0]!.key, `udp:[::1]:${s.address().port}`);
      s.close();
    } finally {
      await t.close();
    }
  });

  it('asks for a 4 MiB receive buffer (as much as the kernel allows)', async function () {
    let rmemMax: number;
    try {
      rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
    } catch {
      this.skip(); // not Linux: no way to know what the kernel grants
    }
    const t = await UdpTransport.bind({ address: '127.0.0.1' });
    try {
      // Linux clamps the request to rmem_max and reports twice the value.
      assert.equal(t.recvBufferSize, 2 * Math.min(4 * 1024 * 1024, rmemMax));
    } finally {
      await t.close();
    }
  });

  it('logs send failures instead of throwing', async () => {
    const { logger, lines } = recordingLogger();
    const t = await UdpTransport.bind({ address: '127.0.0.1', logger });
    try {
      t.send(Buffer.from('x'), udpPeer('::1', 5683)); // IPv6 peer from an IPv4 socket
      t.send(Buffer.from('x'), { key: 'udp:[127.0.0.1]:0', host: '127.0.0.1', port: 0 }); // port 0 cannot be sent to
      assert.equal(lines.filter((l) => l.level === 'warn').length, 2);
    } finally {
      await t.close();
    }
    t.send(Buffer.from('x'), udpPeer('127.0.0.1', 5683)); // after close: silently nothing
    await t.close(); // idempotent
  });

  it('rejects when the port is taken', async () => {
    const t = await UdpTransport.bind({ address: '127.0.0.1' });
    try {
      await assert.rejects(UdpTransport.bind({ address: '127.0.0.1', port: t.address().port }), /EADDRINUSE/);
    } finally {
      await t.close();
    }
  });
});
