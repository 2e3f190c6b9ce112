/**
 * The acceptor against peers that do not progress (PS3.8 §9.1.5 ARTIM, SPEC §5 timeouts):
 * connections without an A-ASSOCIATE-RQ have their own cap (oldest dropped first) and take no
 * association slot; the idle timeout counts arriving bytes, not PDUs, and never fires while our
 * own handler holds the socket (backpressure).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createAcceptor } from '../../../../src/dicom/ul/acceptor.js';
import type { Acceptor, AcceptorOptions } from '../../../../src/dicom/ul/acceptor.js';
import type { CloseReason } from '../../../../src/dicom/ul/primitives.js';
import { requestAssociation } from '../../../../src/dicom/ul/requestor.js';
import { noopLogger } from '../../../../src/dicom/ul/logger.js';
import { connectScriptedPeer, type ScriptedPeer } from '../../../support/scripted-peer.js';
import { IMPLICIT_LE, testAcceptorOptions, VERIFICATION } from '../../../support/test-acceptor.js';
import { ASSOCIATE_RQ_ECHO, P_DATA_TF, RELEASE_RQ, hex } from '../../../fixtures/pdus.js';
import { PdvJoiner } from '../../../support/pdv-parts.js';
import { decodePDataTf } from '../../../../src/dicom/ul/pdu.js';
import type { Pdv } from '../../../../src/dicom/ul/primitives.js';

const BOUND = { timeout: 20000 };

interface Server {
  acceptor: Acceptor;
  port: number;
  /** Resolves with how the first accepted association ended. */
  firstEnded: Promise<CloseReason>;
  /** Set to hold onPData (our disk being slow). */
  gate: (() => Promise<void>) | null;
}

/** An echoing acceptor on 127.0.0.1:0. */
async function startServer(overrides: Partial<AcceptorOptions>): Promise<Server> {
  let ended!: (reason: CloseReason) => void;
  const firstEnded = new Promise<CloseReason>((resolve) => {
    ended = resolve;
  });
  const server: Server = { acceptor: undefined as unknown as Acceptor, port: 0, firstEnded, gate: null };
  server.acceptor = createAcceptor({
    ...testAcceptorOptions(),
    onAssociation(channel) {
      return {
        async onPData(pdvs) {
          if (server.gate !== null) await server.gate();
          await channel.sendPData(pdvs.map((p) => ({ ...p, data: Buffer.from(p.data) })));
        },
        onClose(reason) {
          ended(reason);
        },
      };
    },
    ...overrides,
  });
  server.port = (await server.acceptor.listen(0, '127.0.0.1')).port;
  return server;
}

async function associatedPeer(port: number): Promise<ScriptedPeer> {
  const peer = await connectScriptedPeer(port);
  peer.send(ASSOCIATE_RQ_ECHO.bytes);
  assert.equal((await peer.readPdu()).type, 0x02, 'A-ASSOCIATE-AC');
  return peer;
}

/** Releases from the peer's side: A-RELEASE-RQ, expects A-RELEASE-RP (not an abort). */
async function release(peer: ScriptedPeer): Promise<void> {
  peer.send(RELEASE_RQ.bytes);
  const rp = await peer.readPdu();
  assert.equal(rp.type, 0x06, `expected A-RELEASE-RP, got PDU type ${rp.type}`);
  await peer.waitForClose();
}

function associate(port: number): ReturnType<typeof requestAssociation> {
  return requestAssociation({
    host: '127.0.0.1',
    port,
    callingAeTitle: 'TESTSCU',
    calledAeTitle: 'ANY-SCP',
    contexts: [{ pcId: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] }],
    maxPduLength: 16384,
    connectTimeoutMs: 5000,
    artimTimeoutMs: 5000,
    log: noopLogger,
  });
}

