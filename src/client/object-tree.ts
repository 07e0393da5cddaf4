/**
 * The client's object tree: the objects it implements, their instances and
 * resource values, and the checks every operation goes through.
 *
 * Values live in memory or come from handlers (a flow can back any
 * resource): a read handler supplies the value when asked, a write handler
 * sees (and may refuse) what a server writes, an execute handler runs an
 * Execute. Every operation a server asks for is checked against the object
 * definition in the version the client declares, with the CoAP codes of
 * Core TS §5.4 (DM interface):
 *   4.04 missing object / instance / resource, 4.05 an operation the
 *   resource does not allow (Read of an Execute resource, Write of a
 *   read-only one, Delete of a mandatory single instance), 4.00 a bad body,
 *   4.01 anything a Server asks about the Security object (/0), which only
 *   a Bootstrap-Server may see.
 *
 * The tree knows nothing about the network; it emits `change` when a value
 * changes and `instances` when instances come and go, which the observation
 * and registration engines listen to.
 */
import { EventEmitter } from 'node:events';
import { CoapCode, Lwm2mError } from '../errors.js';
import { isExecutable, isReadable, isWritable } from '../model/definitions.js';
import type { ModelLookup, ObjectDefinition, ResourceDefinition } from '../model/definitions.js';
import { parseExecuteArguments, type ExecuteArgument } from '../model/execute-args.js';
import { formatPath, isValidId, MAX_ID, type Lwm2mPath } from '../model/path.js';
import { fromPlain, toPlain, type PlainTree } from '../model/plain.js';
import type { ObjectRegistry } from '../model/registry.js';
import type {
  Lwm2mNode,
  Lwm2mValue,
  MultipleResourceNode,
  ObjectInstanceNode,
  ObjectNode,
  ResourceInstanceNode,
  ResourceNode,
} from '../model/value.js';
import type { Lwm2mVersion } from './content.js';

/** Who asks: a DM Server, the Bootstrap-Server, or the application itself. */
export type Origin = 'server' | 'bootstrap' | 'local';

export interface OperationContext {
  readonly origin: Origin;
  /** Short Server ID of the requesting server (origin 'server'). */
  readonly shortServerId?: number;
}

export interface HandlerContext extends OperationContext {
  readonly path: Lwm2mPath;
}

/** Supplies a resource value on demand: a plain value (see model/plain.ts) or undefined to use the stored one. */
export type ReadHandler = (ctx: HandlerContext) => PlainTree | undefined | Promise<PlainTree | undefined>;
/**
 * Sees a value a server writes (already typed by the model); throw an
 * Lwm2mError to refuse it. Returning `{ store: false }` keeps the value out
 * of the tree (a firmware package is handed over, not kept as a value).
 */
export type WriteHandler = (
  value: PlainTree,
  ctx: HandlerContext & { readonly node: ResourceNode | ResourceInstanceNode },
) => void | WriteOutcome | Promise<void | WriteOutcome>;

export interface WriteOutcome {
  readonly store: boolean;
}
/** Runs an Execute; throw an Lwm2mError to answer with its code. */
export type ExecuteHandler = (args: ExecuteArgument[], ctx: HandlerContext & { readonly raw: string }) => void | Promise<void>;

export interface InstanceEvent {
  readonly objectId: number;
  readonly instanceId: number;
  readonly kind: 'created' | 'deleted';
  readonly origin: Origin;
}

export interface ObjectTreeEvents {
  /** A resource (or resource instance) value changed; path has 3 or 4 ids. */
  change: [path: Lwm2mPath, origin: Origin];
  instances: [event: InstanceEvent];
}

interface InstanceState {
  readonly id: number;
  readonly values: Map<number, ResourceNode>;
  /** Execute resources that exist in this instance (they hold no value). */
  readonly executables: Set<number>;
  /** Who created the instance: the application ('local'), a Server (Create) or the Bootstrap-Server. */
  readonly createdBy: Origin;
}

/**
 * A copy of the tree's instances and stored values (handlers are not part
 * of it), taken before a bootstrap session so that a session that fails
 * can be undone. Resource nodes are immutable, so copying the maps is
 * enough.
 */
export interface TreeSnapshot {
  /** Objects the snapshot holds instances of. */
  readonly objectIds: readonly number[];
}

