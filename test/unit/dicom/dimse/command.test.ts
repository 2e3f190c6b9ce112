import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DicomError } from '../../../../src/dicom/errors.js';
import { DimseProtocolError } from '../../../../src/dicom/errors.js';
import { type CommandSet, decodeCommand, encodeCommand } from '../../../../src/dicom/dimse/command.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/#[^\n]*/g, '').replace(/\s+/g, ''), 'hex');

// C-ECHO-RQ as sent by DCMTK echoscu (implicit VR LE, group 0000):
const ECHO_RQ_DCMTK = hex(`
  00000000 04000000 38000000                  # (0000,0000) UL CommandGroupLength = 56
  00000200 12000000                           # (0000,0002) UI AffectedSOPClassUID, 18 bytes
  312e322e3834302e31303030382e312e3100        #   "1.2.840.10008.1.1" + NUL pad
  00000001 02000000 3000                      # (0000,0100) US CommandField = 0x0030 (C-ECHO-RQ)
  00001001 02000000 0100                      # (0000,0110) US MessageID = 1
  00000008 02000000 0101                      # (0000,0800) US CommandDataSetType = 0x0101 (none)
`);

// C-STORE-RQ of a C-MOVE sub-operation:
const STORE_RQ = hex(`
  00000000 04000000 72000000                  # (0000,0000) UL CommandGroupLength = 114
  00000200 1a000000                           # (0000,0002) UI AffectedSOPClassUID, 26 bytes
  312e322e3834302e31303030382e352e312e342e312e312e3700  # "1.2.840.10008.5.1.4.1.1.7" + NUL
  00000001 02000000 0100                      # (0000,0100) US CommandField = 0x0001 (C-STORE-RQ)
  00001001 02000000 0700                      # (0000,0110) US MessageID = 7
  00000007 02000000 0000                      # (0000,0700) US Priority = 0 (MEDIUM)
  00000008 02000000 0000                      # (0000,0800) US CommandDataSetType = 0 (present)
  00000010 06000000 312e322e3300              # (0000,1000) UI AffectedSOPInstanceUID "1.2.3" + NUL
  00003010 08000000 4d4f564553435520          # (0000,1030) AE MoveOriginator... "MOVESCU" + space
  00003110 02000000 0300                      # (0000,1031) US MoveOriginatorMessageID = 3
`);

// C-STORE-RSP refusing with a comment and an offending element:
const STORE_RSP_FAIL = hex(`
  00000000 04000000 70000000                  # (0000,0000) UL CommandGroupLength = 112
  00000200 1a000000                           # (0000,0002) UI AffectedSOPClassUID, 26 bytes
  312e322e3834302e31303030382e352e312e342e312e312e3700
  00000001 02000000 0180                      # (0000,0100) US CommandField = 0x8001 (C-STORE-RSP)
  00002001 02000000 0700                      # (0000,0120) US MessageIDBeingRespondedTo = 7
  00000008 02000000 0101                      # (0000,0800) US CommandDataSetType = 0x0101
  00000009 02000000 00a7                      # (0000,0900) US Status = 0xA700
  00000109 04000000 10001000                  # (0000,0901) AT OffendingElement = (0010,0010)
  00000209 04000000 66756c6c                  # (0000,0902) LO ErrorComment "full"
  00000010 06000000 312e322e3300              # (0000,1000) UI AffectedSOPInstanceUID "1.2.3"
`);

