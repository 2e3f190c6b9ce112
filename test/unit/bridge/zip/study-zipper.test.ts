/**
 * Zipping a study never lets an instance's error escape (SPEC §5): whatever a staged file
 * throws while its entry is opened or streamed, zipStagedStudy rejects with it, so the study
 * goes to Inbox_Failed, and nothing reaches the process as an unhandled rejection.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { InstanceInfo, StagedStudy } from '../../../../src/bridge/study/tracker.js';
import { zipStagedStudy } from '../../../../src/bridge/zip/study-zipper.js';
import { removeDir, tempDir } from '../../../support/bridge-harness.js';
import { buildInstance, CT_IMAGE_STORAGE, encodeFileMeta, EXPLICIT_LE, testUid } from '../../../support/dicom-builder.js';

describe('zipStagedStudy with a file it cannot read', () => {
  let root: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };
  before(async () => {
    root = await tempDir();
    process.on('unhandledRejection', onUnhandled);
  });
  after(async () => {
    process.off('unhandledRejection', onUnhandled);
    await removeDir(root);
  });

  for (const [label, ts, cridTag] of [
    ['an unknown transfer syntax in the staged file meta', '1.2.3.4.5', null],
    ['the same, with the CRYPE ID edit on', '1.2.3.4.5', 0x00102201],
    ['a dataset cut short', EXPLICIT_LE, 0x00102201],
  ] as const) {
    test(`${label}: rejects with the reason, no unhandled rejection`, async () => {
      const studyUid = testUid();
      const dir = join(root, testUid());
      await mkdir(dir);
      const instances = new Map<string, InstanceInfo>();
      for (const n of [1, 2]) {
        const sopUid = testUid();
        let dataset = buildInstance({ patientName: 'Z^Z', patientId: 'Z', studyUid, seriesUid: `${studyUid}.1`, seriesNumber: 1, sopUid, instanceNumber: n, rows: 4, columns: 4 });
        const broken = n === 2;
        if (broken && ts === EXPLICIT_LE) dataset = dataset.subarray(0, dataset.length - 7);
        const meta = encodeFileMeta(CT_IMAGE_STORAGE, sopUid, broken ? ts : EXPLICIT_LE);
        await writeFile(join(dir, `${sopUid}.dcm`), Buffer.concat([meta, dataset]));
        // Infos as receiving records them: the entries are opened lazily while zipping.
        instances.set(`${sopUid}.dcm`, { sopInstanceUid: sopUid, seriesInstanceUid: `${studyUid}.1`, seriesNumber: '1', instanceNumber: String(n), modality: 'CT' });
      }
      const study: StagedStudy = { key: 'k', dir, instances };
      await assert.rejects(
        zipStagedStudy(study, join(root, `${testUid()}.zip.tmp`), { zipTempDir: root, compressionLevel: 1, cridTag, fsync: false }),
        (err: Error) => (ts === EXPLICIT_LE ? /end|truncat|short/i : /1\.2\.3\.4\.5/).test(err.message),
      );
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    });
  }
});
