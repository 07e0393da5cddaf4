/**
 * Where bootstrap configurations live: one per endpoint name plus an
 * optional default template for endpoints without their own. Changes made
 * at run time are saved to a JSON file (atomically) when a file is given,
 * so provisioning survives restarts.
 */
import { EventEmitter } from 'node:events';
import { cloneConfig, substituteEndpoint, validateConfig, type BootstrapConfig } from './config.js';
import { readFileIfExists, writeFileAtomic } from '../util/atomic-file.js';

interface StoreFile {
  version: 1;
  default?: BootstrapConfig;
  endpoints: Record<string, BootstrapConfig>;
}

export interface BootstrapConfigStoreEvents {
  changed: [endpoint: string | null];
  warning: [message: string, error?: unknown];
}

export class BootstrapConfigStore extends EventEmitter<BootstrapConfigStoreEvents> {
  private readonly configs = new Map<string, BootstrapConfig>();
  private template: BootstrapConfig | undefined;
  private saving: Promise<void> = Promise.resolve();

  private constructor(private readonly file: string | undefined) {
    super();
  }

  /** A store kept in memory only. */
  static inMemory(): BootstrapConfigStore {
    return new BootstrapConfigStore(undefined);
  }

  /**
   * A store backed by `file` (created on first change). A file that does
   * not parse is an error: provisioning data is not thrown away silently.
   */
  static async open(file: string): Promise<BootstrapConfigStore> {
    const store = new BootstrapConfigStore(file);
    const text = await readFileIfExists(file);
    if (text !== undefined) {
      let data: StoreFile;
      try {
        data = JSON.parse(text) as StoreFile;
      } catch (err) {
        throw new Error(`bootstrap configuration file ${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
      }
      if (data.default) store.template = validateConfig(data.default, `${file}: default configuration`);
      for (const [endpoint, config] of Object.entries(data.endpoints ?? {})) {
        store.configs.set(endpoint, validateConfig(config, `${file}: configuration of ${endpoint}`));
      }
    }
    return store;
  }

  /** The configuration for an endpoint: its own, else the template with the name substituted. */
  resolve(endpoint: string): BootstrapConfig | undefined {
    const own = this.configs.get(endpoint);
    if (own) return substituteEndpoint(own, endpoint);
    return this.template ? substituteEndpoint(this.template, endpoint) : undefined;
  }

  get(endpoint: string): BootstrapConfig | undefined {
    const c = this.configs.get(endpoint);
    return c && cloneConfig(c);
  }

  getDefault(): BootstrapConfig | undefined {
    return this.template && cloneConfig(this.template);
  }

  endpoints(): string[] {
    return [...this.configs.keys()].sort();
  }

  /** Adds or replaces an endpoint's configuration (validated: 4.00 when malformed). */
  set(endpoint: string, config: unknown): Promise<void> {
    if (typeof endpoint !== 'string' || endpoint === '') throw new TypeError('an endpoint name is needed');
    this.configs.set(endpoint, cloneConfig(validateConfig(config, `configuration of ${endpoint}`)));
    return this.changed(endpoint);
  }

  setDefault(config: unknown | undefined): Promise<void> {
    this.template = config === undefined ? undefined : cloneConfig(validateConfig(config, 'default configuration'));
    return this.changed(null);
  }

  remove(endpoint: string): Promise<boolean> {
    const had = this.configs.delete(endpoint);
    return had ? this.changed(endpoint).then(() => true) : Promise.resolve(false);
  }

  /** Resolves when every change so far is on disk. */
  flush(): Promise<void> {
    return this.saving;
  }

  private changed(endpoint: string | null): Promise<void> {
    this.emit('changed', endpoint);
    if (!this.file) return Promise.resolve();
    const file = this.file;
    const snapshot: StoreFile = { version: 1, endpoints: Object.fromEntries(this.configs) };
    if (this.template) snapshot.default = this.template;
    const text = JSON.stringify(snapshot, null, 2);
    this.saving = this.saving.then(() => writeFileAtomic(file, text)).catch((err: Error) => {
      this.emit('warning', `could not save bootstrap configurations to ${file}: ${err.message}`, err);
    });
    return this.saving;
  }
}
