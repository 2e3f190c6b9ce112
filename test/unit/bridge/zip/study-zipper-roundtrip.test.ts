/**
 * A staged study through zipStagedStudy and back (SPEC §1): entries read in parallel, some
 * small and some streamed, come out in assignEntryNames order, byte for byte, except for the
 * CRYPE IDs cut out of the instances that hold them; a deflated instance without IDs goes in
 * unchanged. The result (IDs in order of first appearance, malformed lines, the first
 * instance's attributes, modalities, progress) is what reading the entries one after the other
 * gives, whichever entry finished first. yauzl and Info-ZIP read the ZIP, ZIP64 forced too.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { TAGS } from '../../../../src/dicom/part10/tags.js';
import { asciiValue } from '../../../../src/dicom/part10/values.js';
import { assignEntryNames } from '../../../../src/bridge/zip/entry-names.js';
import { SMALL_ENTRY_BYTES } from '../../../../src/bridge/zip/ordered-deflate.js';
import { zipStagedStudy } from '../../../../src/bridge/zip/study-zipper.js';
import { readZip, removeDir, tempDir } from '../../../support/bridge-harness.js';
import { buildInstance, CT_IMAGE_STORAGE, encodeElement, encodeFileMeta, EXPLICIT_LE, testUid, type ElementSpec } from '../../../support/dicom-builder.js';

const CRID_TAG = 0x00102201;
const CRID_A = '1234567890123456';
const CRID_B = '9876543210987654';
const DEFLATED_LE = '1.2.840.10008.1.2.1.99';
const cridElement = (text: string): ElementSpec => ({ group: 0x0010, element: 0x2201, vr: 'LO', value: text });

interface Staged {
  fileName: string;
  file: Buffer;
  /** The entry expected in the ZIP. */
  expected: Buffer;
  info: { sopInstanceUid: string; seriesInstanceUid: string; seriesNumber: string; instanceNumber: string; modality: string };
}

/** Writes one staged instance; `crid` is the ID element's text and the text kept of it. */
async function stage(dir: string, spec: { studyUid: string; series: number; instance: number; modality?: string; description?: string; frames?: number; crid?: [string, string]; deflated?: boolean }): Promise<Staged> {
  const sopUid = testUid();
  const seriesUid = `${spec.studyUid}.${spec.series}`;
  const big = spec.frames !== undefined;
  const dataset = buildInstance({
    patientName: 'ZIP^Test', patientId: 'Z1', studyUid: spec.studyUid, seriesUid, seriesNumber: spec.series, sopUid, instanceNumber: spec.instance,
    modality: spec.modality, studyDescription: spec.description, rows: big ? 512 : 4, columns: big ? 512 : 4, frames: spec.frames,
    extra: spec.crid ? [cridElement(spec.crid[0])] : [],
  });
  const meta = encodeFileMeta(CT_IMAGE_STORAGE, sopUid, spec.deflated ? DEFLATED_LE : EXPLICIT_LE);
  const file = Buffer.concat([meta, spec.deflated ? deflateRawSync(dataset) : dataset]);
  let expected = file;
  if (spec.crid) {
    const sent = encodeElement(cridElement(spec.crid[0]));
    const at = file.indexOf(sent);
    assert.ok(at > 0);
    expected = Buffer.concat([file.subarray(0, at), encodeElement(cridElement(spec.crid[1])), file.subarray(at + sent.length)]);
  }
  const fileName = `${sopUid}.dcm`;
  await writeFile(join(dir, fileName), file);
  return { fileName, file, expected, info: { sopInstanceUid: sopUid, seriesInstanceUid: seriesUid, seriesNumber: String(spec.series), instanceNumber: String(spec.instance), modality: spec.modality ?? 'CT' } };
}

