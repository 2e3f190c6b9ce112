import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type CommandSet, decodeCommand, encodeCommand } from '../../../../src/dicom/dimse/command.js';
import { COMMAND_FIELD, buildEchoRq, buildStoreRq } from '../../../../src/dicom/dimse/messages.js';
import {
  type DatasetSink,
  type DimseHandlers,
  type DimseLogger,
  DimseServiceProvider,
  type StoreOutcome,
  type StoreRequest,
} from '../../../../src/dicom/dimse/service.js';
import { FakeChannel, commandPdvs, dataPdvs } from '../../../support/fake-channel.js';

const SC = '1.2.840.10008.5.1.4.1.1.7';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

interface LogLine {
  level: string;
  obj: object;
  msg: string | undefined;
}

function recordingLog(): DimseLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void; reject(e: Error): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Decodes every complete command sent on the channel. */
function responses(ch: FakeChannel): CommandSet[] {
  const out: CommandSet[] = [];
  let parts: Buffer[] = [];
  for (const p of ch.sentPdvs()) {
    assert.equal(p.isCommand, true, 'the SCP only sends commands');
    parts.push(p.data);
    if (p.isLast) {
      out.push(decodeCommand(Buffer.concat(parts)));
      parts = [];
    }
  }
  return out;
}

/** A sink that records calls; `end` waits for the test unless `endResult` is set. */
class RecordingSink implements DatasetSink {
  chunks: Buffer[] = [];
  calls: string[] = [];
  aborts: Error[] = [];
  endGate = deferred<StoreOutcome>();
  endCalled = deferred<void>();
  writeGate: ReturnType<typeof deferred<void>> | null = null;
  failWriteAt = -1;
  async write(chunk: Buffer): Promise<void> {
    this.calls.push('write');
    if (this.chunks.length === this.failWriteAt) throw new Error('disk full');
    this.chunks.push(chunk);
    if (this.writeGate) await this.writeGate.promise;
  }
  end(): Promise<StoreOutcome> {
    this.calls.push('end');
    this.endCalled.resolve();
    return this.endGate.promise;
  }
  abort(reason: Error): void {
    this.calls.push('abort');
    this.aborts.push(reason);
  }
}

function setup(handlers: Partial<DimseHandlers> = {}, options: { maxCommandLength?: number } = {}) {
  const ch = new FakeChannel({
    contexts: [
      { pcId: 1, abstractSyntax: '1.2.840.10008.1.1', transferSyntax: '1.2.840.10008.1.2' },
      { pcId: 3, abstractSyntax: SC, transferSyntax: EXPLICIT_LE },
    ],
  });
  const log = recordingLog();
  const requests: StoreRequest[] = [];
  const sink = new RecordingSink();
  const full: DimseHandlers = {
    onStore: (rq) => {
      requests.push(rq);
      return sink;
    },
    ...handlers,
  };
  const provider = new DimseServiceProvider(ch, full, log, options);
  ch.handler = provider;
  return { ch, log, requests, sink, provider };
}

const echoRq = (id: number): Buffer => encodeCommand(buildEchoRq({ MessageID: id, AffectedSOPClassUID: '1.2.840.10008.1.1' }));
const storeRq = (id: number, uid = '1.2.3.4', sopClass = SC): Buffer =>
  encodeCommand(buildStoreRq({ MessageID: id, AffectedSOPClassUID: sopClass, AffectedSOPInstanceUID: uid, Priority: 0, MoveOriginatorApplicationEntityTitle: 'MOVER', MoveOriginatorMessageID: 12 }));

// The C-ECHO-RSP for message 1:
const ECHO_RSP_1 = Buffer.from(
  [
    '00000000 04000000 42000000', // (0000,0000) UL CommandGroupLength = 66
    '00000200 12000000 312e322e3834302e31303030382e312e3100', // (0000,0002) UI "1.2.840.10008.1.1"
    '00000001 02000000 3080', // (0000,0100) US CommandField = 0x8030 (C-ECHO-RSP)
    '00002001 02000000 0100', // (0000,0120) US MessageIDBeingRespondedTo = 1
    '00000008 02000000 0101', // (0000,0800) US CommandDataSetType = 0x0101
    '00000009 02000000 0000', // (0000,0900) US Status = 0x0000
  ].join('').replace(/\s+/g, ''),
  'hex',
);

