/**
 * The LwM2M server: registrations come in over the Client Registration
 * interface, device-management requests go out over the same CoAP
 * endpoint, notifications and Send data come back as events.
 *
 *   const server = new Lwm2mServer({ port: 5683 });
 *   server.on('registered', (reg) => ...);
 *   await server.start();
 *   const { value } = await server.read('dev1', '/3/0/9');
 *
 * Every request/response operation is a Promise; every failure is an
 * Lwm2mError carrying the CoAP code (the device's answer, 4.04 for an
 * unknown endpoint, 5.04 for a device that does not answer in time).
 */
import { EventEmitter } from 'node:events';
import { CoapCode, Lwm2mError } from '../errors.js';
import type { CoapRequest, CoapResponse, IncomingRequest, OutgoingResponse, RequestHandler } from '../coap/api.js';
import { CoapEndpoint } from '../coap/endpoint.js';
import type { Observation, ObservationEnd } from '../coap/observation.js';
import type { TransmissionParameters } from '../coap/params.js';
import type { Logger, Peer } from '../coap/transport.js';
import { ContentFormat, codecFor, contentFormatName } from '../formats/index.js';
import type { NotificationAttributes } from '../model/attributes.js';
import type { ModelLookup } from '../model/definitions.js';
import type { ExecuteArgument } from '../model/execute-args.js';
import { formatPath, parsePath, type Lwm2mPath } from '../model/path.js';
import { fromPlain, toPlain, type PlainTree } from '../model/plain.js';
import { builtinRegistry, type ObjectRegistry } from '../model/registry.js';
import type { Lwm2mNode, PathNode } from '../model/value.js';
import {
  compositeReadRequest,
  compositeWriteRequest,
  createRequest,
  defaultCompositeFormat,
  defaultFormat,
  deleteRequest,
  discoverRequest,
  executeRequest,
  observeRequest,
  readRequest,
  writeAttributesRequest,
  writeRequest,
  type DownlinkRequest,
} from './downlink.js';
import { MemoryRegistrationStore } from './memory-store.js';
import { QueueModeScheduler, type QueueModeOptions } from './queue-mode.js';
import {
  applyUpdate,
  objectVersions,
  parseRegisterRequest,
  type PeerInfo,
  type Registration,
} from './registration.js';
import type { ObservationRecord, RegistrationStore } from './registration-store.js';
import {
  createdInstanceId,
  decodeContent,
  decodeDiscover,
  describeOperation,
  expectCode,
  type DiscoveredLink,
} from './response.js';

/** Decides whether a client may register. Return false (or a reason string) to refuse with 4.03. */
export type RegistrationAuthorizer = (request: {
  endpoint: string;
  peer: PeerInfo;
  /** The authenticated DTLS identity, when the transport has one. */
  identity?: string;
  registration: Registration;
}) => boolean | string | Promise<boolean | string>;

export interface Lwm2mServerOptions {
  /** Use this CoAP endpoint (e.g. one over DTLS) instead of opening a UDP socket. */
  endpoint?: CoapEndpoint;
  /** Bind address for the UDP socket: '0.0.0.0' (default), '::' for IPv6 + IPv4, or one address. */
  address?: string;
  /** UDP port, default 5683; 0 picks a free one (see `address()`). */
  port?: number;
  /** Where registrations and observations live; in memory by default (see FileRegistrationStore). */
  store?: RegistrationStore;
  /** Object definitions; the built-in OMNA registry by default. */
  registry?: ObjectRegistry;
  authorize?: RegistrationAuthorizer;
  /** Deadline of each downlink request (ms), default 5000. */
  requestTimeoutMs?: number;
  /** Time after a registration's lifetime before it expires (ms), default 10 s. */
  expiryGraceMs?: number;
  /** How often expired registrations are looked for (ms), default 1000. */
  expiryCheckIntervalMs?: number;
  queueMode?: QueueModeOptions;
  /** CoAP transmission parameters (ACK_TIMEOUT, ...) for the UDP endpoint. */
  transmission?: Partial<TransmissionParameters>;
  logger?: Logger;
}

/** Options every device-management call accepts. */
export interface RequestOptions {
  /** Content format to ask for or to write with; a sensible default per client otherwise. */
  format?: number;
  /** Deadline of the CoAP exchange (ms). */
  timeoutMs?: number;
  /** Queue-mode clients: how long the request may wait for the client to wake up (ms). */
  queueTimeoutMs?: number;
  /** Block size (16..1024) for a request body sent with Block1 (a firmware package written to /5/0/0). */
  blockSize?: number;
}

export interface ReadResult {
  readonly registration: Registration;
  readonly path: Lwm2mPath;
  /** The node read (the latest one when the device answered with a time series). */
  readonly node: Lwm2mNode;
  /** Plain JS form of `node` (see model/plain.ts). */
  readonly value: PlainTree;
  /** Everything the device answered, with timestamps, in its order. */
  readonly entries: readonly PathNode[];
  readonly format: number;
}

