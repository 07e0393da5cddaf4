/**
 * Carries out one `lwm2m-bootstrap` action on the configuration store of a
 * Bootstrap-Server and describes the outcome (payload, msg.lwm2m).
 */
import type { BootstrapConfigStore } from '../../src/bootstrap/config-store.js';
import { CoapCode, Lwm2mError } from '../../src/errors.js';
import type { BootstrapAction } from './bootstrap-input.js';

export interface BootstrapOutcome {
  /** The new msg.payload; absent = the message keeps its payload. */
  readonly payload?: unknown;
  /** Status text, e.g. "set sensor-1". */
  readonly text: string;
  /** Fields for msg.lwm2m. */
  readonly lwm2m: Record<string, unknown>;
}

export async function performBootstrapAction(store: BootstrapConfigStore, action: BootstrapAction, activeSessions: readonly string[] = []): Promise<BootstrapOutcome> {
  switch (action.operation) {
    case 'set': {
      const existed = store.get(action.endpoint) !== undefined;
      await store.set(action.endpoint, action.config);
      return {
        text: `${existed ? 'replaced' : 'added'} ${action.endpoint}`,
        lwm2m: { operation: 'set', endpoint: action.endpoint, code: existed ? CoapCode.Changed : CoapCode.Created, replaced: existed },
      };
    }
    case 'remove': {
      const removed = await store.remove(action.endpoint);
      return {
        payload: removed,
        text: removed ? `removed ${action.endpoint}` : `${action.endpoint} had no configuration`,
        lwm2m: { operation: 'remove', endpoint: action.endpoint, code: CoapCode.Deleted, removed },
      };
    }
    case 'default':
      await store.setDefault(action.config);
      return {
        text: action.config ? 'default configuration set' : 'default configuration removed',
        lwm2m: { operation: 'default', code: action.config ? CoapCode.Changed : CoapCode.Deleted },
      };
    case 'get': {
      const config = action.endpoint !== undefined ? store.get(action.endpoint) : store.getDefault();
      const what = action.endpoint !== undefined ? `endpoint "${action.endpoint}"` : 'the default template';
      if (!config) throw new Lwm2mError(CoapCode.NotFound, `no bootstrap configuration for ${what}`);
      return {
        payload: config,
        text: `read ${action.endpoint ?? 'default'}`,
        lwm2m: { operation: 'get', ...(action.endpoint !== undefined ? { endpoint: action.endpoint } : {}), code: CoapCode.Content },
      };
    }
    case 'list': {
      const endpoints = store.endpoints();
      return {
        payload: endpoints,
        text: `${endpoints.length} configuration(s)`,
        lwm2m: { operation: 'list', code: CoapCode.Content, hasDefault: store.getDefault() !== undefined, active: [...activeSessions] },
      };
    }
  }
}
