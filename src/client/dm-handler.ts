/**
 * Answers the requests of a LwM2M Server (Device Management and Information
 * Reporting interfaces, Transport TS §6.4 mapping):
 *
 *   GET    Accept 40          Discover          2.05 link-format
 *   GET    Observe=0          Observe           2.05 + notifications
 *   GET                       Read              2.05
 *   FETCH  /  [Observe=0]     Read-/Observe-Composite (1.1+)
 *   PUT    ?pmin=..  no body  Write-Attributes  2.04
 *   PUT                       Write (replace)   2.04
 *   POST   /o                 Create            2.01 (+ Location-Path when the client picks the id)
 *   POST   /o/i               Write (partial update)
 *   POST   /o/i/r             Execute (E resource) or partial update of a multiple resource
 *   DELETE /o/i               Delete            2.02
 *   iPATCH /                  Write-Composite (1.1+)
 *
 * Errors are thrown as Lwm2mError; the CoAP endpoint turns them into the
 * response code with the message as diagnostic payload.
 */
import type { IncomingRequest, OutgoingResponse } from '../coap/api.js';
import { CoapCode, Lwm2mError, UnsupportedFormatError } from '../errors.js';
import { ContentFormat } from '../formats/content-format.js';
import { formatLinkFormat } from '../formats/link-format.js';
import { decodeLwm2mCborWriteComposite } from '../formats/lwm2m-cbor.js';
import { decodeSenmlPaths, decodeSenmlWriteComposite } from '../formats/senml-composite.js';
import { readTlvRecords } from '../formats/tlv.js';
import { parseAttributeQuery } from '../model/attributes.js';
import { isExecutable, isWritable } from '../model/definitions.js';
import type { ExecuteArgument } from '../model/execute-args.js';
import { formatPath, isValidId, type Lwm2mPath } from '../model/path.js';
import { toPlain, type PlainTree } from '../model/plain.js';
import type { Lwm2mNode, ObjectInstanceNode, PathNode, ResourceNode } from '../model/value.js';
import { checkAttributePlacement, type AttributeStore } from './attribute-store.js';
import {
  canonicalFormat,
  decodeRequestBody,
  encodeComposite,
  encodeReadResponse,
  isCompositeFormat,
  type Lwm2mVersion,
} from './content.js';
import { discoverLinks } from './links.js';
import { badRequest, notAllowed, notFound, type ObjectTree, type OperationContext } from './object-tree.js';
import type { ObservationManager } from './observations.js';

/** The server a request comes from. */
export interface RequestServer {
  readonly shortServerId: number;
  readonly version: Lwm2mVersion;
}

export interface DmEvents {
  write(e: { shortServerId: number; path: Lwm2mPath; mode: 'replace' | 'update' | 'composite'; value: PlainTree }): void;
  execute(e: { shortServerId: number; path: Lwm2mPath; args: ExecuteArgument[] }): void;
  create(e: { shortServerId: number; path: Lwm2mPath }): void;
  delete(e: { shortServerId: number; path: Lwm2mPath }): void;
  observeStart(e: { shortServerId: number; paths: Lwm2mPath[]; composite: boolean; format: number }): void;
  attributes(e: { shortServerId: number; path: Lwm2mPath }): void;
}

export interface DmHost {
  readonly tree: ObjectTree;
  readonly attributes: AttributeStore;
  readonly observations: ObservationManager;
  readonly preferredFormat: number | undefined;
  /** The registered server a peer is, or undefined (requests from strangers are refused). */
  serverFor(request: IncomingRequest): RequestServer | undefined;
  readonly events: DmEvents;
}

function parseRequestPath(segments: readonly string[]): Lwm2mPath {
  if (segments.length > 4) throw notFound(`/${segments.join('/')} is not a LwM2M path`);
  return Object.freeze(
    segments.map((s) => {
      const id = /^\d{1,5}$/.test(s) ? Number(s) : NaN;
      if (!isValidId(id)) throw notFound(`/${segments.join('/')} is not a LwM2M path`);
      return id;
    }),
  );
}

function requireComposite(version: Lwm2mVersion, what: string): void {
  if (version === '1.0') throw notAllowed(`${what} is not part of LwM2M 1.0`);
}

export class DmHandler {
  constructor(private readonly host: DmHost) {}

