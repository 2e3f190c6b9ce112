/**
 * The receiving side of the disk space guard: a low guard refuses the instance with A700
 * before any file is taken; a write that fails with ENOSPC (/dev/full) answers A700, deletes
 * the temporary file and does not hang on backpressure; a temporary-file pool whose files
 * could not be created serves the next C-STORE once the cause is gone.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { access, mkdir, readdir, readlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DiskGuard } from '../../../../src/bridge/receive/disk-guard.js';
import { openInstanceSink, type InstanceSinkContext } from '../../../../src/bridge/receive/instance-sink.js';
import { InstanceFilePool } from '../../../../src/bridge/receive/instance-files.js';
import { StudyTracker } from '../../../../src/bridge/study/tracker.js';
import type { StoreOutcome, StoreRequest } from '../../../../src/dicom/dimse/service.js';
import { STATUS_OUT_OF_RESOURCES } from '../../../../src/dicom/dimse/status.js';
import { noopLogger } from '../../../../src/dicom/ul/logger.js';
import { buildInstance, CT_IMAGE_STORAGE, EXPLICIT_LE, testUid } from '../../../support/dicom-builder.js';
import { FakeChannel } from '../../../support/fake-channel.js';
import { listTree, removeDir, tempDir } from '../../../support/bridge-harness.js';

function storeRequest(sopUid: string): StoreRequest {
  return {
    channel: new FakeChannel(),
    pcId: 1,
    transferSyntax: EXPLICIT_LE,
    MessageID: 1,
    AffectedSOPClassUID: CT_IMAGE_STORAGE,
    AffectedSOPInstanceUID: sopUid,
    Priority: 0,
  };
}

/** Paths under `dir` this process still holds open (Linux /proc). */
async function openDescriptorsUnder(dir: string): Promise<string[]> {
  const fds = await readdir('/proc/self/fd');
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target.startsWith(`${dir}/`));
}

function isOutcome(value: unknown): value is StoreOutcome {
  return typeof (value as StoreOutcome).status === 'number';
}

describe('disk space guard in the instance sink', () => {
  let root: string;
  let incoming: string;
  let staging: string;
  let tracker: StudyTracker;

  before(async () => {
    root = await tempDir();
    incoming = join(root, 'incoming');
    staging = join(root, 'staging');
    await mkdir(incoming);
    await mkdir(staging);
    tracker = new StudyTracker({ stagingDir: staging, quietMs: 3_600_000, fsync: false, onComplete: () => undefined });
  });
  after(async () => {
    await tracker.dispose();
    await removeDir(root);
  });

  it('refuses with A700 and the threshold while the guard is low, taking no instance file', async () => {
    const instanceFiles = new InstanceFilePool(incoming, false);
    const diskGuard = new DiskGuard({
      dir: root,
      minFreeMegabytes: () => 1024,
      log: noopLogger,
      statfs: () => Promise.resolve({ bavail: 10, bsize: 4096 }),
    });
    const result = await openInstanceSink(storeRequest(testUid()), { instanceFiles, fsync: false, tracker, log: noopLogger, diskGuard });
    assert.deepEqual(result, { status: STATUS_OUT_OF_RESOURCES, errorComment: 'Out of resources: free disk space below 1024 MB' });
    assert.deepEqual(await readdir(incoming), [], 'nothing written, not even an instance file');
    await instanceFiles.close();
  });

  it('a write failing with ENOSPC → A700, the instance file deleted, no hang on backpressure', async () => {
    const tempPath = join(incoming, 'full.part');
    await writeFile(tempPath, '');
    // /dev/full fails every write with ENOSPC, like a disk that filled during the instance.
    const fake = { take: () => Promise.resolve({ path: tempPath, fd: openSync('/dev/full', 'w') }) };
    const ctx: InstanceSinkContext = { instanceFiles: fake as unknown as InstanceFilePool, fsync: false, tracker, log: noopLogger };
    const sopUid = testUid();
    const dataset = buildInstance({
      patientName: 'FULL^Disk', patientId: 'P1', studyUid: testUid(), seriesUid: testUid(), seriesNumber: 1,
      sopUid, instanceNumber: 1, rows: 512, columns: 512, // 512 KB of pixels: far more than the streams buffer
    });
    const sink = await openInstanceSink(storeRequest(sopUid), ctx);
    assert.ok(!isOutcome(sink));
    for (let offset = 0; offset < dataset.length; offset += 16_384) await sink.write(dataset.subarray(offset, offset + 16_384));
    const outcome = await sink.end();
    assert.deepEqual(outcome, { status: STATUS_OUT_OF_RESOURCES, errorComment: 'Out of resources: ENOSPC' });
    await assert.rejects(access(tempPath), { code: 'ENOENT' }, 'the partial file is deleted');
    assert.deepEqual((await listTree(staging)).filter((f) => f.endsWith('.dcm')), [], 'nothing staged');
  });

  it('an instance file that cannot be created for lack of space → A700', async () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    const fake = { take: () => Promise.reject(enospc) };
    const result = await openInstanceSink(storeRequest(testUid()), { instanceFiles: fake as unknown as InstanceFilePool, fsync: false, tracker, log: noopLogger });
    assert.deepEqual(result, { status: STATUS_OUT_OF_RESOURCES, errorComment: 'Out of resources: ENOSPC' });
  });

  it('the pool serves the next take once files can be created again (failed ones created ahead are not handed out)', async () => {
    const dir = join(root, 'later');
    const pool = new InstanceFilePool(dir, false);
    // The folder is missing: this take and the files created ahead of need all fail.
    await assert.rejects(pool.take(), { code: 'ENOENT' });
    await mkdir(dir);
    const file = await pool.take();
    assert.equal(dirname(file.path), dir);
    closeSync(file.fd);
    await pool.close();
    assert.deepEqual(await readdir(dir), [basename(file.path)], 'only the taken file stays; the rest is deleted at close');
    assert.deepEqual(await openDescriptorsUnder(dir), [], 'closed, not only deleted: an open descriptor keeps a mount busy');
  });
});
