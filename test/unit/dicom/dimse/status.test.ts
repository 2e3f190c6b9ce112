import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  STATUS_CANCEL,
  STATUS_CANNOT_UNDERSTAND,
  STATUS_OUT_OF_RESOURCES,
  STATUS_PENDING,
  STATUS_PENDING_WARNING,
  STATUS_SOP_CLASS_NOT_SUPPORTED,
  STATUS_SUCCESS,
  STATUS_WARNING_COERCION,
  STATUS_WARNING_DATASET_MISMATCH,
  STATUS_WARNING_ELEMENTS_DISCARDED,
  describeStatus,
  statusCategory,
} from '../../../../src/dicom/dimse/status.js';
import { VERIFICATION_SOP_CLASS, isStorageSopClass } from '../../../../src/dicom/dimse/sop-classes.js';

describe('DIMSE statuses (PS3.7 Annex C)', () => {
  it('classifies codes by range', () => {
    assert.equal(statusCategory(STATUS_SUCCESS), 'success');
    for (const w of [STATUS_WARNING_COERCION, STATUS_WARNING_ELEMENTS_DISCARDED, STATUS_WARNING_DATASET_MISMATCH, 0x0001, 0x0107, 0x0116, 0xb123]) {
      assert.equal(statusCategory(w), 'warning', w.toString(16));
    }
    for (const f of [STATUS_OUT_OF_RESOURCES, 0xa7ff, 0xa900, 0xa9ab, STATUS_CANNOT_UNDERSTAND, 0xcfff, STATUS_SOP_CLASS_NOT_SUPPORTED, 0x0110, 0x0211, 0x0124, 0x1234]) {
      assert.equal(statusCategory(f), 'failure', f.toString(16));
    }
    assert.equal(statusCategory(STATUS_CANCEL), 'cancel');
    assert.equal(statusCategory(STATUS_PENDING), 'pending');
    assert.equal(statusCategory(STATUS_PENDING_WARNING), 'pending');
  });

  it('describes codes in readable text, ranges included', () => {
    assert.equal(describeStatus(0), '0x0000 Success');
    assert.equal(describeStatus(0xa700), '0xA700 Refused: out of resources');
    assert.equal(describeStatus(0xa7f3), '0xA7F3 Refused: out of resources');
    assert.equal(describeStatus(0xa905), '0xA905 Error: data set does not match SOP class');
    assert.equal(describeStatus(0xc012), '0xC012 Error: cannot understand');
    assert.equal(describeStatus(0x0122), '0x0122 Refused: SOP class not supported');
    assert.equal(describeStatus(0xb007), '0xB007 Warning: data set does not match SOP class');
    assert.match(describeStatus(0x1234), /^0x1234 Failure/);
  });
});

describe('storage SOP classes (PS3.4 Annex B)', () => {
  it('accepts image, SR, PDF, RT, presentation state, waveform and other storage classes', () => {
    for (const uid of [
      '1.2.840.10008.5.1.4.1.1.2', // CT Image
      '1.2.840.10008.5.1.4.1.1.7', // Secondary Capture
      '1.2.840.10008.5.1.4.1.1.88.22', // Enhanced SR
      '1.2.840.10008.5.1.4.1.1.104.1', // Encapsulated PDF
      '1.2.840.10008.5.1.4.1.1.481.5', // RT Plan
      '1.2.840.10008.5.1.4.1.1.11.1', // Grayscale Softcopy Presentation State
      '1.2.840.10008.5.1.4.1.1.9.1.1', // 12-lead ECG Waveform
      '1.2.840.10008.5.1.4.38.1', // Hanging Protocol Storage
      '1.2.840.10008.5.1.4.39.1', // Color Palette Storage
      '1.2.840.10008.5.1.4.34.7', // RT Beams Delivery Instruction Storage
      '1.2.840.10008.5.1.1.29', // Hardcopy Grayscale Image Storage (retired)
      '1.2.826.0.1.3680043.8.498.1', // private
    ]) {
      assert.equal(isStorageSopClass(uid), true, uid);
    }
  });

  it('refuses other services and invalid UIDs', () => {
    for (const uid of [
      VERIFICATION_SOP_CLASS,
      '1.2.840.10008.5.1.4.1.2.2.1', // Study Root Q/R FIND
      '1.2.840.10008.5.1.4.1.2.2.2', // Study Root Q/R MOVE
      '1.2.840.10008.5.1.4.31', // Modality Worklist FIND
      '1.2.840.10008.3.1.2.3.3', // MPPS
      '1.2.840.10008.5.1.1.9', // Basic Grayscale Print Management Meta
      '1.2.840.10008.1.20.1', // Storage Commitment Push
      '1.2.840.10008.1.3.10', // Media Storage Directory Storage (DICOMDIR)
      '1.2.840.10008.5.1.4.38.2', // Hanging Protocol FIND
      '1.2.840.10008.5.1.4.34.6.1', // UPS Push
      '',
      '1.2.3.',
      '../../x',
      '1.02.3',
      `1.${'2'.repeat(70)}`,
    ]) {
      assert.equal(isStorageSopClass(uid), false, uid);
    }
  });
});
