/**
 * The settings of an `lwm2m-server` config node, read from what the editor
 * stored (strings and numbers as typed) and checked once, so that a typo in
 * the editor becomes one clear message instead of an engine failure later.
 */
import { addressField, flagField, numberField, SettingsError, textField } from './settings-fields.js';

export { SettingsError };

export interface ServerSettings {
  /** Bind address of the UDP socket. */
  readonly address: string;
  /** UDP port; 0 picks a free one. */
  readonly port: number;
  /** Time after a registration's lifetime before it expires (ms). */
  readonly expiryGraceMs: number;
  /** Deadline of each request to a device (ms). */
  readonly requestTimeoutMs: number;
  /** Keep registrations and observations in a file under the user directory. */
  readonly persist: boolean;
  /** Folder of extra DDF object definitions ('' = built-in definitions only). */
  readonly modelsFolder: string;
  /** How long a queue-mode device stays reachable after it last talked (ms). */
  readonly awakeTimeMs: number;
}

export const DEFAULT_SETTINGS: ServerSettings = Object.freeze({
  address: '0.0.0.0',
  port: 5683,
  expiryGraceMs: 10_000,
  requestTimeoutMs: 5_000,
  persist: true,
  modelsFolder: '',
  awakeTimeMs: 93_000,
});

/** Raw editor values: `{ address, port, grace, timeout, persist, models, awake }`. */
export function parseServerSettings(raw: Readonly<Record<string, unknown>>): ServerSettings {
  const address = addressField(raw['address'], DEFAULT_SETTINGS.address);
  const port = numberField(raw['port'], 'port', DEFAULT_SETTINGS.port, { integer: true, min: 0, max: 65535 });
  const grace = numberField(raw['grace'], 'lifetime grace', DEFAULT_SETTINGS.expiryGraceMs / 1000, { min: 0, max: 86_400 });
  const timeout = numberField(raw['timeout'], 'request timeout', DEFAULT_SETTINGS.requestTimeoutMs / 1000, { min: 0.01, max: 3_600 });
  const awake = numberField(raw['awake'], 'queue-mode awake time', DEFAULT_SETTINGS.awakeTimeMs / 1000, { min: 0.1, max: 86_400 });
  return {
    address,
    port,
    expiryGraceMs: Math.round(grace * 1000),
    requestTimeoutMs: Math.round(timeout * 1000),
    persist: flagField(raw['persist'], DEFAULT_SETTINGS.persist),
    modelsFolder: textField(raw['models']),
    awakeTimeMs: Math.round(awake * 1000),
  };
}