/** The copied instances behind each snapshot handle (kept out of the public type). */
const snapshotContents = new WeakMap<TreeSnapshot, ReadonlyMap<number, ReadonlyMap<number, InstanceState>>>();

function copyInstance(inst: InstanceState): InstanceState {
  return { id: inst.id, values: new Map(inst.values), executables: new Set(inst.executables), createdBy: inst.createdBy };
}

interface ObjectState {
  readonly def: ObjectDefinition;
  readonly instances: Map<number, InstanceState>;
}

interface Handlers {
  read?: ReadHandler;
  write?: WriteHandler;
  execute?: ExecuteHandler;
}

const SECURITY_OBJECT = 0;
const SERVER_OBJECT = 1;

export function notFound(message: string): Lwm2mError {
  return new Lwm2mError(CoapCode.NotFound, message);
}
export function notAllowed(message: string): Lwm2mError {
  return new Lwm2mError(CoapCode.MethodNotAllowed, message);
}
export function badRequest(message: string): Lwm2mError {
  return new Lwm2mError(CoapCode.BadRequest, message);
}

function handlerKey(path: Lwm2mPath): string {
  return path.join('/');
}

export interface ObjectTreeOptions {
  registry: ObjectRegistry;
  lwm2mVersion: Lwm2mVersion;
  /** Object versions the client implements, by object id (default: the version its LwM2M version defines). */
  objectVersions?: Readonly<Record<number, string>>;
}

export class ObjectTree extends EventEmitter<ObjectTreeEvents> {
  readonly model: ModelLookup;
  private readonly registry: ObjectRegistry;
  private readonly lwm2mVersion: Lwm2mVersion;
  private readonly versions: Readonly<Record<number, string>>;
  private readonly objects = new Map<number, ObjectState>();
  private readonly handlers = new Map<string, Handlers>();
  /** Optional Execute resources the client implements in every instance of an object. */
  private readonly implemented = new Map<number, Set<number>>();

  constructor(options: ObjectTreeOptions) {
    super();
    this.registry = options.registry;
    this.lwm2mVersion = options.lwm2mVersion;
    this.versions = options.objectVersions ?? {};
    this.model = {
      object: (id) => this.objects.get(id)?.def ?? this.resolveDefinition(id),
      resource: (o, r) => this.model.object(o)?.resources.get(r),
    };
  }

  /** The definition this client uses for an object (declared version, else its LwM2M version's). */
  resolveDefinition(objectId: number): ObjectDefinition | undefined {
    return this.registry.resolve(objectId, this.versions[objectId], this.lwm2mVersion);
  }

  // ------------------------------------------------------------ structure

  /** Declares an object the client implements (no instances yet). Returns its definition. */
  addObject(objectId: number): ObjectDefinition {
    const existing = this.objects.get(objectId);
    if (existing) return existing.def;
    if (!isValidId(objectId)) throw badRequest(`invalid object id ${objectId}`);
    const def = this.resolveDefinition(objectId);
    if (!def) throw notFound(`object ${objectId} has no definition in the registry (load its DDF file first)`);
    this.objects.set(objectId, { def, instances: new Map() });
    return def;
  }

  hasObject(objectId: number): boolean {
    return this.objects.has(objectId);
  }

  objectIds(): number[] {
    return [...this.objects.keys()].sort((a, b) => a - b);
  }

  definition(objectId: number): ObjectDefinition | undefined {
    return this.objects.get(objectId)?.def;
  }

  instanceIds(objectId: number): number[] {
    return [...(this.objects.get(objectId)?.instances.keys() ?? [])].sort((a, b) => a - b);
  }

  hasInstance(objectId: number, instanceId: number): boolean {
    return this.objects.get(objectId)?.instances.has(instanceId) ?? false;
  }

  /** The lowest free instance id of an object. */
  freeInstanceId(objectId: number): number {
    const used = this.objects.get(objectId)?.instances;
    for (let id = 0; id <= MAX_ID; id++) if (!used?.has(id)) return id;
    throw new Lwm2mError(CoapCode.InternalServerError, `object ${objectId} has no free instance id`);
  }