  /** The endpoint's request handler. */
  handle = async (req: IncomingRequest): Promise<OutgoingResponse> => {
    const server = this.host.serverFor(req);
    if (!server) throw new Lwm2mError(CoapCode.Unauthorized, 'requests are only served to the servers this client is registered with');
    const path = parseRequestPath(req.path);
    const ctx: OperationContext = { origin: 'server', shortServerId: server.shortServerId };
    switch (req.method) {
      case 'GET':
        if (req.accept === ContentFormat.LINK_FORMAT) return this.discover(path, server, ctx);
        if (req.observe === 0) return this.observe(req, path, server, ctx);
        return this.read(req, path, server, ctx);
      case 'FETCH':
        requireComposite(server.version, 'Read-Composite');
        if (path.length !== 0) throw notAllowed('composite operations address the root path');
        return this.readComposite(req, server, ctx);
      case 'PUT':
        if (req.query.length > 0 && req.payload.length === 0 && req.contentFormat === undefined) {
          return this.writeAttributes(req, path, server, ctx);
        }
        return this.write(req, path, 'replace', server, ctx);
      case 'POST':
        return this.post(req, path, server, ctx);
      case 'DELETE':
        return this.delete(path, server, ctx);
      case 'iPATCH':
        requireComposite(server.version, 'Write-Composite');
        if (path.length !== 0) throw notAllowed('composite operations address the root path');
        return this.writeComposite(req, server, ctx);
      default:
        throw notAllowed(`${req.method} is not a LwM2M operation`);
    }
  };

  // ------------------------------------------------------------ read, observe, discover

  private async read(req: IncomingRequest, path: Lwm2mPath, server: RequestServer, ctx: OperationContext): Promise<OutgoingResponse> {
    const node = await this.host.tree.read(path, ctx);
    const { payload, format } = encodeReadResponse(path, node, server.version, req.accept, this.host.tree.model, this.host.preferredFormat);
    return { code: CoapCode.Content, payload, contentFormat: format };
  }

  private async observe(req: IncomingRequest, path: Lwm2mPath, server: RequestServer, ctx: OperationContext): Promise<OutgoingResponse> {
    const node = await this.host.tree.read(path, ctx);
    const { payload, format } = encodeReadResponse(path, node, server.version, req.accept, this.host.tree.model, this.host.preferredFormat);
    const handle = req.acceptObservation();
    this.host.observations.start({ shortServerId: server.shortServerId, handle, paths: [path], composite: false, format, initial: [{ path, node }] });
    this.host.events.observeStart({ shortServerId: server.shortServerId, paths: [path], composite: false, format });
    return { code: CoapCode.Content, payload, contentFormat: format };
  }

  private discover(path: Lwm2mPath, server: RequestServer, ctx: OperationContext): OutgoingResponse {
    if (path.length === 0) throw notAllowed('Discover needs an object, instance or resource path');
    if (path.length === 4) throw badRequest('Discover does not apply to a resource instance');
    this.host.tree.checkExists(path, ctx);
    const ssid = server.shortServerId;
    const links = discoverLinks(
      {
        tree: this.host.tree,
        version: server.version,
        attached: (p) => this.host.attributes.attached(ssid, p),
        inherited: (p) => this.host.attributes.merged(ssid, p),
      },
      path,
    );
    return { code: CoapCode.Content, payload: formatLinkFormat(links), contentFormat: ContentFormat.LINK_FORMAT };
  }

  private compositePaths(req: IncomingRequest): Lwm2mPath[] {
    const format = req.contentFormat;
    if (format === undefined) throw badRequest('a composite request needs a Content-Format (SenML JSON or SenML CBOR)');
    const f = canonicalFormat(format);
    if (f !== ContentFormat.SENML_JSON && f !== ContentFormat.SENML_CBOR) {
      throw new UnsupportedFormatError(`composite request bodies are read in SenML JSON (110) or SenML CBOR (112), not ${format}`);
    }
    const paths = decodeSenmlPaths(req.payload, f);
    if (paths.length === 0) throw badRequest('the composite request names no path');
    return paths;
  }

  private compositeAnswerFormat(req: IncomingRequest): number {
    const format = req.accept ?? req.contentFormat ?? ContentFormat.SENML_CBOR;
    if (!isCompositeFormat(format)) throw new Lwm2mError(CoapCode.NotAcceptable, `content format ${format} cannot carry a composite answer`);
    return canonicalFormat(format);
  }

  private async readPaths(paths: readonly Lwm2mPath[], ctx: OperationContext): Promise<PathNode[]> {
    const out: PathNode[] = [];
    for (const path of paths) {
      if (path[0] === 0) this.host.tree.checkExists(path, ctx); // 4.01 for the Security object
      try {
        out.push({ path, node: await this.host.tree.read(path, ctx) });
      } catch (err) {
        // Read-Composite leaves out what does not exist; other failures fail the request.
        if (!(err instanceof Lwm2mError && err.code === CoapCode.NotFound)) throw err;
      }
    }
    return out;
  }

