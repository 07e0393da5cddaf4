/**
 * Answers the Bootstrap-Server's requests during a bootstrap session
 * (Core TS §5.2 / §6.1 Bootstrap interface, Transport TS mapping):
 *
 *   GET    /  or /o   Accept 40   Bootstrap-Discover   2.05 link-format
 *   GET    /1[/i], /2[/i]         Bootstrap-Read (1.1+) 2.05; /0 → 4.01, other targets → 4.05
 *   PUT    /o, /o/i, /o/i/r       Bootstrap-Write      2.04 (creates what does not exist)
 *   DELETE /, /o, /o/i            Bootstrap-Delete     2.02
 *   POST   /bs                    Bootstrap-Finish     2.04, or 4.06 + diagnostic
 *
 * What a Bootstrap-Server may not do, whatever it asks:
 *   - delete the Bootstrap-Server account or the Device object instance
 *     (Delete / and Delete /o spare them; naming them is 4.00);
 *   - rewrite the Device instance (or the engine's Firmware Update
 *     instance) beyond the resources a Server may write (4.05).
 * Delete / and Delete /o also spare the instances the application itself
 * declared outside /0, /1 and /2 (its sensors, say): the device provides
 * them, as C clients keep instances their objects cannot delete. Naming
 * such an instance deletes it.
 *
 * The handler only changes the tree; the session (timers, peers, what
 * happens after Finish) is bootstrap.ts's job.
 */
import type { IncomingRequest, OutgoingResponse } from '../coap/api.js';
import { CoapCode, Lwm2mError } from '../errors.js';
import { ContentFormat } from '../formats/content-format.js';
import { isWritable } from '../model/definitions.js';
import { formatPath, isValidId, type Lwm2mPath } from '../model/path.js';
import type { ObjectInstanceNode, PathNode, ResourceNode } from '../model/value.js';
import { ACCESS_CONTROL, DEVICE, isBootstrapSecurityInstance, SECURITY, SERVER } from './accounts.js';
import { checkConfiguration } from './bootstrap-check.js';
import { decodeRequestBody, encodeReadResponse, type Lwm2mVersion } from './content.js';
import { bootstrapDiscoverBody } from './links.js';
import { badRequest, notAllowed, notFound, type ObjectTree, type OperationContext } from './object-tree.js';

export type BootstrapOperation = 'discover' | 'read' | 'write' | 'delete' | 'finish';

export interface BootstrapHandlerHost {
  readonly tree: ObjectTree;
  readonly version: Lwm2mVersion;
  /** Format of Bootstrap-Read answers without Accept (1.1+). */
  readonly preferredFormat: number | undefined;
  /** Instances the engine runs itself (Device /3/0, Firmware Update /5/0 when enabled). */
  isEngineInstance(objectId: number, instanceId: number): boolean;
}

/** What one request did, for the session and its events. */
export interface BootstrapOutcome {
  readonly operation: BootstrapOperation;
  readonly path: Lwm2mPath;
  readonly response: OutgoingResponse;
  /** Paths written (Bootstrap-Write). */
  readonly written?: readonly Lwm2mPath[];
  /** True for an accepted Bootstrap-Finish. */
  readonly finished?: boolean;
}

const CTX: OperationContext = { origin: 'bootstrap' };

/** Objects a Bootstrap-Server provisions even when the client did not declare them yet. */
const PROVISIONING_OBJECTS: ReadonlySet<number> = new Set([SECURITY, SERVER, ACCESS_CONTROL]);

function requestPath(segments: readonly string[]): Lwm2mPath {
  if (segments.length > 4) throw notFound(`/${segments.join('/')} is not a LwM2M path`);
  return segments.map((s) => {
    const id = /^\d{1,5}$/.test(s) ? Number(s) : NaN;
    if (!isValidId(id)) throw notFound(`/${segments.join('/')} is not a LwM2M path`);
    return id;
  });
}

export class BootstrapHandler {
  constructor(private readonly host: BootstrapHandlerHost) {}

  private get tree(): ObjectTree {
    return this.host.tree;
  }