  /**
   * Adds an instance (the object is declared when needed) with plain
   * resource values `{ [rid]: value }`. Mandatory Execute resources exist
   * from the start. Returns the instance id.
   */
  addInstance(objectId: number, instanceId?: number, values: Readonly<Record<string, unknown>> = {}, origin: Origin = 'local'): number {
    const def = this.addObject(objectId);
    const obj = this.objects.get(objectId) as ObjectState;
    const id = instanceId ?? this.freeInstanceId(objectId);
    if (!isValidId(id)) throw badRequest(`invalid instance id ${id}`);
    if (obj.instances.has(id)) throw badRequest(`instance ${formatPath([objectId, id])} already exists`);
    if (!def.multiple && obj.instances.size > 0) {
      throw badRequest(`object ${objectId} (${def.name}) is single-instance and already has instance ${[...obj.instances.keys()][0]}`);
    }
    const node = fromPlain([objectId, id], values, this.model) as ObjectInstanceNode;
    for (const res of node.resources.values()) {
      const rdef = def.resources.get(res.id);
      if (!rdef) throw notFound(`${formatPath([objectId, id, res.id])}: object ${objectId} has no resource ${res.id}`);
      if (isExecutable(rdef)) throw badRequest(`${formatPath([objectId, id, res.id])} is an Execute resource: it holds no value`);
    }
    const inst: InstanceState = { id, values: new Map(node.resources), executables: this.initialExecutables(def, id), createdBy: origin };
    obj.instances.set(id, inst);
    this.emit('instances', { objectId, instanceId: id, kind: 'created', origin });
    return id;
  }

  /** Who created an instance ('local' for the application), or undefined when it does not exist. */
  instanceOrigin(objectId: number, instanceId: number): Origin | undefined {
    return this.objects.get(objectId)?.instances.get(instanceId)?.createdBy;
  }

  /** A copy of every instance and stored value (see TreeSnapshot). */
  snapshot(): TreeSnapshot {
    const objects = new Map<number, Map<number, InstanceState>>();
    for (const [oid, obj] of this.objects) {
      objects.set(oid, new Map([...obj.instances].map(([iid, inst]) => [iid, copyInstance(inst)])));
    }
    const handle: TreeSnapshot = Object.freeze({ objectIds: Object.freeze([...objects.keys()]) });
    snapshotContents.set(handle, objects);
    return handle;
  }

  /**
   * Puts the instances and stored values back as they were in `snapshot`
   * (objects declared since keep their declaration but lose their
   * instances), emitting `instances` and `change` for what differs.
   */
  restore(snapshot: TreeSnapshot): void {
    const saved = snapshotContents.get(snapshot);
    if (!saved) throw new Lwm2mError(CoapCode.InternalServerError, 'not a snapshot of this tree');
    for (const [oid, obj] of this.objects) {
      const before = saved.get(oid) ?? new Map<number, InstanceState>();
      for (const iid of [...obj.instances.keys()]) {
        if (!before.has(iid)) this.removeInstance(oid, iid, 'bootstrap');
      }
      for (const [iid, kept] of before) {
        const current = obj.instances.get(iid);
        const copy = copyInstance(kept);
        obj.instances.set(iid, copy);
        if (!current) {
          this.emit('instances', { objectId: oid, instanceId: iid, kind: 'created', origin: 'bootstrap' });
          continue;
        }
        const rids = new Set([...current.values.keys(), ...copy.values.keys()]);
        for (const rid of rids) {
          const a = current.values.get(rid);
          const b = copy.values.get(rid);
          if (!a || !b || !sameResource(a, b)) this.emit('change', [oid, iid, rid], 'bootstrap');
        }
      }
    }
  }

  /** Removes an instance (no checks: the application may remove anything). */
  removeInstance(objectId: number, instanceId: number, origin: Origin = 'local'): boolean {
    const obj = this.objects.get(objectId);
    if (!obj?.instances.delete(instanceId)) return false;
    this.emit('instances', { objectId, instanceId, kind: 'deleted', origin });
    return true;
  }

  /**
   * Declares that every instance of an object (present and future) has an
   * optional Execute resource (the client implements /1/x/4 Disable, say).
   */
  implementExecutable(objectId: number, resourceId: number): void {
    const def = this.model.resource(objectId, resourceId);
    if (!def || !isExecutable(def)) return;
    let set = this.implemented.get(objectId);
    if (!set) this.implemented.set(objectId, (set = new Set()));
    set.add(resourceId);
    for (const inst of this.objects.get(objectId)?.instances.values() ?? []) inst.executables.add(resourceId);
  }

