/**
 * `lwm2m-client` config node: one simulated (or gateway) LwM2M device —
 * endpoint name, server, version, lifetime, queue mode, Device object
 * facts and the extra objects it exposes with their initial values.
 *
 * The device starts when a flow node (lwm2m-client-in / -out) uses it and
 * de-registers when the node closes (redeploy, restart, deletion).
 *
 * PSK identity and key are Node-RED credentials (never in the flow JSON);
 * they are kept for DTLS and not used to connect in this version.
 */
import type { Node, NodeDef, NodeRedRuntime } from './node-red-types.js';
import { registerClientAdminEndpoints } from './lib/client-admin.js';
import { liveClients, type ClientConfigNode } from './lib/client-node.js';
import { ClientRuntime, type ClientEnvironment } from './lib/client-runtime.js';
import { parseClientSettings } from './lib/client-settings.js';
import { SettingsError } from './lib/settings-fields.js';

export const CLIENT_CREDENTIALS = {
  identity: { type: 'text' },
  key: { type: 'password' },
} as const;

export default function register(RED: NodeRedRuntime): void {
  function Lwm2mClientNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this as ClientConfigNode;
    const env: ClientEnvironment = {
      id: node.id,
      log: (level, message) => {
        if (level === 'error') node.error(message);
        else if (level === 'warn') node.warn(message);
        else if (level === 'info') node.log(message);
        else node.debug(message);
      },
    };
    try {
      node.runtime = new ClientRuntime(parseClientSettings(def, node.credentials), env);
    } catch (err) {
      if (!(err instanceof SettingsError)) throw err;
      node.error(`LwM2M client not started: ${err.message}`);
      node.runtime = ClientRuntime.failed(err.message, env);
    }
    const runtime = node.runtime;
    liveClients.set(node.id, { name: typeof def.name === 'string' ? def.name : '', runtime });

    node.on('close', (_removed, done) => {
      if (liveClients.get(node.id)?.runtime === runtime) liveClients.delete(node.id);
      runtime.stop().then(done, (err: Error) => {
        node.error(`stopping the LwM2M client: ${err.message}`);
        done();
      });
    });
  }

  RED.nodes.registerType('lwm2m-client', Lwm2mClientNode, { credentials: CLIENT_CREDENTIALS });
  registerClientAdminEndpoints(RED);
}
