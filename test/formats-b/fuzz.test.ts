/**
 * Bounded fuzzing of every decoder of this area: random bytes, truncations
 * and mutations of valid payloads must end as decoded nodes or as
 * FormatError / UnsupportedFormatError, never as another exception. What
 * decodes must also encode again without any other exception. The PRNG is
 * seeded, so a failure names an input that can be replayed.
 */
import assert from 'node:assert/strict';
import type { Codec, DecodeContext } from '../../src/formats/codec.js';
import { CborWriter } from '../../src/formats/cbor-io.js';
import { ContentFormat } from '../../src/formats/content-format.js';
import { decodeLwm2mCborWriteComposite, lwm2mCborCodec } from '../../src/formats/lwm2m-cbor.js';
import { oldJsonCodec } from '../../src/formats/old-json.js';
import { decodeSenmlPaths, decodeSenmlWriteComposite } from '../../src/formats/senml-composite.js';
import { senmlCborCodec } from '../../src/formats/senml-cbor.js';
import { senmlJsonCodec } from '../../src/formats/senml-json.js';
import { instanceNode, multipleResourceNode, resourceInstanceNode, resourceNode, value, type PathNode } from '../../src/model/value.js';
import { ALL_TYPES, assertFormatError, assertOnlyTypedErrors, model, prng } from './helpers.js';

const contexts: DecodeContext[] = [{}, { model }, { path: [3, 0], model }, { path: [10999, 0] }, { paths: [[3], [10999, 0]], model }];

/** Valid payloads of each codec, to truncate and mutate. */
function seeds(codec: Codec): Buffer[] {
  const entries: PathNode[] = [
    {
      path: [10999, 0],
      node: instanceNode(0, [
        resourceNode(ALL_TYPES.string, value.string('text')),
        resourceNode(ALL_TYPES.integer, value.integer(-(2n ** 62n))),
        resourceNode(ALL_TYPES.float, value.float(1.5)),
        resourceNode(ALL_TYPES.boolean, value.boolean(true)),
        resourceNode(ALL_TYPES.opaque, value.opaque(Buffer.from([1, 2, 3]))),
        resourceNode(ALL_TYPES.objlnk, value.objlnk(3, 0)),
        multipleResourceNode(ALL_TYPES.multiInt, [resourceInstanceNode(0, value.integer(1)), resourceInstanceNode(1, value.integer(2))]),
      ]),
    },
    { path: [3, 0, 9], node: resourceNode(9, value.integer(95), 1_700_000_000) },
  ];
  return [codec.encode(entries), codec.encode([entries[1] as PathNode], { baseTime: 1_699_999_000 }), codec.encode(entries.slice(0, 1))];
}

const codecs: Array<[string, Codec]> = [
  ['SenML JSON', senmlJsonCodec],
  ['SenML CBOR', senmlCborCodec],
  ['old JSON', oldJsonCodec],
  ['LwM2M CBOR', lwm2mCborCodec],
];

/** Decodes with every context; what decodes is encoded again. */
function exercise(codec: Codec, input: Buffer, label: string): void {
  for (const ctx of contexts) {
    assertOnlyTypedErrors(() => {
      const entries = codec.decode(input, ctx);
      assert.ok(Array.isArray(entries));
      assertOnlyTypedErrors(() => codec.encode(entries), `${label}: re-encoding ${input.toString('hex')}`);
    }, `${label}: decoding ${input.toString('hex')} with ${JSON.stringify(ctx.path ?? ctx.paths ?? null)}`);
  }
}

const JSON_TOKENS = ['{', '}', '[', ']', '"', ':', ',', '0', '-', 'e', '.', '\\', 'n', 'v', 'null', '1e999', '99999999999999999999'];

function mutate(input: Buffer, rnd: () => number, text: boolean): Buffer {
  const out = Buffer.from(input);
  const pos = Math.floor(rnd() * out.length);
  const choice = rnd();
  if (text && choice < 0.5) {
    const token = JSON_TOKENS[Math.floor(rnd() * JSON_TOKENS.length)] as string;
    return Buffer.concat([out.subarray(0, pos), Buffer.from(token), out.subarray(pos + (rnd() < 0.5 ? 1 : 0))]);
  }
  if (choice < 0.7) out[pos] = Math.floor(rnd() * 256);
  else if (choice < 0.85) out[pos] = (out[pos] as number) ^ (1 << Math.floor(rnd() * 8));
  else return Buffer.concat([out.subarray(0, pos), out.subarray(pos + 1)]);
  return out;
}

