import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { formatPlan, planInstall, planUninstall, type InstallOptions } from '../../../src/service/plan.js';

/** The real bin/dicombridge.js: systemd-analyze checks that ExecStart's files exist. */
const SCRIPT = fileURLToPath(new URL('../../../../bin/dicombridge.js', import.meta.url));
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';

/** Runs `systemd-analyze verify FILE`: exit code and the lines about that file. */
function verify(file: string): Promise<{ exitCode: number; ownLines: string[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(SYSTEMD_ANALYZE, ['verify', file], (err, _stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(err); // ENOENT: the tool is expected on Linux here; a missing tool fails the test
        return;
      }
      const name = file.split('/').pop() ?? file;
      const ownLines = stderr.split('\n').filter((l) => l.includes(file) || l.startsWith(`${name}:`));
      resolve({ exitCode: typeof err?.code === 'number' ? err.code : 0, ownLines, stderr });
    });
  });
}

describe('dicombridge -i --dry-run output under systemd-analyze verify', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dicombridge-unit-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const options = (): InstallOptions => ({
    platform: 'linux',
    execPath: process.execPath,
    scriptPath: SCRIPT,
    configPath: '/etc/dicom bridge/dicombridge.json',
    workingDirectory: '/var/lib/dicombridge',
    storageFolder: '/srv/Crype Dcm 100%',
  });

  it('is a unit systemd accepts without a warning about its lines (root)', async () => {
    const file = join(dir, 'dicombridge.service');
    await writeFile(file, formatPlan(planInstall(options())));
    const result = await verify(file);
    assert.deepEqual(result.ownLines, [], result.stderr);
    assert.equal(result.exitCode, 0, result.stderr);
  });

  it('is accepted with a dedicated user and its capability lines', async () => {
    const file = join(dir, 'dicombridge-user.service');
    await writeFile(file, formatPlan(planInstall({ ...options(), user: 'dicombridge' })));
    const result = await verify(file);
    assert.deepEqual(result.ownLines, [], result.stderr);
    assert.equal(result.exitCode, 0, result.stderr);
  });

  it('is accepted for the single executable at a path with spaces (ExecStart= is the executable itself)', async () => {
    const exe = join(dir, 'Dicom Bridge', 'dicombridge');
    await mkdir(join(dir, 'Dicom Bridge'), { recursive: true });
    await copyFile('/bin/true', exe); // systemd-analyze checks that the program exists and is executable
    await chmod(exe, 0o755);
    const { scriptPath: _none, ...single } = options();
    const text = formatPlan(planInstall({ ...single, execPath: exe }));
    assert.ok(text.includes(`ExecStart="${exe}" -s --config "/etc/dicom bridge/dicombridge.json"\n`), text);
    const file = join(dir, 'dicombridge-sea.service');
    await writeFile(file, text);
    const result = await verify(file);
    assert.deepEqual(result.ownLines, [], result.stderr);
    assert.equal(result.exitCode, 0, result.stderr);
  });

  it('the uninstall dry run is comments only', async () => {
    const text = formatPlan(planUninstall({ platform: 'linux' }));
    assert.ok(text.trimEnd().split('\n').every((l) => l.startsWith('#')));
  });

  it('control: the check does catch a broken line', async () => {
    const file = join(dir, 'broken.service');
    await writeFile(file, formatPlan(planInstall(options())).replace('ProtectClock=yes', 'ProtectClok=yes'));
    const result = await verify(file);
    assert.equal(result.ownLines.length, 1, result.stderr);
    assert.match(result.ownLines[0], /Unknown key/);
  });
});
