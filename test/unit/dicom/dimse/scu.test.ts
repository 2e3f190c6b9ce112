import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DicomTimeoutError } from '../../../../src/dicom/errors.js';
import { type CommandSet, decodeCommand, encodeCommand } from '../../../../src/dicom/dimse/command.js';
import { cEcho } from '../../../../src/dicom/dimse/echo.js';
import { DimseServiceUser } from '../../../../src/dicom/dimse/service-user.js';
import { ERR_ASSOCIATION_CLOSED } from '../../../../src/dicom/errors.js';
import { COMMAND_FIELD, buildEchoRsp, buildStoreRsp } from '../../../../src/dicom/dimse/messages.js';
import { type DatasetSink, type DimseLogger, DimseServiceProvider, type StoreOutcome } from '../../../../src/dicom/dimse/service.js';
import { cStore } from '../../../../src/dicom/dimse/store.js';
import type { Pdv } from '../../../../src/dicom/ul/primitives.js';
import { FakeChannel, commandPdvs } from '../../../support/fake-channel.js';

const SC = '1.2.840.10008.5.1.4.1.1.7';
const silent: DimseLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Collects command PDVs sent by the SCU and calls `answer` with each complete command. */
function scriptPeer(ch: FakeChannel, answer: (cmd: CommandSet, dataBytes: number) => CommandSet | null): { data: Buffer[] } {
  let parts: Buffer[] = [];
  let pending: CommandSet | null = null;
  const seen = { data: [] as Buffer[] };
  let dataBytes = 0;
  const reply = (cmd: CommandSet): void => {
    const rsp = answer(cmd, dataBytes);
    if (rsp) void ch.push(commandPdvs(1, encodeCommand(rsp)));
  };
  ch.onSend = (pdvs: Pdv[]) => {
    for (const p of pdvs) {
      if (p.isCommand) {
        parts.push(p.data);
        if (!p.isLast) continue;
        const cmd = decodeCommand(Buffer.concat(parts));
        parts = [];
        if (cmd.CommandDataSetType === 0x0101) reply(cmd);
        else pending = cmd;
      } else {
        seen.data.push(p.data);
        dataBytes += p.data.length;
        if (p.isLast && pending) {
          const cmd = pending;
          pending = null;
          // Answer asynchronously, as a real peer would.
          queueMicrotask(() => reply(cmd));
        }
      }
    }
  };
  return seen;
}

async function* fromBuffer(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let off = 0; off < buf.length; off += size) yield buf.subarray(off, off + size);
}

