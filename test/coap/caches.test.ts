import assert from 'node:assert/strict';
import { DedupCache } from '../../src/coap/dedup-cache.js';
import { TimerTask, TimerWheel } from '../../src/coap/timer-wheel.js';
import { Block1Assembler } from '../../src/coap/block1-assembler.js';
import { BoundedStore } from '../../src/coap/bounded-store.js';
import { delay } from './helpers.js';

class Recorder extends TimerTask {
  fired: number[] = [];
  constructor(
    readonly name: string,
    private readonly out: string[],
  ) {
    super();
  }
  override onTimer(now: number): void {
    this.fired.push(now);
    this.out.push(this.name);
  }
}

describe('coap/timer-wheel', () => {
  it('fires tasks in due order, never early, and not when cancelled', async () => {
    const wheel = new TimerWheel({ tickMs: 2, slotBits: 4 }); // 16 slots: 32 ms per revolution
    const order: string[] = [];
    const a = new Recorder('a', order);
    const b = new Recorder('b', order);
    const c = new Recorder('c', order);
    const d = new Recorder('d', order);
    const start = wheel.now();
    wheel.schedule(c, 60); // two revolutions later
    wheel.schedule(a, 5);
    wheel.schedule(b, 20);
    wheel.schedule(d, 10);
    wheel.cancel(d);
    assert.equal(wheel.size, 3);
    await delay(100);
    assert.deepEqual(order, ['a', 'b', 'c']);
    assert.ok(a.fired[0]! - start >= 5);
    assert.ok(c.fired[0]! - start >= 60);
    assert.equal(wheel.size, 0);
  });

  it('lets a task reschedule itself and others while firing', async () => {
    const wheel = new TimerWheel({ tickMs: 2 });
    const order: string[] = [];
    const victim = new Recorder('victim', order);
    class Rescheduler extends TimerTask {
      count = 0;
      override onTimer(): void {
        order.push('r');
        wheel.cancel(victim);
        if (++this.count < 3) wheel.schedule(this, 3);
      }
    }
    const r = new Rescheduler();
    wheel.schedule(victim, 3.5); // due after r: fires after it in the same tick, or in a later one
    wheel.schedule(r, 3);
    await delay(60);
    assert.deepEqual(order, ['r', 'r', 'r']);
    wheel.clear();
  });

  it('reports a throwing task and keeps running', async () => {
    const errors: unknown[] = [];
    const wheel = new TimerWheel({ tickMs: 2, onError: (e) => errors.push(e) });
    const order: string[] = [];
    class Thrower extends TimerTask {
      override onTimer(): void {
        throw new Error('boom');
      }
    }
    wheel.schedule(new Thrower(), 2);
    wheel.schedule(new Recorder('after', order), 6);
    await delay(40);
    assert.equal(errors.length, 1);
    assert.deepEqual(order, ['after']);
  });
});

describe('coap/dedup-cache', () => {
  it('finds a message id of the same peer only', () => {
    const c = new DedupCache<null>({ lifetimeMs: 1000 });
    const e = c.add('p1', 5, 0);
    c.setReply(e, Buffer.from('reply'));
    assert.equal(c.find('p1', 5, 10), e);
    assert.equal(c.find('p2', 5, 10), undefined);
    assert.equal(c.find('p1', 6, 10), undefined);
    assert.equal(c.bytes, 5);
  });

  it('keeps a small ring per peer', () => {
    const c = new DedupCache<null>({ perPeer: 4, lifetimeMs: 1000 });
    for (let mid = 0; mid < 100; mid++) c.add('p', mid, 0);
    assert.equal(c.size, 4);
    assert.ok(c.find('p', 99, 1));
    assert.ok(c.find('p', 96, 1));
    assert.equal(c.find('p', 95, 1), undefined);
  });

  it('caps entries and reply bytes globally, oldest first', () => {
    const c = new DedupCache<null>({ perPeer: 8, maxEntries: 50, maxBytes: 1000, lifetimeMs: 1000 });
    for (let p = 0; p < 100; p++) c.add(`peer${p}`, 1, p);
    assert.equal(c.size, 50);
    assert.equal(c.peerCount, 50);
    assert.equal(c.find('peer0', 1, 100), undefined);
    assert.ok(c.find('peer99', 1, 100));
    for (let p = 100; p < 120; p++) c.setReply(c.add(`peer${p}`, 1, p), Buffer.alloc(100));
    assert.ok(c.bytes <= 1000);
  });

  it('spares an entry still being handled when the ring wraps', () => {
    const c = new DedupCache<string>({ perPeer: 4, lifetimeMs: 1000 });
    const pending = c.add('p', 0, 0);
    pending.pending = 'working';
    for (let mid = 1; mid < 20; mid++) c.add('p', mid, 0);
    assert.equal(c.find('p', 0, 1), pending);
    pending.pending = null;
    for (let mid = 20; mid < 24; mid++) c.add('p', mid, 0);
    assert.equal(c.find('p', 0, 1), undefined);
  });

  it('forgets entries after the lifetime, and a late reply on an evicted entry is ignored', () => {
    const c = new DedupCache<null>({ lifetimeMs: 100 });
    const old = c.add('p', 1, 0);
    c.add('p', 2, 50);
    assert.equal(c.find('p', 1, 150), undefined);
    c.sweep(200);
    assert.equal(c.size, 0);
    assert.equal(c.peerCount, 0);
    c.setReply(old, Buffer.alloc(10));
    assert.equal(c.bytes, 0);
  });
});

