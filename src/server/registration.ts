/**
 * The Registration record: what the server knows about one registered
 * client, built from a Register request (`POST /rd?ep=..`) and changed by
 * Update requests (`POST /rd/<id>`).
 *
 * Records are immutable plain data: an Update produces a new record, so a
 * record handed to a flow or a store never changes under its holder, and a
 * store can persist it as JSON without copying. Repeated parts (object
 * lists, bindings, content-format lists) are shared between registrations
 * through intern pools, because a Raspberry Pi gateway may hold 100 000 of
 * them.
 */
import { randomBytes } from 'node:crypto';
import { CoapCode, Lwm2mError } from '../errors.js';
import { linkContentFormats, linkResourceTypes, linkVersion, parseLinkFormat, type Link } from '../formats/link-format.js';
import { MAX_ID } from '../model/path.js';
import { InternPool } from './intern.js';

export type Lwm2mVersion = '1.0' | '1.1' | '1.2';

/** The enabler versions this server speaks; any other `lwm2m=` gets 4.12. */
export const SUPPORTED_LWM2M_VERSIONS: readonly Lwm2mVersion[] = Object.freeze(['1.0', '1.1', '1.2']);

/** Lifetime (seconds) when a Register carries no `lt` (the specification's default). */
export const DEFAULT_LIFETIME = 86400;

/** Largest accepted lifetime: the Lifetime resource (/1/x/1) is a 32-bit value. */
export const MAX_LIFETIME = 0xffffffff;

/** A query parameter or link attribute value; `true` for a bare key (`Q`, `obs`). */
export type AttributeValue = string | true;
export type AttributeMap = Readonly<Record<string, AttributeValue>>;

/** Uri-Query parameters as the CoAP layer hands them over. */
export type RequestQuery = Readonly<Record<string, AttributeValue>> | ReadonlyMap<string, AttributeValue>;

/** Where a registration's requests come from. */
export interface PeerInfo {
  /** The transport's address string for this peer: the key of the store's peer index. */
  readonly key: string;
  readonly host: string;
  readonly port: number;
  /** The authenticated DTLS identity (PSK identity, RPK or certificate name), once known. */
  readonly identity?: string;
}

/** One object the client announced, with its version and instances. */
export interface SupportedObject {
  readonly id: number;
  /** The `ver` attribute of the object link ("1.1"); absent means 1.0. */
  readonly version?: string;
  /** Instance ids, ascending. Empty when only the object link was given. */
  readonly instances: readonly number[];
}

/** What the client sent that LwM2M does not define, kept so that flows can see it. */
export interface ExtraAttributes {
  /** Query parameters other than ep, lt, lwm2m, b, sms (and Q from 1.1 on). */
  readonly query?: AttributeMap;
  /**
   * Per link, as written ("/3/0", "/"): attributes other than `ver` on object
   * links and other than `rt`/`ct` on the root link, and every link that is
   * not an object or instance under the root path (with all its attributes).
   */
  readonly links?: Readonly<Record<string, AttributeMap>>;
}

export interface Registration {
  /** Registration id: 128 random bits, base64url (22 characters); the `<id>` of `/rd/<id>`. */
  readonly id: string;
  readonly endpoint: string;
  /** Lifetime in seconds. */
  readonly lifetime: number;
  readonly lwm2mVersion: Lwm2mVersion;
  /** Binding letters as sent ("U", "UQ", "T", "S", "US", ...). */
  readonly binding: string;
  /** True when the client uses queue mode (1.0: Q in the binding; 1.1+: the Q parameter). */
  readonly queueMode: boolean;
  readonly smsNumber?: string;
  /** Alternate root path from the `rt="oma.lwm2m"` link ("/lwm2m"), "/" when none. */
  readonly rootPath: string;
  /** First content format listed in `ct` on the root link: the one the client prefers. */
  readonly preferredFormat?: number;
  /** Every content format listed in `ct` on the root link, in the client's order. */
  readonly supportedFormats?: readonly number[];
  /** Supported objects, ascending by id. */
  readonly objects: readonly SupportedObject[];
  readonly extraAttributes: ExtraAttributes;
  readonly peer: PeerInfo;
  /** Milliseconds since the epoch. */
  readonly registeredAt: number;
  readonly updatedAt: number;
  /** updatedAt + lifetime: after this instant (plus the server's grace) the registration expires. */
  readonly expiresAt: number;
}

