/**
 * `lwm2m-server` config node: one LwM2M server engine (socket, registration
 * store, object models) shared by the flow nodes that name it.
 *
 * Node-RED recreates a config node only when its settings change (or on a
 * full deploy / restart); the close handler then stops the engine and closes
 * the store before the new instance binds the same port. With persistence
 * on, registrations and observations come back from the file.
 */
import type { Node, NodeDef, NodeRedRuntime } from './node-red-types.js';
import { registerAdminEndpoints } from './lib/admin.js';
import type { ServerConfigNode } from './lib/server-node.js';
import { ServerRuntime, type RuntimeEnvironment } from './lib/server-runtime.js';
import { DEFAULT_SETTINGS, parseServerSettings, SettingsError } from './lib/server-settings.js';

export default function register(RED: NodeRedRuntime): void {
  function Lwm2mServerNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this as ServerConfigNode;
    const env: RuntimeEnvironment = {
      id: node.id,
      ...(typeof RED.settings.userDir === 'string' ? { userDir: RED.settings.userDir } : {}),
      log: (level, message) => {
        if (level === 'error') node.error(message);
        else if (level === 'warn') node.warn(message);
        else if (level === 'info') node.log(message);
        else node.debug(message);
      },
    };
    try {
      node.runtime = new ServerRuntime(parseServerSettings(def), env);
      void node.runtime.start();
    } catch (err) {
      if (!(err instanceof SettingsError)) throw err;
      node.error(`LwM2M server not started: ${err.message}`);
      node.runtime = ServerRuntime.failed(err.message, env, DEFAULT_SETTINGS);
    }

    node.on('close', (removed, done) => {
      // a deleted config node takes its persistence file with it
      node.runtime.stop(removed === true).then(done, (err: Error) => {
        node.error(`stopping the LwM2M server: ${err.message}`);
        done();
      });
    });
  }

  RED.nodes.registerType('lwm2m-server', Lwm2mServerNode);
  registerAdminEndpoints(RED);
}
