/**
 * Scenario "codecs": encode and decode throughput (MB/s of payload) of
 * TLV, SenML JSON, SenML CBOR and LwM2M CBOR on a Device instance (/3/0)
 * and a 100-resource instance, measured in a child process. Ratios are
 * against TLV for the same object and direction.
 */
import * as path from 'node:path';
import type { CodecCaseResult } from '../procs/codec-worker.js';
import { BenchChild, type ChildMessage } from '../lib/proc.js';
import { failedMeasurement, type Measurement, type Scenario } from '../scenario.js';

export const codecsScenario: Scenario = {
  name: 'codecs',
  description: 'encode/decode MB/s of TLV, SenML JSON, SenML CBOR, LwM2M CBOR on /3/0 and a 100-resource instance',
  async run(options) {
    const targetMs = options.quick ? 100 : 250;
    const worker = new BenchChild(path.join(options.benchDir, 'procs', 'codec-worker.js'), 'codec worker', {
      args: [JSON.stringify({ runs: options.runs, targetMs })],
      lifetimeMs: 120_000,
    });
    let cases: CodecCaseResult[];
    try {
      cases = (await worker.next<ChildMessage & { cases: CodecCaseResult[] }>('result', 110_000)).cases;
    } catch (err) {
      return [failedMeasurement({ key: 'codecs/all', scenario: 'codecs', case: 'all codecs', metric: 'MB/s' }, err)];
    } finally {
      await worker.stop();
    }
    const rows: Measurement[] = [];
    const baselineFormat = cases[0]?.format ?? 'TLV';
    const keyOf = (c: CodecCaseResult, dir: string, format = c.format): string =>
      `codecs/${c.fixture}/${format.toLowerCase().replace(/ /g, '-')}/${dir}`;
    for (const dir of ['encode', 'decode'] as const) {
      for (const c of cases) {
        const base = {
          key: keyOf(c, dir),
          scenario: 'codecs',
          case: `${c.format} ${dir}, ${c.fixtureLabel}${c.bytes ? ` (${c.bytes} B)` : ''}`,
          metric: 'MB/s',
          baseline: keyOf(c, dir, baselineFormat),
        };
        if (c.error) {
          rows.push(failedMeasurement(base, c.error));
          continue;
        }
        const samples = dir === 'encode' ? c.encodeMBps : c.decodeMBps;
        const sorted = [...samples].sort((a, b) => a - b);
        const mid = sorted[sorted.length >> 1]!;
        const usPerOp = (c.bytes / (mid * 1e6)) * 1e6;
        const notes = [`${usPerOp.toFixed(1)} µs/op`, `via ${c.via}`];
        if (!c.roundTripOk) notes.push('decode→encode does not give the same bytes');
        rows.push({ ...base, samples, note: notes.join(', ') });
      }
    }
    return rows;
  },
};