export interface CompositeReadResult {
  readonly registration: Registration;
  readonly entries: readonly PathNode[];
  /** `{ "/3/0/9": 95, ... }` */
  readonly value: Record<string, PlainTree>;
  readonly format: number;
}

export interface ObservationInfo {
  /** Token in hex: the id of the observation. */
  readonly id: string;
  readonly endpoint: string;
  readonly registrationId: string;
  readonly paths: readonly Lwm2mPath[];
  readonly kind: 'single' | 'composite';
  readonly format?: number;
}

export interface NotificationEvent {
  readonly registration: Registration;
  readonly observation: ObservationInfo;
  readonly entries: readonly PathNode[];
  /** Plain JS values per observed path: `{ "/3/0/9": 95 }`. */
  readonly value: Record<string, PlainTree>;
  readonly format: number;
  /** When the notification arrived (ms since the epoch). */
  readonly receivedAt: number;
}

export interface SendEvent {
  readonly registration: Registration;
  readonly entries: readonly PathNode[];
  /** Plain JS values per object instance path: `{ "/3303/0": { 5700: 21.5 } }` (the last value when timestamped). */
  readonly value: Record<string, PlainTree>;
  readonly format: number;
  readonly receivedAt: number;
}

export interface Lwm2mServerEvents {
  registered: [registration: Registration, info: { replaced?: Registration }];
  updated: [registration: Registration, previous: Registration];
  deregistered: [registration: Registration];
  expired: [registration: Registration];
  awake: [registration: Registration];
  sleeping: [registration: Registration];
  notification: [event: NotificationEvent];
  observationEnded: [info: ObservationInfo, reason: string];
  send: [event: SendEvent];
  /** Something went wrong that no caller is waiting for (a store that cannot save, a bad notification). */
  warning: [message: string, error?: unknown];
}

interface LiveObservation {
  readonly info: ObservationInfo;
  readonly coap: Observation;
}

const REGISTER_PATH = 'rd';
const SEND_PATH = 'dp';

export class Lwm2mServer extends EventEmitter<Lwm2mServerEvents> {
  readonly store: RegistrationStore;
  readonly registry: ObjectRegistry;
  private endpoint: CoapEndpoint | undefined;
  private readonly ownsEndpoint: boolean;
  private readonly options: Lwm2mServerOptions;
  private readonly requestTimeoutMs: number;
  private readonly expiryGraceMs: number;
  private readonly logger: Logger;
  private readonly queue: QueueModeScheduler;
  private readonly live = new Map<string, LiveObservation>();
  /** Extra CoAP resources served on the server's endpoint (firmware images), by path. */
  private readonly resources = new Map<string, RequestHandler>();
  private readonly models = new WeakMap<Registration, ModelLookup>();
  private expiryTimer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(options: Lwm2mServerOptions = {}) {
    super();
    this.options = options;
    this.endpoint = options.endpoint;
    this.ownsEndpoint = !options.endpoint;
    this.store = options.store ?? new MemoryRegistrationStore();
    this.registry = options.registry ?? builtinRegistry();
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    this.expiryGraceMs = options.expiryGraceMs ?? 10_000;
    this.logger = options.logger ?? (() => {});
    this.queue = new QueueModeScheduler(options.queueMode ?? {}, {
      awake: (id) => this.emitFor(id, 'awake'),
      sleeping: (id) => this.emitFor(id, 'sleeping'),
    });
  }

  // ------------------------------------------------------------ lifecycle

  /** Opens the socket (unless an endpoint was given) and resumes stored observations. */
  async start(): Promise<void> {
    if (this.started) return;
    if (!this.endpoint) {
      this.endpoint = await CoapEndpoint.udp({
        address: this.options.address ?? '0.0.0.0',
        port: this.options.port ?? 5683,
        requestTimeoutMs: this.requestTimeoutMs,
        logger: this.logger,
        ...(this.options.transmission ? { parameters: this.options.transmission } : {}),
      });
    }
    this.endpoint.onRequest((req) => this.onRequest(req));
    this.started = true;
    for (const record of [...this.store.observations()]) this.resumeObservation(record);
    const interval = this.options.expiryCheckIntervalMs ?? 1000;
    this.expiryTimer = setInterval(() => this.expireRegistrations(), interval);
    this.expiryTimer.unref();
  }