  private initialExecutables(def: ObjectDefinition, instanceId: number): Set<number> {
    const out = new Set<number>();
    for (const rdef of def.resources.values()) {
      if (!isExecutable(rdef)) continue;
      if (rdef.mandatory || this.implemented.get(def.id)?.has(rdef.id) || this.handlers.get(handlerKey([def.id, instanceId, rdef.id]))?.execute) out.add(rdef.id);
    }
    return out;
  }

  /** Makes an optional Execute resource exist in an instance (mandatory ones always do). */
  enableExecutable(path: Lwm2mPath): void {
    const [o, i, r] = path;
    const inst = o === undefined || i === undefined ? undefined : this.objects.get(o)?.instances.get(i);
    const def = o === undefined || r === undefined ? undefined : this.model.resource(o, r);
    if (inst && def && isExecutable(def) && r !== undefined) inst.executables.add(r);
  }

  // ------------------------------------------------------------ handlers

  /** Installs handlers for a resource (/o/i/r); the instance need not exist yet. */
  setHandlers(path: Lwm2mPath, handlers: Handlers): void {
    if (path.length !== 3) throw badRequest(`handlers attach to a resource path /o/i/r, not ${formatPath(path)}`);
    const def = this.model.resource(path[0] as number, path[2] as number);
    if (!def) throw notFound(`${formatPath(path)}: no such resource in the model`);
    const key = handlerKey(path);
    const merged = { ...this.handlers.get(key), ...handlers };
    this.handlers.set(key, merged);
    if (handlers.execute) this.enableExecutable(path);
  }

  private handlersOf(path: Lwm2mPath): Handlers | undefined {
    return this.handlers.get(handlerKey(path.slice(0, 3)));
  }

  // ------------------------------------------------------------ local values

  /**
   * Sets a value from the application (no access checks; values are typed
   * by the model). Accepts a resource path (plain value, or `{ [riid]: v }`
   * for a multiple resource), a resource-instance path, or an instance path
   * with `{ [rid]: value }`. Emits `change` for each value that differs.
   */
  setValue(path: Lwm2mPath, value: unknown, origin: Origin = 'local'): void {
    if (path.length < 2) throw badRequest(`setValue needs an instance, resource or resource-instance path, not ${formatPath(path)}`);
    const inst = this.instanceOrThrow(path);
    const node = fromPlain(path, value, this.model);
    this.storeNode(path, node, inst, 'update', origin);
  }

  /** The stored (or handler-supplied) value at a path, as plain JS. */
  async getValue(path: Lwm2mPath): Promise<PlainTree> {
    return toPlain(await this.read(path, { origin: 'local' }));
  }

  /** Stored values only (no handler call), synchronous. Undefined when absent. */
  storedValue(path: Lwm2mPath): Lwm2mValue | undefined {
    const [o, i, r, ri] = path;
    if (o === undefined || i === undefined || r === undefined) return undefined;
    const res = this.objects.get(o)?.instances.get(i)?.values.get(r);
    if (!res) return undefined;
    if (res.kind === 'resource') return ri === undefined ? res.value : undefined;
    return ri === undefined ? undefined : res.instances.get(ri)?.value;
  }

  /** Stored resource node (single or multiple), synchronous. */
  storedResource(path: Lwm2mPath): ResourceNode | undefined {
    const [o, i, r] = path;
    if (o === undefined || i === undefined || r === undefined) return undefined;
    return this.objects.get(o)?.instances.get(i)?.values.get(r);
  }

  /** Removes a stored resource value (optional resources). */
  deleteValue(path: Lwm2mPath, origin: Origin = 'local'): void {
    const [o, i, r] = path;
    if (o === undefined || i === undefined || r === undefined) return;
    const inst = this.objects.get(o)?.instances.get(i);
    if (inst?.values.delete(r)) this.emit('change', [o, i, r], origin);
  }

  // ------------------------------------------------------------ queries

