import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Writable } from 'node:stream';
import { DicomError, PduDecodeError } from '../../../../src/dicom/errors.js';
import { PduWriter } from '../../../../src/dicom/ul/pdu-writer.js';
import { decodePdu, encodePdu, pduName, PDU_HEADER_LENGTH } from '../../../../src/dicom/ul/pdu.js';
import type { AAssociateRqPdu, PDataTfPdu, Pdu } from '../../../../src/dicom/ul/pdu.js';
import { decodeUserInformation, encodeUserInformation } from '../../../../src/dicom/ul/pdu-items.js';
import {
  ALL_PDUS, ASSOCIATE_RQ_ECHO, ASSOCIATE_RQ_STORE, P_DATA_TF, USER_INFORMATION_EXTENDED, hex,
} from '../../../fixtures/pdus.js';

/** Decodes a whole PDU (header included), as the reader would. */
function decodeWhole(bytes: Buffer): Pdu {
  const name = pduName(bytes[0]);
  assert.ok(name, `known type ${bytes[0]}`);
  assert.equal(bytes.readUInt32BE(2), bytes.length - PDU_HEADER_LENGTH, 'header length matches');
  return decodePdu(name, bytes.subarray(PDU_HEADER_LENGTH));
}

/** A copy of `bytes` with the 2-byte big-endian value at `offset` replaced. */
function patch16(bytes: Buffer, offset: number, value: number): Buffer {
  const copy = Buffer.from(bytes);
  copy.writeUInt16BE(value, offset);
  return copy;
}

describe('PDU codecs', () => {
  for (const fixture of ALL_PDUS) {
    it(`decodes ${fixture.name} into the annotated fields`, () => {
      assert.deepStrictEqual(decodeWhole(fixture.bytes), fixture.pdu);
    });
    it(`encodes ${fixture.name} back to the same bytes`, () => {
      assert.deepStrictEqual(encodePdu(fixture.pdu), fixture.bytes);
    });
  }

  it('round-trips the rarer user information sub-items (0x56, 0x57, 0x59, unknown)', () => {
    const { bytes, item } = USER_INFORMATION_EXTENDED;
    assert.deepStrictEqual(decodeUserInformation(bytes, 4, bytes.length), item);
    assert.deepStrictEqual(encodeUserInformation(item), bytes);
  });

  it('decodes P-DATA-TF PDVs as views into the PDU buffer, not copies', () => {
    const body = Buffer.from(P_DATA_TF.bytes.subarray(PDU_HEADER_LENGTH));
    const pdu = decodePdu('P-DATA-TF', body);
    assert.equal(pdu.type, 'P-DATA-TF');
    body[6] = 0x99; // first data byte of the first PDV
    assert.equal(pdu.pdvs[0].data[0], 0x99);
    assert.equal(pdu.pdvs[0].data.buffer, body.buffer);
  });

  it('trims AE title padding, also leading spaces', () => {
    const bytes = Buffer.from(ASSOCIATE_RQ_ECHO.bytes);
    bytes.write('  PACS          ', 10, 'latin1');
    const pdu = decodeWhole(bytes) as AAssociateRqPdu;
    assert.equal(pdu.calledAeTitle, 'PACS');
  });

  it('tolerates a NUL-padded UID', () => {
    const rq = structuredClone(ASSOCIATE_RQ_ECHO.pdu) as AAssociateRqPdu;
    rq.presentationContexts[0].abstractSyntax = '1.2.840.10008.1.1\0';
    const decoded = decodeWhole(encodePdu(rq)) as AAssociateRqPdu;
    assert.equal(decoded.presentationContexts[0].abstractSyntax, '1.2.840.10008.1.1');
  });

  describe('rejects malformed input with PduDecodeError', () => {
    const body = (b: Buffer): Buffer => b.subarray(PDU_HEADER_LENGTH);
    const cases: Array<[string, () => unknown]> = [
      ['A-ASSOCIATE-RQ shorter than its fixed part', () => decodePdu('A-ASSOCIATE-RQ', Buffer.alloc(67))],
      // Offset 74 is the application context item; its length at 76 claims more than the PDU holds.
      ['an item length overrunning the PDU', () => decodePdu('A-ASSOCIATE-RQ', body(patch16(ASSOCIATE_RQ_ECHO.bytes, 76, 0x7fff)))],
      // Presentation context item at 74+25=99, length at 101: one byte too long overruns into the user info.
      ['a sub-item overrunning its presentation context (but not the PDU)', () => {
        const b = Buffer.from(ASSOCIATE_RQ_ECHO.bytes);
        // Abstract syntax sub-item length 17 → 64: still inside the PDU, beyond its context item (46).
        b.writeUInt16BE(0x0040, 99 + 4 + 4 + 2);
        return decodePdu('A-ASSOCIATE-RQ', body(b));
      }],
      ['an even presentation context ID', () => {
        const b = Buffer.from(ASSOCIATE_RQ_ECHO.bytes);
        b[99 + 4] = 2;
        return decodePdu('A-ASSOCIATE-RQ', body(b));
      }],
      ['a maximum length sub-item of 3 bytes', () => decodeUserInformation(hex('51 00 0003 000000'), 0, 7)],
      ['a user identity whose primary field overruns', () => decodeUserInformation(hex('58 00 0006 01 00 0009 6162'), 0, 10)],
      ['a PDV item length below 2', () => decodePdu('P-DATA-TF', hex('00000001 01'))],
      ['a PDV item overrunning the PDU', () => decodePdu('P-DATA-TF', hex('00000008 01 03 0102'))],
      ['a PDV with an even context ID', () => decodePdu('P-DATA-TF', hex('00000003 02 03 01'))],
      ['an empty P-DATA-TF', () => decodePdu('P-DATA-TF', Buffer.alloc(0))],
      ['an A-RELEASE-RQ of 5 bytes', () => decodePdu('A-RELEASE-RQ', Buffer.alloc(5))],
      ['an A-ABORT of 3 bytes', () => decodePdu('A-ABORT', Buffer.alloc(3))],
      ['an A-ASSOCIATE-RJ of 6 bytes', () => decodePdu('A-ASSOCIATE-RJ', Buffer.alloc(6))],
    ];
    for (const [what, run] of cases) {
      it(what, () => assert.throws(run, PduDecodeError));
    }
  });

  it('never throws anything but PduDecodeError on arbitrary bodies (property)', () => {
    fc.assert(fc.property(
      fc.constantFrom('A-ASSOCIATE-RQ', 'A-ASSOCIATE-AC', 'P-DATA-TF', 'A-ABORT') ,
      fc.uint8Array({ maxLength: 300 }),
      (name, bytes) => {
        try {
          decodePdu(name, Buffer.from(bytes));
        } catch (err) {
          assert.ok(err instanceof PduDecodeError, String(err));
        }
      },
    ));
  });

  it('round-trips generated A-ASSOCIATE-RQ PDUs (property)', () => {
    const uid = fc.stringMatching(/^[1-9][0-9]{0,3}(\.[0-9]{1,4}){1,8}$/);
    const aet = fc.stringMatching(/^[A-Z0-9_]{1,16}$/);
    fc.assert(fc.property(
      aet, aet,
      fc.uniqueArray(fc.integer({ min: 0, max: 127 }), { minLength: 1, maxLength: 5 }),
      fc.array(uid, { minLength: 1, maxLength: 3 }), uid,
      (called, calling, ids, tss, abstractSyntax) => {
        const rq: AAssociateRqPdu = {
          ...ASSOCIATE_RQ_STORE.pdu as AAssociateRqPdu,
          calledAeTitle: called,
          callingAeTitle: calling,
          presentationContexts: ids.map((i) => ({ pcId: i * 2 + 1, abstractSyntax, transferSyntaxes: tss })),
        };
        assert.deepStrictEqual(decodeWhole(encodePdu(rq)), rq);
      },
    ));
  });
});

