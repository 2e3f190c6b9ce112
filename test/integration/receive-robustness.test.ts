/**
 * Acceptance (issue: Receive) with real DCMTK peers: C-ECHO; one study over two parallel
 * associations → one ZIP; a study re-sent after its ZIP was made → a second ZIP with a distinct
 * name and the first untouched; an inbox that cannot be written (a file where the folder should
 * be) → the staged study in Inbox_Failed and a Failed row in the log book.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bridge } from '../../src/app.js';
import { acknowledgedCount, echoscu, storescu } from '../support/peers/dcmtk.js';
import { datasetOf, list, listTree, nextStudies, readZip, removeDir, sopUidOf, startBridge, tempDir } from '../support/bridge-harness.js';
import { writeStudy } from '../support/study-files.js';

describe('receive robustness (DCMTK peers)', () => {
  let storage: string;
  let work: string;
  let bridge: Bridge;

  before(async () => {
    storage = await tempDir();
    work = await tempDir();
    bridge = await startBridge(storage, { receive: { timeoutSeconds: 2, cridTagGroup: '0010', cridTagElement: '2201' } });
  });
  after(async () => {
    await bridge.stop();
    await removeDir(storage);
    await removeDir(work);
  });

  test('echoscu gets a successful C-ECHO', async () => {
    const result = await echoscu(bridge.receivePort!);
    assert.equal(result.code, 0, result.stderr);
  });

  test('one study over two parallel associations → one ZIP with every instance', async () => {
    const study = await writeStudy(join(work, 'parallel'), { count: 60 });
    const studies = nextStudies(bridge, 1);
    const [a, b] = await Promise.all([
      storescu(bridge.receivePort!, study.files.slice(0, 30)),
      storescu(bridge.receivePort!, study.files.slice(30)),
    ]);
    assert.equal(acknowledgedCount(a.stdout + a.stderr) + acknowledgedCount(b.stdout + b.stderr), 60);
    const [outcome] = await studies;
    assert.equal(outcome!.instances, 60);
    const zips = (await list(bridge.layout.inboxManual)).filter((n) => n.includes(study.studyUid));
    assert.equal(zips.length, 1);
    assert.equal((await readZip(join(bridge.layout.inboxManual, zips[0]!))).size, 60);
  });

  test('a study re-sent after its ZIP was made → a second ZIP, the first untouched', async () => {
    const study = await writeStudy(join(work, 'resend'), { count: 5 });
    let studies = nextStudies(bridge, 1);
    await storescu(bridge.receivePort!, study.files);
    const [first] = await studies;
    const firstBytes = await readFile(first!.path);
    studies = nextStudies(bridge, 1);
    await storescu(bridge.receivePort!, study.files);
    const [second] = await studies;
    assert.notEqual(second!.path, first!.path);
    const zips = (await list(bridge.layout.inboxManual)).filter((n) => n.includes(study.studyUid));
    assert.equal(zips.length, 2);
    assert.ok((await readFile(first!.path)).equals(firstBytes), 'first ZIP unchanged');
    assert.equal((await readZip(second!.path)).size, 5);
  });

  test('the same SOP Instance UID twice while the study is staged → the later copy replaces the earlier', async () => {
    const first = await writeStudy(join(work, 'dup-first'), { count: 3, patientName: 'FIRST^Copy' });
    const second = await writeStudy(join(work, 'dup-second'), {
      count: 1,
      patientName: 'SECOND^Copy',
      studyUid: first.studyUid,
      sopUid: () => first.sopUids[0]!,
    });
    const studies = nextStudies(bridge, 1);
    assert.equal(acknowledgedCount(Object.values(await storescu(bridge.receivePort!, first.files)).join('')), 3);
    assert.equal(acknowledgedCount(Object.values(await storescu(bridge.receivePort!, second.files)).join('')), 1);
    const [outcome] = await studies;
    assert.equal(outcome!.instances, 3);
    const entries = [...(await readZip(outcome!.path)).values()].map((file) => datasetOf(file));
    const replaced = entries.find((ds) => sopUidOf(ds) === first.sopUids[0]);
    assert.ok(replaced?.equals(second.datasets.get(first.sopUids[0]!)!), 'the later copy is the one zipped');
  });

  test('an inbox that cannot be written → staged folder in Inbox_Failed, Failed row with the reason', async () => {
    const study = await writeStudy(join(work, 'failed'), { count: 3, extra: [{ group: 0x0010, element: 0x2201, vr: 'LO', value: 'CRID#1111222233334444' }] });
    await rm(bridge.layout.inboxAuto, { recursive: true });
    await writeFile(bridge.layout.inboxAuto, 'a file where the folder should be');
    try {
      const studies = nextStudies(bridge, 1);
      const result = await storescu(bridge.receivePort!, study.files);
      assert.equal(acknowledgedCount(result.stdout + result.stderr), 3);
      const [outcome] = await studies;
      assert.equal(outcome!.status, 'Failed');
      assert.equal(outcome!.inbox, 'Inbox_Failed');
      const failed = await listTree(bridge.layout.inboxFailed);
      assert.equal(failed.filter((p) => p.endsWith('.dcm')).length, 3, 'every staged instance kept');
      const [row] = bridge.logBook.latest(1);
      assert.equal(row!.status, 'Failed');
      assert.match(row!.reason ?? '', /ENOTDIR|not a directory/i);
      assert.deepEqual(await listTree(bridge.layout.staging), []);
      assert.deepEqual(await list(bridge.layout.zipTemp), [], 'no temporary ZIP left behind');
    } finally {
      await rm(bridge.layout.inboxAuto, { force: true });
      const { mkdir } = await import('node:fs/promises');
      await mkdir(bridge.layout.inboxAuto);
    }
  });
});
