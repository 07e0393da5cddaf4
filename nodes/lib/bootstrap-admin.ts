/**
 * Admin HTTP endpoint for the editor: which endpoints a Bootstrap-Server
 * has configurations for (endpoint autocompletion in lwm2m-bootstrap).
 *
 *   GET /lwm2m-bootstrap-server/:id/endpoints   { endpoints, hasDefault, active }
 *
 * Names only: configurations hold keys, so their contents never leave
 * through the admin API. Guarded by `lwm2m-bootstrap-server.read`.
 */
import type { NodeRedRuntime } from '../node-red-types.js';
import { bootstrapRuntimeOf } from './bootstrap-node.js';
import type { BootstrapRuntime } from './bootstrap-runtime.js';

export const BOOTSTRAP_ADMIN_PERMISSION = 'lwm2m-bootstrap-server.read';

export interface BootstrapEndpoints {
  /** Endpoints with their own configuration, sorted. */
  readonly endpoints: readonly string[];
  readonly hasDefault: boolean;
  /** Endpoints with a bootstrap session in progress. */
  readonly active: readonly string[];
}

export function bootstrapEndpoints(runtime: BootstrapRuntime): BootstrapEndpoints {
  const server = runtime.server;
  if (!server) return { endpoints: [], hasDefault: false, active: [] };
  return { endpoints: server.configs.endpoints(), hasDefault: server.configs.getDefault() !== undefined, active: server.activeSessions().sort() };
}

export function registerBootstrapAdminEndpoints(RED: NodeRedRuntime): void {
  RED.httpAdmin.get('/lwm2m-bootstrap-server/:id/endpoints', RED.auth.needsPermission(BOOTSTRAP_ADMIN_PERMISSION), (req, res) => {
    const runtime = bootstrapRuntimeOf(RED, req.params['id']);
    if (!runtime) return res.status(404).json({ error: 'no deployed lwm2m-bootstrap-server node with this id' });
    res.json(bootstrapEndpoints(runtime));
  });
}
