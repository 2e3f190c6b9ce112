/**
 * Saving a new storage folder (SPEC §7: takes effect without a manual restart): the bridge
 * finishes what is staged in the old folder, restarts on the new one inside the process, and
 * the next study lands there; a folder that cannot be written is refused and nothing changes.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { list, nextStudies, removeDir, tempDir } from '../support/bridge-harness.js';
import { startGui, type GuiUnderTest } from '../support/gui-harness.js';
import { storescu } from '../support/peers/dcmtk.js';
import { writeStudy } from '../support/study-files.js';
import { publicSettings } from '../../src/web/routes/settings.js';

describe('changing the storage folder of a running bridge', () => {
  let dir: string;
  let app: GuiUnderTest;
  before(async () => {
    dir = await tempDir();
    app = await startGui(join(dir, 'first'), { receive: { timeoutSeconds: 3600 } });
  });
  after(async () => {
    await app.stop();
    await removeDir(dir);
  });

  it('completes what is staged in the old folder and receives into the new one', async () => {
    const port = app.supervisor.config.receive.port;
    const staged = await writeStudy(join(dir, 'a'), { count: 2 });
    assert.equal((await storescu(port, staged.files)).code, 0);
    assert.equal(app.supervisor.bridge.studiesInProgress, 1);

    const settings = publicSettings(app.supervisor.config);
    settings.storageFolder = join(dir, 'second');
    settings.receive.timeoutSeconds = 1;
    const { applied } = await app.supervisor.save(settings);
    assert.match(applied.join('\n'), /storage folder now/);
    assert.equal((await list(join(dir, 'first', 'Inbox_Manual'))).length, 1, 'the staged study was zipped in the old folder');
    assert.equal(app.supervisor.config.storageFolder, join(dir, 'second'));
    assert.equal(JSON.parse(await readFile(app.configPath, 'utf8')).storageFolder, join(dir, 'second'));

    const next = await writeStudy(join(dir, 'b'), { count: 3 });
    const done = nextStudies(app.supervisor.bridge, 1);
    assert.equal((await storescu(port, next.files)).code, 0);
    await done;
    assert.equal((await list(join(dir, 'second', 'Inbox_Manual'))).length, 1);
    assert.equal(app.supervisor.bridge.logBook.latest(5).filter((r) => r.action === 'Receive').length, 1, 'a new log book in the new folder');
  });

  it('refuses a storage folder it cannot write to, keeping the running one', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'x');
    const settings = publicSettings(app.supervisor.config);
    const before = app.supervisor.config.storageFolder;
    settings.storageFolder = join(blocker, 'sub');
    await assert.rejects(app.supervisor.save(settings), { code: 'ERR_CONFIG', key: 'storageFolder' });
    assert.equal(app.supervisor.config.storageFolder, before);
  });
});
