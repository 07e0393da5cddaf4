/**
 * The settings of an `lwm2m-server` config node, read from what the editor
 * stored (strings and numbers as typed) and checked once, so that a typo in
 * the editor becomes one clear message instead of an engine failure later.
 */
import { isIP } from 'node:net';

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

/** A setting that cannot be used; the message names the field. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** Raw editor values: `{ address, port, grace, timeout, persist, models, awake }`. */
export function parseServerSettings(raw: Readonly<Record<string, unknown>>): ServerSettings {
  const address = text(raw['address']) || DEFAULT_SETTINGS.address;
  if (address !== 'localhost' && isIP(address) === 0) {
    throw new SettingsError(`bind address "${address}" is not an IP address (use 0.0.0.0, :: or one of this machine's addresses)`);
  }
  const port = number(raw['port'], 'port', DEFAULT_SETTINGS.port, { integer: true, min: 0, max: 65535 });
  const grace = number(raw['grace'], 'lifetime grace', DEFAULT_SETTINGS.expiryGraceMs / 1000, { min: 0, max: 86_400 });
  const timeout = number(raw['timeout'], 'request timeout', DEFAULT_SETTINGS.requestTimeoutMs / 1000, { min: 0.01, max: 3_600 });
  const awake = number(raw['awake'], 'queue-mode awake time', DEFAULT_SETTINGS.awakeTimeMs / 1000, { min: 0.1, max: 86_400 });
  return {
    address,
    port,
    expiryGraceMs: Math.round(grace * 1000),
    requestTimeoutMs: Math.round(timeout * 1000),
    persist: flag(raw['persist'], DEFAULT_SETTINGS.persist),
    modelsFolder: text(raw['models']),
    awakeTimeMs: Math.round(awake * 1000),
  };
}

function text(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}

function flag(v: unknown, fallback: boolean): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return fallback;
}

function number(
  v: unknown,
  name: string,
  fallback: number,
  rule: { integer?: boolean; min: number; max: number },
): number {
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return fallback;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : NaN;
  if (!Number.isFinite(n) || (rule.integer && !Number.isInteger(n)) || n < rule.min || n > rule.max) {
    const kind = rule.integer ? 'a whole number' : 'a number';
    throw new SettingsError(`${name} must be ${kind} from ${rule.min} to ${rule.max}, got ${JSON.stringify(v)}`);
  }
  return n;
}