  private async readComposite(req: IncomingRequest, server: RequestServer, ctx: OperationContext): Promise<OutgoingResponse> {
    const paths = this.compositePaths(req);
    const format = this.compositeAnswerFormat(req);
    const entries = await this.readPaths(paths, ctx);
    const payload = encodeComposite(entries, format, server.version, this.host.tree.model);
    if (req.observe === 0) {
      const handle = req.acceptObservation();
      this.host.observations.start({ shortServerId: server.shortServerId, handle, paths, composite: true, format, initial: entries });
      this.host.events.observeStart({ shortServerId: server.shortServerId, paths, composite: true, format });
    }
    return { code: CoapCode.Content, payload, contentFormat: format };
  }

  // ------------------------------------------------------------ write

  private async write(req: IncomingRequest, path: Lwm2mPath, mode: 'replace' | 'update', server: RequestServer, ctx: OperationContext): Promise<OutgoingResponse> {
    if (path.length === 0) throw notAllowed('Write of the root path is not an operation');
    if (path.length === 1) throw notAllowed('Write needs an instance, resource or resource-instance path');
    this.host.tree.checkExists(path.slice(0, 2), ctx);
    if (path.length >= 3) {
      const def = this.host.tree.model.resource(path[0] as number, path[2] as number);
      if (!def) throw notFound(`${formatPath(path)}: no such resource`);
    }
    const entries = decodeRequestBody(req.payload, req.contentFormat, path, server.version, this.host.tree.model);
    const node = this.singleEntry(entries, path);
    await this.host.tree.write(path, node, mode, ctx);
    this.host.events.write({ shortServerId: server.shortServerId, path, mode, value: toPlain(node) });
    return { code: CoapCode.Changed };
  }

  private singleEntry(entries: readonly PathNode[], path: Lwm2mPath): Lwm2mNode {
    if (entries.length !== 1) throw badRequest(`the body must hold the value of ${formatPath(path)} only`);
    return (entries[0] as PathNode).node;
  }

  private writeAttributes(req: IncomingRequest, path: Lwm2mPath, server: RequestServer, ctx: OperationContext): OutgoingResponse {
    const attrs = parseAttributeQuery(req.query);
    this.host.tree.checkExists(path, ctx);
    const def = path.length >= 3 ? this.host.tree.model.resource(path[0] as number, path[2] as number) : undefined;
    checkAttributePlacement(attrs, path, def, server.version);
    if (def && isExecutable(def)) throw notAllowed(`${formatPath(path)} is an Execute resource: it cannot be observed`);
    this.host.attributes.write(server.shortServerId, path, attrs);
    this.host.observations.refreshAttributes(server.shortServerId);
    this.host.events.attributes({ shortServerId: server.shortServerId, path });
    return { code: CoapCode.Changed };
  }

  private async writeComposite(req: IncomingRequest, server: RequestServer, ctx: OperationContext): Promise<OutgoingResponse> {
    const format = req.contentFormat;
    if (format === undefined) throw badRequest('Write-Composite needs a Content-Format');
    const f = canonicalFormat(format);
    const model = this.host.tree.model;
    let content: { entries: PathNode[]; removed: Lwm2mPath[] };
    if (f === ContentFormat.SENML_JSON || f === ContentFormat.SENML_CBOR) content = decodeSenmlWriteComposite(req.payload, f, { model });
    else if (f === ContentFormat.LWM2M_CBOR && server.version === '1.2') content = decodeLwm2mCborWriteComposite(req.payload, model);
    else throw new UnsupportedFormatError(`Write-Composite bodies are SenML JSON, SenML CBOR or (1.2) LwM2M CBOR, not ${format}`);
    const tree = this.host.tree;
    // Check everything first: the operation is all or nothing.
    for (const { path } of content.entries) {
      if (path.length < 3) throw badRequest(`Write-Composite writes resources, not ${formatPath(path)}`);
      tree.checkExists(path.slice(0, 2), ctx);
      const def = model.resource(path[0] as number, path[2] as number);
      if (!def) throw notFound(`${formatPath(path)}: no such resource`);
      if (!isWritable(def)) throw notAllowed(`${formatPath(path)} (${def.name}) is not writable`);
    }
    for (const path of content.removed) {
      tree.checkExists(path, ctx);
      const def = model.resource(path[0] as number, path[2] as number);
      if (!def || !isWritable(def)) throw notAllowed(`${formatPath(path)} cannot be removed`);
      if (path.length === 3 && def.mandatory) throw badRequest(`${formatPath(path)} is mandatory: it cannot be removed`);
    }
    for (const { path, node } of content.entries) {
      await tree.write(path, node, path.length === 3 ? 'replace' : 'update', ctx);
      this.host.events.write({ shortServerId: server.shortServerId, path, mode: 'composite', value: toPlain(node) });
    }
    for (const path of content.removed) {
      if (path.length === 3) tree.deleteValue(path, 'server');
      else {
        const res = tree.storedResource(path);
        if (res?.kind === 'multipleResource') {
          const instances = new Map(res.instances);
          instances.delete(path[3] as number);
          await tree.write(path.slice(0, 3), { kind: 'multipleResource', id: res.id, instances }, 'replace', ctx);
        }
      }
    }
    return { code: CoapCode.Changed };
  }

