/**
 * SPEC §5: what the bridge acknowledges with 0000 can be zipped. A dataset that carries its
 * own file meta element (0002,0010) is refused at C-STORE time with C000 and the reason, and
 * the bridge carries on; an instance without CRYPE IDs (deflated included) goes into the ZIP
 * byte for byte while a CRYPE ID tag is configured.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bridge } from '../../src/app.js';
import { buildInstance, CT_IMAGE_STORAGE, encodeFileMeta, EXPLICIT_LE, testUid, type InstanceSpec } from '../support/dicom-builder.js';
import { acknowledgedCount, storescu } from '../support/peers/dcmtk.js';
import { datasetOf, list, nextStudies, readZip, removeDir, startBridge, tempDir } from '../support/bridge-harness.js';
import { openScu } from '../support/scu.js';
import { startStorescp } from '../support/peers/storescp.js';

const TEST_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const IMPLICIT_LE = '1.2.840.10008.1.2';

function instance(studyUid: string, n: number, extra: InstanceSpec['extra'] = []): { sopUid: string; dataset: Buffer } {
  const sopUid = testUid();
  const dataset = buildInstance({
    patientName: 'META^Carrier', patientId: 'P-META', studyUid, seriesUid: `${studyUid}.1`, seriesNumber: 1,
    sopUid, instanceNumber: n, rows: 8, columns: 8, extra,
  });
  return { sopUid, dataset };
}

describe('what is acknowledged with 0000 can be zipped', () => {
  let storage: string;
  let bridge: Bridge;

  before(async () => {
    storage = await tempDir();
    bridge = await startBridge(storage, { receive: { timeoutSeconds: 1, cridTagGroup: '0010', cridTagElement: '2201' } });
  });
  after(async () => {
    await bridge.stop();
    await removeDir(storage);
  });

  for (const [label, ts] of [['an unknown', '1.2.3.4.5'], ['a known', IMPLICIT_LE]] as const) {
    test(`a dataset carrying (0002,0010) with ${label} transfer syntax → C000 with the reason; the others of its study are zipped`, async () => {
      const studyUid = testUid();
      const carrier = instance(studyUid, 1, [{ group: 0x0002, element: 0x0010, vr: 'UI', value: ts }]);
      const plain = instance(studyUid, 2);
      const studies = nextStudies(bridge, 1);
      const scu = await openScu(bridge.receivePort!, [[CT_IMAGE_STORAGE, EXPLICIT_LE]]);
      const refused = await scu.store(CT_IMAGE_STORAGE, EXPLICIT_LE, carrier.sopUid, carrier.dataset);
      assert.equal(refused.status, 0xc000, 'refused as "cannot understand"');
      assert.match(refused.errorComment ?? '', /\(0002,0010\)/);
      const stored = await scu.store(CT_IMAGE_STORAGE, EXPLICIT_LE, plain.sopUid, plain.dataset);
      assert.equal(stored.status, 0x0000);
      assert.equal(await scu.echo(), 0x0000);
      await scu.release();

      const [outcome] = await studies;
      assert.equal(outcome!.status, 'Success', outcome!.reason);
      assert.equal(outcome!.inbox, 'Inbox_Manual');
      assert.deepEqual(await list(bridge.layout.inboxFailed), []);
      const entries = [...(await readZip(outcome!.path)).values()];
      assert.equal(entries.length, 1);
      assert.ok(datasetOf(entries[0]!).equals(plain.dataset), 'the acknowledged instance, byte for byte');
    });
  }

  test('image_dfl.dcm (deflated, no CRYPE ID) sent by storescu with the CRID tag on → its dataset in the ZIP byte for byte', async () => {
    const file = join(TEST_FILES, 'image_dfl.dcm');
    const studies = nextStudies(bridge, 1);
    const result = await storescu(bridge.receivePort!, [file], { extra: ['-xd'] });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(acknowledgedCount(result.stdout + result.stderr), 1);
    const [outcome] = await studies;
    assert.equal(outcome!.status, 'Success', outcome!.reason);
    const entries = [...(await readZip(outcome!.path)).values()];
    assert.equal(entries.length, 1);
    const inZip = entries[0]!;
    assert.ok(inZip.includes(Buffer.from('1.2.840.10008.1.2.1.99')), 'still deflated');

    // storescu deflates anew as it sends: the reference is what it sends, kept by storescp +B.
    const reference = await startStorescp({ outDir: join(storage, 'storescp'), extraArgs: ['+xd'] });
    try {
      const sent = await storescu(reference.port, [file], { calledAet: reference.aeTitle, extra: ['-xd'] });
      assert.equal(sent.code, 0, sent.stderr);
      const [kept] = await reference.files();
      assert.ok(datasetOf(inZip).equals(datasetOf(await readFile(kept!))), 'dataset bytes after the file meta equal the sent ones');
    } finally {
      await reference.stop();
    }
  });
});

describe('after the ZIP is in its inbox', () => {
  let storage: string;
  let bridge: Bridge;

  before(async () => {
    storage = await tempDir();
    bridge = await startBridge(storage, { receive: { timeoutSeconds: 1 } });
  });
  after(async () => {
    await bridge.stop();
    await removeDir(storage);
  });

  test('a log book failure is not a zip failure: the ZIP stays, nothing moves to Inbox_Failed, no "zipping failed" row', async () => {
    const studyUid = testUid();
    const sent = [instance(studyUid, 1), instance(studyUid, 2)];
    const book = bridge.logBook;
    const add = book.add.bind(book);
    let calls = 0;
    book.add = (row) => {
      calls += 1;
      if (calls === 1) throw new Error('SQLITE_IOERR: disk I/O error (simulated)');
      return add(row);
    };
    try {
      const studies = nextStudies(bridge, 1);
      const scu = await openScu(bridge.receivePort!, [[CT_IMAGE_STORAGE, EXPLICIT_LE]]);
      for (const one of sent) assert.equal((await scu.store(CT_IMAGE_STORAGE, EXPLICIT_LE, one.sopUid, one.dataset)).status, 0);
      await scu.release();
      const [outcome] = await studies;
      assert.equal(outcome!.status, 'Success', outcome!.reason);
      assert.deepEqual(await list(bridge.layout.inboxManual), [outcome!.path.slice(bridge.layout.inboxManual.length + 1)]);
      assert.equal((await readZip(outcome!.path)).size, 2);
      assert.deepEqual(await list(bridge.layout.inboxFailed), []);
      assert.deepEqual(await list(bridge.layout.staging), [], 'staging folder removed');
      assert.equal(calls, 1, 'one attempt at the row, no second "Failed" row');
      assert.equal(bridge.logBook.latest(10).filter((r) => /zipping failed/.test(r.reason ?? '')).length, 0);
    } finally {
      book.add = add;
    }
  });
});

describe('a staged file zipping cannot read (left by an earlier version)', () => {
  let storage: string;
  let bridge: Bridge | undefined;

  before(async () => {
    storage = await tempDir();
  });
  after(async () => {
    await bridge?.stop();
    await removeDir(storage);
  });

  test('is that study\'s failure: the study goes to Inbox_Failed with the reason, the bridge carries on', async () => {
    // What an earlier version staged for a dataset carrying (0002,0010): our file meta, then
    // the dataset's own (0002,0010), which a reader of the file takes for the transfer syntax.
    const studyUid = testUid();
    const dir = join(storage, 'Work', 'staging', `P-META_${studyUid}~old-1`);
    await mkdir(dir, { recursive: true });
    const bad = instance(studyUid, 1, [{ group: 0x0002, element: 0x0010, vr: 'UI', value: '1.2.3.4.5' }]);
    const good = instance(studyUid, 2);
    await writeFile(join(dir, `${bad.sopUid}.dcm`), Buffer.concat([encodeFileMeta(CT_IMAGE_STORAGE, bad.sopUid, EXPLICIT_LE), bad.dataset]));
    await writeFile(join(dir, `${good.sopUid}.dcm`), Buffer.concat([encodeFileMeta(CT_IMAGE_STORAGE, good.sopUid, EXPLICIT_LE), good.dataset]));

    bridge = await startBridge(storage, { receive: { timeoutSeconds: 1 } });
    const [outcome] = await nextStudies(bridge, 1);
    assert.equal(outcome!.status, 'Failed');
    assert.equal(outcome!.inbox, 'Inbox_Failed');
    assert.match(outcome!.reason ?? '', /1\.2\.3\.4\.5/);
    assert.equal((await list(outcome!.path)).length, 2, 'both staged files kept in Inbox_Failed');
    assert.deepEqual(await list(bridge.layout.inboxManual), []);
    const scu = await openScu(bridge.receivePort!, [[CT_IMAGE_STORAGE, EXPLICIT_LE]]);
    assert.equal(await scu.echo(), 0);
    await scu.release();
  });
});