  /**
   * Resource ids present in an instance: stored values, read handlers,
   * Execute resources, and mandatory write-only resources (they exist
   * without a value to show, like the firmware Package /5/0/0).
   */
  resourceIds(objectId: number, instanceId: number): number[] {
    const obj = this.objects.get(objectId);
    const inst = obj?.instances.get(instanceId);
    if (!obj || !inst) return [];
    const ids = new Set<number>([...inst.values.keys(), ...inst.executables]);
    for (const rdef of obj.def.resources.values()) {
      if (this.handlers.get(handlerKey([objectId, instanceId, rdef.id]))?.read) ids.add(rdef.id);
      if (rdef.mandatory && rdef.operations === 'W') ids.add(rdef.id);
    }
    return [...ids].sort((a, b) => a - b);
  }

  /** True when the resource exists in the instance. */
  hasResource(path: Lwm2mPath): boolean {
    const [o, i, r] = path as [number, number, number];
    return this.resourceIds(o, i).includes(r);
  }

  /** Number of resource instances of a stored multiple resource (Discover's dim). */
  resourceDim(path: Lwm2mPath): number | undefined {
    const res = this.storedResource(path);
    return res?.kind === 'multipleResource' ? res.instances.size : undefined;
  }

  /** Checks that a path exists, for operations that only need the target (Write-Attributes, Discover). */
  checkExists(path: Lwm2mPath, ctx: OperationContext): void {
    this.checkSecurity(path, ctx);
    const [o, i, r, ri] = path;
    if (o === undefined) return;
    const obj = this.objects.get(o);
    if (!obj) throw notFound(`object ${o} is not implemented by this client`);
    if (i === undefined) return;
    if (!obj.instances.has(i)) throw notFound(`instance ${formatPath([o, i])} does not exist`);
    if (r === undefined) return;
    if (!obj.def.resources.has(r) || !this.hasResource([o, i, r])) throw notFound(`resource ${formatPath([o, i, r])} does not exist`);
    if (ri === undefined) return;
    const res = obj.instances.get(i)?.values.get(r);
    if (res?.kind !== 'multipleResource' || !res.instances.has(ri)) throw notFound(`resource instance ${formatPath(path)} does not exist`);
  }

  // ------------------------------------------------------------ operations

  private checkSecurity(path: Lwm2mPath, ctx: OperationContext): void {
    // Only a Bootstrap-Server may see the Security object (Core TS, Object 0 description).
    if (ctx.origin === 'server' && path[0] === SECURITY_OBJECT) {
      throw new Lwm2mError(CoapCode.Unauthorized, 'the Security object is not accessible to a LwM2M Server');
    }
  }

  private instanceOrThrow(path: Lwm2mPath): InstanceState {
    const [o, i] = path as [number, number];
    const obj = this.objects.get(o);
    if (!obj) throw notFound(`object ${o} is not implemented by this client`);
    const inst = obj.instances.get(i);
    if (!inst) throw notFound(`instance ${formatPath([o, i])} does not exist`);
    return inst;
  }

  private resourceDefOrThrow(objectId: number, resourceId: number, path: Lwm2mPath): ResourceDefinition {
    const def = this.objects.get(objectId)?.def.resources.get(resourceId);
    if (!def) throw notFound(`${formatPath(path)}: object ${objectId} has no resource ${resourceId}`);
    return def;
  }

  /**
   * Read: the node at `path` (object, instance, resource, resource
   * instance). Unreadable resources are skipped in object/instance reads
   * and refused (4.05) when targeted.
   */
  async read(path: Lwm2mPath, ctx: OperationContext): Promise<Lwm2mNode> {
    this.checkSecurity(path, ctx);
    const [o, i, r, ri] = path;
    if (o === undefined) throw notAllowed('Read of the root path is not an operation (use Read-Composite)');
    const obj = this.objects.get(o);
    if (!obj) throw notFound(`object ${o} is not implemented by this client`);
    if (i === undefined) {
      const instances: ObjectInstanceNode[] = [];
      for (const id of this.instanceIds(o)) instances.push(await this.readInstance(o, id, ctx));
      return { kind: 'object', id: o, instances: new Map(instances.map((n) => [n.id, n])) } satisfies ObjectNode;
    }
    this.instanceOrThrow([o, i]);
    if (r === undefined) return this.readInstance(o, i, ctx);
    const def = this.resourceDefOrThrow(o, r, path);
    // The operation is checked before presence: Read of a write-only or Execute resource is 4.05.
    if (ctx.origin !== 'local' && ctx.origin !== 'bootstrap' && !isReadable(def)) {
      throw notAllowed(`${formatPath(path)} (${def.name}) is not readable (operations "${def.operations}")`);
    }
    if (isExecutable(def)) throw notAllowed(`${formatPath(path)} (${def.name}) is an Execute resource: it has no value`);
    if (!this.hasResource([o, i, r])) throw notFound(`resource ${formatPath([o, i, r])} does not exist`);
    const node = await this.readResource([o, i, r], ctx);
    if (!node) throw notFound(`resource ${formatPath([o, i, r])} has no value`);
    if (ri === undefined) return node;
    if (node.kind !== 'multipleResource') throw notFound(`${formatPath([o, i, r])} is a single resource: it has no instance ${ri}`);
    const inst = node.instances.get(ri);
    if (!inst) throw notFound(`resource instance ${formatPath(path)} does not exist`);
    return inst;
  }

