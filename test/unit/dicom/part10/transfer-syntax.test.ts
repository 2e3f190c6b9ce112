// Transfer syntax table, VR properties, compact dictionary and tag helpers.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { keywordOf, tagOfKeyword, vrForTag } from '../../../../src/dicom/part10/dictionary.js';
import { formatTag, tag, TAGS } from '../../../../src/dicom/part10/tags.js';
import {
  DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
  EXPLICIT_VR_BIG_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
  isTransferSyntaxSupported,
  supportedTransferSyntaxes,
  transferSyntaxInfo,
} from '../../../../src/dicom/part10/transfer-syntax.js';
import { hasLongLength, isTextVr, paddingByte, saneMaxValueBytes } from '../../../../src/dicom/part10/vr.js';

describe('transferSyntaxInfo', () => {
  it('describes the native syntaxes', () => {
    assert.deepEqual(
      { ...transferSyntaxInfo(IMPLICIT_VR_LITTLE_ENDIAN) },
      { uid: IMPLICIT_VR_LITTLE_ENDIAN, name: 'Implicit VR Little Endian', explicitVr: false, littleEndian: true, deflated: false, encapsulated: false },
    );
    assert.equal(transferSyntaxInfo(EXPLICIT_VR_BIG_ENDIAN)?.littleEndian, false);
    assert.equal(transferSyntaxInfo(DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)?.deflated, true);
  });

  it('marks every compressed syntax encapsulated, explicit VR little endian', () => {
    const encapsulated = [
      '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70',
      '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.93',
      '1.2.840.10008.1.2.4.100', '1.2.840.10008.1.2.4.102.1', '1.2.840.10008.1.2.4.107', '1.2.840.10008.1.2.4.108',
      '1.2.840.10008.1.2.4.110', '1.2.840.10008.1.2.4.112', '1.2.840.10008.1.2.4.201', '1.2.840.10008.1.2.4.203',
      '1.2.840.10008.1.2.5', '1.2.840.10008.1.2.8.1', '1.2.840.10008.1.2.1.98',
    ];
    for (const uid of encapsulated) {
      const info = transferSyntaxInfo(uid);
      assert.ok(info, uid);
      assert.equal(info.encapsulated, true, uid);
      assert.equal(info.explicitVr && info.littleEndian && !info.deflated, true, uid);
    }
    assert.equal(transferSyntaxInfo('1.2.840.10008.1.2.4.95')?.deflated, true);
    assert.equal(transferSyntaxInfo('1.2.840.10008.1.2.7.1')?.encapsulated, false);
  });

  it('trims UID padding and refuses unknown UIDs', () => {
    assert.equal(transferSyntaxInfo('1.2.840.10008.1.2.1\0')?.explicitVr, true);
    assert.equal(transferSyntaxInfo('1.2.840.10008.1.2.99'), undefined);
    assert.equal(isTransferSyntaxSupported('1.2.3'), false);
    assert.equal(isTransferSyntaxSupported(IMPLICIT_VR_LITTLE_ENDIAN), true);
    assert.ok(supportedTransferSyntaxes().length > 60);
  });
});

describe('VR properties', () => {
  it('knows the 32-bit length VRs of explicit VR', () => {
    for (const vr of ['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']) assert.equal(hasLongLength(vr), true, vr);
    for (const vr of ['PN', 'UI', 'LO', 'US', 'UL', 'AT', 'LT', 'ST', 'DS']) assert.equal(hasLongLength(vr), false, vr);
    assert.equal(hasLongLength('ZZ'), true, 'unknown VRs take the long form');
  });

  it('pads UI and binary with NUL, text with space', () => {
    assert.equal(paddingByte('UI'), 0x00);
    assert.equal(paddingByte('OB'), 0x00);
    assert.equal(paddingByte('UN'), 0x00);
    assert.equal(paddingByte('PN'), 0x20);
    assert.equal(paddingByte('LO'), 0x20);
    assert.equal(isTextVr('PN'), true);
    assert.equal(isTextVr('OB'), false);
    assert.equal(saneMaxValueBytes('UT'), undefined);
    assert.ok((saneMaxValueBytes('PN') ?? 0) >= 64);
  });
});

describe('dictionary and tags', () => {
  it('gives the VR for implicit VR reading with fallbacks', () => {
    assert.equal(vrForTag(TAGS.PatientName), 'PN');
    assert.equal(vrForTag(TAGS.StudyInstanceUID), 'UI');
    assert.equal(vrForTag(0x00100000), 'UL');
    assert.equal(vrForTag(0x00290010), 'LO');
    assert.equal(vrForTag(0x00291010), 'UN');
    assert.equal(vrForTag(0x00980099), 'UN');
    assert.equal(keywordOf(TAGS.AccessionNumber), 'AccessionNumber');
    assert.equal(tagOfKeyword('SeriesDescription'), 0x0008103e);
  });

  it('numbers tags as unsigned 32-bit', () => {
    assert.equal(tag(0x7fe0, 0x0010), 0x7fe00010);
    assert.equal(tag(0xfffe, 0xe000), 0xfffee000);
    assert.ok(tag(0xfffe, 0xe000) > 0);
    assert.equal(formatTag(TAGS.PixelData), '(7FE0,0010)');
  });
});
