/**
 * The package in a real Node-RED process: the installed dev dependency
 * (Node-RED 4) on the Node.js running the tests. The checks themselves are
 * in node-red-smoke.ts (shared with the Node-RED 5 test).
 */
import { nodeRedSmokeTests, ROOT } from './node-red-smoke.js';

describe('nodes: in a real Node-RED process', function () {
  this.timeout(60_000);
  nodeRedSmokeTests(async () => ({
    nodeBinary: process.execPath,
    redJs: require.resolve('node-red/red.js', { paths: [ROOT] }),
  }));
});
