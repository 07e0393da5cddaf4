/**
 * The simulated LwM2M clients and the Register + De-register generator of
 * the server scenarios, against small dgram + coap-packet servers (see
 * helpers.ts), and once against our real Lwm2mServer. Small counts, short
 * windows: these check behaviour on the wire, not speed.
 */
import assert from 'node:assert/strict';
import { generate, parse, type ParsedPacket } from 'coap-packet';
import { runCycleLoad } from '../../bench/lib/cycle-load.js';
import {
  encodeEmpty,
  encodeMessage,
  encodeTail,
  FORMAT_TLV,
  senmlCborTemperature,
  tlvIntegerResource,
  TYPE_ACK,
  TYPE_CON,
  TYPE_NON,
  uintValue,
} from '../../bench/lib/coap-wire.js';
import { READ_VALUE, SimClients } from '../../bench/lib/sim-clients.js';
import { Lwm2mServer } from '../../src/server/lwm2m-server.js';
import { ack, queryOf, sleep, udpServer, uriPathOf, type TestServer } from './helpers.js';

const uint = (b: Buffer | undefined): number | undefined => (b === undefined ? undefined : [...b].reduce((n, x) => n * 256 + x, 0));
const optionOf = (p: ParsedPacket, name: string): Buffer | undefined => p.options.find((o) => o.name === name)?.value;

/** A registrar: 2.01 with Location-Path rd/<ep> for every Register; what `other` says for the rest. */
async function registrar(other: (req: ParsedPacket, send: (d: Buffer) => void) => void = () => {}): Promise<TestServer & { clients: Map<string, number> }> {
  const clients = new Map<string, number>(); // endpoint → client port
  const server = await udpServer((req, send, rinfo) => {
    if (req.code === '0.02' && uriPathOf(req).join('/') === 'rd') {
      const ep = queryOf(req)[0]!.slice(3);
      clients.set(ep, rinfo.port);
      send(ack(req, '2.01', { options: [{ name: 'Location-Path', value: Buffer.from('rd') }, { name: 'Location-Path', value: Buffer.from(`id-${ep}`) }] }));
      return;
    }
    other(req, send);
  });
  return Object.assign(server, { clients });
}

describe('bench / CoAP wire helpers', () => {
  it('writes messages that coap-packet parses back, options sorted and extended deltas included', () => {
    const token = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const d = encodeMessage(
      TYPE_NON,
      0x45,
      0xbeef,
      token,
      [
        [12, uintValue(FORMAT_TLV)],
        [6, uintValue(0x123456)],
        [60, uintValue(300)], // Size1: delta 48 needs an extension byte
      ],
      Buffer.from('hi'),
    );
    const p = parse(d);
    assert.equal(p.code, '2.05');
    assert.equal(p.confirmable, false);
    assert.equal(p.ack, false);
    assert.equal(p.messageId, 0xbeef);
    assert.deepEqual(p.token, token);
    assert.equal(uint(optionOf(p, 'Observe')), 0x123456);
    assert.equal(uint(optionOf(p, 'Content-Format')), FORMAT_TLV);
    assert.equal(uint(optionOf(p, 'Size1')), 300);
    assert.equal(p.payload.toString(), 'hi');
    assert.deepEqual(encodeTail([]), Buffer.alloc(0));
    assert.deepEqual(parse(encodeEmpty(TYPE_ACK, 7)), { ...parse(generate({ ack: true, code: '0.00', messageId: 7, token: Buffer.alloc(0) })) });
    assert.throws(() => encodeMessage(TYPE_CON, 1, 1, Buffer.alloc(9)), RangeError);
    assert.deepEqual(uintValue(0), Buffer.alloc(0));
    assert.deepEqual(uintValue(256), Buffer.from([1, 0]));
    assert.throws(() => uintValue(-1), RangeError);
  });

  it('writes TLV integer resources in the smallest signed size', () => {
    assert.deepEqual(tlvIntegerResource(9, 95), Buffer.from([0xc1, 0x09, 0x5f]));
    assert.deepEqual(tlvIntegerResource(9, -1), Buffer.from([0xc1, 0x09, 0xff]));
    assert.deepEqual(tlvIntegerResource(9, 300), Buffer.from([0xc2, 0x09, 0x01, 0x2c]));
    assert.deepEqual(tlvIntegerResource(7, 100_000), Buffer.from([0xc4, 0x07, 0x00, 0x01, 0x86, 0xa0]));
    assert.throws(() => tlvIntegerResource(256, 1), RangeError);
    assert.throws(() => tlvIntegerResource(1, 2 ** 31), RangeError);
  });

  it('writes a SenML CBOR record that a CBOR decoder reads as { bn, n, v }', () => {
    const cbor = require('cbor') as { decodeFirstSync(b: Buffer): unknown };
    const decoded = cbor.decodeFirstSync(senmlCborTemperature(21.5)) as Array<Map<number, unknown>>;
    assert.equal(decoded.length, 1);
    assert.deepEqual([...decoded[0]!.entries()], [
      [-2, '/3303/0/'],
      [0, '5700'],
      [2, 21.5],
    ]);
  });
});

