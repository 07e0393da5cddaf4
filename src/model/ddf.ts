/**
 * DDF loader: turns LwM2M object definition files (the XML "DDF" format of
 * the OMNA registry) into ObjectDefinition values.
 *
 * Only facts are kept (ids, names, versions, types, operations, multiplicity,
 * range and units text). Descriptions are dropped on purpose: they are
 * third-party prose and nothing in the engine needs them.
 *
 * Two kinds of failure are told apart:
 * - NotAnObjectDefinitionError: well-formed XML that is simply not an object
 *   definition (the registry index DDF.xml, Common.xml, the SenML units list,
 *   XML schemas). A folder loader skips these and says why.
 * - ModelError: a file that tries to be a DDF and is broken (malformed XML,
 *   unknown Type, missing ID, ...). The message names the file, the object
 *   and the resource.
 */
import { readFile, readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ModelError } from '../errors.js';
import type { ObjectDefinition, Operations, ResourceDefinition, ResourceType } from './definitions.js';
import { MAX_ID } from './path.js';
import { DEFAULT_VERSION, parseVersion } from './versions.js';

/** Well-formed XML that is not an object definition (skipped by folder loads). */
export class NotAnObjectDefinitionError extends ModelError {
  /** Why the file is not an object definition, without the file name. */
  readonly reason: string;

  constructor(reason: string, file?: string) {
    super(reason, file);
    this.name = 'NotAnObjectDefinitionError';
    this.reason = reason;
  }
}

/** A file of a folder that was not loaded, and why. */
export interface SkippedFile {
  readonly file: string;
  readonly reason: string;
}

export interface DdfFolderContents {
  /** Definitions of every object file, in file name order. */
  readonly definitions: ObjectDefinition[];
  /** Files that are not object definitions (index, schemas, other files, folders). */
  readonly skipped: SkippedFile[];
}

// ---------------------------------------------------------------------------
// Value spellings

/**
 * Type spellings seen in DDF files, keyed by their normalized form (lower
 * case, inner whitespace collapsed). The OMNA files use the capitalized
 * forms ("Unsigned Integer", "Objlnk"); other tools write them in other
 * cases or without the space, and "Objlink"/"Corelink" are common typos.
 * An empty Type is how DDFs describe Execute resources (no value).
 */
const TYPE_SPELLINGS: Readonly<Record<string, ResourceType>> = {
  '': 'none',
  none: 'none',
  string: 'string',
  integer: 'integer',
  'unsigned integer': 'unsigned',
  unsignedinteger: 'unsigned',
  float: 'float',
  boolean: 'boolean',
  opaque: 'opaque',
  time: 'time',
  objlnk: 'objlnk',
  objlink: 'objlnk',
  corelnk: 'corelnk',
  corelink: 'corelnk',
};

/** Operations spellings (upper-cased, spaces removed); "WR" is read as RW. */
const OPERATION_SPELLINGS: Readonly<Record<string, Operations>> = {
  '': '',
  R: 'R',
  W: 'W',
  RW: 'RW',
  WR: 'RW',
  E: 'E',
};

// ---------------------------------------------------------------------------
// XML parsing

/**
 * Parser settings:
 * - values stay strings (no number guessing: "1.0" must not become 1);
 * - attributes are kept (Item ID="5", Object ObjectType="...");
 * - <Object> and <Item> are always arrays, so one and many look alike;
 * - htmlEntities turns numeric character references (&#60;) into characters,
 *   which XML requires and the parser otherwise leaves as text. It also
 *   accepts a few HTML names (&copy;) that strict XML would reject: harmless.
 */
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  htmlEntities: true,
  isArray: (_name, jpath) => jpath === 'LWM2M.Object' || jpath === 'LWM2M.Object.Resources.Item',
});

/** A parsed XML element: text, or attributes/children keyed by name. */
type XmlValue = string | XmlElement | XmlValue[] | undefined;
interface XmlElement {
  [key: string]: XmlValue;
}

