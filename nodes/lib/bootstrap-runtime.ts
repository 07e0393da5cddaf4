/**
 * One running Bootstrap-Server per `lwm2m-bootstrap-server` config node:
 * opens the configuration store (a JSON file under the user directory, or
 * memory), applies the editor's default template, binds the socket, and
 * hands the engine to the `lwm2m-bootstrap` flow nodes.
 *
 * Flow nodes subscribe to `events` as soon as they are constructed; calls
 * that need the engine wait for `ready()`. Knows nothing about Node-RED.
 */
import { EventEmitter } from 'node:events';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Lwm2mBootstrapServer, type BootstrapServerEvents } from '../../src/bootstrap/bootstrap-server.js';
import { BootstrapConfigStore } from '../../src/bootstrap/config-store.js';
import { CoapCode, Lwm2mError } from '../../src/errors.js';
import type { BootstrapSettings } from './bootstrap-settings.js';
import { describeStartError, formatHostPort, type RuntimeEnvironment, type RuntimeState } from './server-runtime.js';

/** Session events of the engine, forwarded to flow nodes. */
const FORWARDED = ['sessionStarted', 'sessionFinished', 'sessionFailed'] as const satisfies readonly (keyof BootstrapServerEvents)[];

export class BootstrapRuntime {
  /** The engine's session events; subscribe at any time. */
  readonly events = new EventEmitter<BootstrapServerEvents>();

  private current: RuntimeState = { status: 'starting' };
  private readonly stateListeners = new Set<(state: RuntimeState) => void>();
  private engine: Lwm2mBootstrapServer | undefined;
  private store: BootstrapConfigStore | undefined;
  private starting: Promise<void> | undefined;
  private isStopping = false;

  constructor(
    readonly settings: BootstrapSettings,
    private readonly env: RuntimeEnvironment,
  ) {
    this.events.setMaxListeners(0);
  }

  /** A runtime that never starts (the config node's settings are unusable). */
  static failed(message: string, env: RuntimeEnvironment, settings: BootstrapSettings): BootstrapRuntime {
    const runtime = new BootstrapRuntime(settings, env);
    runtime.setState({ status: 'failed', message });
    runtime.starting = Promise.resolve();
    return runtime;
  }

  get state(): RuntimeState {
    return this.current;
  }

  /** The engine while it listens. */
  get server(): Lwm2mBootstrapServer | undefined {
    return this.current.status === 'listening' ? this.engine : undefined;
  }

  /** The configuration file, when persistence is on and a user directory is known. */
  get storeFile(): string | undefined {
    if (!this.settings.persist || !this.env.userDir) return undefined;
    const safeId = this.env.id.replace(/[^A-Za-z0-9_-]/g, '_');
    return join(this.env.userDir, 'lwm2m', `bootstrap-${safeId}.json`);
  }

  /** Calls `listener` now and on every state change; returns the unsubscribe function. */
  onState(listener: (state: RuntimeState) => void): () => void {
    this.stateListeners.add(listener);
    listener(this.current);
    return () => this.stateListeners.delete(listener);
  }

  /** Opens the store, then binds the socket. Never rejects: failures become the 'failed' state. */
  start(): Promise<void> {
    this.starting ??= this.open().catch((err: unknown) => {
      const message = describeStartError(err, this.settings);
      this.setState({ status: 'failed', message });
      this.env.log('error', `LwM2M bootstrap server not started: ${message}`);
    });
    return this.starting;
  }

  /** The engine, once it listens; rejects with 5.03 when it failed to start or was stopped. */
  async ready(): Promise<Lwm2mBootstrapServer> {
    await this.start();
    const state = this.current;
    if (state.status === 'listening' && this.engine) return this.engine;
    const why = state.status === 'failed' ? state.message : 'it is stopped';
    throw new Lwm2mError(CoapCode.ServiceUnavailable, `the LwM2M bootstrap server is not listening: ${why}`);
  }

  /** Stops the engine (saving the configurations). `forget`: the node was deleted, its file goes too. */
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
      await this.store?.flush();
    } finally {
      this.setState({ status: 'stopped' });
      this.stateListeners.clear();
    }
    const file = this.storeFile;
    if (forget && file) await unlink(file).catch(() => undefined);
  }

  private async open(): Promise<void> {
    const { settings, env } = this;
    const file = this.storeFile;
    if (settings.persist && !file) env.log('warn', 'persistence is on but Node-RED has no user directory: bootstrap configurations are kept in memory only');
    const store = file ? await BootstrapConfigStore.open(file) : BootstrapConfigStore.inMemory();
    store.on('warning', (message) => env.log('warn', message));
    this.store = store;
    // the deployed template is the default; without one, a default set from a flow stays
    if (settings.template && JSON.stringify(store.getDefault()) !== JSON.stringify(settings.template)) {
      await store.setDefault(settings.template);
    }
    if (this.isStopping) return;
    const engine = new Lwm2mBootstrapServer({
      address: settings.address,
      port: settings.port,
      configs: store,
      requestTimeoutMs: settings.requestTimeoutMs,
      sessionTimeoutMs: settings.sessionTimeoutMs,
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
    const kept = file ? ` (configurations kept in ${file})` : '';
    env.log('info', `LwM2M bootstrap server listening on ${formatHostPort(address, port)}${kept}`);
  }

  private setState(state: RuntimeState): void {
    this.current = state;
    for (const listener of this.stateListeners) listener(state);
  }
}