  /** Stops serving: timers, queued requests and (if we opened it) the socket. Registrations stay in the store. */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    if (this.expiryTimer) clearInterval(this.expiryTimer);
    this.queue.close();
    // observations stay in the store so that they are recognised after a restart
    for (const live of this.live.values()) live.coap.removeAllListeners();
    this.live.clear();
    if (this.ownsEndpoint && this.endpoint) {
      await this.endpoint.close();
      this.endpoint = undefined;
    }
    await this.store.flush();
  }

  /** Local address of the server's socket. */
  address(): { address: string; port: number; family: string } {
    return this.requireEndpoint().address();
  }

  /** CoAP counters of the endpoint, for monitoring and benchmarks. */
  get coap(): CoapEndpoint {
    return this.requireEndpoint();
  }

  // ------------------------------------------------------------ lookups

  registrations(): Registration[] {
    return [...this.store.registrations()];
  }

  getRegistration(endpoint: string): Registration | undefined {
    return this.store.getByEndpoint(endpoint);
  }

  /** Object definitions in the versions this client registered with. */
  modelFor(registration: Registration): ModelLookup {
    let model = this.models.get(registration);
    if (!model) {
      model = this.registry.lookupFor(objectVersions(registration), registration.lwm2mVersion);
      this.models.set(registration, model);
    }
    return model;
  }

  isAwake(endpoint: string): boolean {
    const reg = this.store.getByEndpoint(endpoint);
    return !!reg && (!reg.queueMode || this.queue.isAwake(reg.id));
  }

  observations(endpoint?: string): ObservationInfo[] {
    const out: ObservationInfo[] = [];
    for (const record of this.store.observations()) {
      const reg = this.store.get(record.registrationId);
      if (!reg || (endpoint !== undefined && reg.endpoint !== endpoint)) continue;
      out.push(infoOf(record, reg));
    }
    return out;
  }

  // ------------------------------------------------------------ device management

  async read(endpoint: string, path: string | Lwm2mPath, options: RequestOptions = {}): Promise<ReadResult> {
    const reg = this.registrationOf(endpoint);
    const p = toPath(path);
    const what = describeOperation('Read', reg.endpoint, p);
    if (p.length === 0) throw new Lwm2mError(CoapCode.BadRequest, `${what}: Read needs an object, instance or resource path`);
    const format = options.format ?? defaultFormat(reg, p);
    const response = await this.send(reg, readRequest(p, format), options, what);
    expectCode(response, [CoapCode.Content], what);
    const { format: answered, entries } = decodeContent(response, { path: p, model: this.modelFor(reg) }, what);
    return readResult(reg, p, entries, answered, what);
  }

  async discover(endpoint: string, path: string | Lwm2mPath, options: RequestOptions = {}): Promise<DiscoveredLink[]> {
    const reg = this.registrationOf(endpoint);
    const p = toPath(path);
    const what = describeOperation('Discover', reg.endpoint, p);
    const response = await this.send(reg, discoverRequest(p), options, what);
    expectCode(response, [CoapCode.Content], what);
    return decodeDiscover(response, reg.rootPath, what);
  }

  /**
   * Write a value: `value` is a node or a plain JS value (typed through the
   * client's model). mode 'replace' = PUT, 'update' = POST (partial update).
   */
  async write(
    endpoint: string,
    path: string | Lwm2mPath,
    value: Lwm2mNode | unknown,
    options: RequestOptions & { mode?: 'replace' | 'update' } = {},
  ): Promise<void> {
    const reg = this.registrationOf(endpoint);
    const p = toPath(path);
    const what = describeOperation(options.mode === 'update' ? 'Write (update)' : 'Write', reg.endpoint, p);
    const model = this.modelFor(reg);
    const node = isNode(value) ? value : fromPlain(p, value, model);
    const format = options.format ?? writeFormat(reg, p, node);
    const response = await this.send(reg, writeRequest(p, node, format, options.mode ?? 'replace', model), options, what);
    expectCode(response, [CoapCode.Changed], what);
  }

  async writeAttributes(endpoint: string, path: string | Lwm2mPath, attributes: NotificationAttributes, options: RequestOptions = {}): Promise<void> {
    const reg = this.registrationOf(endpoint);
    const p = toPath(path);
    const what = describeOperation('Write-Attributes', reg.endpoint, p);
    const response = await this.send(reg, writeAttributesRequest(p, attributes), options, what);
    expectCode(response, [CoapCode.Changed], what);
  }

  async execute(endpoint: string, path: string | Lwm2mPath, args: readonly ExecuteArgument[] | string = [], options: RequestOptions = {}): Promise<void> {
    const reg = this.registrationOf(endpoint);
    const p = toPath(path);
    const what = describeOperation('Execute', reg.endpoint, p);
    const response = await this.send(reg, executeRequest(p, args), options, what);
    expectCode(response, [CoapCode.Changed], what);
  }

  /**
   * Create an object instance. `instance` is an instance node, or plain
   * `{ [rid]: value }` (then `instanceId` chooses its id; without one the
   * client picks). Resolves with the id of the new instance.
   */
  async create(
    endpoint: string,
    objectId: number | string,
    instance: Lwm2mNode | Record<string, unknown>,
    options: RequestOptions & { instanceId?: number } = {},
  ): Promise<number | undefined> {
    const reg = this.registrationOf(endpoint);
    const p = toPath(typeof objectId === 'number' ? [objectId] : objectId);
    const what = describeOperation('Create', reg.endpoint, p);
    if (p.length !== 1) throw new Lwm2mError(CoapCode.BadRequest, `${what}: Create needs an object path such as /3303`);
    const model = this.modelFor(reg);
    const objectIdNum = p[0] as number;
    const format = options.format ?? defaultFormat(reg, [objectIdNum, 0]);
    // TLV can leave the instance id to the client; SenML and LwM2M CBOR name
    // it in every record, so we pick the lowest id the client did not list.
    const clientChoosesId = options.instanceId === undefined && !isNode(instance) && format === ContentFormat.TLV;
    const instanceId = options.instanceId ?? (isNode(instance) ? undefined : lowestFreeInstance(reg, objectIdNum));
    let node: Lwm2mNode;
    if (isNode(instance)) node = instance;
    else node = fromPlain([objectIdNum, instanceId ?? 0], instance, model);
    if (node.kind !== 'instance') throw new Lwm2mError(CoapCode.BadRequest, `${what}: Create takes one object instance`);
    const request: DownlinkRequest = clientChoosesId
      ? bareInstanceCreate(objectIdNum, node, model)
      : createRequest(objectIdNum, [node], format, model);
    const response = await this.send(reg, request, options, what);
    expectCode(response, [CoapCode.Created], what);
    return createdInstanceId(response) ?? (clientChoosesId ? undefined : node.id);
  }

  async delete(endpoint: string, path: string | Lwm2mPath, options: RequestOptions = {}): Promise<void> {
    const reg = this.registrationOf(endpoint);
    const p = toPath(path);
    const what = describeOperation('Delete', reg.endpoint, p);
    const response = await this.send(reg, deleteRequest(p), options, what);
    expectCode(response, [CoapCode.Deleted], what);
  }

  async readComposite(endpoint: string, paths: readonly (string | Lwm2mPath)[], options: RequestOptions = {}): Promise<CompositeReadResult> {
    const reg = this.registrationOf(endpoint);
    const ps = paths.map(toPath);
    const what = describeOperation('Read-Composite', reg.endpoint, ps);
    requireVersion(reg, '1.1', what);
    const format = options.format ?? defaultCompositeFormat(reg);
    const response = await this.send(reg, compositeReadRequest(ps, format), options, what);
    expectCode(response, [CoapCode.Content], what);
    const { format: answered, entries } = decodeContent(response, { paths: ps, model: this.modelFor(reg) }, what);
    return { registration: reg, entries, value: plainByPath(entries), format: answered };
  }

  /** Write-Composite: `values` maps paths to nodes or plain values (`{ "/3/0/13": new Date() }`). */
  async writeComposite(endpoint: string, values: Readonly<Record<string, unknown>> | readonly PathNode[], options: RequestOptions = {}): Promise<void> {
    const reg = this.registrationOf(endpoint);
    const model = this.modelFor(reg);
    const entries: PathNode[] = Array.isArray(values)
      ? [...(values as readonly PathNode[])]
      : Object.entries(values).map(([path, v]) => {
          const p = parsePath(path);
          return { path: p, node: isNode(v) ? v : fromPlain(p, v, model) };
        });
    const what = describeOperation('Write-Composite', reg.endpoint, entries.map((e) => e.path));
    requireVersion(reg, '1.1', what);
    const format = options.format ?? defaultCompositeFormat(reg);
    const response = await this.send(reg, compositeWriteRequest(entries, format, model), options, what);
    expectCode(response, [CoapCode.Changed], what);
  }

  /**
   * Observe one path. With `attributes`, Write-Attributes is sent first.
   * Resolves with the observation and the current value; notifications
   * arrive as 'notification' events.
   */
  async observe(
    endpoint: string,
    path: string | Lwm2mPath,
    options: RequestOptions & { attributes?: NotificationAttributes } = {},
  ): Promise<{ observation: ObservationInfo; current: ReadResult }> {
    const reg = this.registrationOf(endpoint);
    const p = toPath(path);
    const what = describeOperation('Observe', reg.endpoint, p);
    if (options.attributes) await this.writeAttributes(endpoint, p, options.attributes, options);
    const format = options.format ?? defaultFormat(reg, p);
    const { first, record } = await this.startObservation(reg, observeRequest(p, format), [p], 'single', format, options, what);
    const { format: answered, entries } = decodeContent(first, { path: p, model: this.modelFor(reg) }, what);
    return { observation: infoOf(record, reg), current: readResult(reg, p, entries, answered, what) };
  }

  async observeComposite(
    endpoint: string,
    paths: readonly (string | Lwm2mPath)[],
    options: RequestOptions = {},
  ): Promise<{ observation: ObservationInfo; current: CompositeReadResult }> {
    const reg = this.registrationOf(endpoint);
    const ps = paths.map(toPath);
    const what = describeOperation('Observe-Composite', reg.endpoint, ps);
    requireVersion(reg, '1.1', what);
    const format = options.format ?? defaultCompositeFormat(reg);
    const { first, record } = await this.startObservation(reg, compositeReadRequest(ps, format, 0), ps, 'composite', format, options, what);
    const { format: answered, entries } = decodeContent(first, { paths: ps, model: this.modelFor(reg) }, what);
    return { observation: infoOf(record, reg), current: { registration: reg, entries, value: plainByPath(entries), format: answered } };
  }

  /**
   * Cancels observations: by id (token hex), or every observation of a path
   * on this device. 'active' sends GET with Observe=1 (single observations),
   * 'passive' forgets the token and answers the next notification with RST.
   */
  async cancelObservation(endpoint: string, target: { id?: string; path?: string | Lwm2mPath }, mode: 'active' | 'passive' = 'active'): Promise<number> {
    const reg = this.registrationOf(endpoint);
    const wanted = target.path !== undefined ? formatPath(toPath(target.path)) : undefined;
    const records = this.store.observationsOf(reg.id).filter((r) => (target.id ? r.token === target.id : wanted !== undefined && r.paths.includes(wanted)));
    for (const record of records) {
      this.store.removeObservation(record.token);
      const live = this.live.get(record.token);
      this.live.delete(record.token);
      if (live) {
        live.coap.removeAllListeners('end');
        const activeCancel = mode === 'active' && record.kind === 'single';
        await live.coap.cancel(activeCancel ? 'deregister' : 'forget').catch((err: Error) => {
          this.emit('warning', `cancelling observation ${record.token} of ${reg.endpoint}: ${err.message}`, err);
        });
      }
      this.emit('observationEnded', infoOf(record, reg), 'cancelled');
    }
    return records.length;
  }

  // ------------------------------------------------------------ extra resources and raw requests

  /**
   * Serves a CoAP resource at exactly `path` (segments, e.g. ['fw', '<token>'])
   * on the server's own endpoint, next to /rd and /dp: how a firmware image
   * is offered to devices that pull it. Large answers go out with Block2 by
   * the CoAP layer. Returns a function that stops serving it.
   */
  serveResource(path: readonly string[], handler: RequestHandler): () => void {
    if (path.length === 0 || path.some((s) => typeof s !== 'string' || s === '')) {
      throw new Lwm2mError(CoapCode.BadRequest, 'a served resource needs a path of non-empty segments');
    }
    if (path[0] === REGISTER_PATH || path[0] === SEND_PATH) {
      throw new Lwm2mError(CoapCode.BadRequest, `/${path[0]} belongs to the LwM2M interfaces`);
    }
    const key = path.join('/');
    if (this.resources.has(key)) throw new Lwm2mError(CoapCode.Conflict, `/${key} is already served`);
    this.resources.set(key, handler);
    return () => {
      if (this.resources.get(key) === handler) this.resources.delete(key);
    };
  }

  /**
   * Sends a CoAP request of the caller's making to a registered client, for
   * exchanges the operations above do not cover (a firmware package pushed
   * block by block with progress). The client's alternate root path is put
   * before `path`, queue mode is honoured and the client's current address
   * is used. Resolves with the response whatever its code; rejects like the
   * other operations when the client is unknown or does not answer.
   */
  async rawRequest(
    endpoint: string,
    path: string | Lwm2mPath,
    request: Omit<CoapRequest, 'path'>,
    options: RequestOptions = {},
  ): Promise<CoapResponse> {
    const reg = this.registrationOf(endpoint);
    const p = toPath(path);
    const what = describeOperation(`${request.method ?? 'GET'}`, reg.endpoint, p);
    const out: CoapRequest = {
      ...request,
      path: [...rootSegments(reg), ...p.map(String)],
      timeoutMs: options.timeoutMs ?? request.timeoutMs ?? this.requestTimeoutMs,
    };
    if (options.blockSize !== undefined) out.blockSize = options.blockSize;
    return this.sendCoap(reg, out, options, what);
  }

  // ------------------------------------------------------------ internals: sending

  private requireEndpoint(): CoapEndpoint {
    if (!this.endpoint || !this.started) throw new Lwm2mError(CoapCode.ServiceUnavailable, 'the LwM2M server is not started');
    return this.endpoint;
  }

  private registrationOf(endpoint: string): Registration {
    if (typeof endpoint !== 'string' || endpoint === '') {
      throw new Lwm2mError(CoapCode.BadRequest, 'no endpoint name given');
    }
    const reg = this.store.getByEndpoint(endpoint);
    if (!reg) throw new Lwm2mError(CoapCode.NotFound, `no registered client with endpoint name "${endpoint}"`);
    return reg;
  }

  private coapRequest(reg: Registration, req: DownlinkRequest, options: RequestOptions): CoapRequest {
    const out: CoapRequest = {
      method: req.method,
      path: [...rootSegments(reg), ...req.path.map(String)],
      timeoutMs: options.timeoutMs ?? this.requestTimeoutMs,
    };
    if (options.blockSize !== undefined) out.blockSize = options.blockSize;
    if (req.query) out.query = req.query;
    if (req.accept !== undefined) out.accept = req.accept;
    if (req.contentFormat !== undefined) out.contentFormat = req.contentFormat;
    if (req.payload) out.payload = req.payload;
    if (req.observe !== undefined) out.observe = req.observe;
    return out;
  }

  /** Sends a downlink request now, or when a queue-mode client wakes up. */
  private send(reg: Registration, req: DownlinkRequest, options: RequestOptions, what: string): Promise<CoapResponse> {
    return this.sendCoap(reg, this.coapRequest(reg, req, options), options, what);
  }

  private sendCoap(reg: Registration, request: CoapRequest, options: RequestOptions, what: string): Promise<CoapResponse> {
    const endpoint = this.requireEndpoint();
    const go = async () => {
      // the client may have moved (NAT rebinding) or re-registered while we waited
      const current = this.store.get(reg.id);
      if (!current) throw new Lwm2mError(CoapCode.NotFound, `${what}: the client is no longer registered`);
      try {
        return await endpoint.request(peerOf(current), request);
      } catch (err) {
        if (err instanceof Lwm2mError && err.code === CoapCode.GatewayTimeout) {
          if (current.queueMode) this.queue.fellAsleep(current.id);
          throw new Lwm2mError(err.code, `${what}: no answer from the device (${err.message})`, { cause: err });
        }
        throw err;
      }
    };
    return reg.queueMode ? this.queue.schedule(reg.id, go, options.queueTimeoutMs) : go();
  }

  // ------------------------------------------------------------ internals: observations

  private async startObservation(
    reg: Registration,
    req: DownlinkRequest,
    paths: readonly Lwm2mPath[],
    kind: 'single' | 'composite',
    format: number,
    options: RequestOptions,
    what: string,
  ): Promise<{ first: CoapResponse; record: ObservationRecord }> {
    const endpoint = this.requireEndpoint();
    const request = this.coapRequest(reg, req, options);
    const run = async () => {
      const current = this.store.get(reg.id);
      if (!current) throw new Lwm2mError(CoapCode.NotFound, `${what}: the client is no longer registered`);
      const obs = endpoint.observe(peerOf(current), request);
      const record: ObservationRecord = {
        token: obs.token.toString('hex'),
        registrationId: current.id,
        paths: paths.map(formatPath),
        format,
        kind,
        createdAt: Date.now(),
      };
      this.attach(record, current, obs);
      let first: CoapResponse;
      try {
        first = await obs.ready;
      } catch (err) {
        this.live.delete(record.token);
        if (err instanceof Lwm2mError && err.code === CoapCode.GatewayTimeout) {
          throw new Lwm2mError(err.code, `${what}: no answer from the device (${err.message})`, { cause: err });
        }
        throw err;
      }
      expectCode(first, [CoapCode.Content], what);
      if (!obs.active) throw new Lwm2mError(CoapCode.NotImplemented, `${what}: the device answered without accepting the observation`);
      this.store.addObservation(record);
      return { first, record };
    };
    return reg.queueMode ? this.queue.schedule(reg.id, run, options.queueTimeoutMs) : run();
  }

  private attach(record: ObservationRecord, reg: Registration, obs: Observation): void {
    this.live.set(record.token, { info: infoOf(record, reg), coap: obs });
    obs.on('notification', (res) => this.onNotification(record.token, res));
    obs.on('end', (end) => this.onObservationEnd(record.token, end));
  }

  /** After a restart: recognise notifications of an observation made before it. */
  private resumeObservation(record: ObservationRecord): void {
    const reg = this.store.get(record.registrationId);
    if (!reg) {
      this.store.removeObservation(record.token);
      return;
    }
    const endpoint = this.requireEndpoint();
    const root = reg.rootPath === '/' ? [] : reg.rootPath.split('/').filter((s) => s !== '');
    const path = record.kind === 'single' ? [...root, ...(record.paths[0] ?? '/').split('/').filter((s) => s !== '')] : root;
    const obs = endpoint.resumeObservation(peerOf(reg), { token: Buffer.from(record.token, 'hex'), path });
    this.attach(record, reg, obs);
  }

  private onNotification(token: string, res: CoapResponse): void {
    const record = this.store.getObservation(token);
    const reg = record && this.store.get(record.registrationId);
    if (!record || !reg) return;
    // a notification may come from a new address after NAT rebinding
    const what = `notification ${token} from ${reg.endpoint}`;
    if (reg.queueMode) this.queue.wake(reg.id);
    try {
      const paths = record.paths.map((p) => parsePath(p));
      const ctx = record.kind === 'single' ? { path: paths[0] as Lwm2mPath } : { paths };
      const { format, entries } = decodeContent(res, { ...ctx, model: this.modelFor(reg) }, what);
      this.emit('notification', {
        registration: reg,
        observation: infoOf(record, reg),
        entries,
        value: plainByPath(entries),
        format,
        receivedAt: Date.now(),
      });
    } catch (err) {
      this.emit('warning', `${what} dropped: ${(err as Error).message}`, err);
    }
  }

  private onObservationEnd(token: string, end: ObservationEnd): void {
    const live = this.live.get(token);
    this.live.delete(token);
    if (end.reason === 'closed' || end.reason === 'cancelled') return;
    const record = this.store.removeObservation(token);
    if (!record || !live) return;
    const reason = end.reason === 'error-response' && end.response ? `${end.reason} ${end.response.code}` : end.reason;
    this.emit('observationEnded', live.info, reason);
  }

  private dropObservations(records: readonly ObservationRecord[], reg: Registration, reason: string): void {
    for (const record of records) {
      const live = this.live.get(record.token);
      this.live.delete(record.token);
      if (live) {
        live.coap.removeAllListeners('end');
        void live.coap.cancel('forget');
      }
      this.emit('observationEnded', infoOf(record, reg), reason);
    }
  }

  // ------------------------------------------------------------ internals: incoming requests

  private async onRequest(req: IncomingRequest): Promise<OutgoingResponse> {
    const [first, second, ...rest] = req.path;
    if (first === REGISTER_PATH && rest.length === 0) {
      if (second === undefined) {
        if (req.method !== 'POST') return { code: CoapCode.MethodNotAllowed };
        return this.onRegister(req);
      }
      if (req.method === 'POST') return this.onUpdate(req, second);
      if (req.method === 'DELETE') return this.onDeregister(req, second);
      return { code: CoapCode.MethodNotAllowed };
    }
    if (first === SEND_PATH && second === undefined) {
      if (req.method !== 'POST') return { code: CoapCode.MethodNotAllowed };
      return this.onSend(req);
    }
    const served = this.resources.get(req.path.join('/'));
    if (served) {
      // a queue-mode device fetching a resource is evidently awake
      const reg = this.store.getByPeer(peerInfoOf(req.peer).key);
      if (reg?.queueMode) this.queue.wake(reg.id);
      return served(req);
    }
    return { code: CoapCode.NotFound };
  }

  private async onRegister(req: IncomingRequest): Promise<OutgoingResponse> {
    const peer = peerInfoOf(req.peer);
    let reg: Registration;
    try {
      reg = parseRegisterRequest(queryMap(req.query), req.payload, { peer });
    } catch (err) {
      return errorResponse(err);
    }
    if (this.options.authorize) {
      const verdict = await this.options.authorize({
        endpoint: reg.endpoint,
        peer,
        ...(req.peer.identity !== undefined ? { identity: req.peer.identity } : {}),
        registration: reg,
      });
      if (verdict !== true) {
        const reason = typeof verdict === 'string' ? verdict : 'registration refused';
        this.logger('info', `Register of ${reg.endpoint} from ${peer.key} refused: ${reason}`);
        return { code: CoapCode.Forbidden, payload: reason };
      }
    }
    const { replaced, endedObservations } = this.store.add(reg);
    if (replaced) {
      this.queue.forget(replaced.id, `${replaced.endpoint} registered again`);
      this.dropObservations(endedObservations, replaced, 'the client registered again');
    }
    setImmediate(() => {
      this.emit('registered', reg, replaced ? { replaced } : {});
      if (reg.queueMode) this.queue.wake(reg.id);
    });
    return { code: CoapCode.Created, locationPath: [REGISTER_PATH, reg.id] };
  }

  private async onUpdate(req: IncomingRequest, id: string): Promise<OutgoingResponse> {
    const previous = this.store.get(id);
    if (!previous) return { code: CoapCode.NotFound, payload: 'unknown registration' };
    let next: Registration;
    try {
      next = applyUpdate(previous, queryMap(req.query), req.payload.length > 0 ? req.payload : undefined, { peer: peerInfoOf(req.peer) });
    } catch (err) {
      return errorResponse(err);
    }
    this.store.update(next);
    setImmediate(() => {
      this.emit('updated', next, previous);
      if (next.queueMode) this.queue.wake(next.id);
    });
    return { code: CoapCode.Changed };
  }

  private async onDeregister(_req: IncomingRequest, id: string): Promise<OutgoingResponse> {
    const removed = this.store.remove(id);
    if (!removed) return { code: CoapCode.NotFound, payload: 'unknown registration' };
    this.queue.forget(id, `${removed.registration.endpoint} de-registered`);
    this.dropObservations(removed.observations, removed.registration, 'the client de-registered');
    setImmediate(() => this.emit('deregistered', removed.registration));
    return { code: CoapCode.Deleted };
  }

  private async onSend(req: IncomingRequest): Promise<OutgoingResponse> {
    const reg = this.store.getByPeer(peerInfoOf(req.peer).key);
    if (!reg) return { code: CoapCode.NotFound, payload: 'Send from a client that is not registered' };
    const format = req.contentFormat;
    const accepted: readonly number[] = [ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON, ContentFormat.LWM2M_CBOR];
    if (format === undefined || !accepted.includes(format)) {
      return { code: CoapCode.UnsupportedContentFormat, payload: `Send needs SenML CBOR, SenML JSON or LwM2M CBOR, not ${format === undefined ? 'no format' : contentFormatName(format)}` };
    }
    let entries: PathNode[];
    try {
      entries = codecFor(format).decode(req.payload, { model: this.modelFor(reg) });
    } catch (err) {
      this.logger('info', `Send from ${reg.endpoint} rejected: ${(err as Error).message}`);
      return errorResponse(err);
    }
    if (reg.queueMode) this.queue.wake(reg.id);
    setImmediate(() => this.emit('send', { registration: reg, entries, value: plainByPath(entries), format, receivedAt: Date.now() }));
    return { code: CoapCode.Changed };
  }

  private expireRegistrations(): void {
    let expired;
    try {
      expired = this.store.removeExpired(Date.now(), this.expiryGraceMs);
    } catch (err) {
      this.emit('warning', `expiry sweep failed: ${(err as Error).message}`, err);
      return;
    }
    for (const { registration, observations } of expired) {
      this.queue.forget(registration.id, `${registration.endpoint} expired`);
      this.dropObservations(observations, registration, 'the registration expired');
      this.emit('expired', registration);
    }
  }

  private emitFor(registrationId: string, event: 'awake' | 'sleeping'): void {
    const reg = this.store.get(registrationId);
    if (reg) this.emit(event, reg);
  }
}

