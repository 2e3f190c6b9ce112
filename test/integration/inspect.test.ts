/**
 * inspectPath on real files (Debian python3-pydicom's sample data): no throw, patient names as
 * DCMTK's dcmdump decodes them (+U8, an oracle independent of our charset code), ZIP names
 * ending with the StudyInstanceUID. Then CRYPE IDs put into real files by DCMTK's dcmodify —
 * in another top-level element, and inside a sequence item — and the files re-encoded by
 * dcmconv (implicit VR, big endian, deflated, undefined lengths): the element is named each time.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatInspectReport } from '../../src/bridge/inspect/format.js';
import { inspectExitCode, inspectPath } from '../../src/bridge/inspect/inspect.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { removeDir, tempDir } from '../support/bridge-harness.js';
import { dcmdump, runTool } from '../support/peers/dcmtk.js';

const DATA = '/usr/lib/python3/dist-packages/pydicom/data';
const SAMPLES = [
  'test_files/CT_small.dcm', // explicit VR little endian
  'test_files/MR_small_bigendian.dcm', // explicit VR big endian
  'test_files/MR_small_implicit.dcm', // implicit VR little endian
  'test_files/image_dfl.dcm', // deflated
  'test_files/JPEG2000.dcm', // encapsulated pixel data
  'test_files/MR_small_RLE.dcm',
  'test_files/rtplan.dcm', // nested sequences
  'test_files/waveform_ecg.dcm',
  'charset_files/chrX1.dcm', // UTF-8
  'charset_files/chrI2.dcm', // ISO 2022 Korean in the ideographic group
  'charset_files/chrHbrw.dcm', // Hebrew
  'charset_files/chrGerm.dcm', // Latin-1
  'charset_files/chrRuss.dcm', // Cyrillic
  'charset_files/chrGreek.dcm',
];
const ID = '1234567890123456';

let root: string;

function config(group: string, element: string): Config {
  return parseConfig({ storageFolder: join(root, 'storage'), receive: { cridTagGroup: group, cridTagElement: element } }, { baseDir: '/' });
}

function tagValue(dump: string, tag: string): string {
  const line = dump.split('\n').find((l) => l.startsWith(tag));
  return line?.match(/\[(.*)\]/)?.[1] ?? '';
}

/** `FAMILY, Given Middle` from a PN value, the SPEC §1 rule, written independently here. */
function expectedName(pn: string): string {
  const [family = '', given = '', middle = ''] = (pn.split('\\')[0] ?? '').split('=')[0]!.split('^').map((s) => s.trim());
  const rest = [given, middle].filter((s) => s !== '').join(' ');
  return family === '' ? rest : rest === '' ? family : `${family}, ${rest}`;
}

async function tool(name: string, args: string[]): Promise<void> {
  const result = await runTool(name, args, 30_000);
  assert.equal(result.code, 0, `${name} ${args.join(' ')}: ${result.stderr}`);
}

before(async () => {
  root = await tempDir('dicombridge-inspect-it-');
});

after(async () => {
  await removeDir(root);
});

describe('inspect on real files', () => {
  for (const sample of SAMPLES) {
    it(`${sample}: one study, the decoded name, a ZIP name ending with the study UID`, async () => {
      const path = join(DATA, sample);
      const dump = (await dcmdump(path, ['-q', '+U8'])).stdout;
      const studyUid = tagValue(dump, '(0020,000d)');
      const report = await inspectPath(path, config('0010', '4000'));
      assert.equal(report.files, 1);
      assert.equal(report.studies.length, 1, JSON.stringify(report.skipped));
      const [s] = report.studies;
      assert.equal(s!.studyInstanceUid, studyUid);
      assert.equal(s!.patientName, expectedName(tagValue(dump, '(0010,0010)')));
      assert.ok(s!.zipName?.endsWith(`_${studyUid}.zip`), s!.zipName ?? 'no name');
      assert.equal(s!.inbox, 'Inbox_Manual');
      assert.deepEqual(s!.notes, [], 'the CRID# search walked the whole dataset');
    });
  }

  it('the whole sample folder: no throw, every file is an instance or skipped with a reason', async () => {
    const report = await inspectPath(join(DATA, 'test_files'), config('0010', '4000'));
    const instances = report.studies.reduce((n, s) => n + s.instances, 0);
    assert.equal(instances + report.skipped.length + report.skippedOmitted, report.files);
    assert.ok(report.studies.length >= 10);
    for (const s of report.skipped) assert.notEqual(s.reason, '');
    for (const s of report.studies) assert.deepEqual(s.notes, [], s.studyInstanceUid);
    assert.equal(inspectExitCode(report), 1);
    assert.match(formatInspectReport(report), /^Skipped \d+ files$/m);
  });
});

describe('inspect finds IDs that DCMTK put into real files', () => {
  it('IDs in another top-level tag are named, and with that tag configured the study goes to Inbox_Auto', async () => {
    const dir = join(root, 'other-tag');
    await mkdir(dir);
    const file = join(dir, 'ct.dcm');
    await copyFile(join(DATA, 'test_files/CT_small.dcm'), file);
    await tool('dcmodify', ['-nb', '-i', `(0010,4000)=Pat. CRID#${ID}`, file]);

    const wrong = await inspectPath(dir, config('0010', '2201'));
    const [s] = wrong.studies;
    assert.equal(s!.inbox, 'Inbox_Manual');
    assert.equal(s!.otherElements.length, 1);
    assert.equal(s!.otherElements[0]!.location, '(0010,4000) PatientComments');
    assert.match(s!.otherElements[0]!.hint, /^set Crype-ID Tag Group 0010 and Element 4000$/);
    assert.match(formatInspectReport(wrong), /CRID# found in {4}\(0010,4000\) PatientComments \[LT\] "Pat\. CRID#1234567890123456" in 1 instance/);

    const right = await inspectPath(dir, config('0010', '4000'));
    assert.equal(right.studies[0]!.inbox, 'Inbox_Auto');
    assert.ok(right.studies[0]!.zipName!.endsWith(`_CRID#${ID}.zip`));
    assert.equal(inspectExitCode(right), 0);
  });

  const ENCODINGS: Array<[string, string[]]> = [
    ['explicit little endian', []],
    ['implicit little endian', ['+ti']],
    ['explicit big endian', ['+tb']],
    ['deflated', ['+td']],
    ['undefined lengths', ['-e']],
    ['implicit, undefined lengths', ['+ti', '-e']],
  ];
  for (const [label, args] of ENCODINGS) {
    it(`an ID inside a sequence item is found with its path (${label})`, async () => {
      const dir = join(root, `nested-${label.replace(/\W+/g, '-')}`);
      await mkdir(dir);
      const source = join(dir, 'source.tmp');
      await copyFile(join(DATA, 'test_files/rtplan.dcm'), source);
      await tool('dcmodify', ['-nb', '-m', `(300a,00b0)[0].(0008,1090)=CRID#${ID}`, source]);
      await tool('dcmconv', [...args, source, join(dir, 'plan.dcm')]);

      const report = await inspectPath(join(dir, 'plan.dcm'), config('0010', '4000'));
      const [s] = report.studies;
      assert.deepEqual(s!.notes, []);
      assert.deepEqual(s!.otherElements.map((e) => [e.location, e.value, e.topLevel]), [
        ['(300A,00B0) item 1 > (0008,1090) ManufacturerModelName', `CRID#${ID}`, false],
      ]);
      assert.match(s!.otherElements[0]!.hint, /inside a sequence/);
    });
  }
});