  private async readInstance(o: number, i: number, ctx: OperationContext): Promise<ObjectInstanceNode> {
    const obj = this.objects.get(o) as ObjectState;
    const resources: ResourceNode[] = [];
    for (const rid of this.resourceIds(o, i)) {
      const def = obj.def.resources.get(rid);
      if (!def || isExecutable(def)) continue;
      if (ctx.origin === 'server' && !isReadable(def)) continue;
      const node = await this.readResource([o, i, rid], ctx);
      if (node) resources.push(node);
    }
    return { kind: 'instance', id: i, resources: new Map(resources.map((n) => [n.id, n])) };
  }

  private async readResource(path: Lwm2mPath, ctx: OperationContext): Promise<ResourceNode | undefined> {
    const read = this.handlersOf(path)?.read;
    if (read) {
      const plain = await read({ ...ctx, path });
      if (plain !== undefined) return fromPlain(path, plain, this.model) as ResourceNode;
    }
    const [o, i, r] = path as [number, number, number];
    return this.objects.get(o)?.instances.get(i)?.values.get(r);
  }

  /**
   * Write (replace or partial update) of an instance, a resource or a
   * resource instance. `node` is the decoded body at `path`. Everything is
   * checked before anything is changed.
   */
  async write(path: Lwm2mPath, node: Lwm2mNode, mode: 'replace' | 'update', ctx: OperationContext): Promise<void> {
    this.checkSecurity(path, ctx);
    const [o, i, r, ri] = path;
    if (o === undefined || i === undefined) {
      if (ctx.origin !== 'bootstrap') throw notAllowed(`Write needs an instance, resource or resource-instance path, not ${formatPath(path)}`);
    }
    if (o === undefined) throw notAllowed('Write of the root path is not an operation');
    if (i === undefined) {
      if (node.kind !== 'object') throw badRequest(`the body does not hold object ${o}`);
      for (const inst of node.instances.values()) await this.write([o, inst.id], inst, 'replace', ctx);
      return;
    }
    if (!this.objects.has(o)) throw notFound(`object ${o} is not implemented by this client`);
    if (!this.hasInstance(o, i)) {
      if (ctx.origin !== 'bootstrap') throw notFound(`instance ${formatPath([o, i])} does not exist`);
      this.addInstance(o, i, {}, ctx.origin);
    }
    const inst = this.instanceOrThrow([o, i]);
    const writes: Array<{ path: Lwm2mPath; node: ResourceNode | ResourceInstanceNode }> = [];
    if (r === undefined) {
      if (node.kind !== 'instance' || node.id !== i) throw badRequest(`the body does not hold instance ${formatPath([o, i])}`);
      for (const res of node.resources.values()) {
        this.checkWritable([o, i, res.id], ctx);
        writes.push({ path: [o, i, res.id], node: res });
      }
    } else {
      const def = this.checkWritable([o, i, r], ctx);
      if (ri === undefined) {
        if ((node.kind !== 'resource' && node.kind !== 'multipleResource') || node.id !== r) {
          throw badRequest(`the body does not hold resource ${formatPath(path)}`);
        }
        if (def.multiple !== (node.kind === 'multipleResource')) {
          throw badRequest(`${formatPath(path)} is a ${def.multiple ? 'multiple' : 'single'} resource`);
        }
        writes.push({ path: [o, i, r], node });
      } else {
        if (!def.multiple) throw notFound(`${formatPath([o, i, r])} is a single resource: it has no instance ${ri}`);
        if (node.kind !== 'resourceInstance' || node.id !== ri) throw badRequest(`the body does not hold resource instance ${formatPath(path)}`);
        writes.push({ path, node });
      }
    }
    // Write handlers may refuse: call them all before storing anything.
    const unstored = new Set<typeof writes[number]>();
    for (const w of writes) {
      const handler = this.handlersOf(w.path)?.write;
      if (!handler) continue;
      const outcome = await handler(toPlain(w.node), { ...ctx, path: w.path, node: w.node });
      if (outcome && outcome.store === false) unstored.add(w);
    }
    if (r === undefined && mode === 'replace') {
      // Replace: optional writable resources the body leaves out are removed; mandatory ones keep their value.
      // The Bootstrap-Server writes whole instances, resources no Server may write included (/0, /1/x/13..).
      const obj = this.objects.get(o) as ObjectState;
      const given = new Set(writes.map((w) => w.path[2]));
      for (const rid of [...inst.values.keys()]) {
        const rdef = obj.def.resources.get(rid);
        if (rdef && (isWritable(rdef) || ctx.origin === 'bootstrap') && !rdef.mandatory && !given.has(rid)) {
          inst.values.delete(rid);
          this.emit('change', [o, i, rid], ctx.origin);
        }
      }
    }
    for (const w of writes) {
      if (!unstored.has(w)) this.storeNode(w.path, w.node, inst, r === undefined ? 'replace' : mode, ctx.origin);
    }
  }