describe('formats-b / fuzz: decoders raise only typed errors', function () {
  this.timeout(20000);

  for (const [name, codec] of codecs) {
    const isText = codec.format === ContentFormat.SENML_JSON || codec.format === ContentFormat.OLD_JSON;

    it(`${name}: every truncation of a valid payload is a FormatError`, () => {
      for (const seed of seeds(codec)) {
        exercise(codec, seed, name); // the seed itself decodes
        for (let cut = 0; cut < seed.length; cut++) assertFormatError(() => codec.decode(seed.subarray(0, cut)));
      }
    });

    it(`${name}: mutated payloads`, () => {
      const rnd = prng(0x5eed + codec.format);
      for (const seed of seeds(codec)) {
        for (let i = 0; i < 400; i++) {
          let input = seed;
          const rounds = 1 + Math.floor(rnd() * 3);
          for (let k = 0; k < rounds; k++) input = mutate(input, rnd, isText);
          exercise(codec, input, name);
        }
      }
    });

    it(`${name}: random bytes`, () => {
      const rnd = prng(0xf022 + codec.format);
      for (let i = 0; i < 1500; i++) {
        const input = Buffer.alloc(Math.floor(rnd() * 48));
        for (let j = 0; j < input.length; j++) input[j] = Math.floor(rnd() * 256);
        // give the CBOR decoders a plausible start (array or map) half of the time
        if (!isText && input.length > 0 && rnd() < 0.5) input[0] = rnd() < 0.5 ? 0x81 + (i % 4) : 0xa1 + (i % 4);
        exercise(codec, input, name);
      }
    });
  }

  it('structured input: random well-formed documents with random labels and values', () => {
    const rnd = prng(0x57a7);
    for (let i = 0; i < 1500; i++) {
      const senml = Array.from({ length: Math.floor(rnd() * 5) }, () => randomRecord(rnd, SENML_LABELS));
      const old = new Map<Gen, Gen>([['bn', pick(rnd, NAMES)], ['e', Array.from({ length: Math.floor(rnd() * 4) }, () => randomRecord(rnd, OLD_LABELS))]]);
      if (rnd() < 0.3) old.set('bt', randomScalar(rnd));
      exercise(senmlJsonCodec, Buffer.from(toJson(senml)), 'structured SenML JSON');
      exercise(senmlCborCodec, toCbor(senml), 'structured SenML CBOR');
      exercise(oldJsonCodec, Buffer.from(toJson(old)), 'structured old JSON');
      exercise(lwm2mCborCodec, toCbor(randomTree(rnd, 0)), 'structured LwM2M CBOR');
      assertOnlyTypedErrors(() => decodeSenmlWriteComposite(toCbor(senml), ContentFormat.SENML_CBOR, { model }), 'structured write');
      assertOnlyTypedErrors(() => decodeLwm2mCborWriteComposite(toCbor(randomTree(rnd, 0)), model), 'structured lwm2m write');
    }
  });

  it('composite request and Write-Composite helpers', () => {
    const rnd = prng(0xc0de);
    for (let i = 0; i < 1500; i++) {
      const input = Buffer.alloc(Math.floor(rnd() * 40));
      for (let j = 0; j < input.length; j++) input[j] = Math.floor(rnd() * 256);
      if (input.length > 0 && rnd() < 0.5) input[0] = rnd() < 0.5 ? 0x82 : 0xa2;
      const label = input.toString('hex');
      assertOnlyTypedErrors(() => decodeSenmlPaths(input, ContentFormat.SENML_CBOR), `paths/cbor ${label}`);
      assertOnlyTypedErrors(() => decodeSenmlPaths(input, ContentFormat.SENML_JSON), `paths/json ${label}`);
      assertOnlyTypedErrors(() => decodeSenmlWriteComposite(input, ContentFormat.SENML_CBOR, { model }), `write/cbor ${label}`);
      assertOnlyTypedErrors(() => decodeSenmlWriteComposite(input, ContentFormat.SENML_JSON), `write/json ${label}`);
      assertOnlyTypedErrors(() => decodeLwm2mCborWriteComposite(input, model), `write/lwm2m-cbor ${label}`);
    }
  });
});

