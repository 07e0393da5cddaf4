/**
 * Admin HTTP endpoint for the editor (and a later sidebar): the simulated
 * devices this Node-RED runs.
 *
 *   GET /lwm2m/clients    every deployed lwm2m-client config node: endpoint, server, state
 *
 * Read-only, guarded by the `lwm2m-client.read` permission (the editor's
 * "read" scope grants it). Credentials are never part of the answer.
 */
import type { NodeRedRuntime } from '../node-red-types.js';
import { clientStatus, liveClients } from './client-node.js';
import type { ClientRuntime, ClientState } from './client-runtime.js';
import { exposedInstances } from './client-settings.js';

export const CLIENT_ADMIN_PERMISSION = 'lwm2m-client.read';

export interface ClientEntry {
  /** Id of the config node. */
  readonly id: string;
  readonly name: string;
  readonly endpoint?: string;
  readonly server?: string;
  readonly version?: string;
  /** Instances the device was configured with, e.g. ["/3303/0"]. */
  readonly objects?: readonly string[];
  readonly state: ClientState['status'];
  /** The state in words, as the flow nodes' status shows it. */
  readonly text: string;
}

export function clientEntry(id: string, name: string, runtime: ClientRuntime): ClientEntry {
  const settings = runtime.settings;
  return {
    id,
    name,
    ...(settings
      ? { endpoint: settings.endpoint, server: settings.serverUri, version: settings.version, objects: exposedInstances(settings.objects) }
      : {}),
    state: runtime.state.status,
    text: clientStatus(runtime.state).text ?? '',
  };
}

/** Every deployed device, sorted by endpoint name (then id). */
export function listClients(): ClientEntry[] {
  return [...liveClients]
    .map(([id, { name, runtime }]) => clientEntry(id, name, runtime))
    .sort((a, b) => (a.endpoint ?? '').localeCompare(b.endpoint ?? '') || a.id.localeCompare(b.id));
}

export function registerClientAdminEndpoints(RED: NodeRedRuntime): void {
  RED.httpAdmin.get('/lwm2m/clients', RED.auth.needsPermission(CLIENT_ADMIN_PERMISSION), (_req, res) => {
    res.json(listClients());
  });
}
