/**
 * Lwm2mClient: a LwM2M device in JavaScript. It owns one CoAP endpoint (one
 * UDP socket), the object tree, one registration session per server
 * account, the observations the servers hold, the Firmware Update object
 * when enabled, and the queue-mode sleep cycle.
 *
 *   const client = new Lwm2mClient({ endpoint: 'dev1', servers: [{ uri: 'coap://127.0.0.1:5683' }],
 *     objects: { 3303: { 0: { 5700: 21.5, 5701: 'Cel' } } } });
 *   client.on('registered', (info) => ...);
 *   await client.start();
 *   client.setValue('/3303/0/5700', 22.1);   // observers are notified per their attributes
 *   await client.send(['/3303/0/5700']);     // LwM2M Send (1.1+)
 *   await client.stop();                     // De-register, release the socket
 *
 * Bootstrap: a client given only `bootstrap: { uri }` (or whose every
 * registration keeps failing, or told so by a server through /1/x/9) asks
 * that Bootstrap-Server for its configuration, then registers to the
 * servers it was given (see bootstrap.ts). With `persistence`, the
 * provisioned accounts survive a restart.
 */
import { EventEmitter } from 'node:events';
import type { IncomingRequest, OutgoingNotification } from '../coap/api.js';
import { CoapEndpoint } from '../coap/endpoint.js';
import type { TransmissionParameters } from '../coap/params.js';
import { silentLogger, type Logger } from '../coap/transport.js';
import { UdpTransport } from '../coap/udp-transport.js';
import { CoapCode, Lwm2mError } from '../errors.js';
import { ContentFormat } from '../formats/content-format.js';
import { formatPath, parsePath, type Lwm2mPath } from '../model/path.js';
import type { PlainTree } from '../model/plain.js';
import { builtinRegistry, type ObjectRegistry } from '../model/registry.js';
import type { PathNode } from '../model/value.js';
import {
  DEVICE,
  installAccessControl,
  installBootstrapAccount,
  installServerAccounts,
  readBootstrapAccount,
  readServerAccounts,
  SERVER,
  ServerRes,
  type BootstrapAccountConfig,
  type ServerAccount,
  type ServerConfig,
} from './accounts.js';
import { BootstrapEngine, type BootstrapEvents, type BootstrapState, type BootstrapTrigger } from './bootstrap.js';
import { captureProvisioning, fileProvisioningStore, restoreProvisioning, type ProvisioningStore } from './bootstrap-store.js';
import { AttributeStore } from './attribute-store.js';
import { systemClock, type Clock, type ClockTimer } from './clock.js';
import { encodeComposite, isLwm2mVersion, type Lwm2mVersion } from './content.js';
import { deviceValues, type DeviceInfo } from './device.js';
import { DmHandler, type RequestServer } from './dm-handler.js';
import { NotificationOutbox } from './outbox.js';
import { readingsToEntries, type SendValue } from './send.js';
import { FirmwareUpdate, type FirmwareOptions, type FirmwareStatus } from './firmware.js';
import type { ExecuteArgument } from '../model/execute-args.js';
import { ObjectTree, type ExecuteHandler, type ReadHandler, type WriteHandler } from './object-tree.js';
import { Observation, ObservationManager } from './observations.js';
import { Radio } from './radio.js';
import { ServerSession, type RegistrationFailure, type RegistrationInfo } from './registration.js';
import { DEFAULT_RETRY, type RetryPolicy } from './timing.js';

const FIRMWARE_OBJECT = 5;
/** /1/x/17 Communication Retry Count default (Core TS, Server object): failed registrations before bootstrapping. */
const DEFAULT_REGISTRATION_ATTEMPTS = 5;

/** The Bootstrap-Server account and how bootstrapping behaves. */
export interface ClientBootstrapOptions extends BootstrapAccountConfig {
  /**
   * Longest wait for the Bootstrap-Server's next request (or Finish) during
   * a session, in ms; then the bootstrap has failed and is tried again
   * (default EXCHANGE_LIFETIME, 247 s with the RFC 7252 parameters).
   */
  sessionTimeoutMs?: number;
  /** LwM2M 1.2: ask for a Bootstrap-Pack first (default true). */
  pack?: boolean;
  /**
   * Failed registrations per server before falling back to bootstrap when
   * every server fails (default: /1/x/17 Communication Retry Count, else 5).
   * /1/x/16 (Bootstrap on Registration Failure) = false keeps a server out of it.
   */
  registrationAttempts?: number;
  /** Back-off between bootstrap attempts (default: the client's `retry`). */
  retry?: Partial<RetryPolicy>;
}

