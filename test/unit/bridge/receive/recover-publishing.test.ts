/**
 * A study's folder leaves staging for Work/zip/published before its ZIP is published, and is
 * removed after. A stop in between (SIGKILL, power cut) must neither zip the study again (a
 * second ZIP of it in the inbox) nor lose it: the temporary ZIP tells which side of the
 * publish the stop fell on.
 */
import assert from 'node:assert/strict';
import { link, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { recoverPublishing } from '../../../../src/bridge/receive/study-completion.js';
import { ensureStorageLayout, storageLayout, type StorageLayout } from '../../../../src/bridge/storage-layout.js';
import { noopLogger } from '../../../../src/dicom/ul/logger.js';
import { removeDir, tempDir } from '../../../support/bridge-harness.js';

describe('recovery of studies being published', () => {
  let root: string;
  let layout: StorageLayout;
  before(async () => {
    root = await tempDir();
    layout = storageLayout(root);
    await ensureStorageLayout(layout);
  });
  after(() => removeDir(root));

  /** A study folder in Work/zip/published with one instance, and its temporary ZIP if given. */
  async function publishing(name: string, temp: 'none' | 'alone' | 'linked'): Promise<void> {
    const dir = join(layout.zipTemp, 'published', name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, '1.2.3.dcm'), 'instance');
    if (temp === 'none') return;
    await writeFile(join(layout.zipTemp, `${name}.zip.tmp`), 'zip');
    if (temp === 'linked') await link(join(layout.zipTemp, `${name}.zip.tmp`), join(layout.inboxManual, `${name}.zip`));
  }

  it('removes the folder of a study whose ZIP is in the inbox, and sends back one whose ZIP is not', async () => {
    await publishing('A~1', 'linked'); // stopped after the link, before the temporary name went
    await publishing('B~1', 'none'); // stopped after the publish, before the folder was removed
    await publishing('C~1', 'alone'); // stopped before the publish
    await recoverPublishing(layout, noopLogger);
    assert.deepEqual(await readdir(join(layout.zipTemp, 'published')), []);
    assert.deepEqual(await readdir(layout.staging), ['C~1'], 'only the unpublished study is zipped again');
    assert.deepEqual(await readdir(join(layout.staging, 'C~1')), ['1.2.3.dcm']);
    assert.deepEqual(await readdir(layout.inboxManual), ['A~1.zip'], 'the published ZIP stays as it is');
  });
});
