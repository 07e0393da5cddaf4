import assert from 'node:assert/strict';
import { Lwm2mError } from '../../src/errors.js';
import { ExpiryQueue } from '../../src/server/expiry-queue.js';
import { MemoryRegistrationStore } from '../../src/server/memory-store.js';
import { applyUpdate, parseRegisterRequest, type Registration } from '../../src/server/registration.js';
import type { ObservationRecord } from '../../src/server/registration-store.js';

const NOW = 1_700_000_000_000;

function register(endpoint: string, options: { lt?: number; now?: number; port?: number } = {}): Registration {
  const port = options.port ?? 5683;
  return parseRegisterRequest({ ep: endpoint, lt: String(options.lt ?? 300), lwm2m: '1.1' }, '</1/0>,</3/0>,</3303/0>', {
    now: options.now ?? NOW,
    peer: { key: `udp:127.0.0.1:${port}`, host: '127.0.0.1', port },
  });
}

function observation(token: string, registrationId: string, path = '/3303/0/5700'): ObservationRecord {
  return { token, registrationId, paths: [path], kind: 'single', createdAt: NOW };
}

describe('server-store: MemoryRegistrationStore', () => {
  it('finds a registration by id, endpoint and peer key', () => {
    const store = new MemoryRegistrationStore();
    const a = register('a', { port: 1001 });
    const b = register('b', { port: 1002 });
    assert.deepEqual(store.add(a), { endedObservations: [] });
    store.add(b);
    assert.equal(store.size, 2);
    assert.equal(store.get(a.id), a);
    assert.equal(store.getByEndpoint('b'), b);
    assert.equal(store.getByPeer('udp:127.0.0.1:1001'), a);
    assert.equal(store.get('nope'), undefined);
    assert.equal(store.getByEndpoint('nope'), undefined);
    assert.equal(store.getByPeer('udp:127.0.0.1:9'), undefined);
    assert.deepEqual(new Set(store.registrations()), new Set([a, b]));
  });

  it('replaces the registration of an endpoint that registers again and reports it with its observations', () => {
    const store = new MemoryRegistrationStore();
    const first = register('dev', { port: 1001 });
    store.add(first);
    store.addObservation(observation('0a0b', first.id));
    store.addObservation(observation('0c', first.id, '/3/0/9'));
    const second = register('dev', { port: 1002 });
    const result = store.add(second);
    assert.equal(result.replaced, first);
    assert.deepEqual(result.endedObservations.map((o) => o.token).sort(), ['0a0b', '0c']);
    assert.equal(store.size, 1);
    assert.equal(store.get(first.id), undefined);
    assert.equal(store.getByEndpoint('dev'), second);
    assert.equal(store.getByPeer('udp:127.0.0.1:1001'), undefined);
    assert.equal(store.getByPeer('udp:127.0.0.1:1002'), second);
    assert.equal(store.getObservation('0a0b'), undefined);
    assert.equal(store.observationCount, 0);
  });

  it('refuses a registration id that is already in use', () => {
    const store = new MemoryRegistrationStore();
    const a = register('a');
    store.add(a);
    assert.throws(() => store.add({ ...a, endpoint: 'other' }), Lwm2mError);
    assert.equal(store.getByEndpoint('other'), undefined);
  });

  it('update replaces the record, follows a new peer address and returns the previous record', () => {
    const store = new MemoryRegistrationStore();
    const reg = register('dev', { port: 1001 });
    store.add(reg);
    const moved = applyUpdate(reg, { lt: '600' }, undefined, {
      now: NOW + 1000,
      peer: { key: 'udp:127.0.0.1:2002', host: '127.0.0.1', port: 2002 },
    });
    assert.equal(store.update(moved), reg);
    assert.equal(store.get(reg.id), moved);
    assert.equal(store.getByEndpoint('dev'), moved);
    assert.equal(store.getByPeer('udp:127.0.0.1:1001'), undefined);
    assert.equal(store.getByPeer('udp:127.0.0.1:2002'), moved);
  });

  it('update of an unknown id changes nothing; a changed endpoint is refused', () => {
    const store = new MemoryRegistrationStore();
    const reg = register('dev');
    assert.equal(store.update(reg), undefined);
    assert.equal(store.size, 0);
    store.add(reg);
    assert.throws(() => store.update({ ...reg, endpoint: 'other' }), Lwm2mError);
    assert.equal(store.getByEndpoint('dev'), reg);
  });

  it('a peer address taken over by another registration stays with the newer one', () => {
    const store = new MemoryRegistrationStore();
    const a = register('a', { port: 1001 });
    const b = register('b', { port: 1001 });
    store.add(a);
    store.add(b);
    assert.equal(store.getByPeer('udp:127.0.0.1:1001'), b);
    store.remove(a.id);
    assert.equal(store.getByPeer('udp:127.0.0.1:1001'), b);
    // An Update from that address gives it back to the registration that sent it.
    const again = register('a', { port: 1001 });
    store.add(again);
    assert.equal(store.getByPeer('udp:127.0.0.1:1001'), again);
    store.update(applyUpdate(b, {}, undefined, { now: NOW + 1 }));
    assert.equal(store.getByPeer('udp:127.0.0.1:1001')?.id, b.id);
  });

  it('remove takes the registration out of every index with its observations', () => {
    const store = new MemoryRegistrationStore();
    const a = register('a', { port: 1001 });
    const b = register('b', { port: 1002 });
    store.add(a);
    store.add(b);
    store.addObservation(observation('01', a.id));
    store.addObservation(observation('02', b.id));
    const removed = store.remove(a.id);
    assert.equal(removed?.registration, a);
    assert.deepEqual(
      removed?.observations.map((o) => o.token),
      ['01'],
    );
    assert.equal(store.remove(a.id), undefined);
    assert.equal(store.get(a.id), undefined);
    assert.equal(store.getByEndpoint('a'), undefined);
    assert.equal(store.getByPeer('udp:127.0.0.1:1001'), undefined);
    assert.equal(store.getObservation('01'), undefined);
    assert.deepEqual(
      [...store.observations()].map((o) => o.token),
      ['02'],
    );
    assert.equal(store.size, 1);
  });

  describe('observations', () => {
    it('stores, finds and removes observations per registration', () => {
      const store = new MemoryRegistrationStore();
      const reg = register('a');
      store.add(reg);
      const composite: ObservationRecord = {
        token: 'deadbeef',
        registrationId: reg.id,
        paths: ['/3/0/9', '/3303/0/5700'],
        format: 112,
        kind: 'composite',
        attributes: { pmin: 10, pmax: 60, con: true },
        createdAt: NOW,
      };
      store.addObservation(composite);
      store.addObservation(observation('', reg.id));
      assert.equal(store.getObservation('deadbeef'), composite);
      assert.equal(store.observationCount, 2);
      assert.deepEqual(
        store.observationsOf(reg.id).map((o) => o.token).sort(),
        ['', 'deadbeef'],
      );
      assert.equal(store.removeObservation('deadbeef'), composite);
      assert.equal(store.removeObservation('deadbeef'), undefined);
      assert.deepEqual(store.observationsOf('unknown'), []);
    });

    it('keeps tokens in lower case whatever case they come in', () => {
      const store = new MemoryRegistrationStore();
      const reg = register('a');
      store.add(reg);
      store.addObservation(observation('ABCD', reg.id));
      assert.equal(store.getObservation('abcd')?.token, 'abcd');
      assert.equal(store.getObservation('AbCd')?.token, 'abcd');
    });

    it('an observation with a known token replaces the old one, even of another registration', () => {
      const store = new MemoryRegistrationStore();
      const a = register('a', { port: 1 });
      const b = register('b', { port: 2 });
      store.add(a);
      store.add(b);
      store.addObservation(observation('77', a.id));
      store.addObservation(observation('77', b.id, '/3/0/13'));
      assert.deepEqual(store.observationsOf(a.id), []);
      assert.equal(store.observationsOf(b.id)[0]?.paths[0], '/3/0/13');
      assert.equal(store.observationCount, 1);
    });

    it('refuses an observation of an unknown registration (4.04) or with a malformed token', () => {
      const store = new MemoryRegistrationStore();
      assert.throws(() => store.addObservation(observation('01', 'missing')), { code: '4.04' });
      const reg = register('a');
      store.add(reg);
      for (const token of ['0', 'zz', '0102030405060708ff']) {
        assert.throws(() => store.addObservation(observation(token, reg.id)), Lwm2mError, token);
      }
      assert.equal(store.observationCount, 0);
    });
  });

  describe('expiry', () => {
    it('removes expired registrations earliest first, only those due', () => {
      const store = new MemoryRegistrationStore();
      const lifetimes = [50, 10, 40, 20, 30, 60];
      for (const [i, lt] of lifetimes.entries()) store.add(register(`dev${i}`, { lt, port: i }));
      assert.equal(store.nextExpiry(), NOW + 10_000);
      assert.deepEqual(store.removeExpired(NOW + 9_999), []);
      const removed = store.removeExpired(NOW + 35_000);
      assert.deepEqual(
        removed.map((r) => r.registration.lifetime),
        [10, 20, 30],
      );
      assert.equal(store.size, 3);
      assert.equal(store.nextExpiry(), NOW + 40_000);
      assert.equal(store.getByEndpoint('dev1'), undefined);
    });

    it('applies the grace period', () => {
      const store = new MemoryRegistrationStore();
      store.add(register('a', { lt: 10 }));
      assert.deepEqual(store.removeExpired(NOW + 10_000 + 4_999, 5_000), []);
      assert.equal(store.removeExpired(NOW + 15_000, 5_000).length, 1);
    });

    it('follows Updates that move the expiry and removals', () => {
      const store = new MemoryRegistrationStore();
      const a = register('a', { lt: 10, port: 1 });
      const b = register('b', { lt: 20, port: 2 });
      const c = register('c', { lt: 30, port: 3 });
      store.add(a);
      store.add(b);
      store.add(c);
      store.update(applyUpdate(a, {}, undefined, { now: NOW + 25_000 })); // a now expires at +35 s
      store.remove(b.id);
      assert.equal(store.nextExpiry(), NOW + 30_000);
      const removed = store.removeExpired(NOW + 100_000);
      assert.deepEqual(
        removed.map((r) => r.registration.endpoint),
        ['c', 'a'],
      );
      assert.equal(store.nextExpiry(), undefined);
    });

    it('reports the observations of expired registrations', () => {
      const store = new MemoryRegistrationStore();
      const a = register('a', { lt: 10 });
      store.add(a);
      store.addObservation(observation('aa', a.id));
      const [removed] = store.removeExpired(NOW + 10_000);
      assert.deepEqual(
        removed?.observations.map((o) => o.token),
        ['aa'],
      );
      assert.equal(store.observationCount, 0);
    });

    it('stays exact through many updates and churn (stale heap entries dropped)', () => {
      const store = new MemoryRegistrationStore();
      const regs = new Map<string, Registration>();
      for (let i = 0; i < 200; i++) {
        const reg = register(`d${i}`, { lt: 1 + ((i * 37) % 500), port: i });
        store.add(reg);
        regs.set(reg.endpoint, reg);
      }
      // Each device updates many times with a new lifetime; some deregister and register again.
      for (let round = 1; round <= 20; round++) {
        for (let i = 0; i < 200; i++) {
          const endpoint = `d${i}`;
          if ((i + round) % 7 === 0) {
            store.remove(regs.get(endpoint)!.id);
            const fresh = register(endpoint, { lt: 1 + ((i * round) % 700), now: NOW + round, port: i });
            store.add(fresh);
            regs.set(endpoint, fresh);
          } else {
            const next = applyUpdate(regs.get(endpoint)!, { lt: String(1 + ((i * 13 + round * 101) % 900)) }, undefined, {
              now: NOW + round,
            });
            store.update(next);
            regs.set(endpoint, next);
          }
        }
      }
      const expected = [...regs.values()].sort((x, y) => x.expiresAt - y.expiresAt);
      const cut = expected[120]!.expiresAt;
      const removed = store.removeExpired(cut);
      const due = expected.filter((r) => r.expiresAt <= cut);
      assert.deepEqual(
        removed.map((r) => r.registration.expiresAt),
        due.map((r) => r.expiresAt),
      );
      assert.deepEqual(new Set(removed.map((r) => r.registration.id)), new Set(due.map((r) => r.id)));
      assert.equal(store.size, 200 - due.length);
    });
  });

  it('flush and close resolve at once', async () => {
    const store = new MemoryRegistrationStore();
    await store.flush();
    await store.close();
  });
});

describe('server-store: ExpiryQueue', () => {
  it('pops entries in time order', () => {
    const queue = new ExpiryQueue();
    let seed = 12345;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const times: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const time = NOW + random();
      times.push(time);
      queue.push(time, `id${i}`);
    }
    const popped: number[] = [];
    while (queue.peekTime() !== undefined) {
      popped.push(queue.peekTime()!);
      queue.pop();
    }
    assert.deepEqual(
      popped,
      times.sort((a, b) => a - b),
    );
    assert.equal(queue.length, 0);
  });

  it('keeps each id with its time and rebuilds in order', () => {
    const queue = new ExpiryQueue();
    queue.rebuild([
      [30, 'c'],
      [10, 'a'],
      [20, 'b'],
      [5, 'z'],
    ]);
    const order: string[] = [];
    while (queue.peekId() !== undefined) {
      order.push(`${queue.peekId()}@${queue.peekTime()}`);
      queue.pop();
    }
    assert.deepEqual(order, ['z@5', 'a@10', 'b@20', 'c@30']);
    queue.pop(); // popping an empty queue is harmless
    assert.equal(queue.length, 0);
  });
});
