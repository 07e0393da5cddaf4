import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { parse } from 'coap-packet';
import { requestTemplate, RoundTripLoad } from '../../bench/lib/round-trip-load.js';
import { ack, udpServer, uriPathOf } from './helpers.js';

describe('bench / round-trip load generator', function () {
  this.timeout(20_000);

  it('sends a confirmable GET /bench with a 4-byte token', () => {
    const p = parse(requestTemplate());
    assert.equal(p.code, '0.01');
    assert.equal(p.confirmable, true);
    assert.equal(p.token.length, 4);
    assert.deepEqual(uriPathOf(p), ['bench']);
  });

  it('counts echoed requests, keeps the window full and loses nothing', async () => {
    // Echo the raw datagram back, as the limit scenario's server does.
    const echo = dgram.createSocket('udp4');
    echo.on('message', (msg, r) => echo.send(msg, r.port, r.address));
    await new Promise<void>((resolve) => echo.bind(0, '127.0.0.1', () => resolve()));
    const load = await RoundTripLoad.open({ host: '127.0.0.1', port: echo.address().port, sockets: 2, inFlight: 4, warmupMs: 100, durationMs: 300, expect: 'echo' });
    try {
      const r = await load.run();
      assert.ok(r.responses > 100, `responses ${r.responses}`);
      assert.ok(r.windowMs >= 290 && r.windowMs < 1000, `window ${r.windowMs}`);
      assert.ok(Math.abs(r.rate - (r.responses * 1000) / r.windowMs) < 1e-6);
      assert.ok(r.totalResponses > r.responses, 'warm-up answers are not in the window');
      assert.equal(r.lost, 0);
      assert.equal(r.bad, 0);
      assert.equal(r.cutShort, false);
    } finally {
      load.close();
      echo.close();
    }
  });

  it('accepts piggybacked 2.05 and counts other answers as bad', async () => {
    let n = 0;
    const server = await udpServer((req, send) => send(ack(req, n++ % 2 === 0 ? '2.05' : '4.04')));
    const load = await RoundTripLoad.open({ host: '127.0.0.1', port: server.port, sockets: 1, inFlight: 2, warmupMs: 50, durationMs: 200, expect: 'coap' });
    try {
      const r = await load.run();
      assert.ok(r.responses > 10);
      assert.ok(r.bad > 10, `bad ${r.bad}`);
      // Every other answer is a 4.04: about as many bad as good ones.
      assert.ok(Math.abs(r.bad - r.totalResponses) <= 2 + r.totalResponses * 0.1, `${r.bad} vs ${r.totalResponses}`);
    } finally {
      load.close();
      await server.close();
    }
  });

  it('replaces unanswered requests after the timeout and counts them lost', async () => {
    let n = 0;
    const server = await udpServer((req, send) => {
      if (n++ % 10 !== 3) send(ack(req, '2.05'));
    });
    const load = await RoundTripLoad.open({ host: '127.0.0.1', port: server.port, sockets: 1, inFlight: 4, warmupMs: 50, durationMs: 500, expect: 'coap', timeoutMs: 60 });
    try {
      const r = await load.run();
      assert.ok(r.lost > 0, 'dropped requests are counted');
      assert.ok(r.responses > 20, `still making progress (${r.responses})`);
    } finally {
      load.close();
      await server.close();
    }
  });

  it('moves to a fresh socket before message ids could repeat', async () => {
    const server = await udpServer((req, send) => send(ack(req, '2.05')));
    const load = await RoundTripLoad.open({
      host: '127.0.0.1',
      port: server.port,
      sockets: 1,
      inFlight: 4,
      warmupMs: 50,
      durationMs: 400,
      expect: 'coap',
      maxMessagesPerSocket: 200,
    });
    try {
      const r = await load.run();
      assert.ok(r.rotations >= 1, `rotations ${r.rotations}`);
      const ports = new Set(server.received.map((x) => x.port));
      assert.ok(ports.size >= 2, 'requests came from more than one source port');
      const seen = new Set<string>();
      for (const x of server.received) {
        const key = `${x.port}/${x.packet.messageId}`;
        assert.ok(!seen.has(key), `message id reused: ${key}`);
        seen.add(key);
      }
      for (const port of ports) assert.ok(server.received.filter((x) => x.port === port).length <= 200);
    } finally {
      load.close();
      await server.close();
    }
  });
});
