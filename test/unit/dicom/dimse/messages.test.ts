import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DimseProtocolError } from '../../../../src/dicom/errors.js';
import { NO_DATASET, decodeCommand, encodeCommand } from '../../../../src/dicom/dimse/command.js';
import {
  COMMAND_FIELD,
  buildEchoRq,
  buildEchoRsp,
  buildFailureRsp,
  buildStoreRq,
  buildStoreRsp,
  commandName,
  hasDataset,
  parseEchoRq,
  parseEchoRsp,
  parseStoreRq,
  parseStoreRsp,
} from '../../../../src/dicom/dimse/messages.js';

const CT = '1.2.840.10008.5.1.4.1.1.2';

describe('DIMSE-C messages (PS3.7 §9.3)', () => {
  it('C-ECHO request and response round-trip through the codec', () => {
    const rq = parseEchoRq(decodeCommand(encodeCommand(buildEchoRq({ MessageID: 9, AffectedSOPClassUID: '1.2.840.10008.1.1' }))));
    assert.deepEqual(rq, { MessageID: 9, AffectedSOPClassUID: '1.2.840.10008.1.1' });
    const rspCmd = decodeCommand(encodeCommand(buildEchoRsp({ MessageIDBeingRespondedTo: 9, AffectedSOPClassUID: '1.2.840.10008.1.1', Status: 0 })));
    assert.equal(rspCmd.CommandField, 0x8030);
    assert.equal(rspCmd.CommandDataSetType, NO_DATASET);
    assert.deepEqual(parseEchoRsp(rspCmd), { MessageIDBeingRespondedTo: 9, AffectedSOPClassUID: '1.2.840.10008.1.1', Status: 0 });
  });

  it('C-STORE-RQ announces a data set and keeps the move originator', () => {
    const cmd = decodeCommand(
      encodeCommand(
        buildStoreRq({
          MessageID: 3,
          AffectedSOPClassUID: CT,
          AffectedSOPInstanceUID: '1.2.3.4',
          Priority: 2,
          MoveOriginatorApplicationEntityTitle: 'QR',
          MoveOriginatorMessageID: 5,
        }),
      ),
    );
    assert.equal(cmd.CommandField, COMMAND_FIELD.C_STORE_RQ);
    assert.equal(hasDataset(cmd), true);
    assert.deepEqual(parseStoreRq(cmd), {
      MessageID: 3,
      AffectedSOPClassUID: CT,
      AffectedSOPInstanceUID: '1.2.3.4',
      Priority: 2,
      MoveOriginatorApplicationEntityTitle: 'QR',
      MoveOriginatorMessageID: 5,
    });
  });

  it('C-STORE-RSP clips ErrorComment to 64 chars and omits it on success', () => {
    const fail = decodeCommand(
      encodeCommand(buildStoreRsp({ MessageIDBeingRespondedTo: 3, AffectedSOPClassUID: CT, AffectedSOPInstanceUID: '1.2', Status: 0xa700, ErrorComment: 'y'.repeat(100) })),
    );
    assert.equal(fail.ErrorComment, 'y'.repeat(64));
    assert.equal(hasDataset(fail), false);
    assert.deepEqual(parseStoreRsp(fail), { MessageIDBeingRespondedTo: 3, AffectedSOPClassUID: CT, AffectedSOPInstanceUID: '1.2', Status: 0xa700, ErrorComment: 'y'.repeat(64) });
    const ok = decodeCommand(encodeCommand(buildStoreRsp({ MessageIDBeingRespondedTo: 3, Status: 0, ErrorComment: 'ignored' })));
    assert.equal(ok.ErrorComment, undefined);
  });

  it('failure response mirrors the request field with the response bit', () => {
    const rsp = buildFailureRsp({ CommandField: COMMAND_FIELD.C_FIND_RQ, MessageID: 4, AffectedSOPClassUID: '1.2.840.10008.5.1.4.1.2.2.1' }, 0x0211);
    assert.equal(rsp.CommandField, COMMAND_FIELD.C_FIND_RSP);
    assert.equal(rsp.MessageIDBeingRespondedTo, 4);
    assert.equal(rsp.Status, 0x0211);
    assert.equal(commandName(rsp.CommandField), 'C-FIND-RSP');
    assert.equal(commandName(0x4321), '0x4321');
  });

  it('parsers reject missing mandatory fields', () => {
    assert.throws(() => parseStoreRq({ CommandField: 1, MessageID: 1, AffectedSOPClassUID: CT }), DimseProtocolError);
    assert.throws(() => parseEchoRq({ CommandField: 0x30 }), DimseProtocolError);
    assert.throws(() => parseStoreRsp({ CommandField: 0x8001, MessageIDBeingRespondedTo: 1 }), DimseProtocolError);
  });
});
