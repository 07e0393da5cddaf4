/**
 * One running LwM2M server engine per `lwm2m-server` config node: opens
 * the registration store and the object models, binds the socket, and
 * hands the engine to the flow nodes that use this config node.
 *
 * Flow nodes subscribe to `events` (the engine's events, forwarded) as soon
 * as they are constructed, before the engine has started: the store, the
 * model folder and the socket are opened asynchronously. Requests wait for
 * `ready()`.
 *
 * This module knows nothing about Node-RED, so the lifecycle (start, fail,
 * stop, stop-and-forget) is testable on its own.
 */
import { EventEmitter } from 'node:events';
import { unlink } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { CoapCode, Lwm2mError } from '../../src/errors.js';
import { builtinRegistry, type ObjectRegistry } from '../../src/model/registry.js';
import { FileRegistrationStore } from '../../src/server/file-store.js';
import { Lwm2mServer, type Lwm2mServerEvents } from '../../src/server/lwm2m-server.js';
import { MemoryRegistrationStore } from '../../src/server/memory-store.js';
import type { Registration } from '../../src/server/registration.js';
import type { RegistrationStore } from '../../src/server/registration-store.js';
import type { ServerSettings } from './server-settings.js';

export type RuntimeState =
  | { readonly status: 'starting' }
  | { readonly status: 'listening'; readonly address: string; readonly port: number }
  | { readonly status: 'failed'; readonly message: string }
  | { readonly status: 'stopped' };

export interface RuntimeEnvironment {
  /** Id of the config node: names the persistence file. */
  readonly id: string;
  /** Node-RED's user directory (persistence file, relative model folders). */
  readonly userDir?: string;
  readonly log: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

/** Events of the engine that are forwarded to flow nodes. */
const FORWARDED = [
  'registered',
  'updated',
  'deregistered',
  'expired',
  'awake',
  'sleeping',
  'notification',
  'observationEnded',
  'send',
] as const satisfies readonly (keyof Lwm2mServerEvents)[];

export class ServerRuntime {
  /** The engine's events; subscribe at any time, they flow once the engine runs. */
  readonly events = new EventEmitter<Lwm2mServerEvents>();
  /** Observation id → id of the flow node that owns it (emits its notifications). */
  readonly claims = new Map<string, string>();

  private current: RuntimeState = { status: 'starting' };
  private readonly stateListeners = new Set<(state: RuntimeState) => void>();
  private engine: Lwm2mServer | undefined;
  private store: RegistrationStore | undefined;
  private starting: Promise<void> | undefined;
  private isStopping = false;

  constructor(
    readonly settings: ServerSettings,
    private readonly env: RuntimeEnvironment,
  ) {
    // every flow node of this server listens here: no leak warnings for big flows
    this.events.setMaxListeners(0);
  }

  /** A runtime that never starts (the config node's settings are unusable). */
  static failed(message: string, env: RuntimeEnvironment, settings: ServerSettings): ServerRuntime {
    const runtime = new ServerRuntime(settings, env);
    runtime.setState({ status: 'failed', message });
    runtime.starting = Promise.resolve();
    return runtime;
  }

  get state(): RuntimeState {
    return this.current;
  }

  /** True once stop() was called: flow nodes closing at the same time leave the store alone. */
  get stopping(): boolean {
    return this.isStopping;
  }

  /** The engine while it listens. */
  get server(): Lwm2mServer | undefined {
    return this.current.status === 'listening' ? this.engine : undefined;
  }

  /** Object definitions in use (built-in plus the model folder), or the built-ins before start. */
  get registry(): ObjectRegistry {
    return this.engine?.registry ?? builtinRegistry();
  }

  /** The persistence file, when persistence is on and a user directory is known. */
  get storeFile(): string | undefined {
    if (!this.settings.persist || !this.env.userDir) return undefined;
    const safeId = this.env.id.replace(/[^A-Za-z0-9_-]/g, '_');
    return join(this.env.userDir, 'lwm2m', `server-${safeId}.jsonl`);
  }

  /** Calls `listener` now and on every state change; returns the unsubscribe function. */
  onState(listener: (state: RuntimeState) => void): () => void {
    this.stateListeners.add(listener);
    listener(this.current);
    return () => this.stateListeners.delete(listener);
  }

