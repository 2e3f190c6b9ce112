/**
 * Acceptance (issue: Receive): DCMTK storescu sends a generated two-series study whose
 * (0010,2201) holds text + two CRYPE IDs → exactly one ZIP in Inbox_Auto, named per SPEC,
 * holding every instance; every dataset is byte-identical to the sent one except the CRID
 * element, whose value is now the text. Without IDs → Inbox_Manual; malformed IDs stay.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bridge } from '../../src/app.js';
import { encodeElement, type ElementSpec } from '../support/dicom-builder.js';
import { writeStudy, type StudyFiles } from '../support/study-files.js';
import { storescu, acknowledgedCount } from '../support/peers/dcmtk.js';
import { datasetOf, list, nextStudies, readZip, removeDir, sopUidOf, startBridge, tempDir } from '../support/bridge-harness.js';

const CRID_A = '1234567890123456';
const CRID_B = '9876543210987654';
const cridElement = (text: string): ElementSpec => ({ group: 0x0010, element: 0x2201, vr: 'LO', value: text });

/** Writes a two-series study of `count` instances with the given CRID element text. */
function makeStudy(dir: string, count: number, cridText: string | null): Promise<StudyFiles> {
  return writeStudy(dir, { count, extra: cridText === null ? [] : [cridElement(cridText)] });
}

describe('receive with CRYPE IDs (storescu → bridge)', () => {
  let storage: string;
  let work: string;
  let bridge: Bridge;

  before(async () => {
    storage = await tempDir();
    work = await tempDir();
    bridge = await startBridge(storage, { receive: { cridTagGroup: '0010', cridTagElement: '2201', timeoutSeconds: 2 } });
  });
  after(async () => {
    await bridge.stop();
    await removeDir(storage);
    await removeDir(work);
  });

  test('a 200-instance two-series study with text + two IDs → one ZIP in Inbox_Auto, IDs cut out byte for byte', async () => {
    const sent = await makeStudy(join(work, 'crid'), 200, `textCRID#${CRID_A}CRID#${CRID_B}`);
    const studies = nextStudies(bridge, 1);
    const result = await storescu(bridge.receivePort!, sent.files);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(acknowledgedCount(result.stdout + result.stderr), 200);
    const [outcome] = await studies;
    assert.equal(outcome!.inbox, 'Inbox_Auto');

    const zips = await list(bridge.layout.inboxAuto);
    assert.equal(zips.length, 1);
    assert.deepEqual(await list(bridge.layout.inboxManual), []);
    assert.equal(zips[0], `HOLTZMANN, Carsten_1929-05-05_M_2004-07-22_CT_${sent.studyUid}_CRID#${CRID_A}CRID#${CRID_B}.zip`);

    const entries = await readZip(join(bridge.layout.inboxAuto, zips[0]!));
    assert.equal(entries.size, 200);
    const seriesFolders = new Set([...entries.keys()].map((name) => name.split('/')[0]));
    assert.equal(seriesFolders.size, 2, 'entries grouped by series');
    const seen = new Set<string>();
    for (const [name, file] of entries) {
      const received = datasetOf(file);
      const sopUid = sopUidOf(received);
      seen.add(sopUid);
      const original = sent.datasets.get(sopUid);
      assert.ok(original, `${name}: unknown instance ${sopUid}`);
      // Expected: the sent bytes with only the CRID element replaced by "text" (even length, space-padded).
      const sentElement = encodeElement(cridElement(`textCRID#${CRID_A}CRID#${CRID_B}`));
      const keptElement = encodeElement(cridElement('text'));
      const at = original.indexOf(sentElement);
      assert.ok(at > 0, 'the sent dataset holds the CRID element');
      const expected = Buffer.concat([original.subarray(0, at), keptElement, original.subarray(at + sentElement.length)]);
      assert.ok(received.equals(expected), `${name}: dataset differs from the sent one beyond the CRID element`);
      assert.equal(received.indexOf('CRID#'), -1, `${name}: an ID survived`);
    }
    assert.equal(seen.size, 200);

    const [row] = bridge.logBook.latest(1);
    assert.equal(row!.action, 'Receive');
    assert.equal(row!.status, 'Success');
    assert.equal(row!.instances, 200);
    assert.equal(row!.patientName, 'HOLTZMANN, Carsten');
  });

  test('the same study without IDs → one ZIP in Inbox_Manual, data untouched', async () => {
    const sent = await makeStudy(join(work, 'plain'), 20, null);
    const studies = nextStudies(bridge, 1);
    const result = await storescu(bridge.receivePort!, sent.files);
    assert.equal(result.code, 0, result.stderr);
    const [outcome] = await studies;
    assert.equal(outcome!.inbox, 'Inbox_Manual');
    const zips = (await list(bridge.layout.inboxManual)).filter((name) => name.includes(sent.studyUid));
    assert.deepEqual(zips, [`HOLTZMANN, Carsten_1929-05-05_M_2004-07-22_CT_${sent.studyUid}.zip`]);
    const entries = await readZip(join(bridge.layout.inboxManual, zips[0]!));
    assert.equal(entries.size, 20);
    for (const file of entries.values()) {
      const received = datasetOf(file);
      assert.ok(received.equals(sent.datasets.get(sopUidOf(received))!), 'dataset byte-identical');
    }
  });

  test('malformed ID text (wrong digit count, not at the end) stays in place → Inbox_Manual', async () => {
    const malformed = `text CRID#12345 more CRID#${CRID_A} tail`;
    const sent = await makeStudy(join(work, 'malformed'), 4, malformed);
    const studies = nextStudies(bridge, 1);
    const result = await storescu(bridge.receivePort!, sent.files);
    assert.equal(result.code, 0, result.stderr);
    const [outcome] = await studies;
    assert.equal(outcome!.inbox, 'Inbox_Manual');
    const zip = (await list(bridge.layout.inboxManual)).find((name) => name.includes(sent.studyUid));
    assert.ok(zip && !zip.includes('CRID#'));
    const entries = await readZip(join(bridge.layout.inboxManual, zip));
    for (const file of entries.values()) {
      const received = datasetOf(file);
      assert.ok(received.equals(sent.datasets.get(sopUidOf(received))!), 'malformed text left exactly as sent');
    }
    const [row] = bridge.logBook.latest(1);
    assert.match(row!.reason ?? '', /malformed/i);
  });
});
