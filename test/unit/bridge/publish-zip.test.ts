/**
 * Publishing a ZIP into an inbox never replaces a file, not even one that appears after the
 * name was chosen (SPEC §1), with hard links and where the file system has none.
 */
import assert from 'node:assert/strict';
import { copyFile, link, mkdir, readFile, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { publishZip, type PublishFs } from '../../../src/bridge/publish-zip.js';
import { removeDir, tempDir } from '../../support/bridge-harness.js';

const NAME = 'DOE, John_1970-01-01_M_2020-01-01_CT_1.2.3.zip';
const NODE_FS: PublishFs = { link, copyFile, unlink };

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: simulated`), { code });
}

describe('publishZip', () => {
  let root: string;
  let n = 0;
  before(async () => {
    root = await tempDir();
  });
  after(async () => {
    await removeDir(root);
  });

  /** A fresh inbox and a temporary ZIP to publish. */
  async function setup(): Promise<{ inbox: string; temp: string }> {
    n += 1;
    const inbox = join(root, `inbox${n}`);
    await mkdir(inbox);
    const temp = join(root, `study${n}.zip.tmp`);
    await writeFile(temp, 'the new ZIP');
    return { inbox, temp };
  }

  test('a free name is taken; the temporary file is gone', async () => {
    const { inbox, temp } = await setup();
    const { path } = await publishZip(temp, inbox, NAME, { fsync: true });
    assert.equal(path, join(inbox, NAME));
    assert.equal(await readFile(path, 'utf8'), 'the new ZIP');
    await assert.rejects(readFile(temp), { code: 'ENOENT' });
  });

  test('a name that appears after it was found free (just before the commit) is never overwritten', async () => {
    const { inbox, temp } = await setup();
    const racing: PublishFs = {
      ...NODE_FS,
      link: async (from, to) => {
        if (to === join(inbox, NAME)) await writeFile(to, 'written meanwhile by someone else');
        await link(from, to);
      },
    };
    const { path } = await publishZip(temp, inbox, NAME, { fsync: false, fs: racing });
    assert.equal(path, join(inbox, NAME.replace('.zip', ' (2).zip')));
    assert.equal(await readFile(join(inbox, NAME), 'utf8'), 'written meanwhile by someone else');
    assert.equal(await readFile(path, 'utf8'), 'the new ZIP');
    assert.deepEqual((await readdir(inbox)).sort(), [NAME, NAME.replace('.zip', ' (2).zip')].sort());
  });

  for (const code of ['EPERM', 'ENOTSUP', 'EXDEV']) {
    test(`without hard links (${code}) the ZIP is copied exclusively, and a name that appears meanwhile is kept`, async () => {
      const { inbox, temp } = await setup();
      await writeFile(join(inbox, NAME), 'already there');
      const noLinks: PublishFs = {
        ...NODE_FS,
        link: async () => {
          throw errno(code);
        },
        copyFile: async (from, to, mode) => {
          if (to === join(inbox, NAME.replace('.zip', ' (2).zip'))) await writeFile(to, 'appeared meanwhile');
          await copyFile(from, to, mode);
        },
      };
      const { path } = await publishZip(temp, inbox, NAME, { fsync: true, fs: noLinks });
      assert.equal(path, join(inbox, NAME.replace('.zip', ' (3).zip')));
      assert.equal(await readFile(join(inbox, NAME), 'utf8'), 'already there');
      assert.equal(await readFile(join(inbox, NAME.replace('.zip', ' (2).zip')), 'utf8'), 'appeared meanwhile');
      assert.equal(await readFile(path, 'utf8'), 'the new ZIP');
      await assert.rejects(readFile(temp), { code: 'ENOENT' });
    });
  }

  test('a copy that fails part way leaves no file under the name, and the temporary file stays', async () => {
    const { inbox, temp } = await setup();
    const failing: PublishFs = {
      ...NODE_FS,
      link: async () => {
        throw errno('EPERM');
      },
      copyFile: async (_from, to) => {
        await writeFile(to, 'half');
        throw errno('ENOSPC');
      },
    };
    await assert.rejects(publishZip(temp, inbox, NAME, { fsync: false, fs: failing }), { code: 'ENOSPC' });
    assert.deepEqual(await readdir(inbox), []);
    assert.equal(await readFile(temp, 'utf8'), 'the new ZIP');
  });

  test('a failure after the commit does not reject: the ZIP is published and the error returned', async () => {
    const { inbox, temp } = await setup();
    const stuck: PublishFs = {
      ...NODE_FS,
      unlink: async () => {
        throw errno('EBUSY');
      },
    };
    const published = await publishZip(temp, inbox, NAME, { fsync: false, fs: stuck });
    assert.equal(published.path, join(inbox, NAME));
    assert.equal((published.cleanupError as NodeJS.ErrnoException).code, 'EBUSY');
  });
});
