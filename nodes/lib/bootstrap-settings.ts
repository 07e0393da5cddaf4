/**
 * The settings of an `lwm2m-bootstrap-server` config node, read from what
 * the editor stored and checked once (the default template included, so a
 * malformed template is reported at deploy, not at the first device).
 */
import { validateConfig, type BootstrapConfig } from '../../src/bootstrap/config.js';
import { Lwm2mError } from '../../src/errors.js';
import { addressField, flagField, jsonObjectField, numberField, SettingsError } from './settings-fields.js';

export interface BootstrapSettings {
  /** Bind address of the UDP socket. */
  readonly address: string;
  /** UDP port (5783 is customary); 0 picks a free one. */
  readonly port: number;
  /** Keep the configurations in a file under the user directory. */
  readonly persist: boolean;
  /**
   * The default configuration for endpoints without their own ("{endpoint}"
   * is replaced by the device's name). Undefined: the stored default, if any, stays.
   */
  readonly template?: BootstrapConfig;
  /** Deadline of each request to a device (ms). */
  readonly requestTimeoutMs: number;
  /** Deadline of a whole bootstrap session (ms). */
  readonly sessionTimeoutMs: number;
}

export const DEFAULT_BOOTSTRAP_SETTINGS = Object.freeze({
  address: '0.0.0.0',
  port: 5783,
  persist: true,
  requestTimeoutMs: 5_000,
  sessionTimeoutMs: 60_000,
});

/** Raw editor values: `{ address, port, persist, template, timeout, sessionTimeout }`. */
export function parseBootstrapSettings(raw: Readonly<Record<string, unknown>>): BootstrapSettings {
  const d = DEFAULT_BOOTSTRAP_SETTINGS;
  const address = addressField(raw['address'], d.address);
  const port = numberField(raw['port'], 'port', d.port, { integer: true, min: 0, max: 65535 });
  const timeout = numberField(raw['timeout'], 'request timeout', d.requestTimeoutMs / 1000, { min: 0.01, max: 3_600 });
  const session = numberField(raw['sessionTimeout'], 'session timeout', d.sessionTimeoutMs / 1000, { min: 1, max: 3_600 });
  const json = jsonObjectField(raw['template'], 'default configuration');
  let template: BootstrapConfig | undefined;
  if (json) {
    try {
      template = validateConfig(json, 'default configuration');
    } catch (err) {
      if (!(err instanceof Lwm2mError)) throw err;
      throw new SettingsError(err.message);
    }
  }
  return {
    address,
    port,
    persist: flagField(raw['persist'], d.persist),
    ...(template ? { template } : {}),
    requestTimeoutMs: Math.round(timeout * 1000),
    sessionTimeoutMs: Math.round(session * 1000),
  };
}