describe('connections that never send an A-ASSOCIATE-RQ', BOUND, () => {
  it('take no association slot, and past their own cap the oldest one is dropped first', async () => {
    // ARTIM far beyond the test: only the cap can close these connections.
    const server = await startServer({ maxAssociations: 1, maxNegotiatingConnections: 3, artimTimeoutMs: 60_000 });
    const silent: ScriptedPeer[] = [];
    try {
      for (let i = 0; i < 3; i += 1) silent.push(await connectScriptedPeer(server.port));
      // The one association slot is free: the silent connections do not hold it.
      const first = await associate(server.port);
      // That association's connection was the newest; at the cap it pushed out the oldest.
      await silent[0]!.waitForClose();
      // Its A-ASSOCIATE-RQ took it out of the count: one more silent one fits, the next pushes.
      silent.push(await connectScriptedPeer(server.port));
      silent.push(await connectScriptedPeer(server.port));
      await silent[1]!.waitForClose();
      assert.ok(!silent[2]!.closed && !silent[3]!.closed && !silent[4]!.closed, 'the newer silent connections stay');
      assert.equal(server.acceptor.negotiatingConnections, 3);
      assert.equal(server.acceptor.stats.connectionsRefused, 2);
      await first.release();
    } finally {
      await Promise.all(silent.map((peer) => peer.close()));
      await server.acceptor.close();
    }
  });

  it('are closed at the ARTIM timeout', async () => {
    const server = await startServer({ artimTimeoutMs: 200 });
    try {
      const silent = await connectScriptedPeer(server.port);
      await silent.waitForClose();
    } finally {
      await server.acceptor.close();
    }
  });

  it('setTimeouts applies to the next connections', async () => {
    const server = await startServer({ artimTimeoutMs: 60_000 });
    try {
      server.acceptor.setTimeouts({ artimTimeoutMs: 200, idleTimeoutMs: 0 });
      const silent = await connectScriptedPeer(server.port);
      await silent.waitForClose();
    } finally {
      await server.acceptor.close();
    }
  });
});

describe('the idle timeout counts bytes, not PDUs', BOUND, () => {
  it('aborts an association stalled in the middle of a P-DATA-TF PDU', async () => {
    const server = await startServer({ idleTimeoutMs: 300 });
    try {
      const peer = await associatedPeer(server.port);
      peer.send(Buffer.concat([hex('04 00 000003ee', '000003ea 01 03'), Buffer.alloc(100, 0x41)]));
      // The 100 bytes that came may be handed on (and echoed) as a part; then the abort.
      let pdu = await peer.readPdu();
      while (pdu.type === 0x04) pdu = await peer.readPdu();
      assert.deepStrictEqual(pdu.bytes, hex('07 00 00000004 0000 02 00'));
      await peer.close();
      assert.equal(await server.firstEnded, 'aborted');
    } finally {
      await server.acceptor.close();
    }
  });

  it('lets a P-DATA-TF that arrives slowly but steadily, over several idle periods, through', async () => {
    const idleTimeoutMs = 1000;
    const server = await startServer({ idleTimeoutMs });
    try {
      const peer = await associatedPeer(server.port);
      // One PDU of 1006 bytes (one 1002-byte command PDV), sent in 15 slices 100 ms apart:
      // 1.5 s in all, each gap a tenth of the idle timeout.
      const body = Buffer.alloc(1000, 0x42);
      const pdu = Buffer.concat([hex('04 00 000003ee', '000003ea 01 03'), body]);
      const slices = 15;
      const step = Math.ceil(pdu.length / slices);
      for (let offset = 0; offset < pdu.length; offset += step) {
        peer.send(pdu.subarray(offset, offset + step));
        await new Promise((resolve) => setTimeout(resolve, idleTimeoutMs / 10));
      }
      // Echoed as it was handed on, possibly in parts: joined, they are the PDV that was sent.
      const joiner = new PdvJoiner();
      const echoed: Pdv[] = [];
      while (echoed.length === 0) echoed.push(...joiner.push(decodePDataTf((await peer.readPdu()).bytes.subarray(6)).pdvs));
      assert.deepStrictEqual(echoed, [{ pcId: 1, isCommand: true, isLast: true, data: body }], 'the whole PDV was delivered and echoed');
      await release(peer);
      assert.equal(await server.firstEnded, 'released');
    } finally {
      await server.acceptor.close();
    }
  });

  it('does not count the time our own handler holds the socket (slow disk) as the peer idling', async () => {
    const idleTimeoutMs = 300;
    const server = await startServer({ idleTimeoutMs });
    let released!: () => void;
    const handlerEntered = new Promise<void>((resolve) => {
      server.gate = () => {
        resolve();
        // Held for four idle periods: a slow disk, not a silent peer.
        return new Promise<void>((done) => {
          released = done;
          setTimeout(done, 4 * idleTimeoutMs);
        });
      };
    });
    try {
      const peer = await associatedPeer(server.port);
      peer.send(P_DATA_TF.bytes);
      await handlerEntered;
      const echoed = await peer.readPdu();
      assert.equal(echoed.type, 0x04, 'P-DATA-TF echoed after the handler finished');
      await release(peer);
      assert.equal(await server.firstEnded, 'released');
    } finally {
      released?.();
      await server.acceptor.close();
    }
  });
});
