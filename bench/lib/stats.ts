/** Summaries of repeated runs: the median and the spread (min–max). */

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

/** Median of the samples (mean of the two middle ones for an even count). */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError('median of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(samples: readonly number[]): Summary | undefined {
  const finite = samples.filter((s) => Number.isFinite(s));
  if (finite.length === 0) return undefined;
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), runs: finite.length };
}

/** Ratio of two medians, undefined when the baseline is missing or zero. */
export function ratio(value: Summary | undefined, baseline: Summary | undefined): number | undefined {
  if (!value || !baseline || baseline.median === 0) return undefined;
  return value.median / baseline.median;
}
