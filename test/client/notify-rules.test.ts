import assert from 'node:assert/strict';
import { ManualClock } from '../../src/client/clock.js';
import type { EffectiveAttributes } from '../../src/client/attribute-store.js';
import { earliestNotification, isQualifyingChange, latestNotification, NotifyScheduler, type Sample } from '../../src/client/notify-rules.js';

const num = (n: number): Sample => ({ fingerprint: `n${n}`, number: n });
const bool = (b: boolean): Sample => ({ fingerprint: `b${b}`, boolean: b });

describe('notification rules', () => {
  it('any change qualifies without thresholds; no change never does', () => {
    assert.equal(isQualifyingChange({ pmin: 0 }, num(1), num(2)), true);
    assert.equal(isQualifyingChange({ pmin: 0 }, num(1), num(1)), false);
    assert.equal(isQualifyingChange({ pmin: 0 }, { fingerprint: 'a' }, { fingerprint: 'b' }), true);
  });

  it('gt and lt qualify on crossing, in either direction', () => {
    const a: EffectiveAttributes = { pmin: 0, gt: 30, lt: 10 };
    assert.equal(isQualifyingChange(a, num(20), num(25)), false);
    assert.equal(isQualifyingChange(a, num(25), num(31)), true);
    assert.equal(isQualifyingChange(a, num(31), num(35)), false, 'staying above is no crossing');
    assert.equal(isQualifyingChange(a, num(35), num(29)), true, 'crossing back down');
    assert.equal(isQualifyingChange(a, num(15), num(9)), true);
    assert.equal(isQualifyingChange(a, num(9), num(5)), false);
    assert.equal(isQualifyingChange(a, num(5), num(12)), true);
  });

  it('st qualifies on a step of at least st from the last notified value', () => {
    const a: EffectiveAttributes = { pmin: 0, st: 2 };
    assert.equal(isQualifyingChange(a, num(10), num(11.9)), false);
    assert.equal(isQualifyingChange(a, num(10), num(12)), true);
    assert.equal(isQualifyingChange(a, num(10), num(7.5)), true);
  });

  it('edge qualifies on the chosen transition only', () => {
    assert.equal(isQualifyingChange({ pmin: 0, edge: 1 }, bool(false), bool(true)), true);
    assert.equal(isQualifyingChange({ pmin: 0, edge: 1 }, bool(true), bool(false)), false);
    assert.equal(isQualifyingChange({ pmin: 0, edge: 0 }, bool(true), bool(false)), true);
    assert.equal(isQualifyingChange({ pmin: 0, edge: 0 }, bool(false), bool(true)), false);
    // judged against the previous evaluation, not the last notification
    assert.equal(isQualifyingChange({ pmin: 0, edge: 1 }, bool(true), bool(true), bool(false)), true);
    assert.equal(isQualifyingChange({ pmin: 0, edge: 1 }, bool(false), bool(true), bool(true)), false);
  });

  it('pmin and pmax bound the times', () => {
    assert.equal(earliestNotification({ pmin: 5 }, 1000), 6000);
    assert.equal(latestNotification({ pmin: 5, pmax: 20 }, 1000), 21000);
    assert.equal(latestNotification({ pmin: 5 }, 1000), undefined);
    assert.equal(latestNotification({ pmin: 30, pmax: 20 }, 1000), undefined, 'pmax below pmin is ignored');
    assert.equal(latestNotification({ pmin: 0, pmax: 0 }, 1000), undefined);
  });

  describe('scheduler', () => {
    function harness(attrs: EffectiveAttributes, start: number) {
      const clock = new ManualClock(0);
      let value = start;
      const sent: Array<{ at: number; value: number; reason: string }> = [];
      let evaluations = 0;
      const scheduler = new NotifyScheduler(
        clock,
        attrs,
        {
          evaluate: async () => {
            evaluations++;
            return num(value);
          },
          send: async (reason) => {
            sent.push({ at: clock.now(), value, reason });
            return num(value);
          },
          onError: (err) => {
            throw err;
          },
        },
        num(start),
      );
      return {
        clock,
        scheduler,
        sent,
        get evaluations() {
          return evaluations;
        },
        async set(v: number) {
          value = v;
          scheduler.changed();
          await scheduler.idle();
        },
        async advance(ms: number) {
          clock.advance(ms);
          await scheduler.idle();
          await scheduler.idle();
        },
      };
    }

    it('delays a change until pmin has passed, then sends the latest value', async () => {
      const h = harness({ pmin: 10 }, 1);
      await h.advance(3000);
      await h.set(2);
      assert.equal(h.sent.length, 0);
      await h.set(3);
      await h.advance(6999);
      assert.equal(h.sent.length, 0);
      await h.advance(1);
      assert.deepEqual(h.sent, [{ at: 10000, value: 3, reason: 'change' }]);
      await h.set(4);
      assert.equal(h.sent.length, 1, 'the next one waits pmin again');
      await h.advance(10000);
      assert.equal(h.sent.length, 2);
    });

    it('sends at pmax without a change, and pmax restarts after every notification', async () => {
      const h = harness({ pmin: 0, pmax: 5 }, 1);
      await h.advance(4999);
      assert.equal(h.sent.length, 0);
      await h.advance(1);
      assert.deepEqual(h.sent.map((s) => [s.at, s.reason]), [[5000, 'pmax']]);
      await h.advance(2000);
      await h.set(2);
      assert.deepEqual(h.sent.map((s) => [s.at, s.reason]), [[5000, 'pmax'], [7000, 'change']]);
      await h.advance(4999);
      assert.equal(h.sent.length, 2);
      await h.advance(1);
      assert.deepEqual(h.sent[2], { at: 12000, value: 2, reason: 'pmax' });
    });

    it('applies gt/st against the last notified value', async () => {
      const h = harness({ pmin: 0, gt: 50, st: 10 }, 20);
      await h.set(25);
      await h.set(29);
      assert.equal(h.sent.length, 0);
      await h.set(30);
      assert.equal(h.sent.length, 1, 'moved 10 from 20');
      await h.set(51);
      assert.equal(h.sent.length, 2, 'crossed gt');
      await h.set(55);
      assert.equal(h.sent.length, 2);
    });

    it('epmin defers evaluation, epmax forces it', async () => {
      const h = harness({ pmin: 0, epmin: 2, epmax: 10 }, 1);
      await h.set(2);
      assert.equal(h.sent.length, 0, 'within epmin of the start');
      assert.equal(h.evaluations, 0);
      await h.advance(2000);
      assert.equal(h.evaluations, 1);
      assert.equal(h.sent.length, 1);
      const before = h.evaluations;
      await h.advance(10000);
      assert.equal(h.evaluations, before + 1, 'evaluated at epmax without any change signal');
    });

    it('new attributes apply to a running observation; stop cancels every timer', async () => {
      const h = harness({ pmin: 0 }, 1);
      h.scheduler.setAttributes({ pmin: 0, pmax: 3 });
      await h.advance(3000);
      assert.equal(h.sent.length, 1);
      h.scheduler.stop();
      assert.equal(h.clock.pending, 0);
      await h.set(9);
      await h.advance(10000);
      assert.equal(h.sent.length, 1);
    });
  });
});
