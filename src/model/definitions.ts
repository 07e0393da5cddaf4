/**
 * Object and resource definitions: what a DDF file says about an object,
 * minus the prose. Built-in facts (generated from the OMNA registry) and
 * user DDF files both end up in these shapes.
 */

/** LwM2M resource data types (Unsigned Integer and Corelnk since 1.1). */
export type ResourceType =
  | 'string'
  | 'integer'
  | 'unsigned'
  | 'float'
  | 'boolean'
  | 'opaque'
  | 'time'
  | 'objlnk'
  | 'corelnk'
  /** Execute resources carry no value. */
  | 'none';

export const RESOURCE_TYPES: readonly ResourceType[] = [
  'string', 'integer', 'unsigned', 'float', 'boolean', 'opaque', 'time', 'objlnk', 'corelnk', 'none',
];

/** Operations allowed on a resource, as written in DDF files. '' = none (e.g. /0 resources read by nobody). */
export type Operations = 'R' | 'W' | 'RW' | 'E' | '';

export interface ResourceDefinition {
  readonly id: number;
  readonly name: string;
  readonly operations: Operations;
  readonly type: ResourceType;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  /** RangeEnumeration text as written ("0..100", "1..", "0-255", "U;UQ"), when given. */
  readonly range?: string;
  /** Units as written ("Cel", "%", "s"), when given. */
  readonly units?: string;
}

export interface ObjectDefinition {
  readonly id: number;
  readonly name: string;
  /** Object version ("1.0", "1.1", "1.2"): a client registering </3>;ver=1.1 gets "1.1". */
  readonly version: string;
  /** LwM2M enabler version the definition targets ("1.0", "1.1", "1.2"). */
  readonly lwm2mVersion: string;
  readonly urn: string;
  readonly multiple: boolean;
  readonly mandatory: boolean;
  readonly resources: ReadonlyMap<number, ResourceDefinition>;
}

/** True when a Server may read the resource. */
export function isReadable(def: ResourceDefinition): boolean {
  return def.operations === 'R' || def.operations === 'RW';
}

/** True when a Server may write the resource. */
export function isWritable(def: ResourceDefinition): boolean {
  return def.operations === 'W' || def.operations === 'RW';
}

export function isExecutable(def: ResourceDefinition): boolean {
  return def.operations === 'E';
}

/**
 * What encoders and decoders need from the model: the definition of a
 * resource of an object, in the version the peer uses. Formats stay usable
 * without one (types are then inferred from the wire where possible).
 */
export interface ModelLookup {
  object(objectId: number): ObjectDefinition | undefined;
  resource(objectId: number, resourceId: number): ResourceDefinition | undefined;
}