/** Context the server engine adds to a request: who sent it and when. */
export interface RequestContext {
  /** Defaults to Date.now(). */
  readonly now?: number;
  /** Defaults to UNKNOWN_PEER on Register and to the previous peer on Update. */
  readonly peer?: PeerInfo;
}

/** Placeholder peer for registrations built without a transport (tests, tools). */
export const UNKNOWN_PEER: PeerInfo = Object.freeze({ key: '', host: '', port: 0 });

const NO_EXTRAS: ExtraAttributes = Object.freeze({});

/**
 * Random bytes are drawn from the system's CSPRNG in batches: one call per
 * 256 ids instead of one per id (each call costs microseconds).
 */
const ID_BYTES = 16;
let idPool = Buffer.alloc(0);
let idPoolOffset = 0;

/** A new registration id: 128 random bits, url-safe, 22 characters. */
export function newRegistrationId(): string {
  if (idPoolOffset + ID_BYTES > idPool.length) {
    idPool = randomBytes(ID_BYTES * 256);
    idPoolOffset = 0;
  }
  const id = idPool.toString('base64url', idPoolOffset, idPoolOffset + ID_BYTES);
  idPoolOffset += ID_BYTES;
  return id;
}

/**
 * Builds the registration of a Register request. Throws Lwm2mError:
 * 4.00 for a missing `ep`, an invalid `lt`, `b` or `sms`, or a body that is
 * not valid link-format; 4.12 for an `lwm2m` version we do not speak.
 */
export function parseRegisterRequest(
  query: RequestQuery,
  body: string | Buffer,
  context: RequestContext = {},
): Registration {
  const params = queryEntries(query);
  const lwm2mVersion = parseVersion(params.get('lwm2m'));

  const ep = params.get('ep');
  if (ep === undefined || ep === true || ep === '') {
    throw badRequest('Register without an endpoint name (ep)');
  }
  const lifetime = params.has('lt') ? parseLifetime(params.get('lt')) : DEFAULT_LIFETIME;
  const binding = params.has('b') ? parseBinding(params.get('b'), lwm2mVersion) : 'U';
  const smsNumber = params.has('sms') ? parseSms(params.get('sms')) : undefined;
  const queueMode = lwm2mVersion === '1.0' ? binding.includes('Q') : params.has('Q');
  const extraQuery = otherParams(params, lwm2mVersion === '1.0' ? REGISTER_PARAMS_1_0 : REGISTER_PARAMS);
  const parsed = parseObjectLinks(body);
  const now = context.now ?? Date.now();

  return makeRegistration({
    id: newRegistrationId(),
    endpoint: ep,
    lifetime,
    lwm2mVersion,
    binding,
    queueMode,
    smsNumber,
    rootPath: parsed.rootPath,
    preferredFormat: parsed.supportedFormats?.[0],
    supportedFormats: parsed.supportedFormats,
    objects: parsed.objects,
    extraAttributes: makeExtras(extraQuery, parsed.extraLinks),
    peer: context.peer ?? UNKNOWN_PEER,
    registeredAt: now,
    updatedAt: now,
    expiresAt: now + lifetime * 1000,
  });
}

/**
 * Applies an Update request to `reg` and returns the new record (`reg` is
 * left as it was). Parameters that are absent keep their value; a body
 * (non-empty) replaces the object list, root path and formats; unknown query
 * parameters are merged into the extra attributes. The expiry restarts from
 * `now`. Throws Lwm2mError 4.00 for invalid parameters or body, or for an
 * attempt to change the endpoint name or the enabler version.
 */