describe('command set codec (PS3.7 Annex E)', () => {
  it('decodes the DCMTK echoscu C-ECHO-RQ', () => {
    assert.deepEqual(decodeCommand(ECHO_RQ_DCMTK), {
      AffectedSOPClassUID: '1.2.840.10008.1.1',
      CommandField: 0x0030,
      MessageID: 1,
      CommandDataSetType: 0x0101,
    });
  });

  it('encodes the C-ECHO-RQ byte for byte as DCMTK does', () => {
    const bytes = encodeCommand({ AffectedSOPClassUID: '1.2.840.10008.1.1', CommandField: 0x0030, MessageID: 1, CommandDataSetType: 0x0101 });
    assert.equal(bytes.toString('hex'), ECHO_RQ_DCMTK.toString('hex'));
  });

  it('encodes fields in tag order whatever the object order, with the group length first', () => {
    const cmd: CommandSet = {
      MoveOriginatorMessageID: 3,
      MoveOriginatorApplicationEntityTitle: 'MOVESCU',
      AffectedSOPInstanceUID: '1.2.3',
      CommandDataSetType: 0,
      Priority: 0,
      MessageID: 7,
      CommandField: 0x0001,
      AffectedSOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
    };
    assert.equal(encodeCommand(cmd).toString('hex'), STORE_RQ.toString('hex'));
    assert.deepEqual(decodeCommand(STORE_RQ), cmd);
  });

  it('round-trips a failure response with AT and LO values', () => {
    const cmd = decodeCommand(STORE_RSP_FAIL);
    assert.deepEqual(cmd, {
      AffectedSOPClassUID: '1.2.840.10008.5.1.4.1.1.7',
      CommandField: 0x8001,
      MessageIDBeingRespondedTo: 7,
      CommandDataSetType: 0x0101,
      Status: 0xa700,
      OffendingElement: [0x00100010],
      ErrorComment: 'full',
      AffectedSOPInstanceUID: '1.2.3',
    });
    assert.equal(encodeCommand(cmd).toString('hex'), STORE_RSP_FAIL.toString('hex'));
  });

  it('skips unknown elements and trims padding', () => {
    const bytes = hex(`
      00000000 04000000 00000000                # group length (wrong: not checked)
      00000100 04000000 aabbccdd                # (0000,0001) retired CommandLengthToEnd: skipped
      00000200 06000000 312e322e3320            # UI "1.2.3" padded with a space (seen in the wild)
      00000006 06000000 202041452020            # (0000,0600) AE "  AE  " -> "AE"
    `);
    assert.deepEqual(decodeCommand(bytes), { AffectedSOPClassUID: '1.2.3', MoveDestination: 'AE' });
  });

  it('pads odd-length text: UI with NUL, AE and LO with space', () => {
    const bytes = encodeCommand({ AffectedSOPInstanceUID: '1.2.3', MoveDestination: 'ABC', ErrorComment: 'x' });
    const b = bytes.toString('latin1');
    assert.ok(b.includes('1.2.3\0'));
    assert.ok(b.includes('ABC '));
    assert.ok(b.includes('x '));
    assert.equal(bytes.length % 2, 0);
    assert.equal(bytes.readUInt32LE(8), bytes.length - 12);
  });

  it('rejects malformed command sets with a DicomError subclass', () => {
    const cases: Array<[string, Buffer]> = [
      ['truncated header', hex('00000000 0400')],
      ['other group', hex('08001600 02000000 3100')],
      ['undefined length', hex('00000200 ffffffff')],
      ['overrun', hex('00000200 10000000 3100')],
      ['US of length 4', hex('00000001 04000000 30000000')],
      ['AT of length 3', hex('00000109 03000000 100010')],
    ];
    for (const [name, bytes] of cases) {
      assert.throws(() => decodeCommand(bytes), (err: unknown) => {
        assert.ok(err instanceof DimseProtocolError, name);
        assert.ok(err instanceof DicomError);
        assert.equal(err.code, 'ERR_DICOM_DIMSE_PROTOCOL');
        return true;
      }, name);
    }
  });

  it('refuses a command set over the cap', () => {
    const big = encodeCommand({ ErrorComment: 'x'.repeat(60), AffectedSOPClassUID: '1.2' });
    assert.throws(() => decodeCommand(big, 40), DimseProtocolError);
    assert.doesNotThrow(() => decodeCommand(big, big.length));
  });

  it('throws RangeError for values that cannot be encoded', () => {
    assert.throws(() => encodeCommand({ MessageID: 70000 }), RangeError);
    assert.throws(() => encodeCommand({ Status: -1 }), RangeError);
    assert.throws(() => encodeCommand({ MessageID: 1.5 }), RangeError);
  });

  it('round-trips any command set (property)', () => {
    const uid = fc.stringMatching(/^[1-9][0-9]{0,5}(\.[0-9]{1,6}){0,8}$/);
    const text = fc.stringMatching(/^[A-Za-z0-9_]([A-Za-z0-9_ ]{0,14}[A-Za-z0-9_])?$/);
    const us = fc.integer({ min: 0, max: 0xffff });
    const cmdArb = fc.record(
      {
        AffectedSOPClassUID: uid,
        RequestedSOPClassUID: uid,
        CommandField: us,
        MessageID: us,
        MessageIDBeingRespondedTo: us,
        MoveDestination: text,
        Priority: us,
        CommandDataSetType: us,
        Status: us,
        OffendingElement: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 4 }),
        ErrorComment: text,
        ErrorID: us,
        AffectedSOPInstanceUID: uid,
        RequestedSOPInstanceUID: uid,
        NumberOfRemainingSuboperations: us,
        NumberOfCompletedSuboperations: us,
        NumberOfFailedSuboperations: us,
        NumberOfWarningSuboperations: us,
        MoveOriginatorApplicationEntityTitle: text,
        MoveOriginatorMessageID: us,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(cmdArb, (cmd) => {
        const bytes = encodeCommand(cmd as CommandSet);
        assert.equal(bytes.length % 2, 0);
        assert.equal(bytes.readUInt32LE(8), bytes.length - 12);
        assert.deepEqual(decodeCommand(bytes), { ...cmd });
      }),
    );
  });

  it('never throws anything but DimseProtocolError on arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (arr) => {
        try {
          decodeCommand(Buffer.from(arr));
        } catch (err) {
          assert.ok(err instanceof DimseProtocolError);
        }
      }),
    );
  });
});