  /** Answers one request of the Bootstrap-Server. Errors are thrown as Lwm2mError (the caller answers with their code). */
  async handle(req: IncomingRequest): Promise<BootstrapOutcome> {
    if (req.method === 'POST' && req.path.length === 1 && req.path[0] === 'bs') return this.finish();
    const path = requestPath(req.path);
    switch (req.method) {
      case 'GET':
        if (req.observe !== undefined) throw notAllowed('Observe is not part of the Bootstrap interface');
        if (req.accept === ContentFormat.LINK_FORMAT) return this.discover(path);
        return this.read(req, path);
      case 'PUT':
        return this.write(req, path);
      case 'DELETE':
        return this.delete(path);
      default:
        throw notAllowed(`${req.method} ${formatPath(path)} is not a Bootstrap-Interface operation`);
    }
  }

  // ------------------------------------------------------------ discover, read

  private discover(path: Lwm2mPath): BootstrapOutcome {
    if (path.length > 1) throw badRequest('Bootstrap-Discover targets the root or an object');
    const objectId = path[0];
    if (objectId !== undefined && !this.tree.hasObject(objectId)) throw notFound(`object ${objectId} is not implemented by this client`);
    const payload = bootstrapDiscoverBody(this.tree, this.host.version, objectId);
    return { operation: 'discover', path, response: { code: CoapCode.Content, contentFormat: ContentFormat.LINK_FORMAT, payload } };
  }

  private async read(req: IncomingRequest, path: Lwm2mPath): Promise<BootstrapOutcome> {
    if (this.host.version === '1.0') throw notAllowed('Bootstrap-Read is not part of LwM2M 1.0');
    const [objectId] = path;
    if (objectId === undefined) throw notAllowed('Bootstrap-Read needs an object: /1 or /2');
    // Credentials stay on the device, even for the Bootstrap-Server.
    if (objectId === SECURITY) throw new Lwm2mError(CoapCode.Unauthorized, 'the Security object cannot be read, not even by the Bootstrap-Server');
    if (objectId !== SERVER && objectId !== ACCESS_CONTROL) throw notAllowed(`Bootstrap-Read targets the Server (1) and Access Control (2) objects, not ${formatPath(path)}`);
    if (path.length > 2) throw notAllowed('Bootstrap-Read targets an object or an object instance');
    const node = await this.tree.read(path, CTX);
    const { payload, format } = encodeReadResponse(path, node, this.host.version, req.accept, this.tree.model, this.host.preferredFormat);
    return { operation: 'read', path, response: { code: CoapCode.Content, payload, contentFormat: format } };
  }

  // ------------------------------------------------------------ write

  private async write(req: IncomingRequest, path: Lwm2mPath): Promise<BootstrapOutcome> {
    if (path.length === 0) throw notAllowed('Bootstrap-Write needs an object, instance or resource path');
    if (path.length === 4) throw notAllowed('Bootstrap-Write does not target resource instances');
    const objectId = path[0] as number;
    const tree = this.tree;
    if (!tree.hasObject(objectId)) {
      if (!PROVISIONING_OBJECTS.has(objectId) || !tree.resolveDefinition(objectId)) throw notFound(`object ${objectId} is not implemented by this client`);
      tree.addObject(objectId);
    }
    const entries = decodeRequestBody(req.payload, req.contentFormat, path, this.host.version, tree.model);
    const written: Lwm2mPath[] = [];
    if (path.length === 3) {
      const node = this.single(entries, path);
      if (node.kind !== 'resource' && node.kind !== 'multipleResource') throw badRequest(`the body does not hold resource ${formatPath(path)}`);
      const [o, i] = path as [number, number];
      if (!tree.model.resource(o, node.id)) throw notFound(`${formatPath(path)}: object ${o} has no resource ${node.id}`);
      if (this.host.isEngineInstance(o, i)) this.checkEngineWrite(o, i, [node]);
      await tree.write(path, node, 'replace', CTX);
      written.push(path);
    } else {
      for (const inst of this.instancesOf(entries, path)) {
        const target: Lwm2mPath = [objectId, inst.id];
        await this.writeInstance(target, inst);
        written.push(target);
      }
    }
    return { operation: 'write', path, response: { code: CoapCode.Changed }, written };
  }

  private single(entries: readonly PathNode[], path: Lwm2mPath): PathNode['node'] {
    if (entries.length !== 1) throw badRequest(`the body must hold the value of ${formatPath(path)} only`);
    return (entries[0] as PathNode).node;
  }

