/**
 * StudyTracker (SPEC §1 grouping, SPEC §3 recovery): a study staged by an earlier run and the
 * instances sent again after a restart join one study generation, and nothing is placed once
 * the tracker is disposed (shutdown), so no stray generation is left for the next start.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { StudyTracker, type InstanceArrival, type StagedStudy } from '../../../../src/bridge/study/tracker.js';
import { removeDir, tempDir } from '../../../support/bridge-harness.js';

const PATIENT = 'PID-1';
const STUDY = '1.2.3.4';

function arrival(tempPath: string, sopInstanceUid: string): InstanceArrival {
  return {
    tempPath,
    size: 0,
    patientId: PATIENT,
    studyInstanceUid: STUDY,
    info: { sopInstanceUid, seriesInstanceUid: '1.2.3.4.5', seriesNumber: '1', instanceNumber: '1', modality: 'CT' },
  };
}

describe('StudyTracker', () => {
  let dir: string;
  let staging: string;
  let completed: StagedStudy[];
  let tracker: StudyTracker;

  beforeEach(async () => {
    dir = await tempDir();
    staging = join(dir, 'staging');
    await mkdir(staging);
    completed = [];
    // A quiet time far beyond the test: studies complete only through completeAll().
    tracker = new StudyTracker({ stagingDir: staging, quietMs: 3_600_000, fsync: false, onComplete: (s) => completed.push(s) });
  });
  afterEach(async () => {
    await tracker.dispose();
    await removeDir(dir);
  });

  it('joins instances sent again after a restart to the adopted staging folder, the later copy replacing the earlier', async () => {
    const adopted = join(staging, `${StudyTracker.keyOf(PATIENT, STUDY)}~earlier-1`);
    await mkdir(adopted);
    await writeFile(join(adopted, '1.2.3.4.5.1.dcm'), 'first copy');
    await writeFile(join(adopted, '1.2.3.4.5.2.dcm'), 'acknowledged before the stop');
    tracker.adopt(adopted);
    const temp = join(dir, 'incoming.part');
    await writeFile(temp, 'second copy');
    await tracker.place(arrival(temp, '1.2.3.4.5.1')).moved;
    await tracker.completeAll();
    assert.equal(completed.length, 1);
    assert.equal(completed[0]!.dir, adopted);
    assert.deepEqual((await readdir(adopted)).sort(), ['1.2.3.4.5.1.dcm', '1.2.3.4.5.2.dcm']);
    assert.deepEqual(await readdir(staging), [adopted.slice(staging.length + 1)]);
  });

  it('refuses to place once disposed, leaving no new staging folder and the file where it was', async () => {
    await tracker.dispose();
    const temp = join(dir, 'late.part');
    await writeFile(temp, 'completed after the association was aborted');
    assert.throws(() => tracker.place(arrival(temp, '1.2.3.4.5.9')), /stopped/);
    assert.deepEqual(await readdir(staging), []);
    assert.ok((await readdir(dir)).includes('late.part'), 'the caller discards its temporary file');
    assert.throws(() => tracker.receiving(PATIENT, STUDY), /stopped/);
    assert.deepEqual(await readdir(staging), []);
  });
});