describe('zipStagedStudy round trip', () => {
  let root: string;
  before(async () => {
    root = await tempDir();
  });
  after(async () => {
    await removeDir(root);
  });

  for (const forceZip64 of [false, true]) {
    test(`small and streamed entries, IDs cut, deflated kept${forceZip64 ? ', ZIP64 forced' : ''}: yauzl and unzip -t read every entry in order, the result as if read one by one`, async () => {
      const studyUid = testUid();
      const dir = join(root, testUid());
      await mkdir(dir);
      const staged = [
        // The first entry is large and streamed: entries behind it finish first.
        await stage(dir, { studyUid, series: 1, instance: 1, description: 'FIRST', frames: 3, crid: [`textCRID#${CRID_A}`, 'text'] }),
        await stage(dir, { studyUid, series: 1, instance: 2, description: 'other', crid: [`CRID#${CRID_B}`, ''] }),
        await stage(dir, { studyUid, series: 1, instance: 3, description: 'other', crid: [`moreCRID#${CRID_A}`, 'more'] }),
        await stage(dir, { studyUid, series: 1, instance: 4, description: 'other', frames: 3 }),
        await stage(dir, { studyUid, series: 2, instance: 1, description: 'other', modality: 'SR', crid: ['text CRID#12345 tail', 'text CRID#12345 tail'] }),
        await stage(dir, { studyUid, series: 2, instance: 2, description: 'other', modality: 'SR', deflated: true }),
        await stage(dir, { studyUid, series: 2, instance: 3, description: 'other', modality: 'SR' }),
      ];
      assert.ok(staged[0]!.file.length > SMALL_ENTRY_BYTES, 'the first entry takes the streamed path');
      const progress: Array<[number, number]> = [];
      const zipPath = join(root, `${testUid()}.zip.tmp`);
      const result = await zipStagedStudy({ key: 'k', dir, instances: new Map() }, zipPath, {
        zipTempDir: root, compressionLevel: 1, cridTag: CRID_TAG, fsync: true, forceZip64, budgetBytes: 2 * 1024 * 1024,
        onEntries: (done, total) => progress.push([done, total]),
      });
      assert.ok(result);

      const names = assignEntryNames(staged.map((s) => ({ ...s.info, staged: s })));
      const check = spawnSync('unzip', ['-tq', zipPath], { encoding: 'utf8' });
      assert.equal(check.status, 0, check.stdout + check.stderr);
      const back = await readZip(zipPath);
      assert.deepEqual([...back.keys()], names.map((n) => n.name));
      for (const { source, name } of names) assert.ok(back.get(name)!.equals(source.staged.expected), `${name} (${source.staged.fileName}) differs`);
      for (const s of staged) assert.ok((await readFile(join(dir, s.fileName))).equals(s.file), 'the staged file keeps its IDs');

      assert.equal(result.instanceCount, staged.length);
      assert.deepEqual(result.crids, [CRID_A, CRID_B]);
      assert.equal(result.malformed.length, 1);
      assert.match(result.malformed[0]!, new RegExp(`^${staged[4]!.fileName}: `));
      assert.equal(asciiValue(result.attributes.get(TAGS.StudyDescription)), 'FIRST');
      assert.deepEqual(result.modalities, ['CT', 'SR']);
      assert.deepEqual(result.callingAeTitles, []);
      assert.deepEqual(progress, Array.from({ length: staged.length + 1 }, (_, i) => [i, staged.length]));
    });
  }

  test('infos lost with a restart and a staged file that is not Part 10: rejects with the reason, every descriptor closed', async () => {
    const studyUid = testUid();
    const dir = join(root, testUid());
    await mkdir(dir);
    for (let i = 1; i <= 40; i += 1) await stage(dir, { studyUid, series: 1, instance: i, frames: i === 1 ? 3 : undefined });
    await writeFile(join(dir, 'zzz-broken.dcm'), Buffer.alloc(300));
    const fds = (await readdir('/proc/self/fd')).length;
    await assert.rejects(
      zipStagedStudy({ key: 'k', dir, instances: new Map() }, join(root, `${testUid()}.zip.tmp`), { zipTempDir: root, compressionLevel: 1, cridTag: null, fsync: false }),
      /DICM/,
    );
    assert.equal((await readdir('/proc/self/fd')).length, fds);
  });
});