describe('DIMSE service user: C-ECHO and C-STORE SCU', () => {
  it('cEcho sends a C-ECHO-RQ and returns the response status', async () => {
    const ch = new FakeChannel();
    const user = new DimseServiceUser(ch, silent);
    ch.handler = user;
    const seen: CommandSet[] = [];
    scriptPeer(ch, (cmd) => {
      seen.push(cmd);
      return buildEchoRsp({ MessageIDBeingRespondedTo: cmd.MessageID!, AffectedSOPClassUID: cmd.AffectedSOPClassUID, Status: 0 });
    });
    assert.deepEqual(await cEcho(user, ch, 1, { timeoutMs: 5000 }), { status: 0 });
    assert.deepEqual(await cEcho(user, ch, 1, { timeoutMs: 5000 }), { status: 0 });
    assert.deepEqual(seen.map((c) => [c.CommandField, c.MessageID, c.AffectedSOPClassUID, c.CommandDataSetType]), [
      [COMMAND_FIELD.C_ECHO_RQ, 1, '1.2.840.10008.1.1', 0x0101],
      [COMMAND_FIELD.C_ECHO_RQ, 2, '1.2.840.10008.1.1', 0x0101],
    ]);
  });

  it('cEcho rejects with DicomTimeoutError when no response comes', async () => {
    const ch = new FakeChannel();
    const user = new DimseServiceUser(ch, silent);
    ch.handler = user;
    await assert.rejects(cEcho(user, ch, 1, { timeoutMs: 10 }), (err: unknown) => err instanceof DicomTimeoutError && err.timer === 'dimse');
  });

  it('pending requests fail when the association ends', async () => {
    const ch = new FakeChannel();
    const user = new DimseServiceUser(ch, silent);
    ch.handler = user;
    ch.onSend = () => queueMicrotask(() => ch.close('aborted'));
    await assert.rejects(cEcho(user, ch, 1, { timeoutMs: 60_000 }), (err: unknown) => (err as { code?: string }).code === ERR_ASSOCIATION_CLOSED);
    await assert.rejects(cEcho(user, ch, 1, { timeoutMs: 60_000 }), (err: unknown) => (err as { code?: string }).code === ERR_ASSOCIATION_CLOSED);
  });

  it('ignores an unmatched response and aborts on a request from the peer', async () => {
    const ch = new FakeChannel();
    const log = { ...silent, warned: 0, warn() { this.warned++; } };
    const user = new DimseServiceUser(ch, log);
    ch.handler = user;
    await ch.push(commandPdvs(1, encodeCommand(buildEchoRsp({ MessageIDBeingRespondedTo: 99, Status: 0 }))));
    assert.equal(log.warned, 1);
    assert.equal(ch.abortCount, 0);
    await ch.push(commandPdvs(1, encodeCommand({ CommandField: COMMAND_FIELD.C_ECHO_RQ, MessageID: 1, CommandDataSetType: 0x0101 })));
    assert.equal(ch.abortCount, 1);
  });

  it('cStore streams the data set and returns status and comment', async () => {
    const ch = new FakeChannel({ peerMaxPduLength: 4096 });
    const user = new DimseServiceUser(ch, silent);
    ch.handler = user;
    const rqs: CommandSet[] = [];
    const seen = scriptPeer(ch, (cmd) => {
      rqs.push(cmd);
      return buildStoreRsp({
        MessageIDBeingRespondedTo: cmd.MessageID!,
        AffectedSOPClassUID: cmd.AffectedSOPClassUID,
        AffectedSOPInstanceUID: cmd.AffectedSOPInstanceUID,
        Status: 0xa700,
        ErrorComment: 'full',
      });
    });
    const data = randomBytes(100_000);
    const result = await cStore(user, ch, 1, {
      sopClassUid: SC,
      sopInstanceUid: '1.2.3',
      dataset: fromBuffer(data, 65536),
      timeoutMs: 5000,
      moveOriginator: { aeTitle: 'QR', messageId: 4 },
    });
    assert.deepEqual(result, { status: 0xa700, errorComment: 'full' });
    assert.ok(Buffer.concat(seen.data).equals(data));
    assert.equal(rqs[0]!.CommandField, COMMAND_FIELD.C_STORE_RQ);
    assert.equal(rqs[0]!.AffectedSOPInstanceUID, '1.2.3');
    assert.equal(rqs[0]!.MoveOriginatorApplicationEntityTitle, 'QR');
    assert.equal(rqs[0]!.MoveOriginatorMessageID, 4);
    assert.ok(ch.sent.every((pdu) => pdu.reduce((n, p) => n + 6 + p.data.length, 0) <= 4096));
  });

  it('cStore propagates a read error of the data source', async () => {
    const ch = new FakeChannel();
    const user = new DimseServiceUser(ch, silent);
    ch.handler = user;
    async function* broken(): AsyncGenerator<Buffer> {
      yield Buffer.alloc(10);
      throw new Error('EIO');
    }
    await assert.rejects(cStore(user, ch, 1, { sopClassUid: SC, sopInstanceUid: '1.2', dataset: broken(), timeoutMs: 1000 }), /EIO/);
  });
});

describe('SCU and SCP end to end over a loopback channel pair', () => {
  it('a C-STORE reaches the sink byte for byte and its outcome returns to the SCU', async () => {
    const contexts = [{ pcId: 1, abstractSyntax: SC, transferSyntax: '1.2.840.10008.1.2.1' }];
    const scuSide = new FakeChannel({ contexts, peerMaxPduLength: 16384 });
    const scpSide = new FakeChannel({ contexts, peerMaxPduLength: 16384 });
    // Each side's send is the other side's P-DATA indication, awaited: backpressure end to end.
    scuSide.sendPData = (pdvs) => scpSide.push(pdvs);
    scpSide.sendPData = (pdvs) => scuSide.push(pdvs);
    const received: Buffer[] = [];
    const sink: DatasetSink = {
      write: (chunk) => void received.push(chunk),
      end: async (): Promise<StoreOutcome> => ({ status: 0 }),
      abort: () => assert.fail('no abort expected'),
    };
    scpSide.handler = new DimseServiceProvider(scpSide, { onStore: () => sink }, silent);
    const user = new DimseServiceUser(scuSide, silent);
    scuSide.handler = user;
    const data = randomBytes(300_000);
    const result = await cStore(user, scuSide, 1, { sopClassUid: SC, sopInstanceUid: '1.2.3.4', dataset: fromBuffer(data, 65536), timeoutMs: 5000 });
    assert.deepEqual(result, { status: 0 });
    assert.ok(Buffer.concat(received).equals(data));
  });
});