export interface Lwm2mClientOptions {
  /** Endpoint client name (`ep=`). */
  endpoint: string;
  /** LwM2M version to register with (default "1.1"); falls back on 4.12. */
  lwm2mVersion?: Lwm2mVersion;
  /** LwM2M Server accounts (factory bootstrap); may be left out when `bootstrap` is given. */
  servers?: readonly ServerConfig[];
  /** The Bootstrap-Server account (client-initiated bootstrap). */
  bootstrap?: ClientBootstrapOptions;
  /**
   * Keeps what a Bootstrap-Server provisioned (/0, /1, /2 and the instances
   * it created) so that a restarted client registers at once: `{ file }`
   * (written atomically, mode 0600: it holds credentials) or a load/save pair.
   */
  persistence?: { file: string } | ProvisioningStore;
  /** Local address (default "0.0.0.0", or "::" when a server has an IPv6 address). */
  bindAddress?: string;
  /** Local port (default: ephemeral). */
  port?: number;
  /** Object definitions (default: the built-in OMNA registry); clone it and load DDF files for custom objects. */
  registry?: ObjectRegistry;
  /** Object versions implemented, by object id (default: those of the LwM2M version). */
  objectVersions?: Readonly<Record<number, string>>;
  /**
   * Objects and instances to expose, with plain resource values:
   * `{ 3303: { 0: { 5700: 21.5 } }, 3306: {} }` (an empty map: the object without instances).
   */
  objects?: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>;
  /** /3/0 in friendly words. */
  device?: DeviceInfo;
  /** Enables the Firmware Update object (/5/0). */
  firmware?: FirmwareOptions;
  /** CoAP transmission parameters (ACK_TIMEOUT, ...). */
  transmission?: Partial<TransmissionParameters>;
  /** Deadline of each request the client sends (ms, default 5000). */
  requestTimeoutMs?: number;
  /** Back-off between registration attempts. */
  retry?: Partial<RetryPolicy>;
  /** Queue mode: how long the device stays awake after its last exchange (ms; default MAX_TRANSMIT_WAIT, 93 s). */
  awakeTimeMs?: number;
  /** Content format of Read answers without Accept for 1.1+ (default SenML CBOR). */
  preferredFormat?: number;
  /** Notifications kept per observation while asleep or offline (default 100; the hqmax attribute lowers it). */
  maxStoredNotifications?: number;
  clock?: Clock;
  logger?: Logger;
}

export interface ServerEventInfo {
  readonly shortServerId: number;
  readonly path: string;
}

export interface Lwm2mClientEvents {
  registered: [info: RegistrationInfo];
  updated: [info: RegistrationInfo];
  deregistered: [info: RegistrationInfo];
  registrationFailed: [failure: RegistrationFailure];
  versionFallback: [info: { shortServerId: number; from: Lwm2mVersion; to: Lwm2mVersion }];
  /** A server asked for a Bootstrap-Request (Execute /1/x/9). */
  bootstrapRequired: [info: { shortServerId: number; reason: string }];
  /** A client-initiated bootstrap starts (after the hold-off). */
  bootstrapStarted: BootstrapEvents['bootstrapStarted'];
  /** The Bootstrap-Server's configuration was accepted; registering to its servers follows. */
  bootstrapFinished: BootstrapEvents['bootstrapFinished'];
  /** A bootstrap attempt failed (no answer, refused, no Finish in time); another follows after `retryInMs`. */
  bootstrapFailed: BootstrapEvents['bootstrapFailed'];
  /** The client refused a request of the Bootstrap-Server (which ends that server's session). */
  bootstrapRefused: BootstrapEvents['bootstrapRefused'];
  write: [e: ServerEventInfo & { mode: 'replace' | 'update' | 'composite'; value: PlainTree }];
  execute: [e: ServerEventInfo & { args: ExecuteArgument[] }];
  create: [e: ServerEventInfo];
  delete: [e: ServerEventInfo];
  attributes: [e: ServerEventInfo];
  observeStart: [e: { shortServerId: number; paths: string[]; composite: boolean; format: number }];
  observeStop: [e: { shortServerId: number; paths: string[]; reason: string }];
  sleeping: [];
  awake: [];
  firmware: [status: FirmwareStatus];
  /** Something failed that no caller waits for (a notification that could not be built, ...). */
  warning: [info: { message: string; error?: unknown }];
}


export interface SendOptions {
  /** SenML CBOR (default), SenML JSON, or LwM2M CBOR (1.2). */
  format?: number;
  /** Only this server (default: every registered 1.1+ server that has not muted Send). */
  shortServerId?: number;
  timeoutMs?: number;
}


