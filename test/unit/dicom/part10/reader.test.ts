// readPart10Attributes: file meta plus captured top-level values, checked against dcmdump.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DatasetDecodeError } from '../../../../src/dicom/errors.js';
import { readPart10Attributes } from '../../../../src/dicom/part10/reader.js';
import { TAGS } from '../../../../src/dicom/part10/tags.js';

const DIR = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

describe('readPart10Attributes', () => {
  it('reads meta and top-level values of an explicit VR LE file', async () => {
    const { meta, captured } = await readPart10Attributes(`${DIR}/CT_small.dcm`, [TAGS.PatientName, TAGS.Modality, TAGS.PatientSex, 0x00990099]);
    assert.equal(meta.transferSyntaxUid, '1.2.840.10008.1.2.1');
    assert.equal(captured.get(TAGS.PatientName)?.value.toString('latin1'), 'CompressedSamples^CT1 ');
    assert.equal(captured.get(TAGS.Modality)?.value.toString('latin1'), 'CT');
    assert.equal(captured.get(TAGS.Modality)?.vr, 'CS');
    assert.equal(captured.has(0x00990099), false);
  });

  it('reads a deflated file and a big-endian file', async () => {
    const dfl = await readPart10Attributes(`${DIR}/image_dfl.dcm`, [TAGS.SOPInstanceUID]);
    assert.equal(dfl.captured.get(TAGS.SOPInstanceUID)?.value.toString('latin1').replace(/\0$/, ''), dfl.meta.mediaStorageSopInstanceUid);
    const be = await readPart10Attributes(`${DIR}/MR_small_bigendian.dcm`, [TAGS.SOPInstanceUID]);
    assert.equal(be.captured.get(TAGS.SOPInstanceUID)?.value.toString('latin1').replace(/\0$/, ''), be.meta.mediaStorageSopInstanceUid);
  });

  it('rejects non-Part-10 and truncated files', async () => {
    await assert.rejects(readPart10Attributes(`${DIR}/rtstruct.dcm`, []), DatasetDecodeError);
    await assert.rejects(readPart10Attributes(`${DIR}/rtplan_truncated.dcm`, []), DatasetDecodeError);
  });
});
