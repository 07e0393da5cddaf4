/**
 * The multi-process parts of the bench: child process handling, one
 * round-trip run per kind of server, the registration load spread over
 * processes, the codec fixtures, peer lookup and the Node-RED memory
 * scenario. Short windows: these check that the machinery works and
 * measures something sane, not how fast anything is.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { BENCH_FORMATS, deviceFixture, loadCodecs, wideFixture, WIDE_OBJECT_ID } from '../../bench/lib/codec-fixtures.js';
import { peerVersion, resolvePeer } from '../../bench/lib/peers.js';
import { BenchChild, type ChildMessage } from '../../bench/lib/proc.js';
import { measureRegistrationRun } from '../../bench/lib/registrations.js';
import { runRoundTrips, split } from '../../bench/lib/round-trips.js';
import { opsPerSecond } from '../../bench/lib/throughput.js';
import { memoryScenario } from '../../bench/scenarios/memory.js';
import type { BenchOptions } from '../../bench/scenario.js';
import { ack, BENCH_DIR, queryOf, REPO_ROOT, udpServer } from './helpers.js';

const rrServer = path.join(BENCH_DIR, 'procs', 'rr-server.js');

describe('bench / child processes', function () {
  this.timeout(20_000);

  it('starts a child, exchanges messages and stops it', async () => {
    const child = new BenchChild(rrServer, 'echo', { args: [JSON.stringify({ kind: 'echo' })], lifetimeMs: 10_000 });
    try {
      const ready = await child.next<ChildMessage & { port: number }>('ready', 5000);
      assert.ok(ready.port > 0);
      const figures = await child.ask<ChildMessage & { rss: number; cpuUs: number }>({ type: 'figures' }, 'figures', 5000);
      assert.ok(figures.rss > 1e6 && figures.cpuUs > 0);
    } finally {
      await child.stop();
    }
    assert.equal(child.alive, false);
  });

  it('reports a child\'s start-up error to whoever waits', async () => {
    const child = new BenchChild(rrServer, 'bad server', { args: [JSON.stringify({ kind: 'nonsense' })], lifetimeMs: 10_000 });
    try {
      await assert.rejects(child.next('ready', 5000), /bad server: unknown server kind "nonsense"/);
    } finally {
      await child.stop();
    }
  });

  it('kills a child whose lifetime runs out', async () => {
    const child = new BenchChild(rrServer, 'short-lived', { args: [JSON.stringify({ kind: 'echo' })], lifetimeMs: 700 });
    await child.next('ready', 5000);
    await assert.rejects(child.next('never', 5000), /short-lived killed by SIGKILL/);
  });

  it('splits work into near-equal parts', () => {
    assert.deepEqual(split(10, 3), [4, 3, 3]);
    assert.deepEqual(split(1000, 2), [500, 500]);
    assert.deepEqual(split(1, 2), [1]);
  });
});

describe('bench / round-trip runs', function () {
  this.timeout(30_000);
  const timing = { warmupMs: 100, durationMs: 300 };

  for (const kind of ['echo', 'node-coap', 'endpoint'] as const) {
    it(`measures the ${kind} server from separate load processes`, async () => {
      const r = await runRoundTrips(BENCH_DIR, kind, { sockets: 20, inFlight: 2, loadProcesses: 2 }, timing);
      assert.ok(r.rate > 500, `rate ${r.rate}`);
      assert.equal(r.bad, 0, 'every answer is the expected one');
      assert.ok(r.serverCpuUsPerRt > 0 && r.serverCpuUsPerRt < 10_000, `server CPU ${r.serverCpuUsPerRt} µs`);
      assert.ok(r.loadCpuShare > 0 && r.loadCpuShare <= 1.5);
    });
  }
});

describe('bench / registration runs', function () {
  this.timeout(30_000);

  it('spreads registrations over load processes and puts the locations back in endpoint order', async () => {
    let n = 0;
    const server = await udpServer((req, send) => {
      const ep = queryOf(req)[0]!.slice(3);
      n++;
      send(ack(req, '2.01', { options: [{ name: 'Location-Path', value: Buffer.from('rd') }, { name: 'Location-Path', value: Buffer.from(`id-${ep}`) }] }));
    });
    // Memory figures from a pretend server: 1 MB before, +100 bytes per registration after.
    let calls = 0;
    const memory = async () => (calls++ === 0 ? { rss: 1e6, heapUsed: 5e5 } : { rss: 1e6 + 100 * n, heapUsed: 5e5 + 40 * n });
    try {
      const r = await measureRegistrationRun(BENCH_DIR, memory, server.port, { endpoints: 500, inFlight: 16, processes: 2, prefix: 'p-', maxDurationMs: 10_000 });
      assert.equal(r.load.registered, 500);
      assert.equal(r.load.locations.length, 500);
      for (let i = 0; i < 500; i++) assert.deepEqual(r.load.locations[i], ['rd', `id-p-${i}`]);
      assert.equal(r.distinctLocations, 500);
      assert.equal(r.rssPerRegistration, 100);
      assert.equal(r.heapPerRegistration, 40);
      assert.ok(r.rate > 0);
    } finally {
      await server.close();
    }
  });
});

describe('bench / codec fixtures', () => {
  const { codecFor } = loadCodecs();
  for (const fixture of [deviceFixture(), wideFixture()]) {
    for (const f of BENCH_FORMATS) {
      it(`${f.name} encodes ${fixture.label} and decodes it back to the same bytes`, () => {
        const codec = codecFor(f.format);
        assert.equal(codec.format, f.format);
        const bytes = codec.encode(fixture.entries, { model: fixture.model });
        assert.ok(bytes.length > 20);
        const decoded = codec.decode(bytes, { path: fixture.path, model: fixture.model });
        assert.deepEqual(codec.encode(decoded, { model: fixture.model }), bytes);
      });
    }
  }

  it('has 100 resources of four types in the wide instance, under an id the registry does not know', () => {
    const wide = wideFixture();
    const node = wide.entries[0]!.node;
    assert.equal(node.kind, 'instance');
    if (node.kind !== 'instance') return;
    assert.equal(node.resources.size, 100);
    const types = new Set([...node.resources.values()].map((r) => (r.kind === 'resource' ? r.value.type : 'multiple')));
    assert.deepEqual([...types].sort(), ['boolean', 'float', 'integer', 'string']);
    assert.equal(wide.model.resource(WIDE_OBJECT_ID, 98)?.type, 'string');
    assert.equal(wide.model.resource(WIDE_OBJECT_ID, 99)?.type, 'boolean');
    assert.equal(deviceFixture().model.resource(WIDE_OBJECT_ID, 0), undefined);
  });

  it('times an operation without counting more runs than took place', () => {
    let calls = 0;
    const op = (): number => {
      calls++;
      const until = process.hrtime.bigint() + 100_000n; // 0.1 ms of work
      while (process.hrtime.bigint() < until);
      return calls;
    };
    const rate = opsPerSecond(op, 100);
    assert.ok(rate <= 10_000, `at most 10 000/s for a 0.1 ms operation (got ${rate})`);
    assert.ok(rate > 1_000, `got ${rate}`);
    assert.ok(calls >= 100);
  });
});

describe('bench / peers', () => {
  it('finds a package in the repository and says undefined for one that is nowhere', () => {
    const coap = resolvePeer('coap', REPO_ROOT);
    assert.ok(coap && coap.includes(path.join('node_modules', 'coap')));
    assert.match(peerVersion('coap', coap) ?? '', /^1\./);
    assert.equal(resolvePeer('surely-not-an-installed-package-xyz', REPO_ROOT, '/nonexistent'), undefined);
  });
});

describe('bench / memory scenario', function () {
  this.timeout(90_000);

  it('measures an idle Node-RED, bare and with this package', async () => {
    const options: BenchOptions = {
      quick: true,
      runs: 1,
      durationMs: 300,
      warmupMs: 100,
      repoRoot: REPO_ROOT,
      benchDir: BENCH_DIR,
      log: () => {},
    };
    const rows = await memoryScenario.run(options);
    assert.deepEqual(rows.map((r) => r.key), ['memory/bare', 'memory/with-package']);
    for (const row of rows) {
      assert.equal(row.error, undefined);
      assert.equal(row.samples.length, 1);
      assert.ok(row.samples[0]! > 30 && row.samples[0]! < 1000, `${row.samples[0]} MB`);
      assert.equal(row.baseline, 'memory/bare');
    }
    assert.match(rows[1]!.note ?? '', /package declares \d+ node files?/);
  });
});