function isElement(value: XmlValue): value is XmlElement {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Where a problem was found, for messages: "object 3 (Device), resource 4 (Reboot)". */
interface Context {
  readonly file: string | undefined;
  readonly where: string;
}

function fail(ctx: Context, problem: string): never {
  throw new ModelError(ctx.where ? `${ctx.where}: ${problem}` : problem, ctx.file);
}

/**
 * Text content of a child element: undefined when the element is absent,
 * '' when it is empty. An element given twice, or holding child elements,
 * is an error rather than a guess.
 */
function childText(parent: XmlElement, name: string, ctx: Context): string | undefined {
  const value = parent[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value.trim();
  if (Array.isArray(value)) fail(ctx, `<${name}> appears ${value.length} times`);
  // An element with attributes and text: { '#text': ..., '@_x': ... }.
  const text = value['#text'];
  const children = Object.keys(value).filter((k) => k !== '#text' && !k.startsWith('@_'));
  if (children.length > 0) fail(ctx, `<${name}> must hold text, found <${children[0]}>`);
  return typeof text === 'string' ? text.trim() : '';
}

function attribute(element: XmlElement, name: string): string | undefined {
  const value = element[`@_${name}`];
  return typeof value === 'string' ? value.trim() : undefined;
}

function parseId(text: string | undefined, what: string, ctx: Context): number {
  if (text === undefined || text === '') fail(ctx, `missing ${what}`);
  if (!/^\d+$/.test(text)) fail(ctx, `${what} "${text}" is not a number`);
  const id = Number(text);
  if (id > MAX_ID) fail(ctx, `${what} ${id} is out of range (0..${MAX_ID})`);
  return id;
}

function readVersion(text: string | undefined, element: string, ctx: Context): string {
  if (text === undefined || text === '') return DEFAULT_VERSION;
  if (!parseVersion(text)) fail(ctx, `<${element}> "${text}" is not a version like "1.0"`);
  return text;
}

/** Single/Multiple (case-insensitive). */
function parseMultiple(text: string | undefined, ctx: Context): boolean {
  if (text === undefined) fail(ctx, 'missing <MultipleInstances>');
  switch (text.toLowerCase()) {
    case 'single':
      return false;
    case 'multiple':
      return true;
    default:
      return fail(ctx, `unknown <MultipleInstances> "${text}" (expected Single or Multiple)`);
  }
}

/** Mandatory/Optional (case-insensitive). */
function parseMandatory(text: string | undefined, ctx: Context): boolean {
  if (text === undefined) fail(ctx, 'missing <Mandatory>');
  switch (text.toLowerCase()) {
    case 'mandatory':
      return true;
    case 'optional':
      return false;
    default:
      return fail(ctx, `unknown <Mandatory> "${text}" (expected Mandatory or Optional)`);
  }
}

function parseType(text: string | undefined, ctx: Context): ResourceType {
  const key = (text ?? '').toLowerCase().replace(/\s+/g, ' ');
  const type = Object.hasOwn(TYPE_SPELLINGS, key) ? TYPE_SPELLINGS[key] : undefined;
  if (type === undefined) {
    fail(ctx, `unknown <Type> "${text}" (expected String, Integer, Unsigned Integer, Float, Boolean, Opaque, Time, Objlnk, Corelnk or empty)`);
  }
  return type;
}

function parseOperations(text: string | undefined, ctx: Context): Operations {
  const key = (text ?? '').toUpperCase().replace(/\s+/g, '');
  const ops = Object.hasOwn(OPERATION_SPELLINGS, key) ? OPERATION_SPELLINGS[key] : undefined;
  if (ops === undefined) fail(ctx, `unknown <Operations> "${text}" (expected R, W, RW, E or empty)`);
  return ops;
}

function describe(kind: string, id: number, name: string | undefined): string {
  return name ? `${kind} ${id} (${name})` : `${kind} ${id}`;
}

function parseResource(item: XmlValue, objectWhere: string, file: string | undefined): ResourceDefinition {
  if (!isElement(item)) fail({ file, where: objectWhere }, '<Item> must be an element with an ID attribute');
  const id = parseId(attribute(item, 'ID'), 'resource ID attribute', { file, where: objectWhere });
  const named: Context = { file, where: `${objectWhere}, ${describe('resource', id, undefined)}` };
  const name = childText(item, 'Name', named);
  if (!name) fail(named, 'missing <Name>');
  const ctx: Context = { file, where: `${objectWhere}, ${describe('resource', id, name)}` };

  const range = childText(item, 'RangeEnumeration', ctx);
  const units = childText(item, 'Units', ctx);
  const resource: ResourceDefinition = {
    id,
    name,
    operations: parseOperations(childText(item, 'Operations', ctx), ctx),
    type: parseType(childText(item, 'Type', ctx), ctx),
    multiple: parseMultiple(childText(item, 'MultipleInstances', ctx), ctx),
    mandatory: parseMandatory(childText(item, 'Mandatory', ctx), ctx),
    ...(range ? { range } : {}),
    ...(units ? { units } : {}),
  };
  return resource;
}

function parseObject(object: XmlElement, file: string | undefined): ObjectDefinition {
  const id = parseId(childText(object, 'ObjectID', { file, where: 'object' }), '<ObjectID>', { file, where: 'object' });
  const idCtx: Context = { file, where: describe('object', id, undefined) };
  const name = childText(object, 'Name', idCtx);
  if (!name) fail(idCtx, 'missing <Name>');
  const where = describe('object', id, name);
  const ctx: Context = { file, where };

  const resources = new Map<number, ResourceDefinition>();
  const container = object['Resources'];
  if (Array.isArray(container)) fail(ctx, `<Resources> appears ${container.length} times`);
  if (typeof container === 'string' && container !== '') fail(ctx, '<Resources> must hold <Item> elements, found text');
  const items = isElement(container) ? container['Item'] : undefined;
  for (const item of Array.isArray(items) ? items : []) {
    const resource = parseResource(item, where, file);
    if (resources.has(resource.id)) fail(ctx, `resource ${resource.id} is defined twice`);
    resources.set(resource.id, resource);
  }

  return {
    id,
    name,
    version: readVersion(childText(object, 'ObjectVersion', ctx), 'ObjectVersion', ctx),
    lwm2mVersion: readVersion(childText(object, 'LWM2MVersion', ctx), 'LWM2MVersion', ctx),
    // A missing URN stays empty rather than being guessed from the id range.
    urn: childText(object, 'ObjectURN', ctx) ?? '',
    multiple: parseMultiple(childText(object, 'MultipleInstances', ctx), ctx),
    mandatory: parseMandatory(childText(object, 'Mandatory', ctx), ctx),
    resources,
  };
}

/** Explains a root element that is not <LWM2M>. */
function notAnObjectReason(root: string): string {
  const local = root.includes(':') ? root.slice(root.indexOf(':') + 1) : root;
  switch (local) {
    case 'DDFList':
      return 'the registry index (<DDFList>, like DDF.xml), not an object definition';
    case 'schema':
      return `an XML schema (<${root}>), not an object definition`;
    case 'units':
      return 'a units list (<units>, like LWM2M_senml_units.xml), not an object definition';
    default:
      return `root element <${root}> is not <LWM2M>, so this is not an object definition`;
  }
}

/**
 * Parses the text of a DDF file. An <LWM2M> root may hold several <Object>
 * elements; each becomes one definition. `file` only serves messages.
 *
 * Throws NotAnObjectDefinitionError for well-formed XML that is not an
 * object definition, and ModelError for a broken one.
 */
export function parseDdf(xml: string, file?: string): ObjectDefinition[] {
  if (typeof xml !== 'string') throw new ModelError(`DDF content must be a string, got ${typeof xml}`, file);
  // Several OMNA files start with a UTF-8 byte order mark.
  const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  if (text.trim() === '') throw new ModelError('file is empty', file);

  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    const { msg, line, col } = valid.err;
    throw new ModelError(`malformed XML at line ${line}, column ${col}: ${msg}`, file);
  }

  let document: XmlElement;
  try {
    document = parser.parse(text) as XmlElement;
  } catch (err) {
    throw new ModelError(`XML could not be parsed: ${(err as Error).message}`, file, { cause: err });
  }

  const roots = Object.keys(document).filter((k) => !k.startsWith('?') && k !== '#text');
  const root = roots[0];
  if (root === undefined) throw new ModelError('no root element', file);
  if (root !== 'LWM2M') throw new NotAnObjectDefinitionError(notAnObjectReason(root), file);

  const lwm2m = document['LWM2M'];
  const objects = isElement(lwm2m) && Array.isArray(lwm2m['Object']) ? lwm2m['Object'] : [];
  if (objects.length === 0) throw new ModelError('<LWM2M> holds no <Object>', file);

  // ObjectType="MODefinition" marks an object definition; Common.xml uses
  // "CommonResources" for its reusable resources. An absent attribute is
  // taken as MODefinition (older or hand-written files omit it).
  const kinds = objects.map((o) => (isElement(o) ? attribute(o, 'ObjectType') : undefined) ?? 'MODefinition');
  const others = kinds.filter((k) => k !== 'MODefinition');
  if (others.length === objects.length) {
    const reason =
      others[0] === 'CommonResources'
        ? 'reusable resource definitions (ObjectType "CommonResources", like Common.xml), not an object definition'
        : `<Object> has ObjectType "${others[0]}", not "MODefinition": not an object definition`;
    throw new NotAnObjectDefinitionError(reason, file);
  }
  if (others.length > 0) {
    throw new ModelError(`mixes object definitions with an <Object> of ObjectType "${others[0]}"`, file);
  }

  return objects.map((o) => {
    if (!isElement(o)) throw new ModelError('<Object> must be an element', file);
    return parseObject(o, file);
  });
}

/** Reads and parses one DDF file (see parseDdf for the errors). */
export async function loadDdfFile(file: string): Promise<ObjectDefinition[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ModelError(`cannot read file: ${(err as Error).message}`, file, { cause: err });
  }
  return parseDdf(text, file);
}