describe('coap/block1-assembler and bounded store', () => {
  const block = (num: number, more: boolean, szx = 0) => ({ num, more, szx });

  it('reassembles in order and refuses gaps, wrong sizes and oversize bodies', () => {
    const a = new Block1Assembler({ maxBodySize: 64, maxTransfers: 10, maxBytes: 1000, idleMs: 1000 });
    assert.equal(a.receive('k', block(0, true), Buffer.alloc(16, 1), undefined, 0).kind, 'continue');
    assert.equal(a.receive('k', block(1, true), Buffer.alloc(16, 2), undefined, 0).kind, 'continue');
    const done = a.receive('k', block(2, false), Buffer.alloc(3, 3), undefined, 0);
    assert.equal(done.kind, 'complete');
    assert.deepEqual(done.kind === 'complete' && done.body, Buffer.concat([Buffer.alloc(16, 1), Buffer.alloc(16, 2), Buffer.alloc(3, 3)]));
    assert.equal(a.size, 0);

    a.receive('k', block(0, true), Buffer.alloc(16), undefined, 0);
    assert.equal(a.receive('k', block(2, true), Buffer.alloc(16), undefined, 0).kind, 'incomplete');
    assert.equal(a.receive('k', block(1, false), Buffer.alloc(16), undefined, 0).kind, 'incomplete'); // transfer dropped
    assert.equal(a.receive('k', block(0, true), Buffer.alloc(10), undefined, 0).kind, 'bad-block');
    assert.equal(a.receive('k', block(0, true), Buffer.alloc(16), 65, 0).kind, 'too-large');
    a.receive('k', block(0, true, 2), Buffer.alloc(64), undefined, 0);
    assert.equal(a.receive('k', block(1, true, 2), Buffer.alloc(64), undefined, 0).kind, 'too-large');
  });

  it('continues at the matching block number after the server asked for smaller blocks', () => {
    const a = new Block1Assembler({ maxBodySize: 1000, maxTransfers: 10, maxBytes: 10000, idleMs: 1000 });
    assert.equal(a.receive('k', block(0, true, 2), Buffer.alloc(64, 1), undefined, 0).kind, 'continue'); // 64-byte block
    assert.equal(a.receive('k', block(4, true, 0), Buffer.alloc(16, 2), undefined, 0).kind, 'continue'); // 16-byte blocks from byte 64
    const r = a.receive('k', block(5, false, 0), Buffer.alloc(5, 3), undefined, 0);
    assert.equal(r.kind === 'complete' && r.body.length, 85);
  });

  it('drops idle transfers and evicts the oldest beyond the caps', () => {
    const a = new Block1Assembler({ maxBodySize: 1000, maxTransfers: 3, maxBytes: 10000, idleMs: 100 });
    for (let i = 0; i < 5; i++) a.receive(`k${i}`, block(0, true), Buffer.alloc(16), undefined, i);
    assert.equal(a.size, 3);
    assert.equal(a.receive('k0', block(1, false), Buffer.alloc(1), undefined, 10).kind, 'incomplete');
    assert.equal(a.receive('k4', block(1, true), Buffer.alloc(16), undefined, 200).kind, 'incomplete'); // idle too long
    const s = new BoundedStore<{ bytes: number; touched: number }>(100, 50, 1000);
    s.set('a', { bytes: 30, touched: 0 });
    s.set('b', { bytes: 30, touched: 0 });
    assert.equal(s.size, 1);
    assert.equal(s.bytes, 30);
    assert.ok(s.get('b', 1));
  });
});
