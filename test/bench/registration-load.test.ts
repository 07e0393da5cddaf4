import assert from 'node:assert/strict';
import { generate } from 'coap-packet';
import { encodeRequest, runWindowedRequests } from '../../bench/lib/coap-requests.js';
import { DEFAULT_LINKS, deregisterRequest, registerRequest, runRegistrationLoad } from '../../bench/lib/registration-load.js';
import { ack, queryOf, udpServer, uriPathOf } from './helpers.js';

/** A resource directory that hands out rd/<n> (two Location-Path options), in arrival order. */
function rdReply(counter = { n: 0 }) {
  return (req: Parameters<Parameters<typeof udpServer>[0]>[0], send: (d: Buffer) => void): void => {
    if (req.code !== '0.02') return;
    const id = String(counter.n++);
    send(
      ack(req, '2.01', {
        options: [
          { name: 'Location-Path', value: Buffer.from('rd') },
          { name: 'Location-Path', value: Buffer.from(id) },
        ],
      }),
    );
  };
}

describe('bench / registration load generator', function () {
  this.timeout(20_000);

  it('builds a Register: POST /rd?ep&lt&lwm2m&b with a link-format body', () => {
    const spec = registerRequest('dev-7', { lifetime: 300 });
    const d = encodeRequest(spec, 0x1234, Buffer.from([0, 0, 0, 7]));
    const p = (require('coap-packet') as typeof import('coap-packet')).parse(d);
    assert.equal(p.code, '0.02');
    assert.equal(p.messageId, 0x1234);
    assert.deepEqual(uriPathOf(p), ['rd']);
    assert.deepEqual(queryOf(p), ['ep=dev-7', 'lt=300', 'lwm2m=1.1', 'b=U']);
    assert.deepEqual(p.options.find((o) => o.name === 'Content-Format')?.value, Buffer.from([40]));
    assert.equal(p.payload.toString(), DEFAULT_LINKS);
  });

  it('builds a De-register from a Location-Path given as one or several options', () => {
    assert.deepEqual(deregisterRequest(['rd', '5']), { method: 'DELETE', path: ['rd', '5'] });
    assert.deepEqual(deregisterRequest(['/rd/5']), { method: 'DELETE', path: ['rd', '5'] });
  });

  it('registers N distinct endpoints and returns each one\'s Location-Path', async () => {
    const server = await udpServer(rdReply());
    try {
      const r = await runRegistrationLoad({ host: '127.0.0.1', port: server.port, endpoints: 300, inFlight: 16, prefix: 'ep-', firstIndex: 1000, maxDurationMs: 10_000 });
      assert.equal(r.registered, 300);
      assert.equal(r.failed, 0);
      assert.equal(r.retransmissions, 0);
      assert.deepEqual(r.codes, { '2.01': 300 });
      assert.ok(r.rate > 0 && r.elapsedMs >= 0);
      // Which location each endpoint got, checked against what the server saw.
      const names = server.received.map((x) => queryOf(x.packet)[0]);
      assert.equal(new Set(names).size, 300);
      for (let i = 0; i < 300; i++) {
        const served = names.indexOf(`ep=ep-${1000 + i}`);
        assert.ok(served >= 0, `endpoint ${i} was registered`);
        assert.deepEqual(r.locations[i], ['rd', String(served)]);
      }
      // 16 in flight over 16 sockets: 16 source ports.
      assert.equal(new Set(server.received.map((x) => x.port)).size, 16);
    } finally {
      await server.close();
    }
  });

  it('retransmits a lost request with the same message id and token', async () => {
    const seen = new Set<string>();
    const reply = rdReply();
    const server = await udpServer((req, send) => {
      const key = req.token.toString('hex');
      if (!seen.has(key)) {
        seen.add(key); // drop every first transmission
        return;
      }
      reply(req, send);
    });
    try {
      const r = await runRegistrationLoad({ host: '127.0.0.1', port: server.port, endpoints: 20, inFlight: 5, ackTimeoutMs: 30, maxDurationMs: 10_000 });
      assert.equal(r.registered, 20);
      assert.equal(r.retransmissions, 20);
      const first = new Map<string, number>();
      for (const { packet } of server.received) {
        const key = packet.token.toString('hex');
        if (first.has(key)) assert.equal(first.get(key), packet.messageId);
        else first.set(key, packet.messageId);
      }
    } finally {
      await server.close();
    }
  });

  it('waits for a separate response after an empty ACK, and acknowledges it', async () => {
    const server = await udpServer((req, send) => {
      if (req.code === '0.00') return; // our ACK of the separate response
      send(generate({ ack: true, code: '0.00', messageId: req.messageId, token: Buffer.alloc(0) }));
      setTimeout(() => {
        send(generate({ confirmable: true, code: '2.01', messageId: (req.messageId + 7) & 0xffff, token: req.token, options: [{ name: 'Location-Path', value: Buffer.from('rd') }, { name: 'Location-Path', value: Buffer.from('x') }] }));
      }, 80);
    });
    try {
      const r = await runRegistrationLoad({ host: '127.0.0.1', port: server.port, endpoints: 3, inFlight: 3, ackTimeoutMs: 40, maxDurationMs: 5000 });
      assert.equal(r.registered, 3);
      assert.equal(r.retransmissions, 0, 'no retransmission once the empty ACK came');
      assert.deepEqual(r.locations, [['rd', 'x'], ['rd', 'x'], ['rd', 'x']]);
      const acks = server.received.filter((x) => x.packet.ack && x.packet.code === '0.00');
      assert.equal(acks.length, 3);
    } finally {
      await server.close();
    }
  });

  it('counts refused and unanswered registrations as failures, within the deadline', async () => {
    let n = 0;
    const server = await udpServer((req, send) => {
      const i = n++;
      if (i % 3 === 0) send(ack(req, '4.00'));
      else if (i % 3 === 1) send(ack(req, '2.01')); // 2.01 without Location-Path is no registration
      else rdReply({ n: i })(req, send);
    });
    try {
      const r = await runRegistrationLoad({ host: '127.0.0.1', port: server.port, endpoints: 30, inFlight: 1, maxDurationMs: 5000 });
      assert.equal(r.registered, 10);
      assert.equal(r.failed, 20);
      assert.deepEqual(r.codes, { '4.00': 10, '2.01': 20 });
      assert.equal(r.locations.filter((l) => l === null).length, 20);
    } finally {
      await server.close();
    }
    const silent = await udpServer(() => {});
    try {
      const t0 = Date.now();
      const r = await runWindowedRequests(
        { host: '127.0.0.1', port: silent.port, count: 5, inFlight: 2, ackTimeoutMs: 1000, maxDurationMs: 300 },
        (i) => registerRequest(`e${i}`),
        () => true,
      );
      assert.ok(Date.now() - t0 < 1500);
      assert.equal(r.timedOut, true);
      assert.equal(r.succeeded, 0);
      assert.equal(r.failed, 5);
    } finally {
      await silent.close();
    }
  });
});