// ------------------------------------------------------- structured inputs

/** A generic document: Maps for objects/maps, arrays, scalars. */
type Gen = null | boolean | number | bigint | string | Buffer | Gen[] | Map<Gen, Gen>;

const SENML_LABELS: Gen[] = ['bn', 'bt', 'bv', 'bver', 'n', 'v', 'vs', 'vb', 'vd', 'vlo', 's', 't', 'ut', 'x_', -2, -3, -5, 0, 2, 3, 4, 6, 8, 99];
const OLD_LABELS: Gen[] = ['n', 'v', 'sv', 'bv', 'ov', 't'];
const NAMES = ['/', '/3/0/', '/3/0/9', '3/0', '/10999/0/', '0', '9', '6/0', '/65535', '/1/2/3/4/5', '', 'x', '/3/0/13', '/10999/0/7'];
const SCALARS: Gen[] = [
  0, 1, -1, 1.5, -0.5, 2 ** 28, 1_700_000_000, -1e300, 1e300, 2 ** 53, 2n ** 63n, -(2n ** 63n), 2n ** 64n - 1n,
  true, false, null, '3:0', '65535:65535', 'AQID', 'a b', '', 'x', Buffer.from([1, 2]), Buffer.alloc(0),
];

const pick = <T>(rnd: () => number, items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;

function randomScalar(rnd: () => number): Gen {
  return rnd() < 0.3 ? pick(rnd, NAMES) : pick(rnd, SCALARS);
}

function randomRecord(rnd: () => number, labels: readonly Gen[]): Gen {
  const rec = new Map<Gen, Gen>();
  const count = 1 + Math.floor(rnd() * 4);
  for (let i = 0; i < count; i++) {
    const label = pick(rnd, labels);
    rec.set(label, label === 'n' || label === 'bn' || label === 0 || label === -2 ? pick(rnd, NAMES) : rnd() < 0.1 ? [1] : randomScalar(rnd));
  }
  return rec;
}

/** A random LwM2M CBOR-like tree: id or fragment keys (sometimes invalid), maps or leaves. */
function randomTree(rnd: () => number, depth: number): Gen {
  const map = new Map<Gen, Gen>();
  const count = Math.floor(rnd() * 4);
  for (let i = 0; i < count; i++) {
    const r = rnd();
    const key: Gen = r < 0.6 ? Math.floor(rnd() * 12) : r < 0.85 ? Array.from({ length: Math.floor(rnd() * 5) }, () => Math.floor(rnd() * 4)) : pick(rnd, SCALARS);
    map.set(key, depth < 4 && rnd() < 0.5 ? randomTree(rnd, depth + 1) : randomScalar(rnd));
  }
  return map;
}

function toJson(doc: Gen): string {
  if (doc instanceof Map) return `{${[...doc].map(([k, v]) => `${JSON.stringify(String(k))}:${toJson(v)}`).join(',')}}`;
  if (Array.isArray(doc)) return `[${doc.map(toJson).join(',')}]`;
  if (typeof doc === 'bigint') return doc.toString();
  if (typeof doc === 'number') return Number.isFinite(doc) ? String(doc) : '0';
  if (Buffer.isBuffer(doc)) return JSON.stringify(doc.toString('base64url'));
  return JSON.stringify(doc);
}

function writeGen(w: CborWriter, doc: Gen): void {
  if (doc === null) w.null();
  else if (typeof doc === 'boolean') w.bool(doc);
  else if (typeof doc === 'bigint') w.int(doc);
  else if (typeof doc === 'number') {
    if (Number.isSafeInteger(doc)) w.int(doc);
    else w.float(doc);
  } else if (typeof doc === 'string') w.text(doc);
  else if (Buffer.isBuffer(doc)) w.bytes(doc);
  else if (Array.isArray(doc)) {
    w.arrayHeader(doc.length);
    for (const item of doc) writeGen(w, item);
  } else {
    w.mapHeader(doc.size);
    for (const [k, v] of doc) {
      writeGen(w, k);
      writeGen(w, v);
    }
  }
}

function toCbor(doc: Gen): Buffer {
  const w = new CborWriter();
  writeGen(w, doc);
  return w.toBuffer();
}
