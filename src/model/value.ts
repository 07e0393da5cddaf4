/**
 * The internal value model that every content format decodes to and
 * encodes from: a tree of object / instance / resource / resource-instance
 * nodes whose leaves carry typed values and optional timestamps.
 *
 * Formats never know about the network and the server never knows about
 * bytes: this module is the contract between them.
 */
import type { Lwm2mPath } from './path.js';

/** An Objlnk value: a reference to object instance objectId:instanceId. */
export interface ObjectLink {
  readonly objectId: number;
  readonly instanceId: number;
}

/**
 * A typed value. Integers that fit in a double are numbers; larger ones
 * (up to 64 bits) are BigInt so that nothing is silently rounded.
 * Time is a Date (LwM2M carries whole seconds since the Unix epoch).
 */
export type Lwm2mValue =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'integer'; readonly value: number | bigint }
  | { readonly type: 'unsigned'; readonly value: number | bigint }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'opaque'; readonly value: Buffer }
  | { readonly type: 'time'; readonly value: Date }
  | { readonly type: 'objlnk'; readonly value: ObjectLink }
  | { readonly type: 'corelnk'; readonly value: string };

export type ValueType = Lwm2mValue['type'];

/**
 * Leaves (single resources and resource instances) may carry a timestamp:
 * seconds since the Unix epoch, fractional allowed, as SenML carries it.
 */
export interface ResourceInstanceNode {
  readonly kind: 'resourceInstance';
  readonly id: number;
  readonly value: Lwm2mValue;
  readonly time?: number;
}

export interface SingleResourceNode {
  readonly kind: 'resource';
  readonly id: number;
  readonly value: Lwm2mValue;
  readonly time?: number;
}

export interface MultipleResourceNode {
  readonly kind: 'multipleResource';
  readonly id: number;
  readonly instances: ReadonlyMap<number, ResourceInstanceNode>;
}

export type ResourceNode = SingleResourceNode | MultipleResourceNode;

export interface ObjectInstanceNode {
  readonly kind: 'instance';
  readonly id: number;
  readonly resources: ReadonlyMap<number, ResourceNode>;
}

export interface ObjectNode {
  readonly kind: 'object';
  readonly id: number;
  readonly instances: ReadonlyMap<number, ObjectInstanceNode>;
}

export type Lwm2mNode = ObjectNode | ObjectInstanceNode | ResourceNode | ResourceInstanceNode;

/**
 * A node together with the full path it sits at. This is what decoders
 * return: one entry for a Read of one path; several for composite
 * operations, Send, or a time series (the same path at different times).
 */
export interface PathNode {
  readonly path: Lwm2mPath;
  readonly node: Lwm2mNode;
}

// ---------------------------------------------------------------- builders

export const value = {
  string: (v: string): Lwm2mValue => ({ type: 'string', value: v }),
  integer: (v: number | bigint): Lwm2mValue => ({ type: 'integer', value: v }),
  unsigned: (v: number | bigint): Lwm2mValue => ({ type: 'unsigned', value: v }),
  float: (v: number): Lwm2mValue => ({ type: 'float', value: v }),
  boolean: (v: boolean): Lwm2mValue => ({ type: 'boolean', value: v }),
  opaque: (v: Buffer): Lwm2mValue => ({ type: 'opaque', value: v }),
  time: (v: Date): Lwm2mValue => ({ type: 'time', value: v }),
  objlnk: (objectId: number, instanceId: number): Lwm2mValue => ({ type: 'objlnk', value: { objectId, instanceId } }),
  corelnk: (v: string): Lwm2mValue => ({ type: 'corelnk', value: v }),
};

export function resourceNode(id: number, v: Lwm2mValue, time?: number): SingleResourceNode {
  return time === undefined ? { kind: 'resource', id, value: v } : { kind: 'resource', id, value: v, time };
}

export function resourceInstanceNode(id: number, v: Lwm2mValue, time?: number): ResourceInstanceNode {
  return time === undefined
    ? { kind: 'resourceInstance', id, value: v }
    : { kind: 'resourceInstance', id, value: v, time };
}

export function multipleResourceNode(
  id: number,
  instances: Iterable<ResourceInstanceNode>,
): MultipleResourceNode {
  return { kind: 'multipleResource', id, instances: new Map([...instances].map((ri) => [ri.id, ri])) };
}

export function instanceNode(id: number, resources: Iterable<ResourceNode>): ObjectInstanceNode {
  return { kind: 'instance', id, resources: new Map([...resources].map((r) => [r.id, r])) };
}

export function objectNode(id: number, instances: Iterable<ObjectInstanceNode>): ObjectNode {
  return { kind: 'object', id, instances: new Map([...instances].map((i) => [i.id, i])) };
}

/** Formats an Objlnk as "3:0". */
export function formatObjectLink(link: ObjectLink): string {
  return `${link.objectId}:${link.instanceId}`;
}
