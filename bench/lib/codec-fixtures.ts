/**
 * What the codec scenario encodes and decodes: a Device object instance
 * (/3/0 with the resources a real device reports) and a 100-resource
 * instance of a made-up object (25 each of float, integer, string and
 * boolean), with the model lookups the decoders need to type the values.
 */
import type { Codec } from '../../src/formats/codec.js';
import { ContentFormat, type ContentFormatNumber } from '../../src/formats/content-format.js';
import type { ModelLookup, ObjectDefinition, ResourceDefinition, ResourceType } from '../../src/model/definitions.js';
import type { Lwm2mPath } from '../../src/model/path.js';
import { builtinRegistry } from '../../src/model/registry.js';
import {
  instanceNode,
  multipleResourceNode,
  resourceInstanceNode,
  resourceNode,
  value,
  type Lwm2mValue,
  type PathNode,
  type ResourceNode,
} from '../../src/model/value.js';

export interface CodecFixture {
  /** Short name for keys ("device", "wide"). */
  readonly name: string;
  /** For the table ("Device /3/0"). */
  readonly label: string;
  readonly path: Lwm2mPath;
  readonly entries: readonly PathNode[];
  readonly model: ModelLookup;
}

const m = (id: number, values: readonly number[]): ResourceNode =>
  multipleResourceNode(id, values.map((v, i) => resourceInstanceNode(i, value.integer(v))));

/** /3/0 as a typical device reports it (the Execute resources carry no value). */
export function deviceFixture(): CodecFixture {
  const resources: ResourceNode[] = [
    resourceNode(0, value.string('Open Mobile Alliance')),
    resourceNode(1, value.string('Lightweight M2M Client')),
    resourceNode(2, value.string('345000123')),
    resourceNode(3, value.string('1.0.7')),
    m(6, [1, 5]),
    m(7, [3800, 5000]),
    m(8, [125, 900]),
    resourceNode(9, value.integer(100)),
    resourceNode(10, value.integer(15)),
    m(11, [0]),
    resourceNode(13, value.time(new Date(1_700_000_000_000))),
    resourceNode(14, value.string('+02:00')),
    resourceNode(15, value.string('Europe/Berlin')),
    resourceNode(16, value.string('U')),
    resourceNode(17, value.string('Sensor')),
    resourceNode(18, value.string('1.0.1')),
    resourceNode(19, value.string('2.3.0')),
    resourceNode(20, value.integer(1)),
    resourceNode(21, value.integer(128)),
  ];
  return {
    name: 'device',
    label: '/3/0 Device',
    path: [3, 0],
    entries: [{ path: [3, 0], node: instanceNode(0, resources) }],
    model: builtinRegistry().latestLookup(),
  };
}

/** Object id of the made-up 100-resource object (private range, not in the built-in registry). */
export const WIDE_OBJECT_ID = 30_000;
const WIDE_TYPES: readonly ResourceType[] = ['float', 'integer', 'string', 'boolean'];

function wideValue(id: number): Lwm2mValue {
  switch (WIDE_TYPES[id % WIDE_TYPES.length]) {
    case 'float':
      return value.float(20 + id / 8);
    case 'integer':
      return value.integer(id * 1009);
    case 'string':
      return value.string(`value of resource ${id}`);
    default:
      return value.boolean(id % 3 === 0);
  }
}

/** One instance with 100 single resources of mixed types. */
export function wideFixture(): CodecFixture {
  const registry = builtinRegistry().clone();
  if (registry.has(WIDE_OBJECT_ID)) throw new Error(`object ${WIDE_OBJECT_ID} exists in the registry: pick another id for the bench`);
  const defs = new Map<number, ResourceDefinition>();
  for (let id = 0; id < 100; id++) {
    const type = WIDE_TYPES[id % WIDE_TYPES.length]!;
    defs.set(id, { id, name: `Resource ${id}`, operations: 'R', type, multiple: false, mandatory: false });
  }
  const def: ObjectDefinition = {
    id: WIDE_OBJECT_ID,
    name: 'Bench wide object',
    version: '1.0',
    lwm2mVersion: '1.1',
    urn: `urn:oma:lwm2m:x:${WIDE_OBJECT_ID}`,
    multiple: true,
    mandatory: false,
    resources: defs,
  };
  registry.add(def);
  const resources = [...defs.keys()].map((id) => resourceNode(id, wideValue(id)));
  return {
    name: 'wide',
    label: '100-resource instance',
    path: [WIDE_OBJECT_ID, 0],
    entries: [{ path: [WIDE_OBJECT_ID, 0], node: instanceNode(0, resources) }],
    model: registry.latestLookup(),
  };
}

/** The formats measured, in table order (TLV first: it is the baseline). */
export const BENCH_FORMATS: ReadonlyArray<{ name: string; format: ContentFormatNumber }> = [
  { name: 'TLV', format: ContentFormat.TLV },
  { name: 'SenML JSON', format: ContentFormat.SENML_JSON },
  { name: 'SenML CBOR', format: ContentFormat.SENML_CBOR },
  { name: 'LwM2M CBOR', format: ContentFormat.LWM2M_CBOR },
];

/**
 * The codec of a format: through `codecFor` of src/formats/index.ts when
 * that module exists, else from the codec modules themselves. `via` says
 * which, for the notes.
 */
export function loadCodecs(): { codecFor: (format: ContentFormatNumber) => Codec; via: string } {
  try {
    const index = require('../../src/formats/index.js') as { codecFor?: (format: number) => Codec | undefined };
    if (typeof index.codecFor === 'function') {
      const codecFor = index.codecFor;
      return {
        codecFor: (format) => {
          const codec = codecFor(format);
          if (!codec) throw new Error(`codecFor(${format}) has no codec`);
          return codec;
        },
        via: 'codecFor()',
      };
    }
  } catch (err) {
    // Only the index itself being absent means "not written yet"; anything else is a real failure.
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'MODULE_NOT_FOUND' || !e.message.includes('formats/index.js')) throw err;
  }
  const direct: Record<number, Codec> = {
    [ContentFormat.TLV]: (require('../../src/formats/tlv.js') as typeof import('../../src/formats/tlv.js')).tlvCodec,
    [ContentFormat.SENML_JSON]: (require('../../src/formats/senml-json.js') as typeof import('../../src/formats/senml-json.js')).senmlJsonCodec,
    [ContentFormat.SENML_CBOR]: (require('../../src/formats/senml-cbor.js') as typeof import('../../src/formats/senml-cbor.js')).senmlCborCodec,
    [ContentFormat.LWM2M_CBOR]: (require('../../src/formats/lwm2m-cbor.js') as typeof import('../../src/formats/lwm2m-cbor.js')).lwm2mCborCodec,
  };
  return {
    codecFor: (format) => {
      const codec = direct[format];
      if (!codec) throw new Error(`no codec for format ${format}`);
      return codec;
    },
    via: 'codec modules (src/formats/index.ts not there yet)',
  };
}