function toPath(path: string | Lwm2mPath): Lwm2mPath {
  return typeof path === 'string' ? parsePath(path) : path;
}

export class Lwm2mClient extends EventEmitter<Lwm2mClientEvents> {
  readonly tree: ObjectTree;
  readonly attributes = new AttributeStore();
  readonly observations: ObservationManager;
  readonly firmware: FirmwareUpdate | undefined;
  readonly clock: Clock;
  readonly endpointName: string;
  readonly lwm2mVersion: Lwm2mVersion;
  private readonly options: Lwm2mClientOptions;
  private readonly logger: Logger;
  private readonly retry: RetryPolicy;
  private readonly queueModes = new Map<number, boolean>();
  private readonly smsNumbers = new Map<number, string>();
  private readonly sessions = new Map<number, ServerSession>();
  private readonly outbox: NotificationOutbox;
  private readonly provisioning: ProvisioningStore | undefined;
  private bootstrapEngine: BootstrapEngine | null = null;
  private endpointValue: CoapEndpoint | null = null;
  private radio: Radio | null = null;
  private sleepTimer: ClockTimer | null = null;
  private asleep = false;
  private started = false;
  private stopping: Promise<void> | null = null;

  constructor(options: Lwm2mClientOptions) {
    super();
    if (typeof options.endpoint !== 'string' || options.endpoint === '') throw new Lwm2mError(CoapCode.BadRequest, 'the client needs an endpoint name');
    const version = options.lwm2mVersion ?? '1.1';
    if (!isLwm2mVersion(version)) throw new Lwm2mError(CoapCode.BadRequest, `unsupported LwM2M version ${String(version)}`);
    const servers = options.servers ?? [];
    if (!Array.isArray(servers)) throw new Lwm2mError(CoapCode.BadRequest, 'servers must be a list');
    if (servers.length === 0 && !options.bootstrap) throw new Lwm2mError(CoapCode.BadRequest, 'the client needs at least one server or a bootstrap server');
    this.options = options;
    this.endpointName = options.endpoint;
    this.lwm2mVersion = version;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.outbox = new NotificationOutbox(options.maxStoredNotifications ?? 100);
    this.tree = new ObjectTree({ registry: options.registry ?? builtinRegistry(), lwm2mVersion: version, ...(options.objectVersions ? { objectVersions: options.objectVersions } : {}) });

    installServerAccounts(this.tree, servers, version);
    // The Bootstrap-Server account takes the /0 instance after the server accounts.
    if (options.bootstrap) installBootstrapAccount(this.tree, options.bootstrap, servers.length);
    servers.forEach((cfg, index) => {
      const ssid = cfg.shortServerId ?? index + 1;
      this.queueModes.set(ssid, cfg.queueMode === true);
      if (cfg.sms !== undefined) this.smsNumbers.set(ssid, cfg.sms);
    });
    const queue = servers.some((s) => s.queueMode === true);
    const persistence = options.persistence;
    this.provisioning = persistence === undefined ? undefined : 'file' in persistence ? fileProvisioningStore(persistence.file) : persistence;
    const objects = options.objects ?? {};
    const deviceExtra = objects[DEVICE]?.[0] ?? {};
    this.tree.addInstance(DEVICE, 0, { ...deviceValues(options.device ?? {}, options.endpoint, version, queue), ...deviceExtra });
    for (const [oid, instances] of Object.entries(objects)) {
      const objectId = Number(oid);
      if (objectId === DEVICE && Object.keys(instances).every((k) => k === '0')) continue;
      this.tree.addObject(objectId);
      for (const [iid, values] of Object.entries(instances)) this.tree.addInstance(objectId, Number(iid), values);
    }
    if (options.firmware) {
      this.firmware = new FirmwareUpdate(this.tree, () => this.endpoint, this.clock, options.firmware);
      this.firmware.install();
      this.firmware.on('status', (s) => this.emit('firmware', s));
      this.firmware.on('updated', () => {
        // A device that installed new firmware registers again, announcing its new state.
        for (const session of this.sessions.values()) {
          if (session.registered) session.reregister().catch((err: unknown) => this.warn('registration after the firmware update failed', err));
        }
      });
    }
    installAccessControl(this.tree, servers.map((s, i) => s.shortServerId ?? i + 1));

    this.observations = new ObservationManager({
      clock: this.clock,
      tree: this.tree,
      attributes: this.attributes,
      preferredFormat: options.preferredFormat,
      serverInfo: (ssid) => {
        const session = this.sessions.get(ssid);
        const account = this.account(ssid);
        if (!session || !account) return undefined;
        return { version: session.version, defaults: this.defaultsOf(account) };
      },
      deliver: (obs, notification) => this.deliver(obs, notification),
      ended: (obs, reason) => this.emit('observeStop', { shortServerId: obs.shortServerId, paths: obs.paths.map(formatPath), reason }),
      warn: (message, error) => this.warn(message, error),
    });
    this.tree.on('instances', (event) => {
      if (event.objectId === 0) return;
      for (const session of this.sessions.values()) session.requestUpdate({ links: true });
    });
    this.tree.on('change', (path) => this.onTreeChange(path));
  }