export function applyUpdate(
  reg: Registration,
  query: RequestQuery,
  body?: string | Buffer,
  context: RequestContext = {},
): Registration {
  const params = queryEntries(query);
  const ep = params.get('ep');
  if (ep !== undefined && ep !== reg.endpoint) throw badRequest('an Update cannot change the endpoint name (ep)');
  const version = params.get('lwm2m');
  if (version !== undefined && version !== reg.lwm2mVersion) {
    throw badRequest('an Update cannot change the LwM2M version (lwm2m)');
  }

  const lifetime = params.has('lt') ? parseLifetime(params.get('lt')) : reg.lifetime;
  const binding = params.has('b') ? parseBinding(params.get('b'), reg.lwm2mVersion) : reg.binding;
  const smsNumber = params.has('sms') ? parseSms(params.get('sms')) : reg.smsNumber;
  // 1.1+ has no way to leave queue mode in an Update: Q may only switch it on.
  const queueMode = reg.lwm2mVersion === '1.0' ? binding.includes('Q') : reg.queueMode || params.has('Q');
  const newQuery = otherParams(params, reg.lwm2mVersion === '1.0' ? UPDATE_PARAMS_1_0 : UPDATE_PARAMS);
  const mergedQuery = newQuery === undefined ? reg.extraAttributes.query : { ...reg.extraAttributes.query, ...newQuery };

  const parsed = body !== undefined && !isBlank(body) ? parseObjectLinks(body) : undefined;
  const now = context.now ?? Date.now();

  return makeRegistration({
    ...reg,
    lifetime,
    binding,
    queueMode,
    smsNumber,
    ...(parsed && {
      rootPath: parsed.rootPath,
      preferredFormat: parsed.supportedFormats?.[0],
      supportedFormats: parsed.supportedFormats,
      objects: parsed.objects,
    }),
    extraAttributes: makeExtras(mergedQuery, parsed ? parsed.extraLinks : reg.extraAttributes.links),
    peer: context.peer ?? reg.peer,
    updatedAt: now,
    expiresAt: now + lifetime * 1000,
  });
}

/**
 * Object id → object version ("1.0" when the client gave no `ver`), for the
 * model registry to pick the definitions the device speaks.
 */
export function objectVersions(reg: Registration): Map<number, string> {
  const versions = new Map<number, string>();
  for (const object of reg.objects) versions.set(object.id, object.version ?? '1.0');
  return versions;
}

/** The announced object `objectId`, or undefined when the client did not list it. */
export function findObject(reg: Registration, objectId: number): SupportedObject | undefined {
  // Object lists are short (tens of entries): a scan beats an index per registration.
  for (const object of reg.objects) if (object.id === objectId) return object;
  return undefined;
}

/**
 * Builds a registration record from its fields, with a fixed property order
 * (one hidden class for every record) and shared copies of repeated parts.
 * Used by parsing and by stores that load persisted records.
 */
export function makeRegistration(fields: Registration): Registration {
  return Object.freeze({
    id: fields.id,
    endpoint: fields.endpoint,
    lifetime: fields.lifetime,
    lwm2mVersion: fields.lwm2mVersion,
    binding: bindings.get(fields.binding, () => fields.binding),
    queueMode: fields.queueMode,
    smsNumber: fields.smsNumber,
    rootPath: rootPaths.get(fields.rootPath, () => fields.rootPath),
    preferredFormat: fields.preferredFormat,
    supportedFormats: fields.supportedFormats && internFormats(fields.supportedFormats),
    objects: internObjectList(fields.objects),
    extraAttributes: fields.extraAttributes,
    peer: makePeer(fields.peer),
    registeredAt: fields.registeredAt,
    updatedAt: fields.updatedAt,
    expiresAt: fields.expiresAt,
  });
}

