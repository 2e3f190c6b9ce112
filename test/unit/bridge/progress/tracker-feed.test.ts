/**
 * The receive path feeds the "In progress" model: the study tracker reports each study
 * generation while it is received (counts, label, calling AE title, quiet time) and hands it
 * over to the zipping list in one step when it completes.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ProgressRegistry } from '../../../../src/bridge/progress/registry.js';
import { StudyTracker, type InstanceArrival } from '../../../../src/bridge/study/tracker.js';
import { removeDir, tempDir } from '../../../support/bridge-harness.js';

const LABEL = { patientName: 'DOE, Jane', studyDate: '20040722', modality: 'CT' };

function arrival(tempPath: string, sopInstanceUid: string, size: number): InstanceArrival {
  return {
    tempPath,
    size,
    patientId: 'PID-1',
    studyInstanceUid: '1.2.3.4',
    info: { sopInstanceUid, seriesInstanceUid: '1.2.3.4.5', seriesNumber: '1', instanceNumber: '1', modality: 'CT' },
    label: LABEL,
    source: { callingAeTitle: 'PACS1', peer: '127.0.0.1:40000' },
  };
}

describe('StudyTracker feeding the progress model', () => {
  let dir: string;
  let tracker: StudyTracker;
  let registry: ProgressRegistry;

  beforeEach(async () => {
    dir = await tempDir();
    await mkdir(join(dir, 'staging'));
    registry = new ProgressRegistry();
    tracker = new StudyTracker({
      stagingDir: join(dir, 'staging'),
      quietMs: 3_600_000,
      fsync: false,
      progress: registry,
      // As the bridge does: the completion queue registers the study for zipping at once.
      onComplete: (study) => void registry.startZipping(study.dir.slice(study.dir.lastIndexOf('/') + 1)),
    });
  });
  afterEach(async () => {
    await tracker.dispose();
    await removeDir(dir);
  });

  it('shows a study while it is received and moves it to zipping when it completes', async () => {
    for (const [i, size] of [[1, 1000], [2, 2000]] as const) {
      const temp = join(dir, `${i}.part`);
      await writeFile(temp, 'x');
      await tracker.place(arrival(temp, `1.2.3.4.5.${i}`, size)).moved;
    }
    const release = tracker.receiving('PID-1', '1.2.3.4');
    let [item] = registry.snapshot().receiving.items;
    assert.equal(item!.instances, 2);
    assert.equal(item!.bytes, 3000);
    assert.equal(item!.patientName, 'DOE, Jane');
    assert.equal(item!.callingAeTitle, 'PACS1');
    assert.equal(item!.quietMs, 3_600_000);
    assert.equal(item!.quietEndsAt, null, 'an instance is being received');
    release();
    [item] = registry.snapshot().receiving.items;
    assert.equal(item!.quietEndsAt, item!.lastArrival + 3_600_000);

    await tracker.completeAll();
    const snapshot = registry.snapshot();
    assert.deepEqual(snapshot.receiving.items, []);
    assert.equal(snapshot.zipping.items.length, 1);
    assert.equal(snapshot.zipping.items[0]!.id, item!.id);
    assert.equal(snapshot.zipping.items[0]!.patientName, 'DOE, Jane');
  });

  it('a stopped tracker leaves nothing shown as being received', async () => {
    tracker.receiving('PID-1', '1.2.3.4');
    assert.equal(registry.snapshot().receiving.items.length, 1);
    await tracker.dispose();
    assert.deepEqual(registry.snapshot().receiving.items, []);
  });
});