/** File names the folder loader parses; anything else is listed as skipped. */
const XML_FILE = /\.(xml|xsd)$/i;

/**
 * Loads every DDF file of a folder (not its subfolders), in file name order.
 *
 * Files that are not object definitions are listed under `skipped` with the
 * reason, and so are non-XML files and subfolders, so that every entry of
 * the folder is accounted for. A broken object definition is not skipped:
 * the load fails with a ModelError naming every broken file, because a
 * silently missing object would surface much later as an undecodable value.
 */
export async function loadDdfFolder(dir: string): Promise<DdfFolderContents> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new ModelError(`cannot read folder: ${(err as Error).message}`, dir, { cause: err });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const definitions: ObjectDefinition[] = [];
  const skipped: SkippedFile[] = [];
  const broken: ModelError[] = [];
  for (const entry of entries) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      skipped.push({ file, reason: 'a folder (subfolders are not searched)' });
    } else if (!XML_FILE.test(entry.name)) {
      skipped.push({ file, reason: 'not an .xml file' });
    } else {
      try {
        definitions.push(...(await loadDdfFile(file)));
      } catch (err) {
        if (err instanceof NotAnObjectDefinitionError) skipped.push({ file, reason: err.reason });
        else if (err instanceof ModelError) broken.push(err);
        else throw err;
      }
    }
  }

  if (broken.length === 1) throw broken[0];
  if (broken.length > 1) {
    const list = broken.map((e) => `  ${e.message}`).join('\n');
    throw new ModelError(`${broken.length} DDF files could not be loaded:\n${list}`, dir);
  }
  return { definitions, skipped };
}
