/**
 * The `dicombridge` command as an administrator types it (SPEC §6, issue 5): help, the
 * service install dry run that systemd accepts, and `inspect` naming the tag that holds the
 * CRYPE IDs when the configured one does not.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { removeDir, tempDir } from '../support/bridge-harness.js';
import { freePort, runTool } from '../support/peers/dcmtk.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../../bin/dicombridge.js', import.meta.url));
const CT = '/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm';
const ID = '1234567890123456';

async function dicombridge(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('dicombridge command line', () => {
  let dir: string;
  let configPath: string;
  before(async () => {
    dir = await tempDir();
    configPath = join(dir, 'dicombridge.json');
    await writeFile(configPath, JSON.stringify({ storageFolder: 'store', receive: { cridTagGroup: '0010', cridTagElement: '2201' } }));
  });
  after(async () => {
    await removeDir(dir);
  });

  it('--help lists every mode', async () => {
    const { code, stdout } = await dicombridge(['--help']);
    assert.equal(code, 0);
    for (const mode of ['-s, --service', '-i, --install', '-u, --uninstall', '--dry-run', 'echo', 'inspect FILE|DIR']) assert.ok(stdout.includes(mode), mode);
  });

  it('-i --dry-run prints a unit that systemd-analyze verify accepts; -u --dry-run the removal', async () => {
    const install = await dicombridge(['-i', '--dry-run', '--config', configPath]);
    assert.equal(install.code, 0, install.stderr);
    assert.match(install.stdout, new RegExp(`ExecStart=.* -s --config ${configPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const unit = join(dir, 'dicombridge.service');
    await writeFile(unit, install.stdout);
    const verify = await runTool('systemd-analyze', ['verify', unit]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(verify.stderr.split('\n').filter((l) => l.includes('dicombridge.service')).join('\n'), '');
    const uninstall = await dicombridge(['-u', '--dry-run']);
    assert.equal(uninstall.code, 0);
    assert.match(uninstall.stdout, /systemctl disable --now dicombridge\.service/);
  });

  it('-i --dry-run from a development checkout runs node and the bin script; a config path with spaces is quoted and verified', async () => {
    const spaced = join(dir, 'Dicom Bridge & Co');
    await mkdir(spaced);
    const config = join(spaced, 'my config.json');
    await writeFile(config, JSON.stringify({ storageFolder: 'store spaced' }));
    const install = await dicombridge(['-i', '--dry-run', '--config', config]);
    assert.equal(install.code, 0, install.stderr);
    const execStart = install.stdout.split('\n').filter((l) => l.startsWith('ExecStart='));
    assert.deepEqual(execStart, [`ExecStart=${process.execPath} ${BIN} -s --config "${config}"`]);
    const unit = join(dir, 'spaced.service');
    await writeFile(unit, install.stdout);
    const verify = await runTool('systemd-analyze', ['verify', unit]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(verify.stderr.split('\n').filter((l) => l.includes('spaced.service')).join('\n'), '');
  });

  it('inspect names the tag that holds the IDs when it is not the configured one', async () => {
    const file = join(dir, 'ct.dcm');
    await copyFile(CT, file);
    const modified = await runTool('dcmodify', ['-nb', '-i', `(0010,4000)=see CRID#${ID}`, file]);
    assert.equal(modified.code, 0, modified.stderr);
    const wrong = await dicombridge(['inspect', file, '--config', configPath]);
    assert.equal(wrong.code, 1, 'not every study would go to Inbox_Auto');
    assert.match(wrong.stdout, /\(0010,4000\) PatientComments/);
    assert.match(wrong.stdout, /Inbox_Manual/);
    const json = await dicombridge(['inspect', file, '--json', '--config', configPath]);
    assert.equal((JSON.parse(json.stdout) as { exitCode: number }).exitCode, 1);
    await writeFile(configPath, JSON.stringify({ storageFolder: 'store', receive: { cridTagGroup: '0010', cridTagElement: '4000' } }));
    const right = await dicombridge(['inspect', file, '--config', configPath]);
    assert.equal(right.code, 0, right.stdout);
    assert.match(right.stdout, new RegExp(`Inbox_Auto`));
    assert.match(right.stdout, new RegExp(`_CRID#${ID}\\.zip`));
  });

  it('-s with the GUI or DICOM port taken exits 1 naming it (a service manager retries; 78 it would not)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const config = join(dir, 'taken.json');
      await writeFile(config, JSON.stringify({ storageFolder: 'store-taken', receive: { host: '127.0.0.1', port: await freePort() }, gui: { port: (taken.address() as AddressInfo).port } }));
      const { code, stderr } = await dicombridge(['-s', '--config', config]);
      assert.equal(code, 1);
      assert.match(stderr, /gui\.host\/gui\.port: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
      const dicomTaken = join(dir, 'taken-dicom.json');
      await writeFile(dicomTaken, JSON.stringify({ storageFolder: 'store-taken', receive: { host: '127.0.0.1', port: (taken.address() as AddressInfo).port }, gui: { port: await freePort() } }));
      const dicom = await dicombridge(['-s', '--config', dicomTaken]);
      assert.equal(dicom.code, 1);
      assert.match(dicom.stderr, /receive\.host\/receive\.port: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
    } finally {
      taken.close();
    }
  });

  it('inspect of a missing path exits 2 with the reason', async () => {
    const { code, stderr } = await dicombridge(['inspect', join(dir, 'nothing-here'), '--config', configPath]);
    assert.equal(code, 2);
    assert.match(stderr, /ENOENT|no such file/i);
  });
});