describe('PduWriter', () => {
  /** A Writable that records each chunk and holds write callbacks until released. */
  function heldSink(highWaterMark: number): { sink: Writable; chunks: Buffer[]; releaseAll(): void } {
    const held: Array<() => void> = [];
    const chunks: Buffer[] = [];
    const sink = new Writable({
      highWaterMark,
      writev(entries, callback) {
        for (const e of entries) chunks.push(e.chunk as Buffer);
        held.push(() => callback());
      },
      write(chunk: Buffer, _enc, callback) {
        chunks.push(chunk);
        held.push(() => callback());
      },
    });
    return { sink, chunks, releaseAll: () => held.splice(0).forEach((f) => f()) };
  }

  it('writes a P-DATA-TF as header, PDV headers and the payload buffers themselves (no concat)', async () => {
    const { sink, chunks, releaseAll } = heldSink(1 << 20);
    const pdu = P_DATA_TF.pdu as PDataTfPdu;
    await new PduWriter(sink).writePData(pdu.pdvs);
    await new Promise((resolve) => setImmediate(resolve)); // the writer uncorks on the next tick
    releaseAll();
    assert.deepStrictEqual(Buffer.concat(chunks), P_DATA_TF.bytes);
    assert.equal(chunks.length, 5);
    assert.equal(chunks[2], pdu.pdvs[0].data, 'first payload is the caller\'s buffer');
    assert.equal(chunks[4], pdu.pdvs[1].data, 'second payload is the caller\'s buffer');
  });

  it('resolves only after drain when the socket buffer is full', async () => {
    const { sink, releaseAll } = heldSink(4);
    let settled = false;
    const sent = new PduWriter(sink).writePData([{ pcId: 1, isCommand: false, isLast: true, data: Buffer.alloc(64) }]).then(() => {
      settled = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'must wait for drain');
    // Release until the sink drains.
    while (!settled) {
      releaseAll();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await sent;
  });

  it('rejects when the socket closes before draining, and refuses writes once closed', async () => {
    const { sink } = heldSink(4);
    const writer = new PduWriter(sink);
    const sent = writer.writePData([{ pcId: 1, isCommand: false, isLast: true, data: Buffer.alloc(64) }]);
    sink.destroy();
    await assert.rejects(sent, DicomError);
    await assert.rejects(writer.writePdu({ type: 'A-RELEASE-RQ' }), DicomError);
  });
});
