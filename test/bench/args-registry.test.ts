import assert from 'node:assert/strict';
import { ArgsError, parseArgs } from '../../bench/lib/args.js';
import type { Scenario } from '../../bench/scenario.js';
import { SCENARIOS, selectScenarios } from '../../bench/scenarios/index.js';

describe('bench / command line', () => {
  it('runs everything by default', () => {
    assert.deepEqual(parseArgs([]), { quick: false, installPeers: true, list: false, help: false });
  });

  it('reads --only, --quick, --runs, --duration and --peers-dir', () => {
    assert.deepEqual(parseArgs(['--only=limit, coap', '--quick', '--runs=5', '--duration=900', '--peers-dir=/tmp/p']), {
      only: ['limit', 'coap'],
      quick: true,
      runs: 5,
      durationMs: 900,
      peersDir: '/tmp/p',
      installPeers: true,
      list: false,
      help: false,
    });
    assert.equal(parseArgs(['--list']).list, true);
    assert.equal(parseArgs(['--no-peer-install']).installPeers, false);
    assert.throws(() => parseArgs(['--no-peer-install=yes']), ArgsError);
    assert.equal(parseArgs(['-h']).help, true);
  });

  it('refuses unknown options and bad values', () => {
    assert.throws(() => parseArgs(['--fast']), ArgsError);
    assert.throws(() => parseArgs(['--only=']), ArgsError);
    assert.throws(() => parseArgs(['--only=,']), ArgsError);
    assert.throws(() => parseArgs(['--runs=0']), ArgsError);
    assert.throws(() => parseArgs(['--runs=two']), ArgsError);
    assert.throws(() => parseArgs(['--duration']), ArgsError);
    assert.throws(() => parseArgs(['--quick=yes']), ArgsError);
  });
});

describe('bench / scenario registry', () => {
  it('has the scenarios of the brief, each with a unique lower-case name', () => {
    const names = SCENARIOS.map((s) => s.name);
    assert.deepEqual([...names].sort(), ['coap', 'codecs', 'limit', 'memory', 'peers', 'server']);
    assert.equal(new Set(names).size, names.length);
    for (const s of SCENARIOS) {
      assert.match(s.name, /^[a-z][a-z0-9-]*$/);
      assert.ok(s.description.length > 10);
      assert.equal(typeof s.run, 'function');
    }
  });

  it('selects by --only in registry order and names unknown scenarios', () => {
    const fake = (name: string): Scenario => ({ name, description: name, run: async () => [] });
    const all = [fake('a'), fake('b'), fake('c')];
    assert.deepEqual(selectScenarios(undefined, all).map((s) => s.name), ['a', 'b', 'c']);
    assert.deepEqual(selectScenarios(['c', 'a'], all).map((s) => s.name), ['a', 'c']);
    assert.throws(() => selectScenarios(['a', 'x', 'y'], all), /unknown scenarios x, y \(known: a, b, c\)/);
  });
});
