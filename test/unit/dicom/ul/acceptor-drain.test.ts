/**
 * Closing an acceptor with a drain (PS3.8 §9.2, §7.3): the listener stops at once, established
 * associations may end on their own until the deadline, those still open then get an A-ABORT
 * PDU, and an A-ASSOCIATE-RQ arriving meanwhile is rejected transiently (2, 3, 2).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createAcceptor } from '../../../../src/dicom/ul/acceptor.js';
import type { Acceptor } from '../../../../src/dicom/ul/acceptor.js';
import { noopLogger } from '../../../../src/dicom/ul/logger.js';
import type { CloseReason, PDataChannel, Pdv } from '../../../../src/dicom/ul/primitives.js';
import { requestAssociation } from '../../../../src/dicom/ul/requestor.js';
import type { RequestorAssociation } from '../../../../src/dicom/ul/requestor.js';
import { connectScriptedPeer } from '../../../support/scripted-peer.js';
import { IMPLICIT_LE, testAcceptorOptions, VERIFICATION } from '../../../support/test-acceptor.js';
import type { ScriptedPeer } from '../../../support/scripted-peer.js';
import { ASSOCIATE_RQ_ECHO, hex } from '../../../fixtures/pdus.js';

const BOUND = { timeout: 20000 };
/** A drain no test waits for: reaching it would mean the association was not let finish. */
const LONG_DRAIN_MS = 60_000;

interface Server {
  acceptor: Acceptor;
  port: number;
  /** onClose reasons of the accepted associations, in order of their end. */
  ended: CloseReason[];
  channels: PDataChannel[];
}

/** An echoing acceptor on 127.0.0.1:0 (every P-DATA is sent back). */
async function startServer(port = 0): Promise<Server> {
  const server: Server = { acceptor: undefined as unknown as Acceptor, port: 0, ended: [], channels: [] };
  server.acceptor = createAcceptor({
    ...testAcceptorOptions(),
    onAssociation(channel) {
      server.channels.push(channel);
      return {
        async onPData(pdvs) {
          await channel.sendPData(pdvs.map((p) => ({ ...p, data: Buffer.from(p.data) })));
        },
        onClose(reason) {
          server.ended.push(reason);
        },
      };
    },
    log: noopLogger,
  });
  server.port = (await server.acceptor.listen(port, '127.0.0.1')).port;
  return server;
}

function associate(port: number): Promise<RequestorAssociation> {
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

/** Sends one PDV and waits for the echo: the association is still served. */
async function roundTrip(assoc: RequestorAssociation, closed: CloseReason[]): Promise<void> {
  const pdv: Pdv = { pcId: 1, isCommand: true, isLast: true, data: hex('0102') };
  const echoed = new Promise<Pdv[]>((resolve) => {
    assoc.setHandler({
      onPData: (pdvs) => resolve(pdvs.map((p) => ({ ...p, data: Buffer.from(p.data) }))),
      onClose: (reason) => closed.push(reason),
    });
  });
  await assoc.sendPData([pdv]);
  assert.deepStrictEqual(await echoed, [pdv]);
}

/** Resolves with the error code of a connection attempt that fails, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

async function associatedPeer(port: number): Promise<ScriptedPeer> {
  const peer = await connectScriptedPeer(port);
  peer.send(ASSOCIATE_RQ_ECHO.bytes);
  assert.equal((await peer.readPdu()).type, 0x02, 'A-ASSOCIATE-AC');
  return peer;
}

describe('acceptor close with a drain', BOUND, () => {
  it('stops listening at once, lets a live association finish and release, and does not abort it', async () => {
    const server = await startServer();
    const assoc = await associate(server.port);
    const requestorClosed: CloseReason[] = [];
    const closing = server.acceptor.close({ drainMs: LONG_DRAIN_MS });
    assert.equal(await tryConnect(server.port), 'ECONNREFUSED', 'no longer listening');
    await roundTrip(assoc, requestorClosed);
    await assoc.release();
    await closing;
    assert.deepStrictEqual(requestorClosed, ['released']);
    assert.deepStrictEqual(server.ended, ['released']);
    assert.equal(server.acceptor.activeAssociations, 0);
  });

  it('aborts with an A-ABORT PDU (source 0, reason 0) what is still open at the deadline', async () => {
    const server = await startServer();
    const peer = await associatedPeer(server.port);
    const closing = server.acceptor.close({ drainMs: 100 });
    const pdu = await peer.readPdu();
    assert.deepStrictEqual(pdu.bytes, hex('07 00 00000004 0000 00 00'), 'A-ABORT');
    await closing;
    await peer.waitForClose();
    assert.deepStrictEqual(server.ended, ['aborted']);
  });

  it('a later close() without a drain cuts the drain short', async () => {
    const server = await startServer();
    const peer = await associatedPeer(server.port);
    const draining = server.acceptor.close({ drainMs: LONG_DRAIN_MS });
    const now = server.acceptor.close();
    assert.equal((await peer.readPdu()).type, 0x07, 'A-ABORT');
    await Promise.all([draining, now]);
    assert.deepStrictEqual(server.ended, ['aborted']);
  });

  it('rejects an A-ASSOCIATE-RQ arriving during the drain transiently with (2, 3, 2)', async () => {
    const server = await startServer();
    const late = await connectScriptedPeer(server.port);
    const closing = server.acceptor.close({ drainMs: LONG_DRAIN_MS });
    late.send(ASSOCIATE_RQ_ECHO.bytes);
    const rj = await late.readPdu();
    assert.deepStrictEqual(rj.bytes, hex('03 00 00000004 00 02 03 02'));
    await late.close();
    await closing;
    assert.deepStrictEqual(server.ended, []);
  });

  it('stopListening() frees the port for a new listener while the open association carries on', async () => {
    const old = await startServer();
    const assoc = await associate(old.port);
    old.acceptor.stopListening();
    const replacement = await startServer(old.port);
    try {
      const fresh = await associate(old.port);
      await fresh.release();
      assert.deepStrictEqual(replacement.ended, ['released'], 'the new listener took the connection');
      const closed: CloseReason[] = [];
      await roundTrip(assoc, closed);
      await assoc.release();
      assert.deepStrictEqual(old.ended, ['released']);
      await old.acceptor.close({ drainMs: LONG_DRAIN_MS });
    } finally {
      await old.acceptor.close();
      await replacement.acceptor.close();
    }
  });
});
