/**
 * Link-format documents the client produces: the Register/Update body
 * (which objects and instances it has, with object versions) and Discover
 * answers (resources with their attached attributes and `dim`).
 *
 * Register body (Core TS §6.2.1 and Transport TS §6.4): the Security object
 * (0) is never listed, nor OSCORE (21) from 1.1 on; an object whose version
 * is not 1.0 carries `ver`; an object without instances is listed alone.
 * From 1.1 on the root link `</>;rt="oma.lwm2m";ct=<fmt>` tells the server
 * the content format the client prefers.
 */
import { formatLinkFormat, makeLink, type Link } from '../formats/link-format.js';
import type { ResourceDefinition } from '../model/definitions.js';
import { formatPath, type Lwm2mPath } from '../model/path.js';
import type { AttributeSet } from './attribute-store.js';
import type { Lwm2mVersion } from './content.js';
import type { ObjectTree } from './object-tree.js';

const OSCORE = 21;

/** Objects never listed in a registration. */
function hiddenFromRegistration(objectId: number, version: Lwm2mVersion): boolean {
  return objectId === 0 || (objectId === OSCORE && version !== '1.0');
}

export interface RegistrationLinkOptions {
  /** Content format announced in the root link (1.1+); omitted when undefined. */
  preferredFormat?: number;
}

export function registrationLinks(tree: ObjectTree, version: Lwm2mVersion, options: RegistrationLinkOptions = {}): Link[] {
  const links: Link[] = [];
  if (version !== '1.0' && options.preferredFormat !== undefined) {
    links.push(makeLink('/', { rt: 'oma.lwm2m', ct: options.preferredFormat }));
  }
  for (const objectId of tree.objectIds()) {
    if (hiddenFromRegistration(objectId, version)) continue;
    const def = tree.definition(objectId);
    const instances = tree.instanceIds(objectId);
    const ver = def && def.version !== '1.0' ? def.version : undefined;
    if (ver !== undefined || instances.length === 0) links.push(makeLink(`/${objectId}`, ver ? { ver } : {}));
    for (const iid of instances) links.push(makeLink(`/${objectId}/${iid}`));
  }
  return links;
}

export function registrationBody(tree: ObjectTree, version: Lwm2mVersion, options: RegistrationLinkOptions = {}): string {
  return formatLinkFormat(registrationLinks(tree, version, options));
}

function attributeParams(attrs: Readonly<AttributeSet> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!attrs) return out;
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) out[k] = v;
  return out;
}

export interface DiscoverSource {
  tree: ObjectTree;
  version: Lwm2mVersion;
  /** Attributes attached at a level, for the requesting server. */
  attached(path: Lwm2mPath): Readonly<AttributeSet> | undefined;
  /** Attributes in force at a resource (attached and inherited), for the requesting server. */
  inherited(path: Lwm2mPath): Readonly<AttributeSet>;
}

function resourceLink(src: DiscoverSource, path: Lwm2mPath, def: ResourceDefinition | undefined, attrs: Readonly<AttributeSet> | undefined): Link {
  const params: Record<string, string | number> = {};
  if (def?.multiple) params.dim = src.tree.resourceDim(path) ?? 0;
  Object.assign(params, attributeParams(attrs));
  return makeLink(formatPath(path), params);
}

/**
 * Discover (Core TS §5.4.2): on an object, the object (with `ver` and its
 * attributes), its instances and their resources; on an instance, the
 * instance and its resources; on a resource, that resource with the
 * attributes in force there (attached and inherited) — and, in 1.2, its
 * resource instances.
 */
export function discoverLinks(src: DiscoverSource, path: Lwm2mPath): Link[] {
  const { tree } = src;
  const [o, i, r] = path as [number, number | undefined, number | undefined];
  const def = tree.definition(o);
  const links: Link[] = [];
  if (i === undefined) {
    const params: Record<string, string | number> = {};
    if (def && def.version !== '1.0') params.ver = def.version;
    Object.assign(params, attributeParams(src.attached([o])));
    links.push(makeLink(`/${o}`, params));
    for (const iid of tree.instanceIds(o)) {
      links.push(makeLink(`/${o}/${iid}`, attributeParams(src.attached([o, iid]))));
      for (const rid of tree.resourceIds(o, iid)) {
        links.push(resourceLink(src, [o, iid, rid], def?.resources.get(rid), src.attached([o, iid, rid])));
      }
    }
    return links;
  }
  if (r === undefined) {
    links.push(makeLink(`/${o}/${i}`, attributeParams(src.attached([o, i]))));
    for (const rid of tree.resourceIds(o, i)) {
      links.push(resourceLink(src, [o, i, rid], def?.resources.get(rid), src.attached([o, i, rid])));
    }
    return links;
  }
  const rdef = def?.resources.get(r);
  links.push(resourceLink(src, [o, i, r], rdef, src.inherited([o, i, r])));
  if (src.version === '1.2' && rdef?.multiple) {
    const res = tree.storedResource([o, i, r]);
    if (res?.kind === 'multipleResource') {
      for (const riid of [...res.instances.keys()].sort((a, b) => a - b)) {
        links.push(makeLink(formatPath([o, i, r, riid]), attributeParams(src.attached([o, i, r, riid]))));
      }
    }
  }
  return links;
}

/**
 * Bootstrap-Discover answer (Core TS, Bootstrap interface): the root link
 * with the client's LwM2M version, then every object and instance as in a
 * registration, the Security object included. From 1.1 on, Security
 * instances carry the server `uri` (quoted, as the specification writes
 * it) and, for LwM2M Server accounts, `ssid`; Server instances carry
 * `ssid` too, so a Bootstrap-Server sees which accounts exist.
 *
 *   </>;lwm2m=1.1,</0/0>;ssid=101;uri="coap://server:5683",</0/1>;uri="coap://bs:5783",</1>;ver=1.1,</1/0>;ssid=101,</3/0>
 */
export function bootstrapDiscoverBody(tree: ObjectTree, version: Lwm2mVersion, objectId?: number): string {
  const parts: string[] = [`</>;lwm2m=${version}`];
  const withAccounts = version !== '1.0';
  const objectIds = objectId === undefined ? tree.objectIds() : [objectId];
  for (const oid of objectIds) {
    const def = tree.definition(oid);
    const instances = tree.instanceIds(oid);
    const ver = def && def.version !== '1.0' ? def.version : undefined;
    if (ver !== undefined || instances.length === 0) parts.push(`</${oid}>` + (ver ? `;ver=${ver}` : ''));
    for (const iid of instances) {
      let link = `</${oid}/${iid}>`;
      if (withAccounts && (oid === 0 || oid === 1)) {
        const bootstrap = oid === 0 && tree.storedValue([0, iid, 1])?.value === true;
        const ssid = tree.storedValue([oid, iid, oid === 0 ? 10 : 0])?.value;
        if (!bootstrap && (typeof ssid === 'number' || typeof ssid === 'bigint')) link += `;ssid=${ssid}`;
        const uri = oid === 0 ? tree.storedValue([0, iid, 0])?.value : undefined;
        if (typeof uri === 'string') link += `;uri="${uri.replace(/["\\]/g, (c) => '\\' + c)}"`;
      }
      parts.push(link);
    }
  }
  return parts.join(',');
}