  /** Opens the store and the models, then binds the socket. Never rejects: failures become the 'failed' state. */
  start(): Promise<void> {
    this.starting ??= this.open().catch((err: unknown) => {
      this.setState({ status: 'failed', message: describeStartError(err, this.settings) });
      this.env.log('error', `LwM2M server not started: ${describeStartError(err, this.settings)}`);
    });
    return this.starting;
  }

  /** The engine, once it listens; rejects with 5.03 when it failed to start or was stopped. */
  async ready(): Promise<Lwm2mServer> {
    await this.start();
    const state = this.current;
    if (state.status === 'listening' && this.engine) return this.engine;
    const why = state.status === 'failed' ? state.message : 'it is stopped';
    throw new Lwm2mError(CoapCode.ServiceUnavailable, `the LwM2M server is not listening: ${why}`);
  }

  /**
   * Stops the engine and closes the store (waiting for a start in progress).
   * `forget`: the config node was deleted, so its persistence file goes too.
   */
  async stop(forget = false): Promise<void> {
    if (this.isStopping) return;
    this.isStopping = true;
    await this.start().catch(() => undefined);
    const engine = this.engine;
    this.engine = undefined;
    try {
      if (engine) {
        engine.removeAllListeners();
        await engine.stop();
      }
    } finally {
      await this.store?.close().catch((err: Error) => this.env.log('warn', `closing the registration store: ${err.message}`));
      this.setState({ status: 'stopped' });
      this.stateListeners.clear();
      this.claims.clear();
    }
    const file = this.storeFile;
    if (forget && file) await unlink(file).catch(() => undefined);
  }

  private async open(): Promise<void> {
    const { settings, env } = this;
    const registry = await this.loadModels();
    const file = this.storeFile;
    if (settings.persist && !file) env.log('warn', 'persistence is on but Node-RED has no user directory: registrations are kept in memory only');
    const store = file
      ? await FileRegistrationStore.open(file, {
          expiryGraceMs: settings.expiryGraceMs,
          onWarning: (message) => env.log('warn', message),
        })
      : new MemoryRegistrationStore();
    this.store = store;
    if (this.isStopping) return;
    const engine = new Lwm2mServer({
      address: settings.address,
      port: settings.port,
      store,
      registry,
      requestTimeoutMs: settings.requestTimeoutMs,
      expiryGraceMs: settings.expiryGraceMs,
      queueMode: { awakeTimeMs: settings.awakeTimeMs },
      logger: (level, message) => env.log(level, message),
    });
    for (const name of FORWARDED) {
      engine.on(name, (...args: unknown[]) => (this.events.emit as (e: string, ...a: unknown[]) => boolean)(name, ...args));
    }
    engine.on('warning', (message) => env.log('warn', message));
    this.engine = engine;
    await engine.start();
    const { address, port } = engine.address();
    this.setState({ status: 'listening', address, port });
    env.log('info', `LwM2M server listening on ${formatHostPort(address, port)}${file ? ` (registrations kept in ${file})` : ''}`);
    // registrations that ran out while Node-RED was down are reported like any other expiry
    const expiredWhileDown: readonly Registration[] = store instanceof FileRegistrationStore ? store.loadReport.expired : [];
    for (const reg of expiredWhileDown) this.events.emit('expired', reg);
  }

  private async loadModels(): Promise<ObjectRegistry> {
    const folder = this.settings.modelsFolder;
    if (!folder) return builtinRegistry();
    const dir = isAbsolute(folder) ? folder : resolve(this.env.userDir ?? process.cwd(), folder);
    const registry = builtinRegistry().clone();
    const contents = await registry.loadFolder(dir);
    this.env.log('info', `loaded ${contents.definitions.length} object definition(s) from ${dir}`);
    return registry;
  }

  private setState(state: RuntimeState): void {
    this.current = state;
    for (const listener of this.stateListeners) listener(state);
  }
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Socket errors in words a person can act on (any node that binds an address and a port). */
export function describeStartError(err: unknown, settings: { readonly address: string; readonly port: number }): string {
  const code = (err as { code?: unknown } | null)?.code;
  const where = `UDP ${formatHostPort(settings.address, settings.port)}`;
  if (code === 'EADDRINUSE') return `${where} is already in use`;
  if (code === 'EACCES') return `no permission to bind ${where}`;
  if (code === 'EADDRNOTAVAIL') return `${settings.address} is not an address of this machine`;
  return err instanceof Error ? err.message : String(err);
}
