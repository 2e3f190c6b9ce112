import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { abortReasonText, abortText, rejectKey, rejectReasonText, rejectText } from '../../../../src/dicom/ul/reasons.js';

describe('PS3.8 reason texts (Tables 9-21 and 9-26), defined once', () => {
  it('gives the words of every reject reason the standard defines', () => {
    assert.equal(rejectReasonText(1, 1), 'no reason given');
    assert.equal(rejectReasonText(1, 2), 'application context name not supported');
    assert.equal(rejectReasonText(1, 3), 'calling AE title not recognised');
    assert.equal(rejectReasonText(1, 7), 'called AE title not recognised');
    assert.equal(rejectReasonText(2, 1), 'no reason given');
    assert.equal(rejectReasonText(2, 2), 'protocol version not supported');
    assert.equal(rejectReasonText(3, 1), 'temporary congestion');
    assert.equal(rejectReasonText(3, 2), 'local limit exceeded');
    assert.equal(rejectReasonText(1, 9), undefined);
  });

  it('builds the reject line and key from the same table', () => {
    assert.equal(rejectText(2, 3, 2), 'association rejected (transient) by the service provider (presentation): local limit exceeded');
    assert.equal(rejectKey(2, 3, 2), 'local-limit-exceeded');
    assert.equal(rejectKey(1, 4, 1), 'result-1-source-4-reason-1');
  });

  it('gives the words of the A-ABORT provider reasons', () => {
    assert.equal(abortReasonText(6), 'invalid PDU parameter value');
    assert.equal(abortReasonText(3), 'reason 3');
    assert.equal(abortText(0, 0), 'association aborted by the service user');
    assert.equal(abortText(2, 1), 'association aborted by the service provider: unrecognised PDU');
  });
});