describe('bench / simulated LwM2M clients', function () {
  this.timeout(20_000);

  it('registers each client from its own socket and keeps its Location-Path', async () => {
    const server = await registrar();
    const clients = await SimClients.open({ host: '127.0.0.1', port: server.port, clients: 12, prefix: 'dev-', firstIndex: 40 });
    try {
      const r = await clients.register({ inFlight: 4, maxDurationMs: 5000 });
      assert.equal(r.ok, 12);
      assert.equal(r.failed, 0);
      assert.deepEqual(r.codes, { '2.01': 12 });
      assert.deepEqual(clients.endpoints(), Array.from({ length: 12 }, (_, i) => `dev-${40 + i}`));
      assert.deepEqual(clients.locations(), clients.endpoints().map((ep) => ['rd', `id-${ep}`]));
      assert.equal(new Set(server.clients.values()).size, 12, 'one source port per client');
      const reg = server.received[0]!.packet;
      assert.deepEqual(queryOf(reg).slice(1), ['lt=86400', 'lwm2m=1.1', 'b=U']);
      assert.equal(reg.confirmable, true);
    } finally {
      clients.close();
      await server.close();
    }
  });

  it('counts refused registrations and retransmits unanswered ones', async () => {
    const seen = new Set<string>();
    const server = await udpServer((req, send) => {
      const ep = queryOf(req)[0]!.slice(3);
      if (ep === 'c-0') return send(ack(req, '4.00'));
      if (!seen.has(ep)) {
        seen.add(ep); // the first try of the others is lost
        return;
      }
      send(ack(req, '2.01', { options: [{ name: 'Location-Path', value: Buffer.from('rd') }, { name: 'Location-Path', value: Buffer.from(ep) }] }));
    });
    const clients = await SimClients.open({ host: '127.0.0.1', port: server.port, clients: 3, prefix: 'c-', ackTimeoutMs: 40 });
    try {
      const r = await clients.register({ inFlight: 3, maxDurationMs: 5000 });
      assert.equal(r.ok, 2);
      assert.equal(r.failed, 1);
      assert.deepEqual(r.codes, { '4.00': 1, '2.01': 2 });
      assert.equal(clients.counters.retransmissions, 2);
      assert.equal(r.retransmissions, 2);
      assert.equal(r.timeouts, 0);
      assert.deepEqual(clients.locations(), [null, ['rd', 'c-1'], ['rd', 'c-2']]);
      // A retransmission repeats the message id.
      const c1 = server.received.filter((x) => queryOf(x.packet)[0] === 'ep=c-1').map((x) => x.packet.messageId);
      assert.equal(c1.length, 2);
      assert.equal(c1[0], c1[1]);
    } finally {
      clients.close();
      await server.close();
    }
  });

  it('answers GET /3/0/9 with a piggybacked 2.05 TLV, and refuses what a device would refuse', async () => {
    const replies: ParsedPacket[] = [];
    const server = await registrar((req) => {
      if (req.code !== '0.02') replies.push(req);
    });
    const clients = await SimClients.open({ host: '127.0.0.1', port: server.port, clients: 1 });
    try {
      await clients.register({ inFlight: 1, maxDurationMs: 5000 });
      const port = server.clients.get('sim-0')!;
      const ask = (code: string, path: string[], extra: Array<{ name: string; value: Buffer }> = [], confirmable = true, mid = 100): void => {
        const options = [...path.map((p) => ({ name: 'Uri-Path', value: Buffer.from(p) })), ...extra];
        server.sendTo(generate({ confirmable, code, messageId: mid, token: Buffer.from([mid, 1, 2, 3, 4, 5, 6, 7]), options: options as never }), port);
      };
      ask('GET', ['3', '0', '9'], [{ name: 'Accept', value: uintValue(FORMAT_TLV) }], true, 1);
      ask('GET', ['3', '0', '1'], [], true, 2);
      ask('GET', ['3', '0', '9'], [{ name: 'Accept', value: uintValue(110) }], true, 3);
      ask('PUT', ['3', '0', '9'], [], true, 4);
      ask('GET', ['3', '0', '9'], [], false, 5);
      server.sendTo(generate({ confirmable: true, code: '0.00', messageId: 6, token: Buffer.alloc(0) }), port); // ping
      for (let i = 0; i < 100 && replies.length < 6; i++) await sleep(10);
      const byMid = new Map(replies.map((r) => [r.messageId, r]));
      const read = byMid.get(1)!;
      assert.equal(read.ack, true);
      assert.equal(read.code, '2.05');
      assert.deepEqual(read.token, Buffer.from([1, 1, 2, 3, 4, 5, 6, 7]));
      assert.equal(uint(optionOf(read, 'Content-Format')), FORMAT_TLV);
      assert.deepEqual(read.payload, tlvIntegerResource(9, READ_VALUE));
      assert.equal(byMid.get(2)!.code, '4.04');
      assert.equal(byMid.get(3)!.code, '4.06');
      assert.equal(byMid.get(4)!.code, '4.05');
      assert.equal(byMid.get(6)!.reset, true, 'a ping gets RST');
      const non = replies.find((r) => r.token[0] === 5)!;
      assert.equal(non.confirmable || non.ack, false, 'a NON request gets a NON answer');
      assert.equal(non.code, '2.05');
      assert.equal(clients.counters.readsAnswered, 2);
      assert.equal(clients.counters.refused, 3);
    } finally {
      clients.close();
      await server.close();
    }
  });

  it('accepts an observation, then notifies in NON bursts closed by a CON it waits for', async () => {
    const got: ParsedPacket[] = [];
    const replies: ParsedPacket[] = [];
    let resetToken: string | undefined;
    const server = await registrar((req, send) => {
      if (req.ack) return void replies.push(req);
      got.push(req);
      if (req.confirmable && req.code === '2.05') {
        // RST the observation of client 1 the first time: it must stop notifying.
        if (resetToken === req.token.toString('hex')) send(encodeEmpty(3, req.messageId));
        else send(encodeEmpty(TYPE_ACK, req.messageId));
      }
    });
    const clients = await SimClients.open({ host: '127.0.0.1', port: server.port, clients: 2 });
    try {
      await clients.register({ inFlight: 2, maxDurationMs: 5000 });
      for (const [i, ep] of ['sim-0', 'sim-1'].entries()) {
        const token = Buffer.from([0xa0 + i, 0, 0, 0]);
        server.sendTo(
          generate({ confirmable: true, code: 'GET', messageId: 10 + i, token, options: [{ name: 'Observe', value: Buffer.alloc(0) }, ...['3', '0', '9'].map((p) => ({ name: 'Uri-Path' as const, value: Buffer.from(p) }))] }),
          server.clients.get(ep)!,
        );
      }
      for (let i = 0; i < 100 && replies.length < 2; i++) await sleep(10);
      assert.equal(replies.length, 2);
      for (const r of replies) {
        assert.equal(r.code, '2.05');
        assert.ok(optionOf(r, 'Observe') !== undefined, 'the first answer carries an Observe sequence number');
      }
      assert.equal(clients.observedCount, 2);
      resetToken = 'a1000000';
      const r = await clients.notify({ nonPerCon: 2, warmupMs: 50, durationMs: 300 });
      assert.equal(r.observed, 2);
      assert.ok(r.ok > 3, `CON notifications acknowledged: ${r.ok}`);
      assert.equal(r.codes['RST'], 1);
      assert.equal(r.nonSent, 2 * r.conSent);
      assert.ok(r.sentInWindow > 0);
      assert.equal(clients.observedCount, 1, 'the observation that got RST is gone');
      await sleep(50); // the last burst may still be on its way
      const notes = got.filter((p) => p.code === '2.05');
      assert.equal(notes.length, r.nonSent + r.conSent);
      for (const tokenHex of ['a0000000', 'a1000000']) {
        const mine = notes.filter((p) => p.token.toString('hex') === tokenHex);
        const seqs = mine.map((p) => uint(optionOf(p, 'Observe'))!);
        assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), 'sequence numbers increase');
        assert.ok(mine.every((p) => uint(optionOf(p, 'Content-Format')) === FORMAT_TLV && p.payload[1] === 9));
        // Bursts: two NON, then one CON, and nothing after a CON until it is acknowledged.
        const types = mine.map((p) => (p.confirmable ? 'C' : 'N')).join('');
        assert.match(types, /^(NNC)+$/);
      }
      assert.equal(notes.filter((p) => p.token.toString('hex') === 'a1000000').length, 3, 'client 1 stopped after its RST');
    } finally {
      clients.close();
      await server.close();
    }
  });

  it('sends SenML CBOR to /dp from registered clients, a window at a time, for a bounded time', async () => {
    let outstanding = 0;
    let most = 0;
    let closing = false;
    const server = await registrar((req, send) => {
      if (req.code !== '0.02') return;
      outstanding++;
      most = Math.max(most, outstanding);
      setTimeout(() => {
        outstanding--;
        if (!closing) send(ack(req, '2.04'));
      }, 2);
    });
    const clients = await SimClients.open({ host: '127.0.0.1', port: server.port, clients: 6 });
    try {
      await clients.register({ inFlight: 6, maxDurationMs: 5000 });
      const t0 = Date.now();
      const r = await clients.sends({ inFlight: 3, warmupMs: 50, durationMs: 250 });
      assert.ok(Date.now() - t0 < 1500);
      assert.ok(r.ok > 10, `${r.ok} Sends`);
      assert.deepEqual(Object.keys(r.codes), ['2.04']);
      assert.ok(r.windowOk <= r.ok && r.rate > 0);
      assert.ok(most <= 3, `at most 3 outstanding (saw ${most})`);
      const sends = server.received.filter((x) => uriPathOf(x.packet).join('/') === 'dp');
      assert.equal(new Set(sends.map((x) => x.port)).size, 6, 'every client sends');
      const first = sends[0]!.packet;
      assert.equal(first.code, '0.02');
      assert.equal(uint(optionOf(first, 'Content-Format')), 112);
      assert.deepEqual(first.payload.subarray(0, 4), Buffer.from([0x81, 0xa3, 0x21, 0x68]));
    } finally {
      closing = true;
      clients.close();
      await server.close();
    }
  });
});