  // ------------------------------------------------------------ lifecycle

  /** The CoAP endpoint (after start). */
  get endpoint(): CoapEndpoint {
    if (!this.endpointValue) throw new Lwm2mError(CoapCode.ServiceUnavailable, 'the client is not started');
    return this.endpointValue;
  }

  /** True while the device sleeps (queue mode). */
  get sleeping(): boolean {
    return this.asleep;
  }

  /** Binds the socket and starts registering to every server. */
  async start(): Promise<void> {
    if (this.started) return;
    if (this.stopping) throw new Lwm2mError(CoapCode.ServiceUnavailable, 'a stopped client cannot start again: create a new one');
    this.started = true;
    try {
      await this.open();
    } catch (err) {
      this.started = false;
      throw err;
    }
  }

  private async open(): Promise<void> {
    // What a Bootstrap-Server provisioned before a restart replaces the configured accounts.
    if (this.provisioning) await this.restoreProvisioned(this.provisioning);
    const uris = [...readServerAccounts(this.tree).map((a) => a.uri), readBootstrapAccount(this.tree)?.uri ?? ''];
    const needsV6 = uris.some((uri) => {
      try {
        return new URL(uri).hostname.startsWith('[');
      } catch {
        return false;
      }
    });
    const transport = await UdpTransport.bind({
      address: this.options.bindAddress ?? (needsV6 ? '::' : '0.0.0.0'),
      port: this.options.port ?? 0,
      logger: this.logger,
    });
    this.radio = new Radio(transport);
    const maxBody = Math.max(8 * 1024 * 1024, (this.options.firmware?.maxSize ?? 0) + 1024);
    this.endpointValue = new CoapEndpoint({
      transport: this.radio,
      logger: this.logger,
      maxBodySize: maxBody,
      ...(this.options.transmission ? { parameters: this.options.transmission } : {}),
      ...(this.options.requestTimeoutMs !== undefined ? { requestTimeoutMs: this.options.requestTimeoutMs } : {}),
    });
    const dm = new DmHandler({
      tree: this.tree,
      attributes: this.attributes,
      observations: this.observations,
      preferredFormat: this.options.preferredFormat,
      serverFor: (req) => this.serverFor(req),
      events: {
        write: (e) => this.afterWrite(e.shortServerId, e.path, e.mode, e.value),
        execute: (e) => this.afterExecute(e.shortServerId, e.path, e.args),
        create: (e) => this.emit('create', { shortServerId: e.shortServerId, path: formatPath(e.path) }),
        delete: (e) => this.emit('delete', { shortServerId: e.shortServerId, path: formatPath(e.path) }),
        observeStart: (e) => this.emit('observeStart', { shortServerId: e.shortServerId, paths: e.paths.map(formatPath), composite: e.composite, format: e.format }),
        attributes: (e) => this.emit('attributes', { shortServerId: e.shortServerId, path: formatPath(e.path) }),
      },
    });
    const bootstrap = this.createBootstrapEngine(this.endpointValue);
    this.endpointValue.onRequest(async (req) => {
      try {
        // The Bootstrap-Server is told apart from LwM2M Servers by where its requests come from.
        if (bootstrap.accepts(req.peer)) return await bootstrap.handle(req);
        return await dm.handle(req);
      } finally {
        this.activity();
      }
    });
    const accounts = readServerAccounts(this.tree);
    if (accounts.length > 0) {
      for (const account of accounts) this.openSession(account);
    } else if (!bootstrap.start('start')) {
      this.warn('the client has neither a server account nor a Bootstrap-Server account: it stays unregistered');
    }
  }

