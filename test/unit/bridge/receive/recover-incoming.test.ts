/**
 * Start-up recovery of the incoming folder: an instance file whose commit record matches its
 * bytes was acknowledged and joins its study's staging folder; any other file is a reception
 * that broke off and is deleted. A power cut can leave any prefix of an unsynced file, or its
 * preamble without its data: only an exact match counts.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { commitRecord, PREAMBLE_LENGTH } from '../../../../src/bridge/receive/commit-record.js';
import { recoverIncoming } from '../../../../src/bridge/receive/recover-incoming.js';
import { StudyTracker } from '../../../../src/bridge/study/tracker.js';
import { noopLogger } from '../../../../src/dicom/ul/logger.js';
import { removeDir, tempDir } from '../../../support/bridge-harness.js';
import { writeStudy, type StudyFiles } from '../../../support/study-files.js';

/** The Part 10 file with the commit record the receiver writes into its preamble. */
function committed(part10: Buffer): Buffer {
  const out = Buffer.from(part10);
  commitRecord(out.length, crc32(out.subarray(PREAMBLE_LENGTH))).copy(out, 0);
  return out;
}

describe('recovery of the incoming folder', () => {
  let work: string;
  let study: StudyFiles;
  before(async () => {
    work = await tempDir();
    study = await writeStudy(join(work, 'study'), { count: 4, rows: 16, columns: 16, series: 1 });
  });
  after(() => removeDir(work));

  it('stages committed files with their study and deletes every other file', async () => {
    const incoming = join(work, 'incoming');
    const staging = join(work, 'staging');
    await mkdir(incoming);
    await mkdir(staging);
    const files = await Promise.all(study.files.map((f) => readFile(f)));
    const [a, b, c, d] = files.map(committed) as [Buffer, Buffer, Buffer, Buffer];
    await writeFile(join(incoming, 'a.part'), a);
    await writeFile(join(incoming, 'b.part'), b);
    const flipped = Buffer.from(c);
    flipped[flipped.length - 1]! ^= 1; // a block lost to the power cut: the CRC no longer matches
    await writeFile(join(incoming, 'c.part'), flipped);
    await writeFile(join(incoming, 'd.part'), d.subarray(0, d.length - 100)); // a prefix of the file
    await writeFile(join(incoming, 'e.part'), files[0]!); // no commit record: never acknowledged
    await writeFile(join(incoming, 'f.part'), '');

    const recovered = await recoverIncoming(incoming, staging, noopLogger);

    assert.equal(recovered, 2);
    assert.deepEqual(await readdir(incoming), []);
    const folders = await readdir(staging);
    assert.equal(folders.length, 1);
    assert.ok(folders[0]!.startsWith(`${StudyTracker.keyOf(study.patientId, study.studyUid)}~`), folders[0]);
    const staged = await readdir(join(staging, folders[0]!));
    assert.deepEqual(staged.sort(), study.sopUids.slice(0, 2).map((uid) => `${uid}.dcm`).sort());
    assert.ok((await readFile(join(staging, folders[0]!, `${study.sopUids[0]}.dcm`))).equals(a), 'moved byte for byte');
  });

  it('puts a committed file into the study\'s existing staging folder', async () => {
    const incoming = join(work, 'incoming2');
    const staging = join(work, 'staging2');
    const existing = `${StudyTracker.keyOf(study.patientId, study.studyUid)}~abc-1`;
    await mkdir(incoming);
    await mkdir(join(staging, existing), { recursive: true });
    await writeFile(join(incoming, 'x.part'), committed(await readFile(study.files[3]!)));
    assert.equal(await recoverIncoming(incoming, staging, noopLogger), 1);
    assert.deepEqual(await readdir(staging), [existing]);
    assert.deepEqual(await readdir(join(staging, existing)), [`${study.sopUids[3]}.dcm`]);
  });
});