/** A frozen copy of the peer's plain fields (never the transport object itself). */
export function makePeer(peer: PeerInfo): PeerInfo {
  if (Object.isFrozen(peer) && peerFields(peer)) return peer;
  const { key, host, port, identity } = peer;
  return Object.freeze(identity === undefined ? { key, host, port } : { key, host, port, identity });
}

function peerFields(peer: PeerInfo): boolean {
  const keys = Object.keys(peer);
  return keys.every((key) => key === 'key' || key === 'host' || key === 'port' || (key === 'identity' && peer.identity !== undefined));
}

/** Builds the extra attributes from their parts, sharing one empty value. */
export function makeExtras(
  query: AttributeMap | undefined,
  links: Readonly<Record<string, AttributeMap>> | undefined,
): ExtraAttributes {
  const hasQuery = query !== undefined && Object.keys(query).length > 0;
  const hasLinks = links !== undefined && Object.keys(links).length > 0;
  if (!hasQuery && !hasLinks) return NO_EXTRAS;
  return Object.freeze({
    ...(hasQuery && { query: Object.freeze(query) }),
    ...(hasLinks && { links: Object.freeze(links) }),
  });
}

// --- query parameters ------------------------------------------------------

/** Parameters LwM2M defines for Register, by version (1.0 has queue mode in the binding). */
const REGISTER_PARAMS = new Set(['ep', 'lt', 'lwm2m', 'b', 'sms', 'Q']);
const REGISTER_PARAMS_1_0 = new Set(['ep', 'lt', 'lwm2m', 'b', 'sms']);
const UPDATE_PARAMS = REGISTER_PARAMS;
const UPDATE_PARAMS_1_0 = REGISTER_PARAMS_1_0;

/** Binding letters each version defines. 1.0 puts Q (queue) here; 1.2 adds M (MQTT) and H (HTTP). */
const BINDING_LETTERS: Readonly<Record<Lwm2mVersion, string>> = { '1.0': 'USQ', '1.1': 'UTSN', '1.2': 'UTSNMH' };

function queryEntries(query: RequestQuery): ReadonlyMap<string, AttributeValue> {
  return query instanceof Map ? query : new Map(Object.entries(query));
}

function parseVersion(value: AttributeValue | undefined): Lwm2mVersion {
  if (value === undefined) return '1.0';
  if (typeof value === 'string' && (SUPPORTED_LWM2M_VERSIONS as readonly string[]).includes(value)) {
    return value as Lwm2mVersion;
  }
  throw new Lwm2mError(
    CoapCode.PreconditionFailed,
    `LwM2M version ${value === true ? '(empty)' : JSON.stringify(value)} is not supported (supported: ${SUPPORTED_LWM2M_VERSIONS.join(', ')})`,
  );
}

function parseLifetime(value: AttributeValue | undefined): number {
  if (typeof value !== 'string' || !/^\d{1,10}$/.test(value)) {
    throw badRequest(`invalid lifetime (lt) ${quote(value)}: a positive integer number of seconds is expected`);
  }
  const lifetime = Number(value);
  if (lifetime < 1 || lifetime > MAX_LIFETIME) {
    throw badRequest(`invalid lifetime (lt) ${value}: expected 1..${MAX_LIFETIME} seconds`);
  }
  return lifetime;
}

function parseBinding(value: AttributeValue | undefined, version: Lwm2mVersion): string {
  if (typeof value !== 'string' || value === '') throw badRequest(`invalid binding (b) ${quote(value)}`);
  const allowed = BINDING_LETTERS[version];
  for (let i = 0; i < value.length; i++) {
    const letter = value[i]!;
    if (!allowed.includes(letter)) {
      throw badRequest(`invalid binding (b) "${value}": "${letter}" is not a LwM2M ${version} binding (${allowed})`);
    }
    if (value.indexOf(letter) !== i) throw badRequest(`invalid binding (b) "${value}": "${letter}" is repeated`);
  }
  if (value === 'Q') throw badRequest('invalid binding (b) "Q": queue mode needs a transport (UQ, SQ)');
  return value;
}