  /** The object instances a body for /o or /o/i holds. */
  private instancesOf(entries: readonly PathNode[], path: Lwm2mPath): ObjectInstanceNode[] {
    const out: ObjectInstanceNode[] = [];
    for (const { node } of entries) {
      if (node.kind === 'object') out.push(...node.instances.values());
      else if (node.kind === 'instance') out.push(node);
      else throw badRequest(`the body of a Bootstrap-Write of ${formatPath(path)} must hold object instances`);
    }
    if (path.length === 2 && (out.length !== 1 || out[0]?.id !== path[1])) throw badRequest(`the body does not hold instance ${formatPath(path)}`);
    return out;
  }

  /**
   * Creates or replaces one instance. Resources the client's object
   * definition does not have are left out (the specification asks a client
   * to ignore optional resources it does not support).
   */
  async writeInstance(path: Lwm2mPath, inst: ObjectInstanceNode): Promise<void> {
    const [o, i] = path as [number, number];
    const def = this.tree.definition(o) ?? this.tree.resolveDefinition(o);
    const known: ResourceNode[] = [...inst.resources.values()].filter((r) => def?.resources.has(r.id));
    const node: ObjectInstanceNode = { kind: 'instance', id: i, resources: new Map(known.map((r) => [r.id, r])) };
    if (this.host.isEngineInstance(o, i)) {
      this.checkEngineWrite(o, i, known);
      await this.tree.write(path, node, 'update', CTX);
      return;
    }
    await this.tree.write(path, node, 'replace', CTX);
  }

  /** The engine's own instances take only what a Server could write there. */
  private checkEngineWrite(o: number, i: number, resources: readonly ResourceNode[]): void {
    for (const res of resources) {
      const def = this.tree.model.resource(o, res.id);
      if (!def || !isWritable(def)) {
        throw notAllowed(`${formatPath([o, i, res.id])}${def ? ` (${def.name})` : ''} belongs to the device: a Bootstrap-Server cannot write it`);
      }
    }
  }

  // ------------------------------------------------------------ delete

  private delete(path: Lwm2mPath): BootstrapOutcome {
    if (path.length > 2) throw badRequest('Bootstrap-Delete targets the root, an object or an object instance');
    const tree = this.tree;
    const response: OutgoingResponse = { code: CoapCode.Deleted };
    if (path.length === 2) {
      const [o, i] = path as [number, number];
      if (o === SECURITY && isBootstrapSecurityInstance(tree, i)) throw badRequest('the Bootstrap-Server account cannot be deleted');
      if (o === DEVICE || this.host.isEngineInstance(o, i)) throw badRequest(`${formatPath(path)} belongs to the device and cannot be deleted`);
      // Deleting what is not there leaves the client as asked: nothing to refuse.
      tree.removeInstance(o, i, 'bootstrap');
      return { operation: 'delete', path, response };
    }
    const objectIds = path.length === 1 ? [path[0] as number] : tree.objectIds();
    for (const o of objectIds) this.deleteInstancesOf(o);
    return { operation: 'delete', path, response };
  }

  /** Delete / and Delete /o: every instance but the ones this module's header lists. */
  deleteInstancesOf(objectId: number): void {
    const tree = this.tree;
    if (objectId === DEVICE) return;
    for (const iid of tree.instanceIds(objectId)) {
      if (objectId === SECURITY && isBootstrapSecurityInstance(tree, iid)) continue;
      if (this.host.isEngineInstance(objectId, iid)) continue;
      if (!PROVISIONING_OBJECTS.has(objectId) && tree.instanceOrigin(objectId, iid) === 'local') continue;
      tree.removeInstance(objectId, iid, 'bootstrap');
    }
  }

  // ------------------------------------------------------------ finish

  private finish(): BootstrapOutcome {
    const check = checkConfiguration(this.tree);
    const path: Lwm2mPath = [];
    if (!check.ok) {
      return {
        operation: 'finish',
        path,
        response: { code: CoapCode.NotAcceptable, payload: `inconsistent bootstrap configuration: ${check.problems.join('; ')}` },
      };
    }
    return { operation: 'finish', path, response: { code: CoapCode.Changed }, finished: true };
  }
}