  private createBootstrapEngine(endpoint: CoapEndpoint): BootstrapEngine {
    const cfg = this.options.bootstrap ?? ({} as Partial<ClientBootstrapOptions>);
    const engine = new BootstrapEngine({
      endpoint,
      clock: this.clock,
      tree: this.tree,
      endpointName: this.endpointName,
      version: this.lwm2mVersion,
      preferredFormat: this.lwm2mVersion === '1.0' ? undefined : this.options.preferredFormat ?? ContentFormat.SENML_CBOR,
      requestTimeoutMs: this.options.requestTimeoutMs,
      sessionTimeoutMs: cfg.sessionTimeoutMs ?? endpoint.params.exchangeLifetimeMs,
      usePack: cfg.pack !== false,
      retry: { ...this.retry, ...cfg.retry },
      isEngineInstance: (o, i) => o === DEVICE || (o === FIRMWARE_OBJECT && i === 0 && this.firmware !== undefined),
      finished: () => this.afterBootstrap(),
      warn: (message, error) => this.warn(message, error),
    });
    engine.on('bootstrapStarted', (e) => this.emit('bootstrapStarted', e));
    engine.on('bootstrapFinished', (e) => this.emit('bootstrapFinished', e));
    engine.on('bootstrapFailed', (e) => this.emit('bootstrapFailed', e));
    engine.on('bootstrapRefused', (e) => this.emit('bootstrapRefused', e));
    this.bootstrapEngine = engine;
    return engine;
  }

  private openSession(account: ServerAccount): ServerSession {
    const endpoint = this.endpoint;
    const session = new ServerSession(
      {
        endpoint,
        clock: this.clock,
        tree: this.tree,
        endpointName: this.endpointName,
        retry: this.retry,
        transmitWaitMs: endpoint.params.maxTransmitWaitMs,
        preferredFormat: this.lwm2mVersion === '1.0' ? undefined : this.options.preferredFormat ?? ContentFormat.SENML_CBOR,
        requestTimeoutMs: this.options.requestTimeoutMs,
        queueMode: (ssid) => this.queueModeOf(ssid),
        sms: (ssid) => this.smsNumbers.get(ssid),
        account: (ssid) => this.account(ssid),
        wake: () => this.wakeRadio(),
        activity: () => this.activity(),
      },
      account.shortServerId,
      this.lwm2mVersion,
    );
    this.sessions.set(account.shortServerId, session);
    session.on('registered', (info) => {
      // A new registration: what the server observed before is gone on its side.
      this.observations.endServer(info.shortServerId, (handle) => this.endpoint.endObservation(handle));
      this.emit('registered', info);
      void this.flushStored(info.shortServerId);
    });
    session.on('updated', (info) => {
      this.emit('updated', info);
      void this.flushStored(info.shortServerId);
    });
    session.on('deregistered', (info) => this.emit('deregistered', info));
    session.on('registrationFailed', (f) => {
      this.emit('registrationFailed', f);
      this.fallBackIfEveryServerFails();
    });
    session.on('versionFallback', (v) => this.emit('versionFallback', v));
    session.start();
    return session;
  }