function parseSms(value: AttributeValue | undefined): string {
  if (typeof value !== 'string' || value === '') throw badRequest(`invalid SMS number (sms) ${quote(value)}`);
  return value;
}

/** Parameters outside `known`, or undefined when there are none. */
function otherParams(params: ReadonlyMap<string, AttributeValue>, known: ReadonlySet<string>): AttributeMap | undefined {
  const others: [string, AttributeValue][] = [];
  for (const entry of params) if (!known.has(entry[0])) others.push(entry);
  // fromEntries defines own properties, so a key like "__proto__" stays a plain key.
  return others.length === 0 ? undefined : Object.fromEntries(others);
}

// --- the link-format body --------------------------------------------------

interface ParsedObjectLinks {
  readonly rootPath: string;
  readonly supportedFormats: readonly number[] | undefined;
  readonly objects: readonly SupportedObject[];
  readonly extraLinks: Record<string, AttributeMap> | undefined;
}

/** Draft of one object while the body is read. */
interface ObjectDraft {
  version: string | undefined;
  instances: number[];
}

/**
 * Reads the Register/Update body: the optional root link
 * (`</>;rt="oma.lwm2m";ct=110` or an alternate path `</lwm2m>;rt=...`) and
 * the object and instance links under the root path.
 */
function parseObjectLinks(body: string | Buffer): ParsedObjectLinks {
  let links: Link[];
  try {
    links = parseLinkFormat(body);
  } catch (error) {
    if (error instanceof Lwm2mError && error.code === CoapCode.BadRequest) throw error;
    throw badRequest(`invalid link-format body: ${error instanceof Error ? error.message : String(error)}`, error);
  }

  const rootLinks = links.filter((link) => linkResourceTypes(link)?.includes('oma.lwm2m'));
  if (rootLinks.length > 1) throw badRequest('the body names more than one root path (rt="oma.lwm2m")');
  const rootLink = rootLinks[0] ?? links.find((link) => link.uri === '/');
  const rootPath = rootLinks[0] ? normaliseRoot(rootLinks[0].uri) : '/';
  const supportedFormats = rootLink && linkContentFormats(rootLink);
  const prefix = rootPath === '/' ? '/' : rootPath + '/';

  const drafts = new Map<number, ObjectDraft>();
  const extraLinks: [string, AttributeMap][] = [];
  for (const link of links) {
    if (link === rootLink) {
      const extras = attributesExcept(link, ROOT_ATTRIBUTES);
      if (extras) extraLinks.push([link.uri, extras]);
      continue;
    }
    const ids = link.uri.startsWith(prefix) ? numericSegments(link.uri.slice(prefix.length)) : undefined;
    if (ids === undefined) {
      // Not an object of ours (another resource the client lists): kept as it came.
      extraLinks.push([link.uri, attributesExcept(link, NO_ATTRIBUTES) ?? {}]);
      continue;
    }
    if (ids.length > 2) throw badRequest(`link <${link.uri}>: only objects and object instances may be registered`);
    for (const id of ids) {
      if (id > MAX_ID) throw badRequest(`link <${link.uri}>: id ${id} is out of range (0..${MAX_ID})`);
    }
    const draft = draftOf(drafts, ids[0]!);
    if (ids.length === 2) {
      if (!draft.instances.includes(ids[1]!)) draft.instances.push(ids[1]!);
      const extras = attributesExcept(link, NO_ATTRIBUTES);
      if (extras) extraLinks.push([link.uri, extras]);
      continue;
    }
    const ver = linkVersion(link);
    if (ver !== undefined) {
      if (draft.version !== undefined && draft.version !== ver) {
        throw badRequest(`object ${ids[0]} is announced with two versions (${draft.version}, ${ver})`);
      }
      draft.version = ver;
    }
    const extras = attributesExcept(link, OBJECT_ATTRIBUTES);
    if (extras) extraLinks.push([link.uri, extras]);
  }

  const objects = [...drafts]
    .sort((a, b) => a[0] - b[0])
    .map(([id, draft]): SupportedObject => ({ id, version: draft.version, instances: draft.instances.sort((a, b) => a - b) }));
  return {
    rootPath,
    supportedFormats,
    objects,
    extraLinks: extraLinks.length === 0 ? undefined : Object.fromEntries(extraLinks),
  };
}

