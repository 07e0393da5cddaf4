/**
 * Turns measurements into the one result table: absolute figures (median
 * and min–max over the runs) and the ratio to the baseline row measured in
 * the same run of the bench. Two renderings of the same rows: aligned
 * plain text for the terminal and Markdown for bench/results/.
 */
import type { Measurement } from '../scenario.js';
import { ratio, summarize } from './stats.js';

export const COLUMNS = ['Scenario', 'Case', 'Metric', 'Median', 'Min–max', 'Ratio', 'vs', 'Runs', 'Notes'] as const;

export type TableRow = readonly string[];

/**
 * Human-sized numbers: thousands grouped with a thin space above 1000, one
 * decimal between 10 and 100, three significant digits below 10.
 */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return groupThousands(Math.round(n));
  if (abs >= 100) return String(Math.round(n));
  if (abs >= 10) return n.toFixed(1);
  if (abs === 0) return '0';
  return n.toPrecision(3);
}

function groupThousands(n: number): string {
  const sign = n < 0 ? '-' : '';
  const digits = String(Math.abs(n));
  const groups: string[] = [];
  for (let end = digits.length; end > 0; end -= 3) groups.unshift(digits.slice(Math.max(0, end - 3), end));
  return sign + groups.join(' ');
}

export function formatRatio(r: number): string {
  return r >= 10 ? `${r.toFixed(1)}×` : `${r.toFixed(2)}×`;
}

/** The key of the best row named by `m.bestOf` that has figures, if any. */
function bestBaseline(m: Measurement, byKey: ReadonlyMap<string, Measurement>): string | undefined {
  if (!m.bestOf) return undefined;
  const sign = m.bestOf.lowerIsBetter ? -1 : 1;
  let best: { key: string; median: number } | undefined;
  for (const key of m.bestOf.keys) {
    const s = summarize(byKey.get(key)?.samples ?? []);
    if (s && (!best || sign * s.median > sign * best.median)) best = { key, median: s.median };
  }
  return best?.key;
}

/** One table row per measurement, in the order given. */
export function buildRows(measurements: readonly Measurement[]): TableRow[] {
  const byKey = new Map(measurements.map((m) => [m.key, m]));
  return measurements.map((m) => {
    const s = summarize(m.samples);
    let ratioText = '';
    let vs = '';
    const baselineKey = bestBaseline(m, byKey) ?? m.baseline;
    if (baselineKey !== undefined) {
      const base = byKey.get(baselineKey);
      if (baselineKey === m.key) {
        ratioText = s ? formatRatio(1) : '—';
        vs = 'baseline';
      } else if (!base) {
        ratioText = '—';
        vs = `${baselineKey} (not run)`;
      } else {
        const r = ratio(s, summarize(base.samples));
        ratioText = r === undefined ? '—' : formatRatio(r);
        vs = base.case;
      }
    }
    const extra = (m.alsoVs ?? []).flatMap((k) => {
      const other = byKey.get(k);
      const r = other ? ratio(s, summarize(other.samples)) : undefined;
      return r === undefined || !other ? [] : [`${formatRatio(r)} ${other.case}`];
    });
    const notes = [m.error ? `FAILED: ${m.error}` : '', m.skipped ? `NOT RUN: ${m.skipped}` : '', extra.join(', '), m.note ?? ''].filter((t) => t !== '').join('; ');
    return [
      m.scenario,
      m.case,
      m.metric,
      s ? formatNumber(s.median) : '—',
      s ? `${formatNumber(s.min)}–${formatNumber(s.max)}` : '—',
      ratioText,
      vs,
      String(s?.runs ?? 0),
      notes,
    ];
  });
}

/** Aligned plain-text table (numbers right-aligned). */
export function formatText(rows: readonly TableRow[]): string {
  const all = [COLUMNS as readonly string[], ...rows];
  const widths = COLUMNS.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const numeric = new Set([3, 4, 5, 7]);
  const line = (r: readonly string[]): string =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((w, c) => '-'.repeat(c === widths.length - 1 ? Math.min(w, 20) : w)).join('  ');
  return [line(all[0]!), rule, ...rows.map(line)].join('\n');
}

function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function formatMarkdown(rows: readonly TableRow[]): string {
  const right = new Set([3, 4, 5, 7]);
  const header = `| ${COLUMNS.join(' | ')} |`;
  const align = `|${COLUMNS.map((_, c) => (right.has(c) ? '---:' : '---')).join('|')}|`;
  return [header, align, ...rows.map((r) => `| ${r.map(mdCell).join(' | ')} |`)].join('\n');
}
