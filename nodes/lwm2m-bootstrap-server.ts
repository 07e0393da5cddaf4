/**
 * `lwm2m-bootstrap-server` config node: one LwM2M Bootstrap-Server (socket
 * and per-endpoint configurations) shared by the `lwm2m-bootstrap` nodes
 * that name it. Configurations set from flows are kept in a file under the
 * Node-RED user directory; the editor's default template applies to every
 * endpoint without its own configuration.
 */
import type { Node, NodeDef, NodeRedRuntime } from './node-red-types.js';
import { registerBootstrapAdminEndpoints } from './lib/bootstrap-admin.js';
import type { BootstrapConfigNode } from './lib/bootstrap-node.js';
import { BootstrapRuntime } from './lib/bootstrap-runtime.js';
import { DEFAULT_BOOTSTRAP_SETTINGS, parseBootstrapSettings } from './lib/bootstrap-settings.js';
import type { RuntimeEnvironment } from './lib/server-runtime.js';
import { SettingsError } from './lib/settings-fields.js';

export default function register(RED: NodeRedRuntime): void {
  function Lwm2mBootstrapServerNode(this: Node, def: NodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this as BootstrapConfigNode;
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
      node.runtime = new BootstrapRuntime(parseBootstrapSettings(def), env);
      void node.runtime.start();
    } catch (err) {
      if (!(err instanceof SettingsError)) throw err;
      node.error(`LwM2M bootstrap server not started: ${err.message}`);
      node.runtime = BootstrapRuntime.failed(err.message, env, DEFAULT_BOOTSTRAP_SETTINGS);
    }

    node.on('close', (removed, done) => {
      // a deleted config node takes its configuration file with it
      node.runtime.stop(removed === true).then(done, (err: Error) => {
        node.error(`stopping the LwM2M bootstrap server: ${err.message}`);
        done();
      });
    });
  }

  RED.nodes.registerType('lwm2m-bootstrap-server', Lwm2mBootstrapServerNode);
  registerBootstrapAdminEndpoints(RED);
}
