/**
 * inspectPath, formatInspectReport, reportToJson and inspectExitCode on files made by the
 * test's own DICOM builder: IDs in the configured tag, in another tag, inside a sequence,
 * malformed, the feature off, deflated data, a non-DICOM file, two studies in a folder, a name
 * too long for the inbox path, and hostile control characters.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { formatInspectReport, reportToJson } from '../../../../src/bridge/inspect/format.js';
import { inspectExitCode, inspectPath, InspectTargetError } from '../../../../src/bridge/inspect/inspect.js';
import { safeText } from '../../../../src/bridge/inspect/safe-text.js';
import { parseConfig } from '../../../../src/config/load.js';
import type { Config } from '../../../../src/config/schema.js';
import {
  buildInstance,
  CT_IMAGE_STORAGE,
  encodeElement,
  encodeFileMeta,
  testUid,
  writeInstanceFile,
  type ElementSpec,
} from '../../../support/dicom-builder.js';
import { removeDir, tempDir } from '../../../support/bridge-harness.js';
import { writeStudy } from '../../../support/study-files.js';

const ID1 = '1234567890123456';
const ID2 = '9876543210987654';

let root: string;
let storage: string;

function config(group: string, element: string, storageFolder = storage): Config {
  return parseConfig({ storageFolder, receive: { cridTagGroup: group, cridTagElement: element } }, { baseDir: '/' });
}

const comments = (value: string): ElementSpec => ({ group: 0x0010, element: 0x4000, vr: 'LT', value });
const species = (value: string): ElementSpec => ({ group: 0x0010, element: 0x2201, vr: 'LO', value });

/** A fresh folder under the test root. */
let folders = 0;
async function folder(): Promise<string> {
  folders += 1;
  const dir = join(root, `case-${folders}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** An item (FFFE,E000) of undefined length around `content` (PS3.5 §7.5). */
function undefinedItem(content: Buffer): Buffer {
  const head = Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff]);
  const end = Buffer.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]);
  return Buffer.concat([head, content, end]);
}

/** An explicit VR little endian SQ of undefined length. */
function undefinedSequence(group: number, element: number, items: Buffer[]): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16LE(group, 0);
  head.writeUInt16LE(element, 2);
  head.write('SQ', 4, 'latin1');
  head.writeUInt32LE(0xffffffff, 8);
  return Buffer.concat([head, ...items, Buffer.from([0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0])]);
}

before(async () => {
  root = await tempDir('dicombridge-inspect-');
  storage = join(root, 'storage');
});

after(async () => {
  await removeDir(root);
});

describe('inspectPath', () => {
  it('IDs in the configured tag: Inbox_Auto and the ZIP name the bridge would build', async () => {
    const dir = await folder();
    const study = await writeStudy(dir, { count: 3, extra: [comments(`Pat. CRID#${ID1}CRID#${ID2}`)] });
    const report = await inspectPath(dir, config('0010', '4000'));
    assert.equal(report.files, 3);
    assert.equal(report.studies.length, 1);
    const [s] = report.studies;
    assert.equal(s!.instances, 3);
    assert.equal(s!.patientName, 'HOLTZMANN, Carsten');
    assert.equal(s!.birthDate, '1929-05-05');
    assert.equal(s!.studyDate, '2004-07-22');
    assert.deepEqual(s!.modalities, ['CT']);
    assert.deepEqual(s!.crids, [ID1, ID2]);
    assert.equal(s!.instancesWithIds, 3);
    assert.deepEqual(s!.otherElements, [], 'the configured element is not listed again');
    assert.equal(s!.inbox, 'Inbox_Auto');
    assert.equal(s!.inboxReason, null);
    assert.equal(s!.zipName, `HOLTZMANN, Carsten_1929-05-05_M_2004-07-22_CT_${study.studyUid}_CRID#${ID1}CRID#${ID2}.zip`);
    assert.equal(inspectExitCode(report), 0);

    const text = formatInspectReport(report);
    assert.match(text, /CRYPE ID tag {6}\(0010,4000\) PatientComments — 2 IDs in 3 of 3 instances/);
    assert.match(text, new RegExp(`CRYPE IDs {9}CRID#${ID1}CRID#${ID2}`));
    assert.match(text, /Inbox {13}Inbox_Auto\n/);
  });

  it('IDs in another tag: that tag is named with its keyword, with the setting to change', async () => {
    const dir = await folder();
    await writeStudy(dir, { count: 2, extra: [comments(`see CRID#${ID1}`), species('dog')] });
    const report = await inspectPath(dir, config('0010', '2201'));
    const [s] = report.studies;
    assert.deepEqual(s!.crids, []);
    assert.equal(s!.instancesWithTag, 2);
    assert.equal(s!.inbox, 'Inbox_Manual');
    assert.match(s!.inboxReason!, /no CRYPE ID in the configured tag/);
    assert.equal(s!.otherElements.length, 1);
    const [el] = s!.otherElements;
    assert.equal(el!.tag, '(0010,4000)');
    assert.equal(el!.keyword, 'PatientComments');
    assert.equal(el!.vr, 'LT');
    assert.equal(el!.topLevel, true);
    assert.equal(el!.value, `see CRID#${ID1}`);
    assert.equal(el!.instances, 2);
    assert.match(el!.hint, /^set Crype-ID Tag Group 0010 and Element 4000/);
    assert.deepEqual(el!.wouldYield, { ids: [ID1], malformed: null });
    assert.doesNotMatch(el!.hint, /malformed|no valid ID/);
    assert.equal(inspectExitCode(report), 1);

    const text = formatInspectReport(report);
    assert.match(text, /CRID# found in {4}\(0010,4000\) PatientComments \[LT\] "see CRID#1234567890123456" in 2 instances/);
    assert.match(text, /→ set Crype-ID Tag Group 0010 and Element 4000/);
    assert.match(text, /\(0010,2201\) — no IDs found \(the element is in 2 of 2 instances\)/);
  });

  it('IDs inside a sequence item: the path is shown and the hint says the bridge looks at the top level only', async () => {
    const dir = await folder();
    const uid = testUid();
    const base = buildInstance({
      patientName: 'DOE^Jane', patientId: 'P9', studyUid: uid, seriesUid: testUid(), seriesNumber: 1, sopUid: testUid(), instanceNumber: 1,
    });
    const nested = undefinedSequence(0x0040, 0x0275, [
      undefinedItem(encodeElement({ group: 0x0040, element: 0x1001, vr: 'SH', value: 'RP1' })),
      undefinedItem(encodeElement(comments(`CRID#${ID1}`))),
    ]);
    await writeFile(join(dir, 'a.dcm'), Buffer.concat([encodeFileMeta(CT_IMAGE_STORAGE, testUid(), '1.2.840.10008.1.2.1'), base, nested]));
    const report = await inspectPath(dir, config('0010', '4000'));
    const [s] = report.studies;
    assert.equal(s!.inbox, 'Inbox_Manual');
    const [el] = s!.otherElements;
    assert.equal(el!.location, '(0040,0275) item 2 > (0010,4000) PatientComments');
    assert.equal(el!.topLevel, false);
    assert.equal(el!.wouldYield, null);
    assert.match(el!.hint, /inside a sequence/);
    assert.match(formatInspectReport(report), /\(0040,0275\) item 2 > \(0010,4000\) PatientComments \[LT\] "CRID#1234567890123456" in 1 instance\n/);
  });

  it('malformed ID text: reported per file as the receiver warns, and the study goes to Inbox_Manual', async () => {
    const dir = await folder();
    await writeInstanceFile(join(dir, 'good.dcm'), {
      patientName: 'A^B', patientId: 'P1', studyUid: '1.2.3.4', seriesUid: '1.2.3.4.1', seriesNumber: 1, sopUid: '1.2.3.4.1.1', instanceNumber: 1,
      extra: [comments(`CRID#${ID1}`)],
    });
    await writeInstanceFile(join(dir, 'bad.dcm'), {
      patientName: 'A^B', patientId: 'P1', studyUid: '1.2.3.4', seriesUid: '1.2.3.4.1', seriesNumber: 1, sopUid: '1.2.3.4.1.2', instanceNumber: 2,
      extra: [comments('CRID#123456789012345')],
    });
    const report = await inspectPath(dir, config('0010', '4000'));
    const [s] = report.studies;
    assert.equal(s!.instances, 2);
    assert.deepEqual(s!.crids, [ID1]);
    assert.equal(s!.malformed.length, 1);
    assert.equal(s!.malformed[0]!.file, 'bad.dcm');
    assert.match(s!.malformed[0]!.message, /15 digits instead of 16/);
    assert.equal(s!.inbox, 'Inbox_Manual');
    assert.match(s!.inboxReason!, /malformed CRYPE ID text in 1 of 2 instance/);
    assert.equal(s!.zipName, 'A, B_1929-05-05_M_2004-07-22_CT_1.2.3.4.zip', 'no IDs in the name');
    assert.match(formatInspectReport(report), /Malformed ID {6}bad\.dcm: "CRID#" at byte 0 is followed by 15 digits/);
  });

  it('feature off (0000/0000): no IDs taken, the CRID# element is pointed out', async () => {
    const dir = await folder();
    await writeStudy(dir, { count: 1, extra: [comments(`CRID#${ID1}`)] });
    const report = await inspectPath(dir, config('0000', '0000'));
    assert.equal(report.cridTag, null);
    const [s] = report.studies;
    assert.equal(s!.inbox, 'Inbox_Manual');
    assert.match(s!.inboxReason!, /CRYPE IDs are off/);
    assert.equal(s!.otherElements[0]!.tag, '(0010,4000)');
    const text = formatInspectReport(report);
    assert.match(text, /Crype-ID Tag: off \(0000\/0000\)/);
    assert.match(text, /CRYPE ID tag {6}off/);
    assert.match(text, /→ set Crype-ID Tag Group 0010 and Element 4000/);
  });

  it('a deflated file is inflated for the search and its IDs are found', async () => {
    const dir = await folder();
    const uid = testUid();
    const dataset = buildInstance({
      patientName: 'DEFL^Ate', patientId: 'P2', studyUid: uid, seriesUid: testUid(), seriesNumber: 1, sopUid: testUid(), instanceNumber: 1,
      extra: [comments(`CRID#${ID2}`), { group: 0x0032, element: 0x4000, vr: 'LT', value: `crid#${ID1}` }],
    });
    await writeFile(join(dir, 'd.dcm'), Buffer.concat([encodeFileMeta(CT_IMAGE_STORAGE, testUid(), '1.2.840.10008.1.2.1.99'), deflateRawSync(dataset)]));
    const report = await inspectPath(join(dir, 'd.dcm'), config('0010', '4000'));
    const [s] = report.studies;
    assert.deepEqual(s!.crids, [ID2]);
    assert.equal(s!.inbox, 'Inbox_Auto');
    assert.equal(s!.otherElements[0]!.tag, '(0032,4000)');
    assert.equal(s!.otherElements[0]!.keyword, 'StudyComments');
    assert.match(s!.otherElements[0]!.hint, /malformed/, 'lower-case crid# is malformed text for the bridge');
  });

  it('skips a non-DICOM file and a Part 10 file without StudyInstanceUID, with reasons', async () => {
    const dir = await folder();
    await writeStudy(join(dir, 'sub'), { count: 1, extra: [comments(`CRID#${ID1}`)] });
    await writeFile(join(dir, 'readme.txt'), 'not DICOM');
    const noStudy = Buffer.concat([encodeFileMeta(CT_IMAGE_STORAGE, '1.2.3', '1.2.840.10008.1.2.1'), encodeElement({ group: 0x0010, element: 0x0010, vr: 'PN', value: 'X' })]);
    await writeFile(join(dir, 'nostudy.dcm'), noStudy);
    const report = await inspectPath(dir, config('0010', '4000'));
    assert.equal(report.files, 3);
    assert.equal(report.studies.length, 1);
    assert.equal(report.studies[0]!.inbox, 'Inbox_Auto');
    assert.deepEqual(report.skipped.map((s) => [s.file, s.kind]), [['nostudy.dcm', 'refused'], ['readme.txt', 'not-dicom']]);
    assert.match(report.skipped[1]!.reason, /not a DICOM Part 10 file/);
    assert.equal(inspectExitCode(report), 1, 'a refused Part 10 file is not a clean result');
    const text = formatInspectReport(report);
    assert.match(text, /Skipped 2 files\n {2}nostudy\.dcm: no StudyInstanceUID/);
    assert.match(text, /readme\.txt: not a DICOM Part 10 file/);
  });

  it('a folder with two studies: one block each, grouped by patient and study', async () => {
    const dir = await folder();
    const a = await writeStudy(join(dir, 'a'), { count: 2, extra: [comments(`CRID#${ID1}`)] });
    const b = await writeStudy(join(dir, 'b'), { count: 3, patientName: 'MÜLLER^Jörg', extra: [species('none')] });
    const report = await inspectPath(dir, config('0010', '4000'));
    assert.deepEqual(report.studies.map((s) => [s.studyInstanceUid, s.instances, s.inbox]), [
      [a.studyUid, 2, 'Inbox_Auto'],
      [b.studyUid, 3, 'Inbox_Manual'],
    ]);
    assert.equal(report.studies[1]!.patientName, 'MÜLLER, Jörg', 'ISO_IR 100 decoded');
    const text = formatInspectReport(report);
    assert.equal(text.match(/^Study /gm)?.length, 2);
    assert.match(text, /^Inspected .*: 5 files, 2 studies, 0 skipped$/m);
    assert.equal(inspectExitCode(report), 1);
  });

  it('a name that cannot fit the inbox path: Inbox_Failed with the reason', async () => {
    const dir = await folder();
    await writeStudy(dir, { count: 1, extra: [comments(`CRID#${ID1}`)] });
    const report = await inspectPath(dir, config('0010', '4000', join(root, 'x'.repeat(200))));
    const [s] = report.studies;
    assert.equal(s!.inbox, 'Inbox_Failed');
    assert.equal(s!.zipName, null);
    assert.match(s!.inboxReason!, /^zipping failed: the ZIP name cannot fit/);
  });

  it('shows control characters from the file as \\xNN, in text and JSON', async () => {
    const dir = await folder();
    await writeStudy(dir, { count: 1, patientName: 'EVIL\x1b[2J^Mal\x9bory', extra: [{ group: 0x0032, element: 0x4000, vr: 'LT', value: 'x\x07CRID#12' }] });
    const report = await inspectPath(dir, config('0010', '4000'));
    const text = formatInspectReport(report);
    const json = reportToJson(report);
    for (const out of [text, json]) {
      // eslint-disable-next-line no-control-regex -- control characters are what is being checked
      assert.doesNotMatch(out, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, 'no raw control character besides newline');
    }
    assert.match(text, /EVIL\\x1b\[2J, Mal\\x9bory/);
    assert.match(text, /"x\\x07CRID#12"/);
  });

  it('reportToJson: a stable shape with the exit code', async () => {
    const dir = await folder();
    await writeStudy(dir, { count: 1, extra: [comments(`CRID#${ID1}`)] });
    const report = await inspectPath(dir, config('0010', '4000'));
    const parsed = JSON.parse(reportToJson(report)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ['format', 'exitCode', 'target', 'cridTag', 'files', 'studies', 'skipped', 'skippedOmitted', 'skippedByKind']);
    assert.equal(parsed.format, 'dicombridge-inspect/1');
    assert.equal(parsed.exitCode, 0);
    assert.deepEqual(parsed.cridTag, { tag: '(0010,4000)', group: '0010', element: '4000', keyword: 'PatientComments' });
    const study = (parsed.studies as Array<Record<string, unknown>>)[0]!;
    assert.equal(study.inbox, 'Inbox_Auto');
    assert.deepEqual(study.crids, [ID1]);
  });

  it('rejects a missing target or one that is neither file nor folder; an empty folder exits 1', async () => {
    await assert.rejects(inspectPath(join(root, 'missing'), config('0010', '4000')), { code: 'ENOENT' });
    const empty = await folder();
    const report = await inspectPath(empty, config('0010', '4000'));
    assert.equal(report.studies.length, 0);
    assert.equal(inspectExitCode(report), 1);
    assert.match(formatInspectReport(report), /No study found\./);
    await assert.rejects(inspectPath('/dev/null', config('0010', '4000')), InspectTargetError);
  });
});

describe('safeText', () => {
  it('escapes C0, DEL, C1 and direction overrides; cuts long text', () => {
    assert.equal(safeText('a\x1b[31mb\x7f\x9bc'), 'a\\x1b[31mb\\x7f\\x9bc');
    assert.equal(safeText('abc\u202Egpj.exe'), 'abc\\u202egpj.exe');
    assert.equal(safeText('Jörg 日本'), 'Jörg 日本');
    assert.equal(safeText('abcdef', 3), 'abc…');
  });
});
