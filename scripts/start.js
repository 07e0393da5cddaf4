#!/usr/bin/env node
// `npm start`: runs the Node-RED that is installed as a dev dependency on
// 127.0.0.1:1880 with this package loaded from the working tree and the
// end-to-end demo flow deployed. Its user directory (.node-red-user/) is
// created on first start and git-ignored; delete it to get the demo back.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const userDir = path.join(root, '.node-red-user');
const port = Number(process.env.PORT || 1880);
const host = process.env.HOST || '127.0.0.1';

fs.mkdirSync(userDir, { recursive: true });

const flowFile = path.join(userDir, 'flows.json');
const demoFlow = path.join(root, 'examples', 'demo-end-to-end.json');
if (!fs.existsSync(flowFile) && fs.existsSync(demoFlow)) {
  fs.copyFileSync(demoFlow, flowFile);
  console.log(`start: deployed the demo flow from ${path.relative(root, demoFlow)}`);
}

const settingsFile = path.join(userDir, 'settings.js');
fs.writeFileSync(
  settingsFile,
  `// Written by scripts/start.js on every start; edit scripts/start.js instead.
module.exports = {
  uiHost: ${JSON.stringify(host)},
  uiPort: ${port},
  flowFile: 'flows.json',
  // load this package straight from the working tree
  nodesDir: [${JSON.stringify(root)}],
  logging: { console: { level: process.env.LOG_LEVEL || 'info', metrics: false, audit: false } },
  // the demo works offline: no online palette catalogue to fetch, no update check to ask about
  editorTheme: { projects: { enabled: false }, tours: false, palette: { catalogues: [] } },
  telemetry: { enabled: false },
};
`,
);

const redJs = require.resolve('node-red/red.js', { paths: [root] });
const child = spawn(process.execPath, [redJs, '--userDir', userDir, '--settings', settingsFile], {
  stdio: 'inherit',
  cwd: root,
});
const forward = (signal) => () => child.kill(signal);
process.on('SIGINT', forward('SIGINT'));
process.on('SIGTERM', forward('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
