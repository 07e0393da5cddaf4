/**
 * What an `lwm2m-bootstrap` message asks for: add or replace an endpoint's
 * bootstrap configuration, remove it, set the default template, or read
 * them back. Checked here, before the store changes: every failure is an
 * Lwm2mError 4.00 whose message says which property is wrong.
 */
import { validateConfig, type BootstrapConfig } from '../../src/bootstrap/config.js';
import { CoapCode, Lwm2mError } from '../../src/errors.js';
import { resolveEndpoint } from './request-input.js';

export const BOOTSTRAP_OPERATIONS = ['set', 'remove', 'default', 'get', 'list'] as const;
export type BootstrapOperation = (typeof BOOTSTRAP_OPERATIONS)[number];

const OPERATION_ALIASES: Readonly<Record<string, BootstrapOperation>> = {
  add: 'set',
  replace: 'set',
  put: 'set',
  delete: 'remove',
  template: 'default',
  setdefault: 'default',
  read: 'get',
};

function bad(message: string): Lwm2mError {
  return new Lwm2mError(CoapCode.BadRequest, message);
}

export function parseBootstrapOperation(raw: unknown): BootstrapOperation {
  if (typeof raw !== 'string' || raw.trim() === '') throw bad('no operation given (msg.operation or the node\'s setting)');
  const key = raw.toLowerCase().replace(/[\s_-]/g, '');
  for (const op of BOOTSTRAP_OPERATIONS) if (op === key) return op;
  const alias = OPERATION_ALIASES[key];
  if (alias) return alias;
  throw bad(`unknown operation "${raw}" (use one of ${BOOTSTRAP_OPERATIONS.join(', ')})`);
}

export interface BootstrapDefaults {
  readonly operation?: unknown;
  readonly endpoint?: unknown;
}

export type BootstrapAction =
  | { readonly operation: 'set'; readonly endpoint: string; readonly config: BootstrapConfig }
  | { readonly operation: 'remove'; readonly endpoint: string }
  /** No config: the default template is removed. */
  | { readonly operation: 'default'; readonly config?: BootstrapConfig }
  /** No endpoint: the default template. */
  | { readonly operation: 'get'; readonly endpoint?: string }
  | { readonly operation: 'list' };

/** A configuration from msg.payload: an object, or JSON text of one. */
function configFrom(payload: unknown, where: string): BootstrapConfig {
  let value = payload;
  if (typeof payload === 'string') {
    try {
      value = JSON.parse(payload) as unknown;
    } catch (err) {
      throw bad(`${where} is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw bad(`${where} must be a bootstrap configuration such as { "objects": { "0": { ... }, "1": { ... } } }`);
  }
  return validateConfig(value, where);
}

function hasEndpoint(fromMsg: unknown, fromConfig: unknown): boolean {
  const filled = (v: unknown): boolean => v !== undefined && v !== null && !(typeof v === 'string' && v.trim() === '');
  return filled(fromMsg) || filled(fromConfig);
}

export function resolveBootstrapAction(defaults: BootstrapDefaults, msg: Readonly<Record<string, unknown>>): BootstrapAction {
  const raw = msg['operation'];
  const operation = parseBootstrapOperation(typeof raw === 'string' && raw.trim() !== '' ? raw : defaults.operation);
  switch (operation) {
    case 'set': {
      const endpoint = resolveEndpoint(msg['endpoint'], defaults.endpoint);
      return { operation, endpoint, config: configFrom(msg['payload'], `the configuration of ${endpoint} (msg.payload)`) };
    }
    case 'remove':
      return { operation, endpoint: resolveEndpoint(msg['endpoint'], defaults.endpoint) };
    case 'default': {
      const payload = msg['payload'];
      if (payload === null || payload === undefined || payload === '') return { operation };
      return { operation, config: configFrom(payload, 'the default configuration (msg.payload)') };
    }
    case 'get':
      return hasEndpoint(msg['endpoint'], defaults.endpoint) ? { operation, endpoint: resolveEndpoint(msg['endpoint'], defaults.endpoint) } : { operation };
    case 'list':
      return { operation };
  }
}
