/**
 * Carries out one `lwm2m-client-out` action on the device and describes
 * the outcome (status text, msg.lwm2m fields). Kept apart from the node so
 * the mapping reads in one place.
 */
import { readServerAccounts } from '../../src/client/accounts.js';
import type { Lwm2mClient } from '../../src/client/client.js';
import { CoapCode, Lwm2mError } from '../../src/errors.js';
import { ContentFormat, contentFormatName } from '../../src/formats/content-format.js';
import { formatPath } from '../../src/model/path.js';
import { fromPlain } from '../../src/model/plain.js';
import type { ClientAction, ValueToSet } from './client-input.js';
import type { ClientRuntime } from './client-runtime.js';

export interface ClientOutcome {
  /** Short text for the node status, e.g. "set /3303/0/5700 = 21.5". */
  readonly text: string;
  /** Fields for msg.lwm2m. */
  readonly lwm2m: Record<string, unknown>;
}

/**
 * Sets every value, or none: each path must exist on the device and each
 * value must fit its resource before the first one is set. Observers of
 * the paths are notified by the engine (per their attributes).
 */
export function applyValues(client: Lwm2mClient, values: readonly ValueToSet[]): void {
  for (const { path, value } of values) {
    const [objectId, instanceId] = path as [number, number];
    if (!client.tree.hasInstance(objectId, instanceId)) {
      throw new Lwm2mError(CoapCode.NotFound, `${formatPath(path)}: the device has no instance ${formatPath([objectId, instanceId])} (add it to the client's objects)`);
    }
    fromPlain(path, value, client.tree.model);
  }
  for (const { path, value } of values) client.setValue(path, value);
}

/** True when the device is registered with at least one server. */
export function isRegistered(client: Lwm2mClient): boolean {
  return readServerAccounts(client.tree).some((a) => client.session(a.shortServerId)?.registered === true);
}

function describeValue(value: unknown): string {
  if (Buffer.isBuffer(value)) return `${value.length} bytes`;
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export async function performClientAction(runtime: ClientRuntime, action: ClientAction): Promise<ClientOutcome> {
  switch (action.operation) {
    case 'set': {
      // a de-registered device keeps measuring: its values are kept for the next Register
      const client = await runtime.device();
      applyValues(client, action.values);
      const paths = action.values.map((v) => formatPath(v.path));
      const first = action.values[0];
      const text = action.values.length === 1 && first ? `set ${paths[0]} = ${describeValue(first.value)}` : `set ${paths.length} values`;
      return { text, lwm2m: { operation: 'set', path: paths.length === 1 ? paths[0] : paths } };
    }
    case 'send': {
      const client = await runtime.ready();
      const format = action.format ?? ContentFormat.SENML_CBOR;
      const paths = 'paths' in action ? action.paths.map(formatPath) : Object.keys(action.readings);
      await client.send('paths' in action ? paths : action.readings, { format });
      return {
        text: `sent ${paths.length === 1 ? paths[0] : `${paths.length} paths`}`,
        lwm2m: { operation: 'send', path: paths.length === 1 ? paths[0] : paths, code: CoapCode.Changed, format: contentFormatName(format), contentFormat: format },
      };
    }
    case 'update': {
      const client = await runtime.ready();
      if (!isRegistered(client)) {
        throw new Lwm2mError(CoapCode.ServiceUnavailable, `no Update: the device is not registered (it is ${runtime.state.status})`);
      }
      await client.update();
      return { text: 'update sent', lwm2m: { operation: 'update' } };
    }
    case 'register':
      await runtime.register();
      return { text: 'registering', lwm2m: { operation: 'register' } };
    case 'deregister':
      await runtime.deregister();
      return { text: 'de-registered', lwm2m: { operation: 'deregister' } };
  }
}