  private checkWritable(path: Lwm2mPath, ctx: OperationContext): ResourceDefinition {
    const [o, , r] = path as [number, number, number];
    const def = this.resourceDefOrThrow(o, r, path);
    if (isExecutable(def)) throw notAllowed(`${formatPath(path)} (${def.name}) is an Execute resource: it cannot be written`);
    if (ctx.origin === 'server' && !isWritable(def)) {
      throw notAllowed(`${formatPath(path)} (${def.name}) is not writable (operations "${def.operations}")`);
    }
    return def;
  }

  /** Stores a node below an instance; `replace` replaces a multiple resource's instances, `update` merges them. */
  private storeNode(path: Lwm2mPath, node: Lwm2mNode, inst: InstanceState, mode: 'replace' | 'update', origin: Origin): void {
    const [o, i, r] = path as [number, number, number | undefined];
    if (node.kind === 'instance') {
      for (const res of node.resources.values()) this.storeNode([o, i, res.id], res, inst, mode, origin);
      return;
    }
    if (node.kind === 'object') throw badRequest('an object cannot be stored below an instance');
    const rid = r as number;
    const def = this.resourceDefOrThrow(o, rid, path);
    if (isExecutable(def)) throw badRequest(`${formatPath(path)} is an Execute resource: it holds no value`);
    const before = inst.values.get(rid);
    let after: ResourceNode;
    if (node.kind === 'resourceInstance') {
      const prev = before?.kind === 'multipleResource' ? before.instances : new Map<number, ResourceInstanceNode>();
      const instances = new Map(prev);
      instances.set(node.id, node);
      after = { kind: 'multipleResource', id: rid, instances } satisfies MultipleResourceNode;
    } else if (node.kind === 'multipleResource' && mode === 'update' && before?.kind === 'multipleResource') {
      after = { kind: 'multipleResource', id: rid, instances: new Map([...before.instances, ...node.instances]) };
    } else {
      after = node;
    }
    inst.values.set(rid, after);
    if (!before || !sameResource(before, after)) this.emit('change', [o, i, rid], origin);
  }

  /** Execute of /o/i/r with the text arguments of the request body. */
  async execute(path: Lwm2mPath, argsText: string, ctx: OperationContext): Promise<ExecuteArgument[]> {
    this.checkSecurity(path, ctx);
    if (path.length !== 3) throw notAllowed(`Execute needs a resource path /o/i/r, not ${formatPath(path)}`);
    const [o, , r] = path as [number, number, number];
    this.instanceOrThrow(path);
    const def = this.resourceDefOrThrow(o, r, path);
    if (!isExecutable(def)) throw notAllowed(`${formatPath(path)} (${def.name}) is not executable (operations "${def.operations}")`);
    if (!this.hasResource(path)) throw notFound(`resource ${formatPath(path)} does not exist`);
    const args = parseExecuteArguments(argsText);
    const handler = this.handlersOf(path)?.execute;
    if (handler) await handler(args, { ...ctx, path, raw: argsText });
    return args;
  }

