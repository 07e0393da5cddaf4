/**
 * The parent side of the server scenarios: our LwM2M server in its own
 * process, simulated clients spread over load processes, the Register +
 * De-register load from children, and the CPU profile summary. Small
 * counts and short windows: the machinery works and measures something
 * sane, not how fast it is.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cyclesFromChildren, ServerProcess, SimFleet } from '../../bench/lib/server-runs.js';
import { selfTimes, type CpuProfile } from '../../bench/profile-summary.js';
import { endpointNames } from '../../bench/procs/lwm2m-server.js';
import { Problems } from '../../bench/scenarios/server.js';
import { BENCH_DIR } from './helpers.js';

describe('bench / server scenario processes', function () {
  this.timeout(60_000);

  it('runs reads, Sends and notifications between a server process and two client processes', async () => {
    const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-prof-'));
    const server = await ServerProcess.start(BENCH_DIR, { lifetimeMs: 50_000, cpuProfDir: profDir, cpuProfName: 'server.cpuprofile', requestTimeoutMs: 2000 });
    let fleet: SimFleet | undefined;
    try {
      fleet = await SimFleet.start(BENCH_DIR, { port: server.port, clients: 30, processes: 2, prefix: 'fleet-', lifetimeMs: 50_000 });
      assert.deepEqual(fleet.endpoints, [
        { prefix: 'fleet-', first: 0, count: 15 },
        { prefix: 'fleet-', first: 15, count: 15 },
      ]);
      const reg = await fleet.register(8, 10_000);
      assert.equal(reg.ok, 30);
      assert.deepEqual(reg.codes, { '2.01': 30 });
      const figures = await server.figures();
      assert.equal(figures.registrations, 30);
      assert.equal(figures.gc, true, 'memory is read after a forced GC');

      const timed = await server.reads({ endpoints: fleet.endpoints, inFlight: 4, warmupMs: 50, durationMs: 200 }, 10_000);
      assert.ok(timed.reads > 10 && timed.rate > 0, `${timed.reads} reads`);
      assert.equal(timed.failed, 0);
      assert.equal(timed.wrong, 0);
      assert.ok(timed.total >= timed.reads);
      const counted = await server.reads({ endpoints: fleet.endpoints, inFlight: 4, count: 100 }, 10_000);
      assert.equal(counted.reads + counted.failed + counted.wrong, 100);
      assert.equal(counted.total, 100);

      const [sent, sendEvents] = await Promise.all([
        fleet.sends({ inFlight: 4, warmupMs: 50, durationMs: 300 }),
        server.events({ event: 'send', warmupMs: 50, durationMs: 250 }),
      ]);
      assert.ok(sent.ok > 10 && sent.failed === 0, JSON.stringify(sent.codes));
      assert.ok(sendEvents.events > 0 && sendEvents.total >= sendEvents.events);

      const observed = await server.observe({ endpoints: fleet.endpoints, inFlight: 8 }, 10_000);
      assert.equal(observed.observed, 30);
      assert.equal(observed.failed, 0);
      const [notified, events] = await Promise.all([
        fleet.notify({ nonPerCon: 3, warmupMs: 50, durationMs: 300 }),
        server.events({ event: 'notification', warmupMs: 50, durationMs: 250 }),
      ]);
      assert.equal(notified.observed, 30);
      assert.ok(notified.sentRate > 0 && events.rate > 0);
      assert.equal(notified.nonSent, 3 * notified.conSent);

      const counters = await fleet.counters();
      assert.equal(counters.observesAccepted, 30);
      assert.equal(counters.observed, 30);
      assert.equal(counters.readsAnswered, timed.total + counted.total - timed.failed - counted.failed);
      assert.equal(counters.refused, 0);
    } finally {
      await fleet?.stop();
      await server.stop();
    }
    const profile = JSON.parse(fs.readFileSync(path.join(profDir, 'server.cpuprofile'), 'utf8')) as CpuProfile;
    assert.ok(selfTimes(profile).length > 10, 'the server process wrote a CPU profile');
    fs.rmSync(profDir, { recursive: true, force: true });
  });

  it('runs Register + De-register cycles from load processes against the server', async () => {
    const server = await ServerProcess.start(BENCH_DIR, { lifetimeMs: 30_000 });
    try {
      const r = await cyclesFromChildren(BENCH_DIR, { host: '127.0.0.1', port: server.port, endpoints: 200, inFlight: 8, processes: 2, maxDurationMs: 10_000 });
      assert.equal(r.cycles, 200);
      assert.equal(r.failed, 0);
      assert.deepEqual(r.codes, { '2.01': 200, '2.02': 200 });
      assert.ok(r.rate > 0);
      assert.equal((await server.figures()).registrations, 0, 'every registration was deleted again');
    } finally {
      await server.stop();
    }
  });

  it('sums up problems over the runs for a note', () => {
    const p = new Problems();
    p.add('3 reads failed');
    p.add('3 reads failed');
    p.add('only 999 clients observed');
    p.tally('retransmissions', 40);
    p.tally('retransmissions', 7);
    p.tally('timeouts', 0);
    assert.deepEqual(p.list(), ['3 reads failed (2 runs)', 'only 999 clients observed', '47 retransmissions over the runs']);
  });

  it('names endpoint ranges', () => {
    assert.deepEqual(endpointNames([{ prefix: 'a-', first: 3, count: 2 }, { prefix: 'b', first: 0, count: 1 }]), ['a-3', 'a-4', 'b0']);
  });

  it('adds up self time per function in a CPU profile', () => {
    const frame = (functionName: string, url: string, lineNumber: number) => ({ functionName, url, lineNumber, scriptId: '0', columnNumber: 0 });
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: frame('(root)', '', -1), children: [2, 3] },
        { id: 2, callFrame: frame('parse', 'file:///x/packet.js', 9) },
        { id: 3, callFrame: frame('', 'file:///x/endpoint.js', 99), children: [4] },
        { id: 4, callFrame: frame('parse', 'file:///x/packet.js', 9) },
      ],
      samples: [2, 3, 4, 4, 1],
      timeDeltas: [1000, 3000, 500, 500, 5000],
    };
    assert.deepEqual(selfTimes(profile), [
      { name: '(root) (native)', selfMs: 5, share: 0.5 },
      { name: '(anonymous) (endpoint.js:100)', selfMs: 3, share: 0.3 },
      { name: 'parse (packet.js:10)', selfMs: 2, share: 0.2 },
    ]);
  });
});
