import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { DimseProtocolError } from '../../../../src/dicom/errors.js';
import {
  PDV_ITEM_OVERHEAD,
  UNLIMITED_SEND_PDU_LENGTH,
  sendCommand,
  sendDataset,
  sendPduLength,
} from '../../../../src/dicom/dimse/fragmenter.js';
import type { Pdv } from '../../../../src/dicom/ul/primitives.js';
import { FakeChannel } from '../../../support/fake-channel.js';

function pduSize(pdvs: Pdv[]): number {
  return pdvs.reduce((n, p) => n + PDV_ITEM_OVERHEAD + p.data.length, 0);
}

async function* chunks(buf: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let off = 0;
  let i = 0;
  while (off < buf.length) {
    const n = sizes[i++ % sizes.length]!;
    yield buf.subarray(off, off + n);
    off += n;
  }
}

function checkStream(ch: FakeChannel, payload: Buffer, maxPdu: number, isCommand: boolean): void {
  const all = ch.sentPdvs();
  for (const pdu of ch.sent) assert.ok(pduSize(pdu) <= maxPdu, `PDU of ${pduSize(pdu)} > ${maxPdu}`);
  // DCMTK aborts on a second PDV in one PDU and on odd fragments: one PDV per PDU, even but the last.
  for (const pdu of ch.sent) assert.equal(pdu.length, 1, 'one PDV per PDU');
  for (const pdv of all.slice(0, -1)) assert.equal(pdv.data.length % 2, 0, `odd fragment of ${pdv.data.length} bytes`);
  assert.ok(all.every((p) => p.isCommand === isCommand && p.pcId === 5));
  assert.deepEqual(all.map((p) => p.isLast), all.map((_, i) => i === all.length - 1));
  assert.ok(Buffer.concat(all.map((p) => p.data)).equals(payload));
}

describe('fragmenter (PS3.8 §9.3.5, Annex D.1, Annex E)', () => {
  it('derives the PDU size from the peer maximum', () => {
    assert.equal(sendPduLength(0), UNLIMITED_SEND_PDU_LENGTH);
    assert.equal(sendPduLength(16384), 16384);
    assert.throws(() => sendPduLength(7), DimseProtocolError);
  });

  it('splits a Buffer data set into PDUs within the maximum, last flag only at the end', async () => {
    const ch = new FakeChannel({ peerMaxPduLength: 1000 });
    const payload = randomBytes(10_000);
    await sendDataset(ch, 5, payload);
    checkStream(ch, payload, 1000, false);
    assert.equal(ch.sent.length, Math.ceil(10_000 / 994));
    // Views, not copies.
    assert.equal(ch.sentPdvs()[0]!.data.buffer, payload.buffer);
  });

  it('splits a command into command PDVs', async () => {
    const ch = new FakeChannel({ peerMaxPduLength: 20 });
    const cmd = randomBytes(100);
    await sendCommand(ch, 5, cmd);
    checkStream(ch, cmd, 20, true);
  });

  it('sends an empty data set as one empty last fragment', async () => {
    const ch = new FakeChannel();
    await sendDataset(ch, 5, chunks(Buffer.alloc(0), [1]));
    assert.equal(ch.sent.length, 1);
    assert.deepEqual(ch.sent[0]!.map((p) => [p.isLast, p.data.length]), [[true, 0]]);
  });

  it('packs source chunks of any size into full PDUs without changing the bytes (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 8, max: 300 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 5 }),
        async (maxPdu, size, sizes) => {
          const ch = new FakeChannel({ peerMaxPduLength: maxPdu });
          const payload = randomBytes(size);
          await sendDataset(ch, 5, chunks(payload, sizes));
          checkStream(ch, payload, maxPdu, false);
          // Every PDU but the last is full: no room for two more data bytes.
          for (const pdu of ch.sent.slice(0, -1)) assert.ok(pduSize(pdu) > maxPdu - 2);
        },
      ),
    );
  });

  it('waits for each send before pulling the next chunk (backpressure)', async () => {
    const ch = new FakeChannel({ peerMaxPduLength: 106 }); // 100 data bytes per PDU
    ch.holdSends = true;
    let pulled = 0;
    async function* source(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 5; i++) {
        pulled++;
        yield Buffer.alloc(100, i);
      }
    }
    const done = sendDataset(ch, 5, source());
    await ch.waitHeld(1);
    // The first PDU is only sent once the second chunk shows it is not the last; then it stalls.
    assert.equal(ch.sent.length, 1);
    assert.equal(pulled, 2);
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(ch.sent.length, 1, 'no second send while the first is pending');
    assert.equal(pulled, 2, 'no further read while the first send is pending');
    ch.held[0]!.release();
    await ch.waitHeld(2);
    assert.equal(pulled, 3);
    for (let i = 1; i < 5; i++) {
      await ch.waitHeld(i + 1);
      ch.held[i]!.release();
    }
    await done;
    assert.equal(ch.sent.length, 5);
    assert.equal(ch.sent[4]![0]!.isLast, true);
  });

  it('propagates a send failure', async () => {
    const ch = new FakeChannel();
    ch.failSends = new Error('gone');
    await assert.rejects(sendDataset(ch, 5, Buffer.alloc(10)), /gone/);
  });
});
