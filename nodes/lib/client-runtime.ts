/**
 * One simulated LwM2M device per `lwm2m-client` config node: creates the
 * client engine, starts it when a flow node first uses it, follows its
 * connection state, and handles De-register / Register from flows.
 *
 * The engine cannot start again once stopped, so a De-register stops it
 * (the server is told, the socket is released) and a later Register starts
 * a new one with the values the device had: a device that disconnects
 * does not forget its readings.
 *
 * Flow nodes subscribe to `events` (the engine's events, forwarded) at any
 * time; the subscription survives De-register / Register.
 *
 * Knows nothing about Node-RED, so the lifecycle is testable on its own.
 */
import { EventEmitter } from 'node:events';
import { readServerAccounts } from '../../src/client/accounts.js';
import { Lwm2mClient, type Lwm2mClientEvents } from '../../src/client/client.js';
import type { Lwm2mVersion } from '../../src/client/content.js';
import { CoapCode, Lwm2mError } from '../../src/errors.js';
import { formatPath } from '../../src/model/path.js';
import { clientOptions, type ClientSettings, type ObjectValues } from './client-settings.js';
import { describeStartError } from './server-runtime.js';

export type ClientState =
  /** Configured, but no flow node uses it yet. */
  | { readonly status: 'idle' }
  | { readonly status: 'starting' }
  | { readonly status: 'registering'; readonly server: string }
  | { readonly status: 'registered'; readonly server: string; readonly version: Lwm2mVersion; readonly location: string }
  /** Register or Update failed; the engine tries again after `retryInMs`. */
  | { readonly status: 'retrying'; readonly server: string; readonly code: string; readonly reason: string; readonly retryInMs: number }
  /** Queue mode: the radio is off until the device has something to say. */
  | { readonly status: 'sleeping'; readonly server: string }
  /** De-registered on request (a flow, or the server's Disable); Register starts it again. */
  | { readonly status: 'deregistered' }
  /** The settings are unusable or the socket could not be bound. */
  | { readonly status: 'failed'; readonly message: string }
  | { readonly status: 'stopped' };

export interface ClientEnvironment {
  /** Id of the config node (logs). */
  readonly id: string;
  readonly log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

/** Every event of the engine, forwarded to the flow nodes. */
const FORWARDED = [
  'registered',
  'updated',
  'deregistered',
  'registrationFailed',
  'versionFallback',
  'bootstrapRequired',
  'write',
  'execute',
  'create',
  'delete',
  'attributes',
  'observeStart',
  'observeStop',
  'sleeping',
  'awake',
  'firmware',
  'warning',
] as const satisfies readonly (keyof Lwm2mClientEvents)[];

/** Objects whose instances come from the server settings, not from the device's values. */
const ACCOUNT_OBJECTS = new Set([0, 1, 2]);

/** The CoAP code of an engine error ("5.04" for no answer); 5.00 for anything unexpected. */
export function errorCode(err: unknown): string {
  return err instanceof Lwm2mError ? err.code : CoapCode.InternalServerError;
}

export class ClientRuntime {
  /** The engine's events; subscribe at any time. */
  readonly events = new EventEmitter<Lwm2mClientEvents>();

  private current: ClientState = { status: 'idle' };
  private readonly stateListeners = new Set<(state: ClientState) => void>();
  private engine: Lwm2mClient | undefined;
  /**
   * The engine stopped by the last De-register: its object tree still holds
   * the device's values (flows may go on setting them), and the next start
   * begins with them.
   */
  private retired: Lwm2mClient | undefined;
  /** Start, Register, De-register and stop run one after the other. */
  private queue: Promise<void> = Promise.resolve();
  private started: Promise<void> | undefined;
  private closed = false;
  /** True while this runtime itself de-registers (the engine's 'deregistered' is then expected). */
  private leaving = false;

  constructor(
    /** Undefined when the settings were unusable (see `failed`). */
    readonly settings: ClientSettings | undefined,
    private readonly env: ClientEnvironment,
  ) {
    this.events.setMaxListeners(0);
  }