describe('bench / Register + De-register load', function () {
  this.timeout(20_000);

  it('de-registers each endpoint at the Location-Path its own Register got', async () => {
    let n = 0;
    const given = new Map<string, string>(); // location id → endpoint
    const deleted: string[] = [];
    const server = await udpServer((req, send) => {
      if (req.code === '0.02') {
        const ep = queryOf(req)[0]!.slice(3);
        if (ep === 'x-3') return send(ack(req, '4.03'));
        const id = `r${n++}`;
        given.set(id, ep);
        return send(ack(req, '2.01', { options: [{ name: 'Location-Path', value: Buffer.from('rd') }, { name: 'Location-Path', value: Buffer.from(id) }] }));
      }
      if (req.code === '0.04') {
        const [rd, id] = uriPathOf(req);
        if (rd !== 'rd' || !given.has(id!)) return send(ack(req, '4.04'));
        deleted.push(given.get(id!)!);
        given.delete(id!);
        return send(ack(req, '2.02'));
      }
    });
    try {
      const r = await runCycleLoad({ host: '127.0.0.1', port: server.port, endpoints: 40, inFlight: 6, prefix: 'x-', maxDurationMs: 10_000 });
      assert.equal(r.cycles, 39);
      assert.equal(r.failed, 2, 'the refused Register and the De-register it could not send');
      assert.deepEqual(r.codes, { '2.01': 39, '2.02': 39, '4.03': 1, 'build error': 1 });
      assert.equal(given.size, 0, 'nothing left registered');
      assert.deepEqual([...deleted].sort(), Array.from({ length: 40 }, (_, i) => `x-${i}`).filter((e) => e !== 'x-3').sort());
      assert.equal(new Set(server.received.map((x) => x.port)).size, 6, 'one socket per lane');
      assert.ok(r.rate > 0 && !r.timedOut);
    } finally {
      await server.close();
    }
  });
});