  /** De-registers from every server and releases the socket and timers. */
  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.stopping) this.stopping = this.shutdown(options.timeoutMs ?? 2000);
    return this.stopping;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    this.bootstrapEngine?.stop();
    this.clock.clearTimeout(this.sleepTimer);
    this.sleepTimer = null;
    this.firmware?.close();
    if (this.radio) this.radio.switchOn();
    await Promise.all([...this.sessions.values()].map((s) => s.stop({ timeoutMs })));
    for (const obs of this.observations.list()) obs.stop();
    this.outbox.clear();
    if (this.endpointValue) await this.endpointValue.close();
  }

  /**
   * Re-reads the server accounts from /0 and /1 — after a Bootstrap-Server
   * (or the application, with origin 'bootstrap') rewrote them — stops the
   * sessions of accounts that are gone and registers to new ones.
   */
  async reloadAccounts(): Promise<void> {
    if (!this.endpointValue) throw new Lwm2mError(CoapCode.ServiceUnavailable, 'the client is not started');
    const accounts = readServerAccounts(this.tree);
    const current = new Set(accounts.map((a) => a.shortServerId));
    for (const ssid of [...this.sessions.keys()]) {
      if (!current.has(ssid)) await this.closeSession(ssid);
    }
    for (const account of accounts) if (!this.sessions.has(account.shortServerId)) this.openSession(account);
  }

  /** Ends a server's session (De-register when registered) and forgets what that server set up. */
  private async closeSession(ssid: number): Promise<void> {
    const session = this.sessions.get(ssid);
    if (!session) return;
    this.sessions.delete(ssid);
    this.observations.endServer(ssid, (handle) => this.endpoint.endObservation(handle));
    this.attributes.clearServer(ssid);
    this.outbox.drop(ssid);
    await session.stop();
  }

  // ------------------------------------------------------------ bootstrap

  /** Where the bootstrap engine is: 'idle' when no bootstrap runs. */
  get bootstrapState(): BootstrapState {
    return this.bootstrapEngine?.state ?? 'idle';
  }

  /**
   * Bootstraps again now: De-registers from every server, then runs a
   * client-initiated bootstrap (after the hold-off). Resolves once it has
   * started; follow the bootstrap* events. 4.04 without a Bootstrap-Server
   * account.
   */
  async bootstrap(): Promise<void> {
    if (!this.endpointValue) throw new Lwm2mError(CoapCode.ServiceUnavailable, 'the client is not started');
    if (!readBootstrapAccount(this.tree)) throw new Lwm2mError(CoapCode.NotFound, 'the client has no Bootstrap-Server account');
    await this.rebootstrap('application');
  }

  /** rebootstrap() for callers that do not wait (timers, events): failures become warnings. */
  private rebootstrapSoon(trigger: BootstrapTrigger): void {
    this.rebootstrap(trigger).catch((err: unknown) => this.warn('bootstrapping again failed', err));
  }

  private async rebootstrap(trigger: BootstrapTrigger): Promise<void> {
    const engine = this.bootstrapEngine;
    if (!engine || engine.active || this.stopping) return;
    for (const ssid of [...this.sessions.keys()]) await this.closeSession(ssid);
    if (this.stopping) return;
    // A queue-mode device may have been asleep: the Bootstrap-Server's requests must get through.
    this.wakeRadio();
    if (!engine.start(trigger)) this.warn('a bootstrap was asked for, but the client has no Bootstrap-Server account');
  }

  /**
   * Core TS bootstrap sequence: when no server can be registered to (each
   * failed its retry count, /1/x/17) and a Bootstrap-Server account exists,
   * the client bootstraps. A server with /1/x/16 = false opts out.
   */
  private fallBackIfEveryServerFails(): void {
    const engine = this.bootstrapEngine;
    if (!engine || engine.active || this.stopping || this.sessions.size === 0 || !readBootstrapAccount(this.tree)) return;
    for (const session of this.sessions.values()) {
      if (session.registered) return;
      const account = this.account(session.shortServerId);
      if (account && this.tree.storedValue([SERVER, account.serverInstance, ServerRes.bootstrapOnRegistrationFailure])?.value === false) return;
      if (session.failedAttempts < this.registrationAttempts(account)) return;
    }
    this.rebootstrapSoon('registration-failure');
  }

  private registrationAttempts(account: ServerAccount | undefined): number {
    const stored = account ? this.tree.storedValue([SERVER, account.serverInstance, ServerRes.communicationRetryCount])?.value : undefined;
    if (typeof stored === 'number' && Number.isInteger(stored) && stored > 0) return stored;
    return this.options.bootstrap?.registrationAttempts ?? DEFAULT_REGISTRATION_ATTEMPTS;
  }

  /** After an accepted Bootstrap-Finish (or pack): keep the configuration, register to its servers. */
  private async afterBootstrap(): Promise<void> {
    this.forgetConfiguredAccounts();
    if (this.provisioning) {
      try {
        await this.provisioning.save(await captureProvisioning(this.tree, this.endpointName, this.lwm2mVersion));
      } catch (err) {
        this.warn('the provisioned configuration could not be saved', err);
      }
    }
    if (this.stopping) return;
    await this.reloadAccounts();
  }

  private async restoreProvisioned(store: ProvisioningStore): Promise<void> {
    const state = await store.load();
    if (!state) return;
    if (state.endpoint !== this.endpointName) {
      this.warn(`the saved provisioning belongs to endpoint "${state.endpoint}", not "${this.endpointName}": ignored`);
      return;
    }
    await restoreProvisioning(this.tree, state);
    this.forgetConfiguredAccounts();
  }

  /**
   * Once /0 and /1 come from a Bootstrap-Server, the `servers` options no
   * longer describe the accounts: queue mode and SMS number then come from
   * the accounts themselves.
   */
  private forgetConfiguredAccounts(): void {
    this.queueModes.clear();
    this.smsNumbers.clear();
  }

  /** A registration session by Short Server ID. */
  session(shortServerId: number): ServerSession | undefined {
    return this.sessions.get(shortServerId);
  }

  /** Sends an Update to every registered server now (or to one). */
  async update(shortServerId?: number): Promise<void> {
    await this.ensureAwake();
    const targets = [...this.sessions.values()].filter((s) => s.registered && (shortServerId === undefined || s.shortServerId === shortServerId));
    await Promise.all(targets.map((s) => s.updateNow()));
  }

  // ------------------------------------------------------------ values and handlers

  setValue(path: string | Lwm2mPath, value: unknown): void {
    this.tree.setValue(toPath(path), value);
  }

  getValue(path: string | Lwm2mPath): Promise<PlainTree> {
    return this.tree.getValue(toPath(path));
  }

  /** Adds an object instance (the registration is updated). Returns its id. */
  addInstance(objectId: number, values: Readonly<Record<string, unknown>> = {}, instanceId?: number): number {
    return this.tree.addInstance(objectId, instanceId, values);
  }

  removeInstance(objectId: number, instanceId: number): boolean {
    this.attributes.removeBelow([objectId, instanceId]);
    return this.tree.removeInstance(objectId, instanceId);
  }

  onRead(path: string | Lwm2mPath, handler: ReadHandler): void {
    this.tree.setHandlers(toPath(path), { read: handler });
  }

  onWrite(path: string | Lwm2mPath, handler: WriteHandler): void {
    this.tree.setHandlers(toPath(path), { write: handler });
  }

  onExecute(path: string | Lwm2mPath, handler: ExecuteHandler): void {
    this.tree.setHandlers(toPath(path), { execute: handler });
  }

  /** Tells observers that a handler-backed value changed (values set with setValue notify by themselves). */
  changed(path: string | Lwm2mPath): void {
    this.observations.touch(toPath(path));
  }

  // ------------------------------------------------------------ Send

  /**
   * LwM2M Send (1.1+): `POST /dp` to every registered 1.1+ server (or
   * `options.shortServerId`). `data` is a list of paths (current values) or
   * `{ [path]: value | [{ value, time }] }` for batched, timestamped readings.
   */
  async send(data: readonly string[] | Readonly<Record<string, SendValue>>, options: SendOptions = {}): Promise<void> {
    const format = options.format ?? ContentFormat.SENML_CBOR;
    const entries = Array.isArray(data) ? await this.currentEntries(data as readonly string[]) : readingsToEntries(data as Readonly<Record<string, SendValue>>, this.tree.model);
    if (entries.length === 0) throw new Lwm2mError(CoapCode.BadRequest, 'nothing to send');
    const targets = [...this.sessions.values()].filter((s) => {
      if (!s.registered || s.version === '1.0') return false;
      if (options.shortServerId !== undefined) return s.shortServerId === options.shortServerId;
      return this.account(s.shortServerId)?.muteSend !== true;
    });
    if (targets.length === 0) throw new Lwm2mError(CoapCode.NotFound, 'no registered LwM2M 1.1+ server to send to');
    await this.ensureAwake();
    await Promise.all(
      targets.map(async (s) => {
        const payload = encodeComposite(entries, format, s.version, this.tree.model);
        const res = await this.endpoint.request(s.peer!, {
          method: 'POST',
          path: ['dp'],
          payload,
          contentFormat: format,
          ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        });
        this.activity();
        if (res.code !== CoapCode.Changed) throw new Lwm2mError(res.code, `server ${s.shortServerId} answered ${res.code} to Send`);
      }),
    );
  }

  private async currentEntries(paths: readonly string[]): Promise<PathNode[]> {
    const out: PathNode[] = [];
    for (const text of paths) {
      const path = parsePath(text);
      out.push({ path, node: await this.tree.read(path, { origin: 'local' }) });
    }
    return out;
  }

  // ------------------------------------------------------------ server side effects

  private account(ssid: number): ServerAccount | undefined {
    return readServerAccounts(this.tree).find((a) => a.shortServerId === ssid);
  }

  private defaultsOf(account: ServerAccount): { pmin?: number; pmax?: number; con?: 0 | 1 } {
    return {
      ...(account.defaultPmin !== undefined ? { pmin: account.defaultPmin } : {}),
      ...(account.defaultPmax !== undefined ? { pmax: account.defaultPmax } : {}),
      ...(account.defaultCon !== undefined ? { con: account.defaultCon } : {}),
    };
  }

  private serverFor(req: IncomingRequest): RequestServer | undefined {
    for (const session of this.sessions.values()) {
      if (session.owns(req.peer) && session.registered) return { shortServerId: session.shortServerId, version: session.version };
    }
    return undefined;
  }

  private sessionOfServerInstance(iid: number): ServerSession | undefined {
    const account = readServerAccounts(this.tree).find((a) => a.serverInstance === iid);
    return account ? this.sessions.get(account.shortServerId) : undefined;
  }

  private onTreeChange(path: Lwm2mPath): void {
    if (path[0] !== SERVER || path.length < 3) return;
    const rid = path[2];
    const session = this.sessionOfServerInstance(path[1] as number);
    if (!session) return;
    if (rid === ServerRes.lifetime || rid === ServerRes.binding) session.requestUpdate();
    if (rid === ServerRes.defaultPmin || rid === ServerRes.defaultPmax || rid === ServerRes.defaultNotificationMode) {
      this.observations.refreshAttributes(session.shortServerId);
    }
  }

  private afterWrite(ssid: number, path: Lwm2mPath, mode: 'replace' | 'update' | 'composite', value: PlainTree): void {
    this.emit('write', { shortServerId: ssid, path: formatPath(path), mode, value });
  }

  private afterExecute(ssid: number, path: Lwm2mPath, args: ExecuteArgument[]): void {
    this.emit('execute', { shortServerId: ssid, path: formatPath(path), args });
    if (path[0] !== SERVER) return;
    const session = this.sessionOfServerInstance(path[1] as number);
    if (!session) return;
    switch (path[2]) {
      case ServerRes.updateTrigger:
        session.requestUpdate();
        break;
      case ServerRes.disable: {
        const timeout = this.account(session.shortServerId)?.disableTimeout ?? 86400;
        // After the response: De-register, stay away for the Disable Timeout, register again.
        setImmediate(() => void session.stop({ disableForMs: timeout * 1000 }));
        break;
      }
      case ServerRes.bootstrapTrigger:
        this.emit('bootstrapRequired', { shortServerId: ssid, reason: 'Bootstrap-Request Trigger executed' });
        // After the 2.04: De-register everywhere, then bootstrap (server-initiated bootstrap, 1.1+).
        setImmediate(() => this.rebootstrapSoon('server'));
        break;
    }
  }

  // ------------------------------------------------------------ queue mode and notification delivery

  /**
   * Queue mode of an account (1.1+: the Q parameter): as configured, or for
   * an account a Bootstrap-Server provisioned, a "Q" in its binding.
   */
  private queueModeOf(ssid: number): boolean {
    return this.queueModes.get(ssid) ?? this.account(ssid)?.binding.includes('Q') === true;
  }

  /** True when every server account is in queue mode (only then may the radio sleep). */
  private get queueMode(): boolean {
    if (this.sessions.size === 0) return false;
    for (const session of this.sessions.values()) {
      const account = this.account(session.shortServerId);
      const queue = session.version === '1.0' ? account?.binding.includes('Q') === true : this.queueModeOf(session.shortServerId);
      if (!queue) return false;
    }
    return true;
  }

  /** An exchange completed: in queue mode, the awake window starts again. */
  private activity(): void {
    if (!this.queueMode || this.stopping) return;
    this.clock.clearTimeout(this.sleepTimer);
    const awakeMs = this.options.awakeTimeMs ?? this.endpointValue?.params.maxTransmitWaitMs ?? 93_000;
    this.sleepTimer = this.clock.setTimeout(() => {
      this.sleepTimer = null;
      this.sleep();
    }, awakeMs);
  }

  private sleep(): void {
    // Sleeping is for queue-mode registrations; never while bootstrapping (no session is left then).
    if (this.asleep || !this.radio || this.stopping || !this.queueMode) return;
    this.asleep = true;
    this.radio.switchOff();
    this.emit('sleeping');
  }

  /** Radio on (a session is about to send). */
  private wakeRadio(): void {
    if (!this.asleep || !this.radio) return;
    this.asleep = false;
    this.radio.switchOn();
    this.emit('awake');
    this.activity();
  }

  /**
   * Wakes the device up (queue mode): radio on, then an Update to every
   * registered server, which tells them the device listens again; stored
   * notifications follow each Update.
   */
  async wake(): Promise<void> {
    await this.ensureAwake();
  }

  private async ensureAwake(): Promise<void> {
    if (!this.asleep) return;
    this.wakeRadio();
    await Promise.all([...this.sessions.values()].filter((s) => s.registered).map((s) => s.updateNow()));
  }

  private async deliver(obs: Observation, notification: OutgoingNotification): Promise<void> {
    const session = this.sessions.get(obs.shortServerId);
    const online = session !== undefined && session.registered && !this.asleep;
    if (!online) {
      if (this.account(obs.shortServerId)?.notificationStoring === true) this.outbox.store(obs, notification);
      return;
    }
    await this.endpoint.notify(obs.handle, notification);
    this.activity();
  }

  /** Notifications kept while asleep or offline, waiting for the next Update (by server). */
  storedNotifications(shortServerId: number): number {
    return this.outbox.count(shortServerId);
  }

  private async flushStored(ssid: number): Promise<void> {
    const list = this.outbox.take(ssid);
    if (list.length === 0) return;
    try {
      for (const { observation, notification } of list) await this.endpoint.notify(observation.handle, notification);
    } catch (err) {
      this.warn(`stored notifications for server ${ssid} could not be sent`, err);
    }
    this.activity();
  }

  private warn(message: string, error?: unknown): void {
    this.logger('warn', message, error);
    this.emit('warning', error === undefined ? { message } : { message, error });
  }
}