  // ------------------------------------------------------------ post: create, partial update, execute

  private async post(req: IncomingRequest, path: Lwm2mPath, server: RequestServer, ctx: OperationContext): Promise<OutgoingResponse> {
    switch (path.length) {
      case 1:
        return this.create(req, path[0] as number, server, ctx);
      case 2:
        return this.write(req, path, 'update', server, ctx);
      case 3: {
        this.host.tree.checkExists(path.slice(0, 2), ctx);
        const def = this.host.tree.model.resource(path[0] as number, path[2] as number);
        if (!def) throw notFound(`${formatPath(path)}: no such resource`);
        if (isExecutable(def)) return this.execute(req, path, server, ctx);
        if (def.multiple && isWritable(def)) return this.write(req, path, 'update', server, ctx);
        throw notAllowed(`${formatPath(path)} (${def.name}) is not executable`);
      }
      default:
        throw notAllowed(`POST ${formatPath(path)} is not a LwM2M operation`);
    }
  }

  private async execute(req: IncomingRequest, path: Lwm2mPath, server: RequestServer, ctx: OperationContext): Promise<OutgoingResponse> {
    const text = req.payload.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(req.payload)) throw badRequest('Execute arguments must be UTF-8 text');
    const args = await this.host.tree.execute(path, text, ctx);
    this.host.events.execute({ shortServerId: server.shortServerId, path, args });
    return { code: CoapCode.Changed };
  }

  private async create(req: IncomingRequest, objectId: number, server: RequestServer, ctx: OperationContext): Promise<OutgoingResponse> {
    const tree = this.host.tree;
    tree.checkExists([objectId], ctx);
    const format = req.contentFormat;
    // A TLV body made of bare resources (no object-instance record) lets the client pick the id.
    let clientChosen = false;
    let decodePath: Lwm2mPath = [objectId];
    if (format !== undefined && canonicalFormat(format) === ContentFormat.TLV) {
      const records = readTlvRecords(req.payload);
      if (records.length > 0 && records[0]?.kind !== 'objectInstance') {
        clientChosen = true;
        decodePath = [objectId, tree.freeInstanceId(objectId)];
      }
    }
    const entries = decodeRequestBody(req.payload, format, decodePath, server.version, tree.model);
    const instances: Array<{ id: number | undefined; resources: ResourceNode[] }> = [];
    for (const { node } of entries) {
      if (node.kind === 'object') {
        for (const inst of node.instances.values()) instances.push({ id: inst.id, resources: [...inst.resources.values()] });
      } else if (node.kind === 'instance') {
        instances.push({ id: clientChosen ? undefined : (node as ObjectInstanceNode).id, resources: [...node.resources.values()] });
      } else {
        throw badRequest('a Create body holds object instances');
      }
    }
    if (instances.length === 0) {
      // An empty body: the client creates an instance with its defaults.
      instances.push({ id: undefined, resources: [] });
      clientChosen = true;
    }
    if (instances.length > 1 && server.version === '1.0') throw badRequest('LwM2M 1.0 creates one instance per request');
    const created: number[] = [];
    for (const inst of instances) {
      const id = tree.create(objectId, inst.id, inst.resources, ctx);
      created.push(id);
      this.host.events.create({ shortServerId: server.shortServerId, path: [objectId, id] });
    }
    const response: OutgoingResponse = { code: CoapCode.Created };
    if (clientChosen && created.length === 1) response.locationPath = [String(objectId), String(created[0])];
    return response;
  }

  private delete(path: Lwm2mPath, server: RequestServer, ctx: OperationContext): OutgoingResponse {
    this.host.tree.delete(path, ctx);
    this.host.attributes.removeBelow(path);
    this.host.events.delete({ shortServerId: server.shortServerId, path });
    return { code: CoapCode.Deleted };
  }
}
