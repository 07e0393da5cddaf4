#!/usr/bin/env node
// Copies the non-TypeScript files Node-RED needs beside the compiled node
// modules: editor HTML (nodes/*.html) and message catalogues / help
// (nodes/locales/**), and the SVG icons. Node-RED looks for `x.html` next to `x.js` and for
// `locales/` next to the node files, so they must live in dist/nodes too.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const from = path.join(root, 'nodes');
const to = path.join(root, 'dist', 'nodes');

function copyTree(src, dst) {
  if (!fs.existsSync(src)) return 0;
  let copied = 0;
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, entry.name);
    const d = path.join(dst, entry.name);
    if (entry.isDirectory()) {
      copied += copyTree(s, d);
    } else if (!entry.name.endsWith('.ts')) {
      fs.mkdirSync(dst, { recursive: true });
      fs.copyFileSync(s, d);
      copied++;
    }
  }
  return copied;
}

// Node-RED looks for a module's icons in an `icons` folder beside its node
// files, so the package-level icons/ folder is copied there as well.
const count = copyTree(from, to) + copyTree(path.join(root, 'icons'), path.join(to, 'icons'));
console.log(`copy-assets: ${count} file(s) copied into dist/nodes`);