  /**
   * Create: a new instance of object `objectId` from a decoded body. The
   * instance id comes from the body or, when `instanceId` is undefined, is
   * chosen here. Returns the id.
   */
  create(objectId: number, instanceId: number | undefined, resources: Iterable<ResourceNode>, ctx: OperationContext): number {
    this.checkSecurity([objectId], ctx);
    const obj = this.objects.get(objectId);
    if (!obj) throw notFound(`object ${objectId} is not implemented by this client`);
    if (!obj.def.multiple && obj.instances.size > 0) {
      throw badRequest(`object ${objectId} (${obj.def.name}) is single-instance and its instance exists`);
    }
    if (instanceId !== undefined && obj.instances.has(instanceId)) {
      throw badRequest(`instance ${formatPath([objectId, instanceId])} already exists`);
    }
    const id = instanceId ?? (obj.def.multiple ? this.freeInstanceId(objectId) : 0);
    const list = [...resources];
    const given = new Set<number>();
    for (const res of list) {
      this.checkWritable([objectId, id, res.id], ctx);
      given.add(res.id);
    }
    for (const rdef of obj.def.resources.values()) {
      if (rdef.mandatory && isWritable(rdef) && !given.has(rdef.id) && ctx.origin === 'server') {
        throw badRequest(`Create of ${formatPath([objectId, id])} lacks mandatory resource ${rdef.id} (${rdef.name})`);
      }
    }
    const inst: InstanceState = {
      id,
      values: new Map(list.map((res) => [res.id, res])),
      executables: this.initialExecutables(obj.def, id),
      createdBy: ctx.origin,
    };
    obj.instances.set(id, inst);
    this.emit('instances', { objectId, instanceId: id, kind: 'created', origin: ctx.origin });
    return id;
  }

  /** Delete of /o/i by a server (checked), or anything by the Bootstrap-Server. */
  delete(path: Lwm2mPath, ctx: OperationContext): void {
    this.checkSecurity(path, ctx);
    if (path.length !== 2) throw notAllowed(`Delete needs an instance path /o/i, not ${formatPath(path)}`);
    const [o, i] = path as [number, number];
    const obj = this.objects.get(o);
    if (!obj) throw notFound(`object ${o} is not implemented by this client`);
    if (!obj.instances.has(i)) throw notFound(`instance ${formatPath(path)} does not exist`);
    if (ctx.origin === 'server') {
      // Core TS: "Target is not allowed for Delete operation" is 4.05. A mandatory
      // single-instance object (Device) cannot lose its instance, and server
      // accounts (/1) belong to the Bootstrap interface.
      if (obj.def.mandatory && !obj.def.multiple) throw notAllowed(`${formatPath(path)}: object ${o} (${obj.def.name}) is mandatory and single-instance`);
      if (o === SERVER_OBJECT) throw notAllowed(`${formatPath(path)}: server accounts are managed by the Bootstrap-Server`);
    }
    this.removeInstance(o, i, ctx.origin);
  }
}

// ------------------------------------------------------------ value equality

function sameValue(a: Lwm2mValue, b: Lwm2mValue): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'opaque':
      return a.value.equals(b.value as Buffer);
    case 'time':
      return a.value.getTime() === (b.value as Date).getTime();
    case 'objlnk': {
      const l = b.value as { objectId: number; instanceId: number };
      return a.value.objectId === l.objectId && a.value.instanceId === l.instanceId;
    }
    default:
      return a.value === b.value;
  }
}

/** True when two resource nodes hold the same values. */
export function sameResource(a: ResourceNode, b: ResourceNode): boolean {
  if (a.kind === 'resource' && b.kind === 'resource') return sameValue(a.value, b.value);
  if (a.kind === 'multipleResource' && b.kind === 'multipleResource') {
    if (a.instances.size !== b.instances.size) return false;
    for (const [id, ri] of a.instances) {
      const other = b.instances.get(id);
      if (!other || !sameValue(ri.value, other.value)) return false;
    }
    return true;
  }
  return false;
}
