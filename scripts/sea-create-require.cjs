// Stands in for `node:module` in the single executable's bundle (see scripts/package.mjs).
// Two modules load a dependency through `createRequire(import.meta.url)(name)`: charset.ts
// (dicom-character-set, which ships no types) and fast-crc32.ts (yazl's own buffer-crc32).
// A single executable has no node_modules beside it, so a real createRequire would find
// nothing; this one hands out the copies bundled here, which are the very ones the rest of the
// bundle uses (esbuild keeps one copy per file, so patching buffer-crc32 still patches yazl's).
'use strict';

const bundled = {
  'dicom-character-set': () => require('dicom-character-set'),
  'buffer-crc32': () => require('buffer-crc32'),
};

function createRequire() {
  const load = (name) => {
    const get = bundled[name];
    if (!get) throw new Error(`dicombridge: ${name} is not bundled into the executable (scripts/sea-create-require.cjs)`);
    return get();
  };
  // Only used to start another lookup from yazl's folder: any value works, lookups ignore it.
  load.resolve = (name) => name;
  return load;
}

module.exports = { createRequire };
