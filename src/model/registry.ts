/**
 * ObjectRegistry: object definitions by object id AND object version.
 *
 * Versions are kept apart because they really differ (Server 1.0 has 9
 * resources and 1.2 has 28; Device 1.2 changed units and ranges), and a
 * client tells in its registration which version of each object it
 * implements (`</3>;ver=1.1`). `lookupFor` turns that list into the
 * ModelLookup the content formats use.
 *
 * Version choice, per object (rules and sources in versions.ts):
 * - the client names no version: for a core object, the version its LwM2M
 *   version (`lwm2m=`) comes with (Device 1.1 for a 1.1 client); for any
 *   other object, 1.0. An object missing from the map given to lookupFor is
 *   treated the same, so a registration parser may record explicit
 *   versions only.
 * - the client names a version we have: that one.
 * - a version we do not have: the closest lower version of the same major
 *   (a 1.3 client gets our 1.2), else the latest version we have.
 *
 * The built-in registry (builtinRegistry()) is built once, lazily, from the
 * facts generated out of the OMNA registry, and is shared and read-only. To
 * add user DDF files, clone it: `const r = builtinRegistry().clone();
 * await r.loadFolder(dir);` — user files replace built-ins of the same id
 * and version and add new ones.
 */
import { ModelError } from '../errors.js';
import type { ModelLookup, ObjectDefinition } from './definitions.js';
import { loadDdfFolder } from './ddf.js';
import type { DdfFolderContents } from './ddf.js';
import { decodeObject } from './facts.js';
import { OMNA_OBJECTS } from './omna-facts.js';
import { isValidId } from './path.js';
import { compareVersions, defaultObjectVersion, parseVersion, selectVersion } from './versions.js';

export { compareVersions, defaultObjectVersion, selectVersion } from './versions.js';

export class ObjectRegistry implements Iterable<ObjectDefinition> {
  private readonly byId = new Map<number, Map<string, ObjectDefinition>>();
  private isFrozen = false;

  constructor(definitions?: Iterable<ObjectDefinition>) {
    if (definitions) for (const def of definitions) this.add(def);
  }

  /** Adds a definition; it replaces one of the same id and version. */
  add(def: ObjectDefinition): void {
    if (this.isFrozen) {
      throw new ModelError('this registry is read-only (the built-in registry is shared): clone() it first');
    }
    if (!isValidId(def.id)) throw new ModelError(`object id ${String(def.id)} is not a valid id (0..65534)`);
    if (!parseVersion(def.version)) {
      throw new ModelError(`object ${def.id}: version "${def.version}" is not a version like "1.0"`);
    }
    let versions = this.byId.get(def.id);
    if (!versions) {
      versions = new Map();
      this.byId.set(def.id, versions);
    }
    versions.set(def.version, def);
  }

  /** The definition of that version, or of the latest version when none is given. */
  get(id: number, version?: string): ObjectDefinition | undefined {
    const versions = this.byId.get(id);
    if (!versions) return undefined;
    if (version !== undefined) return versions.get(version);
    const latest = [...versions.keys()].sort(compareVersions).pop();
    return latest === undefined ? undefined : versions.get(latest);
  }

  /** True when the object is known (in that version, when one is given). */
  has(id: number, version?: string): boolean {
    return this.get(id, version) !== undefined;
  }

  /** Versions known for an object, oldest first. */
  versions(id: number): string[] {
    return [...(this.byId.get(id)?.keys() ?? [])].sort(compareVersions);
  }

  /** Object ids known, ascending. */
  ids(): number[] {
    return [...this.byId.keys()].sort((a, b) => a - b);
  }

  /** Number of definitions (every version counts). */
  get size(): number {
    let n = 0;
    for (const versions of this.byId.values()) n += versions.size;
    return n;
  }

  /** Every definition, by object id then version. */
  *[Symbol.iterator](): Iterator<ObjectDefinition> {
    for (const id of this.ids()) {
      for (const version of this.versions(id)) yield this.byId.get(id)?.get(version) as ObjectDefinition;
    }
  }

  /**
   * The definition serving a client of LwM2M version `lwm2mVersion`
   * (absent = 1.0) that registered the object with `requestedVersion`
   * (undefined or '' = no `ver`).
   */
  resolve(id: number, requestedVersion?: string, lwm2mVersion?: string): ObjectDefinition | undefined {
    const named = (requestedVersion ?? '').trim();
    const wanted = named === '' ? defaultObjectVersion(id, lwm2mVersion) : named;
    const chosen = selectVersion(this.versions(id), wanted);
    return chosen === undefined ? undefined : this.get(id, chosen);
  }

  /**
   * The model of one client: `objectVersions` maps object id to the `ver`
   * it registered with, `lwm2mVersion` is its `lwm2m=` (absent = 1.0).
   * Objects without a version, or not listed, resolve as "no ver" (see the
   * module comment). Choices are made on first use and then kept.
   */
  lookupFor(objectVersions: ReadonlyMap<number, string>, lwm2mVersion?: string): ModelLookup {
    return this.cachedLookup((id) => this.resolve(id, objectVersions.get(id), lwm2mVersion));
  }

  /** A model that uses the latest version of every object (no client known). */
  latestLookup(): ModelLookup {
    return this.cachedLookup((id) => this.get(id));
  }

  /**
   * Loads a folder of user DDF files into this registry (replacing
   * definitions of the same id and version). Nothing is added when a file
   * is broken: the ModelError names it.
   */
  async loadFolder(dir: string): Promise<DdfFolderContents> {
    if (this.isFrozen) {
      throw new ModelError('this registry is read-only (the built-in registry is shared): clone() it first', dir);
    }
    const contents = await loadDdfFolder(dir);
    for (const def of contents.definitions) this.add(def);
    return contents;
  }

  /** A modifiable copy (definitions are shared: they are read-only values). */
  clone(): ObjectRegistry {
    return new ObjectRegistry(this);
  }

  /** Makes the registry read-only; returns it. */
  freeze(): this {
    this.isFrozen = true;
    return this;
  }

  get frozen(): boolean {
    return this.isFrozen;
  }

  private cachedLookup(choose: (id: number) => ObjectDefinition | undefined): ModelLookup {
    const chosen = new Map<number, ObjectDefinition | undefined>();
    const object = (id: number): ObjectDefinition | undefined => {
      if (chosen.has(id)) return chosen.get(id);
      const def = choose(id);
      chosen.set(id, def);
      return def;
    };
    return {
      object,
      resource: (objectId, resourceId) => object(objectId)?.resources.get(resourceId),
    };
  }
}

let builtin: ObjectRegistry | undefined;

/** The OMNA objects in every published version; built on first call, shared, read-only. */
export function builtinRegistry(): ObjectRegistry {
  if (!builtin) {
    const registry = new ObjectRegistry();
    for (const fact of OMNA_OBJECTS) registry.add(decodeObject(fact));
    builtin = registry.freeze();
  }
  return builtin;
}
