/**
 * Timing of a synchronous operation: how many times per second it runs,
 * measured over at least `targetMs` of wall time in batches big enough
 * that reading the clock costs nothing.
 */
import { performance } from 'node:perf_hooks';

export function opsPerSecond(op: () => unknown, targetMs: number): number {
  let sink = 0;
  const consume = (r: unknown): void => {
    // Keep the result alive so the work cannot be optimized away.
    if (r === sink) sink++;
  };
  // Batch size: grow until one batch takes at least a millisecond.
  let batch = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) consume(op());
    if (performance.now() - t0 >= 1 || batch >= 1 << 20) break;
    batch *= 2;
  }
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < batch; i++) consume(op());
    n += batch;
    elapsed = performance.now() - start;
  } while (elapsed < targetMs);
  return (n * 1000) / elapsed;
}
