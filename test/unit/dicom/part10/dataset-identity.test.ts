/**
 * readDatasetIdentity: the SOP Class and Instance UIDs a dataset carries, read from its head
 * in every kind of transfer syntax, checked against dcmdump's view of pydicom's samples.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readDatasetIdentity } from '../../../../src/dicom/part10/dataset-identity.js';
import { parseFileMeta } from '../../../../src/dicom/part10/file-meta.js';
import { dcmdump } from '../../../support/peers/dcmtk.js';
import { encodeDataset, EXPLICIT_LE } from '../../../support/dicom-builder.js';

const SAMPLES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

/** SOPClassUID and SOPInstanceUID as dcmdump prints them (the reference, not the code under test). */
async function reference(file: string): Promise<{ sopClassUid: string; sopInstanceUid: string }> {
  const { stdout } = await dcmdump(file, ['-Un', '+P', '0008,0016', '+P', '0008,0018']);
  const values = [...stdout.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]!.replace(/\0+$/, ''));
  return { sopClassUid: values[0]!, sopInstanceUid: values[1]! };
}

describe('readDatasetIdentity', () => {
  for (const name of ['rtplan.dcm', 'CT_small.dcm', 'MR_small_bigendian.dcm', 'image_dfl.dcm', 'MR_small_implicit.dcm', 'JPEG2000.dcm']) {
    it(`reads the dataset's UIDs of ${name} as dcmdump does`, async () => {
      const file = await readFile(join(SAMPLES, name));
      const meta = parseFileMeta(file, true)!;
      const identity = await readDatasetIdentity(file.subarray(meta.datasetOffset), meta.transferSyntaxUid, true);
      assert.deepEqual(identity, await reference(join(SAMPLES, name)));
    });
  }

  it("rtplan.dcm's dataset names another instance than its meta", async () => {
    const file = await readFile(join(SAMPLES, 'rtplan.dcm'));
    const meta = parseFileMeta(file, true)!;
    const identity = await readDatasetIdentity(file.subarray(meta.datasetOffset), meta.transferSyntaxUid, true);
    assert.equal(meta.mediaStorageSopInstanceUid, '1.2.999.999.99.9.9999.9999.20030903150023');
    assert.equal(identity?.sopInstanceUid, '1.2.777.777.77.7.7777.7777.20030903150023');
  });

  it('asks for more bytes when the head ends before the UIDs, at every cut', async () => {
    const dataset = encodeDataset([
      { group: 8, element: 5, vr: 'CS', value: 'ISO_IR 100' },
      { group: 8, element: 0x16, vr: 'UI', value: '1.2.3' },
      { group: 8, element: 0x18, vr: 'UI', value: '1.2.3.4' },
      { group: 0x10, element: 0x10, vr: 'PN', value: 'Doe^John' },
    ]);
    const end = dataset.indexOf(Buffer.from('1.2.3.4')) + 8;
    for (let cut = 0; cut < end; cut += 1) {
      assert.equal(await readDatasetIdentity(dataset.subarray(0, cut), EXPLICIT_LE, false), null, `cut at ${cut}`);
    }
    assert.deepEqual(await readDatasetIdentity(dataset.subarray(0, end), EXPLICIT_LE, false), { sopClassUid: '1.2.3', sopInstanceUid: '1.2.3.4' });
  });

  it('gives undefined UIDs for a dataset without them (a later tag, or its end)', async () => {
    const dataset = encodeDataset([{ group: 0x10, element: 0x10, vr: 'PN', value: 'Doe^John' }]);
    assert.deepEqual(await readDatasetIdentity(dataset, EXPLICIT_LE, false), { sopClassUid: undefined, sopInstanceUid: undefined });
    const onlyClass = encodeDataset([{ group: 8, element: 0x16, vr: 'UI', value: '1.2.3' }]);
    assert.equal(await readDatasetIdentity(onlyClass, EXPLICIT_LE, false), null);
    assert.deepEqual(await readDatasetIdentity(onlyClass, EXPLICIT_LE, true), { sopClassUid: '1.2.3', sopInstanceUid: undefined });
  });
});
