/**
 * Reading the fields of a config node as the editor stored them (strings
 * and numbers as typed, booleans from check boxes, JSON as text), each
 * checked once so a typo becomes one clear message naming the field.
 */
import { isIP } from 'node:net';

/** A setting that cannot be used; the message names the field. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

/** Trimmed text; anything that is not a string counts as empty. */
export function textField(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}

/** A check box (older flows may hold "true"/"false" strings, or nothing). */
export function flagField(v: unknown, fallback: boolean): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return fallback;
}

export interface NumberRule {
  readonly integer?: boolean;
  readonly min: number;
  readonly max: number;
}

/** A number within `rule`; empty means `fallback`. */
export function numberField(v: unknown, name: string, fallback: number, rule: NumberRule): number {
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) return fallback;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : NaN;
  if (!Number.isFinite(n) || (rule.integer && !Number.isInteger(n)) || n < rule.min || n > rule.max) {
    const kind = rule.integer ? 'a whole number' : 'a number';
    throw new SettingsError(`${name} must be ${kind} from ${rule.min} to ${rule.max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** A bind address: an IP address of this machine (or "localhost"); empty means `fallback`. */
export function addressField(v: unknown, fallback: string): string {
  const address = textField(v) || fallback;
  if (address !== 'localhost' && isIP(address) === 0) {
    throw new SettingsError(`bind address "${address}" is not an IP address (use 0.0.0.0, :: or one of this machine's addresses)`);
  }
  return address;
}

/**
 * A JSON object typed into the editor (a string), or already an object (a
 * flow written by hand). Empty means undefined.
 */
export function jsonObjectField(v: unknown, name: string): Record<string, unknown> | undefined {
  let parsed: unknown = v;
  if (typeof v === 'string') {
    if (v.trim() === '') return undefined;
    try {
      parsed = JSON.parse(v) as unknown;
    } catch (err) {
      throw new SettingsError(`${name} is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (parsed === undefined || parsed === null) return undefined;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new SettingsError(`${name} must be a JSON object ({ ... })`);
  return parsed as Record<string, unknown>;
}
