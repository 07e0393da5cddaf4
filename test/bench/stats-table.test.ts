import assert from 'node:assert/strict';
import { median, ratio, summarize } from '../../bench/lib/stats.js';
import { buildRows, COLUMNS, formatMarkdown, formatNumber, formatText } from '../../bench/lib/table.js';
import type { Measurement } from '../../bench/scenario.js';

describe('bench / stats', () => {
  it('takes the middle sample, or the mean of the two middle ones', () => {
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
    assert.throws(() => median([]), RangeError);
  });

  it('summarizes median and spread, ignoring non-finite samples', () => {
    assert.deepEqual(summarize([10, NaN, 30, 20]), { median: 20, min: 10, max: 30, runs: 3 });
    assert.equal(summarize([]), undefined);
    assert.equal(summarize([NaN]), undefined);
  });

  it('divides medians, and has no ratio without a usable baseline', () => {
    assert.equal(ratio(summarize([2, 4, 6]), summarize([1, 2, 3])), 2);
    assert.equal(ratio(summarize([2]), undefined), undefined);
    assert.equal(ratio(summarize([2]), summarize([0])), undefined);
  });
});

describe('bench / table', () => {
  const m = (key: string, samples: number[], extra: Partial<Measurement> = {}): Measurement => ({
    key,
    scenario: key.split('/')[0]!,
    case: `case ${key}`,
    metric: 'things/s',
    samples,
    ...extra,
  });

  it('formats numbers for people', () => {
    assert.equal(formatNumber(74210.4), '74 210');
    assert.equal(formatNumber(1234567), '1 234 567');
    assert.equal(formatNumber(-4500), '-4 500');
    assert.equal(formatNumber(512.6), '513');
    assert.equal(formatNumber(12.345), '12.3');
    assert.equal(formatNumber(3.14159), '3.14');
    assert.equal(formatNumber(0.012345), '0.0123');
    assert.equal(formatNumber(0), '0');
  });

  it('gives each row its median, spread, runs and ratio to its baseline', () => {
    const rows = buildRows([
      m('a/base', [100, 120, 110], { baseline: 'a/base' }),
      m('a/x', [50, 60, 55], { baseline: 'a/base' }),
    ]);
    assert.equal(rows.length, 2);
    assert.deepEqual(rows[0]!.slice(3, 8), ['110', '100–120', '1.00×', 'baseline', '3']);
    assert.deepEqual(rows[1]!.slice(3, 8), ['55.0', '50.0–60.0', '0.50×', 'case a/base', '3']);
  });

  it('says when the baseline was not run, and marks skipped and failed rows', () => {
    const rows = buildRows([
      m('b/x', [10], { baseline: 'limit/none' }),
      m('b/y', [], { skipped: 'not installed' }),
      m('b/z', [], { error: 'crashed' }),
    ]);
    assert.equal(rows[0]![5], '—');
    assert.equal(rows[0]![6], 'limit/none (not run)');
    assert.equal(rows[1]![3], '—');
    assert.equal(rows[1]![7], '0');
    assert.match(rows[1]![8]!, /NOT RUN: not installed/);
    assert.match(rows[2]![8]!, /FAILED: crashed/);
  });

  it('puts the ratios to further rows (alsoVs) into the notes', () => {
    const rows = buildRows([
      m('c/limit', [200]),
      m('c/peer', [40]),
      m('c/ours', [100], { baseline: 'c/peer', alsoVs: ['c/limit', 'c/missing'], note: 'extra' }),
    ]);
    assert.equal(rows[2]![5], '2.50×');
    assert.equal(rows[2]![8], '0.50× case c/limit; extra');
  });

  it('compares with the best of several rows (bestOf), highest or lowest median, skipping rows without figures', () => {
    const rows = buildRows([
      m('p/a', [100, 110, 120]),
      m('p/b', [300]),
      m('p/c', [], { skipped: 'not installed' }),
      m('s/rate', [900], { bestOf: { keys: ['p/a', 'p/b', 'p/c'] }, baseline: 'p/a' }),
      m('s/mem', [50], { bestOf: { keys: ['p/a', 'p/b', 'p/c'], lowerIsBetter: true }, baseline: 'p/a' }),
      m('s/none', [5], { bestOf: { keys: ['p/c', 'p/missing'] }, baseline: 'p/c' }),
      m('s/gone', [5], { bestOf: { keys: ['p/missing'] }, baseline: 'p/missing' }),
    ]);
    assert.deepEqual(rows[3]!.slice(5, 7), ['3.00×', 'case p/b']);
    assert.deepEqual(rows[4]!.slice(5, 7), ['0.45×', 'case p/a']);
    assert.deepEqual(rows[5]!.slice(5, 7), ['—', 'case p/c'], 'none has figures: the named baseline, without a ratio');
    assert.deepEqual(rows[6]!.slice(5, 7), ['—', 'p/missing (not run)']);
  });

  it('renders the same rows as aligned text and as Markdown', () => {
    const rows = buildRows([m('d/a', [1000, 2000, 3000], { baseline: 'd/a', note: 'x | y' }), m('d/b', [5], { baseline: 'd/a' })]);
    const text = formatText(rows).split('\n');
    assert.equal(text.length, 4);
    assert.ok(text[0]!.startsWith('Scenario'));
    // Right-aligned medians end in the same column.
    const col = (line: string, cell: string): number => line.indexOf(cell) + cell.length;
    assert.equal(col(text[2]!, '2 000'), col(text[3]!, '5.00'));
    const md = formatMarkdown(rows).split('\n');
    assert.equal(md.length, 4);
    assert.equal(md[0], `| ${COLUMNS.join(' | ')} |`);
    assert.match(md[1]!, /^\|---\|---\|---\|---:\|---:\|---:\|---\|---:\|---\|$/);
    assert.ok(md[2]!.includes('x \\| y'), 'a pipe inside a cell is escaped');
    for (const line of md.slice(2)) assert.equal(line.split(/(?<!\\)\|/).length, COLUMNS.length + 2);
  });
});
