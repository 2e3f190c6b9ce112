#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through `prepare`).
// The bridge needs Node.js 24 (node:sqlite); the project's own Node is node_modules/.bin/node.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `dicombridge: needs Node.js 24 or later, this is ${process.version}. ` +
      'Run it with `npm start`, or with node_modules/.bin/node bin/dicombridge.js.\n',
  );
  process.exit(1);
}
await import('../dist/src/main.js');
