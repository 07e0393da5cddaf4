/**
 * Compact form of object definitions, as stored in the generated
 * `omna-facts.ts`: plain tuples that are cheap to parse and to type-check,
 * turned into ObjectDefinition values when the built-in registry is first
 * used. Encoding and decoding live side by side so they cannot drift apart.
 *
 * Resource: [id, name, code, range?, units?]
 *   code = "<operations> <type> <instances><presence>", e.g. "R i SO":
 *   - operations: R, W, RW, E, or - for none;
 *   - type: s string, i integer, u unsigned, f float, b boolean, o opaque,
 *     t time, l objlnk, c corelnk, n none (Execute);
 *   - instances S(ingle) or M(ultiple), then presence M(andatory) or O(ptional).
 *   range is "" when only units are given.
 * Object: [id, version, lwm2mVersion, name, urn, <instances><presence>, resources]
 */
import { ModelError } from '../errors.js';
import { RESOURCE_TYPES } from './definitions.js';
import type { ObjectDefinition, Operations, ResourceDefinition, ResourceType } from './definitions.js';

export type ResourceFact = readonly [id: number, name: string, code: string, range?: string, units?: string];

export type ObjectFact = readonly [
  id: number,
  version: string,
  lwm2mVersion: string,
  name: string,
  urn: string,
  code: string,
  resources: readonly ResourceFact[],
];

const OPERATIONS: readonly Operations[] = ['', 'R', 'W', 'RW', 'E'];

/** One letter per resource type (see the module comment). */
const TYPE_CODES: Readonly<Record<ResourceType, string>> = {
  string: 's',
  integer: 'i',
  unsigned: 'u',
  float: 'f',
  boolean: 'b',
  opaque: 'o',
  time: 't',
  objlnk: 'l',
  corelnk: 'c',
  none: 'n',
};

const TYPES_BY_CODE: ReadonlyMap<string, ResourceType> = new Map(
  RESOURCE_TYPES.map((type) => [TYPE_CODES[type], type]),
);

function flags(multiple: boolean, mandatory: boolean): string {
  return (multiple ? 'M' : 'S') + (mandatory ? 'M' : 'O');
}

/** Reads "SM"-style codes; undefined when the code is not one. */
function decodeFlags(code: string | undefined): { multiple: boolean; mandatory: boolean } | undefined {
  if (code === undefined || code.length !== 2) return undefined;
  const instances = code[0];
  const presence = code[1];
  if ((instances !== 'S' && instances !== 'M') || (presence !== 'M' && presence !== 'O')) return undefined;
  return { multiple: instances === 'M', mandatory: presence === 'M' };
}

export function encodeResource(def: ResourceDefinition): ResourceFact {
  const code = `${def.operations || '-'} ${TYPE_CODES[def.type]} ${flags(def.multiple, def.mandatory)}`;
  if (def.units !== undefined) return [def.id, def.name, code, def.range ?? '', def.units];
  if (def.range !== undefined) return [def.id, def.name, code, def.range];
  return [def.id, def.name, code];
}

export function encodeObject(def: ObjectDefinition): ObjectFact {
  const resources = [...def.resources.values()].sort((a, b) => a.id - b.id).map(encodeResource);
  return [def.id, def.version, def.lwm2mVersion, def.name, def.urn, flags(def.multiple, def.mandatory), resources];
}

export function decodeResource(fact: ResourceFact, where: string): ResourceDefinition {
  const [id, name, code, range, units] = fact;
  // Decoded for every built-in resource at start-up: no spreads, no strings
  // built unless something is wrong.
  const parts = code.split(' ');
  const ops = parts[0] === '-' ? '' : (parts[0] as Operations);
  const type = TYPES_BY_CODE.get(parts[1] as string);
  const flags = decodeFlags(parts[2]);
  if (parts.length !== 3 || parts[0] === '' || !OPERATIONS.includes(ops) || type === undefined || !flags) {
    throw new ModelError(`${where}, resource ${id}: bad resource code "${code}"`);
  }
  const def: { -readonly [K in keyof ResourceDefinition]: ResourceDefinition[K] } = {
    id,
    name,
    operations: ops,
    type,
    multiple: flags.multiple,
    mandatory: flags.mandatory,
  };
  if (range) def.range = range;
  if (units) def.units = units;
  return def;
}

export function decodeObject(fact: ObjectFact): ObjectDefinition {
  const [id, version, lwm2mVersion, name, urn, code, resourceFacts] = fact;
  const where = `object ${id} version ${version}`;
  const flags = decodeFlags(code);
  if (!flags) throw new ModelError(`${where}: bad multiplicity/mandatory code "${code}"`);
  const resources = new Map<number, ResourceDefinition>();
  for (const r of resourceFacts) resources.set(r[0], decodeResource(r, where));
  return { id, name, version, lwm2mVersion, urn, multiple: flags.multiple, mandatory: flags.mandatory, resources };
}