describe('DimseServiceProvider (PS3.7 §9.1, §9.3)', () => {
  it('answers C-ECHO with the exact response bytes', async () => {
    const { ch } = setup();
    await ch.push(commandPdvs(1, echoRq(1)));
    assert.equal(ch.sent.length, 1);
    assert.deepEqual(ch.sent[0]!.map((p) => [p.pcId, p.isCommand, p.isLast]), [[1, true, true]]);
    assert.equal(ch.sent[0]![0]!.data.toString('hex'), ECHO_RSP_1.toString('hex'));
  });

  it('uses the echo handler status, and 0x0110 when it throws', async () => {
    let n = 0;
    const { ch, log } = setup({
      onEcho: () => {
        if (n++ === 0) return 0x0122;
        throw new Error('boom');
      },
    });
    await ch.push(commandPdvs(1, echoRq(1)));
    await ch.push(commandPdvs(1, echoRq(2)));
    assert.deepEqual(responses(ch).map((r) => [r.MessageIDBeingRespondedTo, r.Status]), [[1, 0x0122], [2, 0x0110]]);
    assert.ok(log.lines.some((l) => l.level === 'error'));
    assert.equal(ch.abortCount, 0);
  });

  it('streams a fragmented data set into the sink and answers only after end() resolves', async () => {
    const { ch, requests, sink } = setup();
    const data = randomBytes(50_000);
    await ch.push(commandPdvs(3, storeRq(7), 20));
    assert.equal(requests.length, 1);
    assert.deepEqual(
      { ...requests[0]!, channel: undefined },
      {
        channel: undefined,
        pcId: 3,
        transferSyntax: EXPLICIT_LE,
        MessageID: 7,
        AffectedSOPClassUID: SC,
        AffectedSOPInstanceUID: '1.2.3.4',
        Priority: 0,
        MoveOriginatorApplicationEntityTitle: 'MOVER',
        MoveOriginatorMessageID: 12,
      },
    );
    const pdvs = dataPdvs(3, data, 997);
    // Several PDVs per P-DATA, as a real PDU may carry.
    let i = 0;
    for (; i + 3 < pdvs.length; i += 3) await ch.push(pdvs.slice(i, i + 3));
    const last = ch.push(pdvs.slice(i));
    await sink.endCalled.promise;
    assert.ok(Buffer.concat(sink.chunks).equals(data));
    assert.equal(sink.chunks.length, pdvs.length);
    assert.deepEqual(sink.calls.slice(-1), ['end']);
    // end() has not resolved yet: nothing was answered.
    assert.equal(ch.sent.length, 0);
    sink.endGate.resolve({ status: 0xb000, errorComment: 'coerced' });
    await last;
    const [rsp] = responses(ch);
    assert.equal(rsp!.CommandField, COMMAND_FIELD.C_STORE_RSP);
    assert.equal(rsp!.MessageIDBeingRespondedTo, 7);
    assert.equal(rsp!.AffectedSOPClassUID, SC);
    assert.equal(rsp!.AffectedSOPInstanceUID, '1.2.3.4');
    assert.equal(rsp!.Status, 0xb000);
    assert.equal(rsp!.ErrorComment, 'coerced');
    assert.deepEqual(sink.aborts, []);
  });

  it('holds onPData while the sink write is pending (backpressure)', async () => {
    const { ch, sink } = setup();
    await ch.push(commandPdvs(3, storeRq(1)));
    sink.writeGate = deferred<void>();
    let settled = false;
    const p = ch.push(dataPdvs(3, Buffer.alloc(10), 4)).then(() => (settled = true));
    await new Promise<void>((r) => setImmediate(r));
    assert.equal(settled, false);
    assert.equal(sink.chunks.length, 1, 'second fragment not written before the first write resolved');
    sink.writeGate.resolve();
    sink.endGate.resolve({ status: 0 });
    await p;
    assert.equal(sink.chunks.length, 3);
  });

  it('refuses at once: data discarded, failure sent after the last fragment', async () => {
    const { ch } = setup({ onStore: () => ({ status: 0xa700, errorComment: 'no space left' }) });
    await ch.push(commandPdvs(3, storeRq(4)));
    const pdvs = dataPdvs(3, randomBytes(1000), 100);
    await ch.push(pdvs.slice(0, -1));
    assert.equal(ch.sent.length, 0);
    await ch.push(pdvs.slice(-1));
    const [rsp] = responses(ch);
    assert.deepEqual([rsp!.MessageIDBeingRespondedTo, rsp!.Status, rsp!.ErrorComment], [4, 0xa700, 'no space left']);
  });

  it('a throwing store handler yields 0x0110 (or its dimseStatus) and the association goes on', async () => {
    let n = 0;
    const { ch, log } = setup({
      onStore: () => {
        if (n++ === 0) throw new Error('/secret/path exploded');
        throw Object.assign(new Error('out of disk'), { dimseStatus: 0xa701 });
      },
    });
    await ch.push([...commandPdvs(3, storeRq(1)), ...dataPdvs(3, Buffer.alloc(10), 4)]);
    await ch.push([...commandPdvs(3, storeRq(2)), ...dataPdvs(3, Buffer.alloc(10), 4)]);
    await ch.push(commandPdvs(1, echoRq(3)));
    const rsps = responses(ch);
    assert.deepEqual(rsps.map((r) => [r.MessageIDBeingRespondedTo, r.Status]), [[1, 0x0110], [2, 0xa701], [3, 0]]);
    assert.equal(rsps[0]!.ErrorComment, 'processing failure', 'internal error text is not sent to the peer');
    assert.equal(rsps[1]!.ErrorComment, 'out of disk');
    assert.equal(ch.abortCount, 0);
    assert.ok(log.lines.filter((l) => l.level === 'error').length >= 2);
  });

  it('a failing sink write aborts the sink once, discards the rest and answers a failure', async () => {
    const { ch, sink } = setup();
    sink.failWriteAt = 1;
    await ch.push([...commandPdvs(3, storeRq(1)), ...dataPdvs(3, Buffer.alloc(40), 10)]);
    assert.deepEqual(sink.calls, ['write', 'write', 'abort']);
    assert.equal(responses(ch)[0]!.Status, 0x0110);
    assert.equal(ch.abortCount, 0);
  });

  it('a rejecting end() answers a failure', async () => {
    const { ch, sink } = setup();
    sink.endGate.reject(Object.assign(new Error('fsync failed'), { dimseStatus: 0xa700 }));
    await ch.push([...commandPdvs(3, storeRq(1)), ...dataPdvs(3, Buffer.alloc(4), 4)]);
    assert.equal(responses(ch)[0]!.Status, 0xa700);
    assert.deepEqual(sink.aborts, []);
  });

  it('aborts the association when the command set exceeds the cap', async () => {
    const { ch } = setup({}, { maxCommandLength: 256 });
    const fragment = { pcId: 1, isCommand: true, isLast: false, data: Buffer.alloc(100) };
    await ch.push([fragment, fragment]);
    assert.equal(ch.abortCount, 0);
    await ch.push([fragment]);
    assert.equal(ch.abortCount, 1);
    await ch.push(commandPdvs(1, echoRq(1)));
    assert.equal(ch.sent.length, 0, 'nothing handled after the abort');
  });

  it('aborts the association on a data PDV without a command', async () => {
    const { ch } = setup();
    await ch.push(dataPdvs(3, Buffer.alloc(4), 4));
    assert.equal(ch.abortCount, 1);
  });

  it('aborts on a protocol error mid-dataset and aborts the sink once', async () => {
    const { ch, sink } = setup();
    await ch.push([...commandPdvs(3, storeRq(1)), { pcId: 3, isCommand: false, isLast: false, data: Buffer.alloc(4) }]);
    await ch.push(commandPdvs(1, echoRq(2)));
    assert.equal(ch.abortCount, 1);
    ch.close('aborted');
    assert.equal(sink.aborts.length, 1);
    assert.deepEqual(sink.calls, ['write', 'abort']);
  });

  it('association closed mid-dataset: sink.abort exactly once, never end()', async () => {
    const { ch, sink } = setup();
    await ch.push([...commandPdvs(3, storeRq(1)), { pcId: 3, isCommand: false, isLast: false, data: Buffer.alloc(4) }]);
    ch.close('aborted');
    ch.close('closed');
    await ch.push([{ pcId: 3, isCommand: false, isLast: true, data: Buffer.alloc(4) }]);
    assert.deepEqual(sink.calls, ['write', 'abort']);
    assert.equal(sink.aborts.length, 1);
    assert.equal((sink.aborts[0] as Error & { code?: string }).code, 'ERR_DICOM_ASSOCIATION_CLOSED');
  });

  it('association closed while a write is pending: abort once, no end(), no response', async () => {
    const { ch, sink } = setup();
    await ch.push(commandPdvs(3, storeRq(1)));
    sink.writeGate = deferred<void>();
    const p = ch.push(dataPdvs(3, Buffer.alloc(8), 4));
    ch.close('closed');
    sink.writeGate.resolve();
    await p;
    assert.deepEqual(sink.calls, ['write', 'abort']);
    assert.equal(ch.sent.length, 0);
  });

  it('association closed while onStore is choosing a sink: the sink is aborted', async () => {
    const gate = deferred<DatasetSink>();
    const { ch, sink } = setup({ onStore: () => gate.promise });
    const p = ch.push(commandPdvs(3, storeRq(1)));
    ch.close('aborted');
    gate.resolve(sink);
    await p;
    assert.deepEqual(sink.calls, ['abort']);
  });

  it('answers an unsupported request with 0x0211 and goes on', async () => {
    const { ch } = setup();
    const find = encodeCommand({ AffectedSOPClassUID: '1.2.840.10008.5.1.4.1.2.2.1', CommandField: COMMAND_FIELD.C_FIND_RQ, MessageID: 5, Priority: 0, CommandDataSetType: 0 });
    await ch.push([...commandPdvs(3, find), ...dataPdvs(3, Buffer.alloc(8), 8)]);
    await ch.push(commandPdvs(1, echoRq(6)));
    assert.deepEqual(responses(ch).map((r) => [r.CommandField, r.MessageIDBeingRespondedTo, r.Status]), [
      [COMMAND_FIELD.C_FIND_RSP, 5, 0x0211],
      [COMMAND_FIELD.C_ECHO_RSP, 6, 0],
    ]);
    assert.equal(ch.abortCount, 0);
  });

  it('aborts on a response sent to the SCP', async () => {
    const { ch } = setup();
    await ch.push(commandPdvs(1, encodeCommand({ CommandField: 0x8001, MessageIDBeingRespondedTo: 1, Status: 0, CommandDataSetType: 0x0101 })));
    assert.equal(ch.abortCount, 1);
  });

  it('refuses a SOP class not negotiated on the context with 0x0122, without calling onStore', async () => {
    const { ch, requests } = setup();
    await ch.push([...commandPdvs(3, storeRq(1, '1.2.3', '1.2.840.10008.5.1.4.1.1.2')), ...dataPdvs(3, Buffer.alloc(4), 4)]);
    assert.equal(requests.length, 0);
    assert.equal(responses(ch)[0]!.Status, 0x0122);
  });

  it('refuses a C-STORE-RQ without a data set, and one missing its instance UID', async () => {
    const { ch, requests } = setup();
    await ch.push(commandPdvs(3, encodeCommand({ AffectedSOPClassUID: SC, AffectedSOPInstanceUID: '1.2', CommandField: 1, MessageID: 1, CommandDataSetType: 0x0101 })));
    await ch.push([...commandPdvs(3, encodeCommand({ AffectedSOPClassUID: SC, CommandField: 1, MessageID: 2, CommandDataSetType: 0 })), ...dataPdvs(3, Buffer.alloc(4), 4)]);
    assert.equal(requests.length, 0);
    assert.deepEqual(responses(ch).map((r) => [r.MessageIDBeingRespondedTo, r.Status]), [[1, 0xc000], [2, 0xc000]]);
  });

  it('aborts on a store on a context that was not accepted', async () => {
    const { ch } = setup();
    await ch.push(commandPdvs(5, storeRq(1)));
    assert.equal(ch.abortCount, 1);
  });
});
