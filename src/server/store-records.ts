/**
 * Registrations and observations as persisted JSON, and back.
 *
 * Writing is plain JSON.stringify of the records (they are plain data).
 * Reading checks every field a record needs and ignores the ones it does
 * not know, so that a file written by a later version still loads. A record
 * that lacks a field or has one of the wrong type throws StoreRecordError:
 * the file store then treats the whole file as corrupt rather than load a
 * half-true state.
 */
import {
  SUPPORTED_LWM2M_VERSIONS,
  makeExtras,
  makeRegistration,
  type AttributeMap,
  type ExtraAttributes,
  type Lwm2mVersion,
  type PeerInfo,
  type Registration,
  type SupportedObject,
} from './registration.js';
import { isValidToken, type ObservationAttributes, type ObservationRecord } from './registration-store.js';

export class StoreRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreRecordError';
  }
}

type Json = Record<string, unknown>;

export function registrationFromJson(raw: unknown): Registration {
  const o = object(raw, 'registration');
  const lwm2mVersion = string(o, 'lwm2mVersion');
  if (!(SUPPORTED_LWM2M_VERSIONS as readonly string[]).includes(lwm2mVersion)) {
    throw new StoreRecordError(`registration: unknown lwm2mVersion "${lwm2mVersion}"`);
  }
  const supportedFormats = optional(o, 'supportedFormats', (value) => array(value, 'supportedFormats').map((f) => integer(f, 'supportedFormats')));
  return makeRegistration({
    id: nonEmptyString(o, 'id'),
    endpoint: nonEmptyString(o, 'endpoint'),
    lifetime: positive(integer(o.lifetime, 'lifetime'), 'lifetime'),
    lwm2mVersion: lwm2mVersion as Lwm2mVersion,
    binding: nonEmptyString(o, 'binding'),
    queueMode: boolean(o.queueMode, 'queueMode'),
    smsNumber: optional(o, 'smsNumber', (value) => stringValue(value, 'smsNumber')),
    rootPath: string(o, 'rootPath'),
    preferredFormat: optional(o, 'preferredFormat', (value) => integer(value, 'preferredFormat')),
    supportedFormats,
    objects: array(o.objects, 'objects').map(supportedObject),
    extraAttributes: extraAttributes(o.extraAttributes),
    peer: peer(o.peer),
    registeredAt: finite(o.registeredAt, 'registeredAt'),
    updatedAt: finite(o.updatedAt, 'updatedAt'),
    expiresAt: finite(o.expiresAt, 'expiresAt'),
  });
}

export function observationFromJson(raw: unknown): ObservationRecord {
  const o = object(raw, 'observation');
  const kind = string(o, 'kind');
  if (kind !== 'single' && kind !== 'composite') throw new StoreRecordError(`observation: unknown kind "${kind}"`);
  const paths = array(o.paths, 'paths').map((path) => stringValue(path, 'paths'));
  if (paths.length === 0) throw new StoreRecordError('observation: no paths');
  const format = optional(o, 'format', (value) => integer(value, 'format'));
  const attributes = optional(o, 'attributes', observationAttributes);
  return Object.freeze({
    token: token(o),
    registrationId: nonEmptyString(o, 'registrationId'),
    paths: Object.freeze(paths),
    ...(format !== undefined && { format }),
    kind,
    ...(attributes !== undefined && { attributes }),
    createdAt: finite(o.createdAt, 'createdAt'),
  });
}

function supportedObject(raw: unknown): SupportedObject {
  const o = object(raw, 'objects[]');
  const version = optional(o, 'version', (value) => stringValue(value, 'version'));
  const instances = array(o.instances, 'instances').map((id) => integer(id, 'instances'));
  const id = integer(o.id, 'objects[].id');
  return version === undefined ? { id, instances } : { id, version, instances };
}

function extraAttributes(raw: unknown): ExtraAttributes {
  if (raw === undefined) return makeExtras(undefined, undefined);
  const o = object(raw, 'extraAttributes');
  const query = optional(o, 'query', (value) => attributeMap(value, 'extraAttributes.query'));
  const links = optional(o, 'links', (value) => {
    const entries = Object.entries(object(value, 'extraAttributes.links'));
    return Object.fromEntries(entries.map(([uri, attrs]) => [uri, attributeMap(attrs, `extraAttributes.links[${uri}]`)]));
  });
  return makeExtras(query, links);
}

function attributeMap(raw: unknown, what: string): AttributeMap {
  const entries = Object.entries(object(raw, what));
  for (const [key, value] of entries) {
    if (typeof value !== 'string' && value !== true) throw new StoreRecordError(`${what}.${key}: string or true expected`);
  }
  return Object.freeze(Object.fromEntries(entries) as AttributeMap);
}

function observationAttributes(raw: unknown): ObservationAttributes {
  const entries = Object.entries(object(raw, 'attributes'));
  for (const [key, value] of entries) {
    if (typeof value !== 'string' && value !== true && !(typeof value === 'number' && Number.isFinite(value))) {
      throw new StoreRecordError(`attributes.${key}: string, number or true expected`);
    }
  }
  return Object.freeze(Object.fromEntries(entries) as ObservationAttributes);
}

function peer(raw: unknown): PeerInfo {
  const o = object(raw, 'peer');
  const identity = optional(o, 'identity', (value) => stringValue(value, 'peer.identity'));
  const fields = { key: string(o, 'key'), host: string(o, 'host'), port: integer(o.port, 'peer.port') };
  return identity === undefined ? fields : { ...fields, identity };
}

// --- field checks ----------------------------------------------------------

function object(raw: unknown, what: string): Json {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new StoreRecordError(`${what}: object expected`);
  return raw as Json;
}

function array(raw: unknown, what: string): unknown[] {
  if (!Array.isArray(raw)) throw new StoreRecordError(`${what}: array expected`);
  return raw;
}

function optional<T>(o: Json, key: string, read: (value: unknown) => T): T | undefined {
  const value = o[key];
  return value === undefined || value === null ? undefined : read(value);
}

function stringValue(raw: unknown, what: string): string {
  if (typeof raw !== 'string') throw new StoreRecordError(`${what}: string expected`);
  return raw;
}

function string(o: Json, key: string): string {
  return stringValue(o[key], key);
}

function nonEmptyString(o: Json, key: string): string {
  const value = string(o, key);
  if (value === '') throw new StoreRecordError(`${key}: empty`);
  return value;
}

/** A token as the memory store keeps it: lower-case hex, 0 to 8 bytes (a zero-length token is valid CoAP). */
function token(o: Json): string {
  const value = string(o, 'token').toLowerCase();
  if (!isValidToken(value)) throw new StoreRecordError(`token "${value}": 0..8 bytes of hex expected`);
  return value;
}

function finite(raw: unknown, what: string): number {
  if (typeof raw !== 'number' || !Number.isFinite(raw)) throw new StoreRecordError(`${what}: number expected`);
  return raw;
}

function integer(raw: unknown, what: string): number {
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0) {
    throw new StoreRecordError(`${what}: non-negative integer expected`);
  }
  return raw;
}

function positive(value: number, what: string): number {
  if (value < 1) throw new StoreRecordError(`${what}: positive number expected`);
  return value;
}

function boolean(raw: unknown, what: string): boolean {
  if (typeof raw !== 'boolean') throw new StoreRecordError(`${what}: boolean expected`);
  return raw;
}
