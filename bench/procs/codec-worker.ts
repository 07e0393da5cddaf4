/**
 * Codec throughput, measured in its own process (no other work on its
 * event loop or heap). argv[2]: {"runs": n, "targetMs": ms}. For each
 * fixture × format, checks the round trip once (decode then encode again
 * gives the same bytes), then measures encode and decode `runs` times,
 * interleaving the cases so that noise spreads over all of them. Sends
 * {type:'result', cases: CodecCaseResult[]}.
 */
import { fail, params, send } from '../lib/child.js';
import { BENCH_FORMATS, deviceFixture, loadCodecs, wideFixture, type CodecFixture } from '../lib/codec-fixtures.js';
import { opsPerSecond } from '../lib/throughput.js';

export interface CodecCaseResult {
  readonly fixture: string;
  readonly fixtureLabel: string;
  readonly format: string;
  readonly bytes: number;
  /** MB/s (10^6 bytes of payload per second) per run. */
  readonly encodeMBps: number[];
  readonly decodeMBps: number[];
  readonly roundTripOk: boolean;
  readonly error?: string;
  readonly via: string;
}

interface Case {
  readonly result: CodecCaseResult;
  readonly encode: () => Buffer;
  readonly decode: () => unknown;
}

function prepare(fixture: CodecFixture, format: { name: string; format: number }, codecFor: ReturnType<typeof loadCodecs>['codecFor'], via: string): Case | CodecCaseResult {
  const base = { fixture: fixture.name, fixtureLabel: fixture.label, format: format.name, encodeMBps: [], decodeMBps: [], via };
  try {
    const codec = codecFor(format.format as Parameters<typeof codecFor>[0]);
    const encodeCtx = { model: fixture.model };
    const decodeCtx = { path: fixture.path, model: fixture.model };
    const payload = codec.encode(fixture.entries, encodeCtx);
    const again = codec.encode(codec.decode(payload, decodeCtx), encodeCtx);
    return {
      result: { ...base, bytes: payload.length, roundTripOk: again.equals(payload) },
      encode: () => codec.encode(fixture.entries, encodeCtx),
      decode: () => codec.decode(payload, decodeCtx),
    };
  } catch (err) {
    return { ...base, bytes: 0, roundTripOk: false, error: err instanceof Error ? err.message : String(err) };
  }
}

function main(): void {
  const { runs, targetMs } = params<{ runs: number; targetMs: number }>();
  const { codecFor, via } = loadCodecs();
  const cases: Case[] = [];
  const failed: CodecCaseResult[] = [];
  for (const fixture of [deviceFixture(), wideFixture()]) {
    for (const format of BENCH_FORMATS) {
      const c = prepare(fixture, format, codecFor, via);
      if ('encode' in c) cases.push(c);
      else failed.push(c);
    }
  }
  // Warm-up: let the JIT see every path before anything is measured.
  for (const c of cases) {
    opsPerSecond(c.encode, targetMs / 4);
    opsPerSecond(c.decode, targetMs / 4);
  }
  for (let run = 0; run < runs; run++) {
    for (const c of cases) {
      c.result.encodeMBps.push((opsPerSecond(c.encode, targetMs) * c.result.bytes) / 1e6);
      c.result.decodeMBps.push((opsPerSecond(c.decode, targetMs) * c.result.bytes) / 1e6);
    }
  }
  send({ type: 'result', cases: [...cases.map((c) => c.result), ...failed] });
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    fail(err);
  }
}