  /** A runtime that never starts (the config node's settings are unusable). */
  static failed(message: string, env: ClientEnvironment): ClientRuntime {
    const runtime = new ClientRuntime(undefined, env);
    runtime.setState({ status: 'failed', message });
    runtime.started = Promise.resolve();
    return runtime;
  }

  get state(): ClientState {
    return this.current;
  }

  /** The engine while it runs (registered or not). */
  get client(): Lwm2mClient | undefined {
    return this.engine;
  }

  /** Calls `listener` now and on every state change; returns the unsubscribe function. */
  onState(listener: (state: ClientState) => void): () => void {
    this.stateListeners.add(listener);
    listener(this.current);
    return () => this.stateListeners.delete(listener);
  }

  /** Starts the device once (the first flow node that uses it calls this). Never rejects. */
  start(): Promise<void> {
    if (!this.started) {
      // 'starting' at once, so the nodes that start the device never show 'not started'
      if (this.settings && !this.closed) this.setState({ status: 'starting' });
      this.started = this.serial(() => this.launch());
    }
    return this.started;
  }

  /** The running engine; rejects with 5.03 when the device is not running, saying why. */
  async ready(): Promise<Lwm2mClient> {
    await this.start();
    await this.queue;
    if (this.engine) return this.engine;
    throw new Lwm2mError(CoapCode.ServiceUnavailable, `the LwM2M client is not running: ${this.why()}`);
  }

  /**
   * The device's object tree, also while it is de-registered (values set
   * then are kept for the next Register); rejects with 5.03 when the device
   * never ran.
   */
  async device(): Promise<Lwm2mClient> {
    await this.start();
    await this.queue;
    const device = this.engine ?? this.retired;
    if (device) return device;
    throw new Lwm2mError(CoapCode.ServiceUnavailable, `the LwM2M client is not running: ${this.why()}`);
  }

  /**
   * Register now: a running device registers again from scratch with every
   * server; a de-registered (or failed) one starts again with the values it had.
   */
  async register(): Promise<void> {
    if (!this.started && !this.closed && this.settings) {
      // never started yet: the first start is the registration asked for
      await this.start();
      if (!this.engine) throw new Lwm2mError(CoapCode.ServiceUnavailable, `the LwM2M client did not start: ${this.why()}`);
      return;
    }
    return this.serial(async () => {
      if (this.closed) throw new Lwm2mError(CoapCode.ServiceUnavailable, 'the LwM2M client is stopped');
      if (!this.settings) throw new Lwm2mError(CoapCode.ServiceUnavailable, `the LwM2M client is not running: ${this.why()}`);
      const engine = this.engine;
      if (!engine) {
        await this.launch();
        if (!this.engine) throw new Lwm2mError(CoapCode.ServiceUnavailable, `the LwM2M client did not start: ${this.why()}`);
        return;
      }
      this.setState({ status: 'registering', server: this.settings.serverUri });
      const sessions = readServerAccounts(engine.tree).flatMap((a) => engine.session(a.shortServerId) ?? []);
      await Promise.all(sessions.map((s) => s.reregister()));
    });
  }

  /** De-registers from every server and releases the socket, keeping the device's values. Idempotent. */
  deregister(): Promise<void> {
    return this.serial(async () => {
      const engine = this.engine;
      if (!engine) return;
      await this.retire(engine);
      this.retired = engine;
      if (!this.closed) this.setState({ status: 'deregistered' });
    });
  }