describe('bench / simulated clients against our LwM2M server', function () {
  this.timeout(20_000);

  it('registers, is read, observed and notifies, and sends', async () => {
    const server = new Lwm2mServer({ address: '127.0.0.1', port: 0, requestTimeoutMs: 2000 });
    const notifications: number[] = [];
    const sends: unknown[] = [];
    server.on('notification', (e) => notifications.push(e.value['/3/0/9'] as number));
    server.on('send', (e) => sends.push(e.value));
    await server.start();
    const clients = await SimClients.open({ host: '127.0.0.1', port: server.address().port, clients: 5, prefix: 'it-' });
    try {
      const reg = await clients.register({ inFlight: 5, maxDurationMs: 5000 });
      assert.equal(reg.ok, 5);
      assert.equal(server.registrations().length, 5);
      const read = await server.read('it-3', '/3/0/9', { format: FORMAT_TLV });
      assert.equal(read.value, READ_VALUE);
      const obs = await server.observe('it-2', '/3/0/9', { format: FORMAT_TLV });
      assert.equal(obs.current.value, READ_VALUE);
      const n = await clients.notify({ nonPerCon: 3, warmupMs: 20, durationMs: 150 });
      assert.equal(n.observed, 1);
      await sleep(50);
      assert.equal(notifications.length, n.nonSent + n.conSent, 'every notification reached the listener');
      assert.ok(notifications.every((v) => Number.isInteger(v) && v >= 0 && v <= 100));
      const s = await clients.sends({ inFlight: 2, warmupMs: 20, durationMs: 100 });
      await sleep(50);
      assert.ok(s.ok > 0);
      assert.deepEqual(Object.keys(s.codes), ['2.04']);
      // Sends still outstanding when the window closed reach the server but are not counted by the clients.
      assert.ok(sends.length >= s.ok && sends.length <= s.ok + 2, `${sends.length} events for ${s.ok} Sends`);
      // Client i reports 20 + (i mod 10) / 2 degrees.
      const temperatures = new Set([20, 20.5, 21, 21.5, 22]);
      for (const v of sends) {
        const t = (v as Record<string, Record<string, number>>)['/3303/0']?.['5700'];
        assert.ok(t !== undefined && temperatures.has(t), JSON.stringify(v));
      }
    } finally {
      clients.close();
      await server.stop();
    }
  });
});