// ------------------------------------------------------------ helpers

function rootSegments(reg: Registration): string[] {
  return reg.rootPath === '/' ? [] : reg.rootPath.split('/').filter((s) => s !== '');
}

function toPath(path: string | Lwm2mPath): Lwm2mPath {
  return typeof path === 'string' ? parsePath(path) : path;
}

function isNode(v: unknown): v is Lwm2mNode {
  if (v === null || typeof v !== 'object') return false;
  const kind = (v as { kind?: unknown }).kind;
  return kind === 'object' || kind === 'instance' || kind === 'resource' || kind === 'multipleResource' || kind === 'resourceInstance';
}

function peerOf(reg: Registration): Peer {
  return reg.peer;
}

function peerInfoOf(peer: Peer): PeerInfo {
  return peer.identity !== undefined
    ? { key: peer.key, host: peer.host, port: peer.port, identity: peer.identity }
    : { key: peer.key, host: peer.host, port: peer.port };
}

/** Uri-Query strings → map ("Q" → true). */
function queryMap(query: readonly string[]): Map<string, string | true> {
  const out = new Map<string, string | true>();
  for (const q of query) {
    const eq = q.indexOf('=');
    out.set(eq < 0 ? q : q.slice(0, eq), eq < 0 ? true : q.slice(eq + 1));
  }
  return out;
}