const ROOT_ATTRIBUTES = new Set(['rt', 'ct']);
const OBJECT_ATTRIBUTES = new Set(['ver']);
const NO_ATTRIBUTES = new Set<string>();

function normaliseRoot(uri: string): string {
  if (!uri.startsWith('/')) throw badRequest(`root path <${uri}> must start with "/"`);
  const trimmed = uri.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

/** "3/0" → [3, 0]; undefined when a segment is not a decimal number. */
function numericSegments(rest: string): number[] | undefined {
  const trimmed = rest.endsWith('/') ? rest.slice(0, -1) : rest;
  if (trimmed === '') return undefined;
  const segments = trimmed.split('/');
  const ids: number[] = [];
  for (const segment of segments) {
    if (!/^\d{1,10}$/.test(segment)) return undefined;
    ids.push(Number(segment));
  }
  return ids;
}

function draftOf(drafts: Map<number, ObjectDraft>, id: number): ObjectDraft {
  let draft = drafts.get(id);
  if (!draft) {
    draft = { version: undefined, instances: [] };
    drafts.set(id, draft);
  }
  return draft;
}

function attributesExcept(link: Link, known: ReadonlySet<string>): AttributeMap | undefined {
  const others: [string, AttributeValue][] = [];
  for (const entry of link.params) if (!known.has(entry[0])) others.push(entry);
  return others.length === 0 ? undefined : Object.freeze(Object.fromEntries(others));
}

// --- sharing of repeated parts ---------------------------------------------

const bindings = new InternPool<string>(64);
const rootPaths = new InternPool<string>(64);
const formatLists = new InternPool<readonly number[]>(256);
const objectEntries = new InternPool<SupportedObject>(8192);
const objectLists = new InternPool<readonly SupportedObject[]>(4096);

function objectKey(object: SupportedObject): string {
  return `${object.id}@${object.version ?? ''}:${object.instances.join(',')}`;
}

function internObject(id: number, version: string | undefined, instances: readonly number[]): SupportedObject {
  return objectEntries.get(objectKey({ id, version, instances }), () => {
    const frozen = Object.freeze([...instances]);
    return Object.freeze(version === undefined ? { id, instances: frozen } : { id, version, instances: frozen });
  });
}

/** Lists handed out by the pool: a record rebuilt by an Update reuses its list as it is. */
const internedLists = new WeakSet<readonly SupportedObject[]>();

function internObjectList(objects: readonly SupportedObject[]): readonly SupportedObject[] {
  if (internedLists.has(objects)) return objects;
  const shared = objects.map((object) => internObject(object.id, object.version, object.instances));
  const list = objectLists.get(shared.map(objectKey).join(';'), () => Object.freeze(shared));
  internedLists.add(list);
  return list;
}

function internFormats(formats: readonly number[]): readonly number[] {
  return formatLists.get(formats.join(' '), () => Object.freeze([...formats]));
}

function isBlank(body: string | Buffer): boolean {
  return typeof body === 'string' ? body.trim() === '' : body.length === 0;
}

// --- errors ----------------------------------------------------------------

function badRequest(message: string, cause?: unknown): Lwm2mError {
  return new Lwm2mError(CoapCode.BadRequest, message, cause === undefined ? undefined : { cause });
}

function quote(value: AttributeValue | undefined): string {
  if (value === undefined) return '(missing)';
  if (value === true) return '(no value)';
  return JSON.stringify(value);
}