  /** Close handler: de-registers, releases the socket, and forgets the listeners. */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.started ??= Promise.resolve();
    await this.serial(async () => {
      const engine = this.engine;
      if (engine) await this.retire(engine);
    }).catch((err: Error) => this.env.log('warn', `stopping the LwM2M client: ${err.message}`));
    this.setState({ status: 'stopped' });
    this.stateListeners.clear();
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Creates and starts an engine; failures become the 'failed' state. */
  private async launch(): Promise<void> {
    const settings = this.settings;
    if (!settings || this.closed) return;
    this.setState({ status: 'starting' });
    const kept = this.retired ? await currentValues(this.retired, this.env) : undefined;
    let engine: Lwm2mClient;
    try {
      engine = new Lwm2mClient(
        clientOptions(settings, {
          // the engine logs its warnings itself (and emits them as 'warning' events)
          logger: (level, message, error) => this.env.log(level, error instanceof Error ? `${message}: ${error.message}` : message),
          ...(kept ? { objects: kept } : {}),
        }),
      );
    } catch (err) {
      return this.fail(err instanceof Error ? err.message : String(err));
    }
    this.wire(engine);
    this.engine = engine;
    this.setState({ status: 'registering', server: settings.serverUri });
    try {
      await engine.start();
    } catch (err) {
      this.engine = undefined;
      engine.removeAllListeners();
      return this.fail(describeStartError(err, { address: '0.0.0.0', port: settings.port }));
    }
    this.retired = undefined;
    this.env.log('info', `LwM2M client "${settings.endpoint}" started, registering to ${settings.serverUri}`);
  }

  private fail(message: string): void {
    this.setState({ status: 'failed', message });
    this.env.log('error', `LwM2M client not started: ${message}`);
  }

  /** Stops an engine (De-register with a short deadline) and forgets it. */
  private async retire(engine: Lwm2mClient): Promise<void> {
    this.leaving = true;
    try {
      await engine.stop();
    } finally {
      this.leaving = false;
      engine.removeAllListeners();
      if (this.engine === engine) this.engine = undefined;
    }
  }

  /** Forwards the engine's events and follows its connection state. */
  private wire(engine: Lwm2mClient): void {
    for (const name of FORWARDED) {
      engine.on(name, (...args: unknown[]) => (this.events.emit as (e: string, ...a: unknown[]) => boolean)(name, ...args));
    }
    let lastRegistered: ClientState | undefined;
    const registered = (info: { uri: string; lwm2mVersion: Lwm2mVersion; location: readonly string[] }): void => {
      lastRegistered = { status: 'registered', server: info.uri, version: info.lwm2mVersion, location: `/${info.location.join('/')}` };
      this.setState(lastRegistered);
    };
    engine.on('registered', registered);
    engine.on('updated', registered);
    engine.on('deregistered', () => {
      // our own De-register sets its state when it is done; this one came from the server (Disable)
      if (!this.leaving) this.setState({ status: 'deregistered' });
    });
    engine.on('registrationFailed', (f) => {
      this.setState({ status: 'retrying', server: f.uri, code: errorCode(f.error), reason: f.error.message, retryInMs: f.retryInMs });
    });
    engine.on('sleeping', () => this.setState({ status: 'sleeping', server: this.settings?.serverUri ?? '' }));
    engine.on('awake', () => {
      if (lastRegistered) this.setState(lastRegistered);
    });
    engine.on('bootstrapRequired', (b) => this.env.log('warn', `server ${b.shortServerId} asked for a bootstrap (${b.reason}): not supported by this node yet`));
  }

  private why(): string {
    const state = this.current;
    if (state.status === 'failed') return state.message;
    if (state.status === 'deregistered') return 'it is de-registered (send it a "register" message)';
    return `it is ${state.status}`;
  }

  private setState(state: ClientState): void {
    this.current = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

/** The device's objects and values now (the account objects excepted), to start again with. */
async function currentValues(engine: Lwm2mClient, env: ClientEnvironment): Promise<ObjectValues> {
  const out: ObjectValues = {};
  for (const objectId of engine.tree.objectIds()) {
    if (ACCOUNT_OBJECTS.has(objectId)) continue;
    const instances: Record<string, Record<string, unknown>> = (out[objectId] = {});
    for (const instanceId of engine.tree.instanceIds(objectId)) {
      try {
        instances[instanceId] = (await engine.getValue([objectId, instanceId])) as Record<string, unknown>;
      } catch (err) {
        env.log('warn', `${formatPath([objectId, instanceId])} could not be kept across the De-register: ${(err as Error).message}`);
      }
    }
  }
  return out;
}