function errorResponse(err: unknown): OutgoingResponse {
  if (err instanceof Lwm2mError) return { code: err.code, payload: err.message.slice(0, 200) };
  throw err;
}

function requireVersion(reg: Registration, min: '1.1' | '1.2', what: string): void {
  if (reg.lwm2mVersion < min) {
    throw new Lwm2mError(CoapCode.BadRequest, `${what}: composite operations need LwM2M ${min}+, the client registered with ${reg.lwm2mVersion}`);
  }
}

/** Single resources are written as text when the client speaks nothing better. */
function writeFormat(reg: Registration, path: Lwm2mPath, node: Lwm2mNode): number {
  const format = defaultFormat(reg, path);
  if (node.kind === 'resource' && reg.lwm2mVersion === '1.0') return ContentFormat.TLV;
  return format;
}

/** TLV Create whose payload is the resources only: the client chooses the instance id. */
function bareInstanceCreate(objectId: number, node: Lwm2mNode, model: ModelLookup): DownlinkRequest {
  const payload = codecFor(ContentFormat.TLV).encode([{ path: [objectId, node.id], node }], { model });
  return { method: 'POST', path: [objectId], contentFormat: ContentFormat.TLV, payload };
}

function lowestFreeInstance(reg: Registration, objectId: number): number {
  const used = new Set(reg.objects.find((o) => o.id === objectId)?.instances ?? []);
  let id = 0;
  while (used.has(id)) id++;
  return id;
}

function readResult(reg: Registration, path: Lwm2mPath, entries: PathNode[], format: number, what: string): ReadResult {
  const last = entries[entries.length - 1];
  if (!last) throw new Lwm2mError(CoapCode.NotFound, `${what}: the device answered without a value`);
  return { registration: reg, path, node: last.node, value: toPlain(last.node), entries, format };
}

function plainByPath(entries: readonly PathNode[]): Record<string, PlainTree> {
  const out: Record<string, PlainTree> = {};
  for (const e of entries) out[formatPath(e.path)] = toPlain(e.node);
  return out;
}

function infoOf(record: ObservationRecord, reg: Registration): ObservationInfo {
  const base = {
    id: record.token,
    endpoint: reg.endpoint,
    registrationId: reg.id,
    paths: record.paths.map((p) => parsePath(p)),
    kind: record.kind,
  };
  return record.format !== undefined ? { ...base, format: record.format } : base;
}
