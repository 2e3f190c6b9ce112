import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DimseProtocolError } from '../../../../src/dicom/errors.js';
import { NO_DATASET, encodeCommand } from '../../../../src/dicom/dimse/command.js';
import { buildEchoRq, buildStoreRq } from '../../../../src/dicom/dimse/messages.js';
import { DimseReassembler, type DimseEvent } from '../../../../src/dicom/dimse/reassembler.js';
import { commandPdvs, dataPdvs } from '../../../support/fake-channel.js';

const STORE = encodeCommand(buildStoreRq({ MessageID: 1, AffectedSOPClassUID: '1.2.840.10008.5.1.4.1.1.7', AffectedSOPInstanceUID: '1.2.3', Priority: 0 }));
const ECHO = encodeCommand(buildEchoRq({ MessageID: 2, AffectedSOPClassUID: '1.2.840.10008.1.1' }));

function feed(r: DimseReassembler, pdvs: Parameters<DimseReassembler['accept']>[0][]): DimseEvent[] {
  const out: DimseEvent[] = [];
  for (const p of pdvs) {
    const ev = r.accept(p);
    if (ev) out.push(ev);
  }
  return out;
}

describe('DimseReassembler (PS3.7 §9.3.1, PS3.8 Annex E)', () => {
  it('joins command fragments and passes data fragments on one by one, as views', () => {
    const r = new DimseReassembler();
    const data = Buffer.from('0123456789abcdef');
    const dPdvs = dataPdvs(3, data, 5);
    const events = feed(r, [...commandPdvs(3, STORE, 7), ...dPdvs]);
    assert.equal(events.length, 1 + dPdvs.length);
    const cmd = events[0]!;
    assert.equal(cmd.type, 'command');
    assert.equal(cmd.type === 'command' && cmd.command.AffectedSOPInstanceUID, '1.2.3');
    assert.equal(cmd.type === 'command' && cmd.hasDataset, true);
    const chunks = events.slice(1);
    assert.deepEqual(chunks.map((e) => e.type === 'data' && e.isLast), [false, false, false, true]);
    assert.equal(Buffer.concat(chunks.map((e) => (e.type === 'data' ? e.chunk : Buffer.alloc(0)))).toString(), data.toString());
    // Not copied: the chunk shares memory with the PDV.
    assert.equal(chunks[0]!.type === 'data' && chunks[0]!.chunk.buffer, dPdvs[0]!.data.buffer);
    assert.equal(r.inDataset, false);
    // The next message is accepted.
    const next = feed(r, commandPdvs(3, ECHO));
    assert.equal(next[0]!.type === 'command' && next[0]!.command.CommandDataSetType, NO_DATASET);
  });

  it('a command that never sets the last bit hits the cap', () => {
    const r = new DimseReassembler({ maxCommandLength: 1000 });
    const fragment = { pcId: 1, isCommand: true, isLast: false, data: Buffer.alloc(100) };
    for (let i = 0; i < 10; i++) r.accept(fragment);
    assert.throws(() => r.accept(fragment), DimseProtocolError);
  });

  it('rejects a data PDV with no command pending', () => {
    const r = new DimseReassembler();
    assert.throws(() => r.accept({ pcId: 1, isCommand: false, isLast: true, data: Buffer.alloc(2) }), DimseProtocolError);
    const r2 = new DimseReassembler();
    feed(r2, commandPdvs(1, ECHO)); // no data set announced
    assert.throws(() => r2.accept({ pcId: 1, isCommand: false, isLast: true, data: Buffer.alloc(2) }), DimseProtocolError);
  });

  it('rejects a data PDV before the command is complete', () => {
    const r = new DimseReassembler();
    r.accept({ pcId: 1, isCommand: true, isLast: false, data: STORE.subarray(0, 10) });
    assert.throws(() => r.accept({ pcId: 1, isCommand: false, isLast: true, data: Buffer.alloc(2) }), DimseProtocolError);
  });

  it('rejects a command while a data set is in progress', () => {
    const r = new DimseReassembler();
    feed(r, [...commandPdvs(1, STORE), { pcId: 1, isCommand: false, isLast: false, data: Buffer.alloc(4) }]);
    assert.throws(() => r.accept(commandPdvs(1, ECHO)[0]!), DimseProtocolError);
  });

  it('rejects data on another context than its command', () => {
    const r = new DimseReassembler();
    feed(r, commandPdvs(1, STORE));
    assert.throws(() => r.accept({ pcId: 3, isCommand: false, isLast: true, data: Buffer.alloc(4) }), DimseProtocolError);
  });

  it('rejects command fragments switching context', () => {
    const r = new DimseReassembler();
    r.accept({ pcId: 1, isCommand: true, isLast: false, data: STORE.subarray(0, 10) });
    assert.throws(() => r.accept({ pcId: 3, isCommand: true, isLast: true, data: STORE.subarray(10) }), DimseProtocolError);
  });

  it('rejects a command set without CommandDataSetType', () => {
    const r = new DimseReassembler();
    assert.throws(() => r.accept(commandPdvs(1, encodeCommand({ CommandField: 0x30, MessageID: 1 }))[0]!), DimseProtocolError);
  });
});
