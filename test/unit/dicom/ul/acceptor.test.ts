import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { AssociationAbortedError, AssociationRejectedError, DicomError, DicomTimeoutError } from '../../../../src/dicom/errors.js';
import { createAcceptor } from '../../../../src/dicom/ul/acceptor.js';
import type { Acceptor, AcceptorOptions } from '../../../../src/dicom/ul/acceptor.js';
import { noopLogger } from '../../../../src/dicom/ul/logger.js';
import type { CloseReason, PDataChannel, PDataHandler, Pdv } from '../../../../src/dicom/ul/primitives.js';
import { requestAssociation } from '../../../../src/dicom/ul/requestor.js';
import type { RequestorAssociation, RequestorOptions } from '../../../../src/dicom/ul/requestor.js';
import { connectScriptedPeer } from '../../../support/scripted-peer.js';
import { IMPLICIT_LE, testAcceptorOptions, VERIFICATION } from '../../../support/test-acceptor.js';
import type { ScriptedPeer } from '../../../support/scripted-peer.js';
import { ASSOCIATE_AC, ASSOCIATE_RQ_ECHO, P_DATA_TF, RELEASE_RQ, hex } from '../../../fixtures/pdus.js';
import { PdvJoiner } from '../../../support/pdv-parts.js';

const BOUND = { timeout: 15000 };
/** The body of the fixture A-ASSOCIATE-AC (after its 6-byte header). */
const ACCEPT_BODY = ASSOCIATE_AC.bytes.subarray(6);

/** What the acceptor's service user saw, per association. */
interface Seen {
  channel: PDataChannel;
  pdvs: Pdv[];
  closed: CloseReason[];
  /** Most onPData calls running at once. */
  maxActive: number;
  /** Resolves with the first onClose reason. */
  ended: Promise<CloseReason>;
}

interface Server {
  acceptor: Acceptor;
  port: number;
  seen: Seen[];
  /** Set to make onPData wait (backpressure tests). */
  gate: (() => Promise<void>) | null;
}

async function startServer(overrides: Partial<AcceptorOptions> = {}): Promise<Server> {
  const server: Server = { acceptor: undefined as unknown as Acceptor, port: 0, seen: [], gate: null };
  server.acceptor = createAcceptor({
    ...testAcceptorOptions(),
    onAssociation(channel): PDataHandler {
      let ended!: (reason: CloseReason) => void;
      const seen: Seen = {
        channel, pdvs: [], closed: [], maxActive: 0, ended: new Promise((resolve) => {
          ended = resolve;
        }),
      };
      let active = 0;
      const joiner = new PdvJoiner();
      server.seen.push(seen);
      return {
        async onPData(pdvs) {
          active += 1;
          seen.maxActive = Math.max(seen.maxActive, active);
          seen.pdvs.push(...joiner.push(pdvs));
          if (server.gate !== null) await server.gate();
          // Echo every PDV back: P-DATA in the other direction.
          await channel.sendPData(pdvs);
          active -= 1;
        },
        onClose(reason) {
          seen.closed.push(reason);
          ended(reason);
        },
      };
    },
    log: noopLogger,
    ...overrides,
  });
  server.port = (await server.acceptor.listen(0, '127.0.0.1')).port;
  return server;
}

function requestorOptions(port: number, overrides: Partial<RequestorOptions> = {}): RequestorOptions {
  return {
    host: '127.0.0.1',
    port,
    callingAeTitle: 'TESTSCU',
    calledAeTitle: 'ANY-SCP',
    contexts: [
      { pcId: 1, abstractSyntax: VERIFICATION, transferSyntaxes: [IMPLICIT_LE] },
      { pcId: 3, abstractSyntax: '1.2.840.10008.5.1.4.1.1.2', transferSyntaxes: [IMPLICIT_LE] },
    ],
    maxPduLength: 16384,
    connectTimeoutMs: 5000,
    artimTimeoutMs: 5000,
    log: noopLogger,
    ...overrides,
  };
}

/** Collects P-DATA on the requestor, one whole fragment at a time (parts joined), for a test to await. */
function collect(assoc: RequestorAssociation): { next(): Promise<Pdv[]>; closed: CloseReason[] } {
  const queue: Pdv[][] = [];
  const waiting: Array<(pdvs: Pdv[]) => void> = [];
  const closed: CloseReason[] = [];
  const joiner = new PdvJoiner();
  assoc.setHandler({
    onPData(pdvs) {
      for (const fragment of joiner.push(pdvs)) {
        const waiter = waiting.shift();
        if (waiter) waiter([fragment]);
        else queue.push([fragment]);
      }
    },
    onClose(reason) {
      closed.push(reason);
    },
  });
  return {
    next: () => new Promise((resolve) => {
      const ready = queue.shift();
      if (ready) resolve(ready);
      else waiting.push(resolve);
    }),
    closed,
  };
}

/** A full association with P-DATA one round trip and release: the server still serves. */
async function assertFreshAssociation(port: number): Promise<void> {
  const assoc = await requestAssociation(requestorOptions(port));
  const rx = collect(assoc);
  const pdv: Pdv = { pcId: 1, isCommand: true, isLast: true, data: hex('0102') };
  await assoc.sendPData([pdv]);
  assert.deepStrictEqual(await rx.next(), [pdv]);
  await assoc.release();
  assert.deepStrictEqual(rx.closed, ['released']);
}

/** Connects a scripted peer and gets it through A-ASSOCIATE-RQ/AC. */
async function associatedPeer(port: number): Promise<ScriptedPeer> {
  const peer = await connectScriptedPeer(port);
  peer.send(ASSOCIATE_RQ_ECHO.bytes);
  const ac = await peer.readPdu();
  assert.equal(ac.type, 0x02, 'A-ASSOCIATE-AC');
  return peer;
}

/** Asserts the next PDU is an A-ABORT with the given source and reason (PS3.8 Table 9-26). */
async function expectAbort(peer: ScriptedPeer, source: number, reason: number): Promise<void> {
  const pdu = await peer.readPdu();
  assert.equal(pdu.type, 0x07, `expected A-ABORT, got PDU type ${pdu.type}`);
  assert.deepStrictEqual(pdu.bytes, hex('07 00 00000004 0000', source.toString(16).padStart(2, '0'), reason.toString(16).padStart(2, '0')));
}

describe('acceptor with the requestor', BOUND, () => {
  let server: Server;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.acceptor.close();
  });

  it('associates, exchanges P-DATA both ways and releases', async () => {
    const assoc = await requestAssociation(requestorOptions(server.port));
    assert.equal(server.acceptor.activeAssociations, 1);
    assert.deepStrictEqual([...assoc.contexts.values()], [{ pcId: 1, abstractSyntax: VERIFICATION, transferSyntax: IMPLICIT_LE }]);
    assert.equal(assoc.peerMaxPduLength, 16384);
    const rx = collect(assoc);
    const command: Pdv = { pcId: 1, isCommand: true, isLast: true, data: hex('00000000 04000000 deadbeef') };
    const data: Pdv = { pcId: 1, isCommand: false, isLast: true, data: Buffer.alloc(10000, 7) };
    await assoc.sendPData([command]);
    await assoc.sendPData([data]);
    assert.deepStrictEqual(await rx.next(), [command]);
    assert.deepStrictEqual(await rx.next(), [data]);
    await assoc.release();
    assert.equal(await server.seen[0].ended, 'released');
    await server.seen[0].channel.sendPData([command]).then(
      () => assert.fail('sending after release must fail'),
      (err: unknown) => assert.ok(err instanceof DicomError),
    );
    const seen = server.seen[0];
    assert.equal(seen.channel.callingAeTitle, 'TESTSCU');
    assert.equal(seen.channel.calledAeTitle, 'ANY-SCP');
    assert.deepStrictEqual(seen.pdvs, [command, data]);
    assert.deepStrictEqual(seen.closed, ['released']);
    assert.deepStrictEqual(rx.closed, ['released']);
    assert.equal(server.acceptor.activeAssociations, 0);
  });

  it('runs one P-DATA handler at a time, holding later PDUs (backpressure)', async () => {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    let arrived!: () => void;
    const firstArrived = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    server.gate = () => {
      arrived();
      return opened;
    };
    try {
      const assoc = await requestAssociation(requestorOptions(server.port));
      const rx = collect(assoc);
      const seen = server.seen.at(-1) as Seen;
      const pdvs: Pdv[] = [1, 2, 3].map((n) => ({ pcId: 1, isCommand: true, isLast: true, data: Buffer.from([n]) }));
      // PDUs that arrive together are handed on together: the later ones go out once the
      // first is being handled.
      await assoc.sendPData([pdvs[0]!]);
      await firstArrived;
      for (const pdv of pdvs.slice(1)) await assoc.sendPData([pdv]);
      // The later PDUs are on the wire; with the first handler still pending none is delivered.
      assert.deepStrictEqual(seen.pdvs, [pdvs[0]]);
      open();
      for (const pdv of pdvs) assert.deepStrictEqual(await rx.next(), [pdv]);
      assert.deepStrictEqual(seen.pdvs, pdvs);
      assert.equal(seen.maxActive, 1);
      await assoc.release();
    } finally {
      server.gate = null;
    }
  });

  it('rejects a wrong called AE title with (1, 1, 7) and readable text', async () => {
    await assert.rejects(requestAssociation(requestorOptions(server.port, { calledAeTitle: 'SOMEONE' })), (err: unknown) => {
      assert.ok(err instanceof AssociationRejectedError);
      assert.deepStrictEqual([err.result, err.source, err.reason], [1, 1, 7]);
      assert.match(err.message, /called AE title not recognised/);
      return true;
    });
    await assertFreshAssociation(server.port);
  });

  it('rejects an association where no context is acceptable', async () => {
    await assert.rejects(
      requestAssociation(requestorOptions(server.port, { contexts: [{ pcId: 1, abstractSyntax: '1.2.3', transferSyntaxes: [IMPLICIT_LE] }] })),
      AssociationRejectedError,
    );
  });

  it('refuses sendPData on a context that was not accepted', async () => {
    const assoc = await requestAssociation(requestorOptions(server.port));
    await assert.rejects(assoc.sendPData([{ pcId: 3, isCommand: true, isLast: true, data: hex('00') }]), RangeError);
    await assoc.release();
  });

  it('reports a refused connection with the socket error as cause', async () => {
    const probe = net.createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as net.AddressInfo).port)));
    await new Promise((resolve) => probe.close(resolve));
    await assert.rejects(requestAssociation(requestorOptions(port)), (err: unknown) => {
      assert.ok(err instanceof DicomError);
      assert.equal(err.code, 'ERR_DICOM_CONNECT');
      assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
      return true;
    });
  });
});

describe('acceptor under abuse (scripted peer)', BOUND, () => {
  let server: Server;
  before(async () => {
    server = await startServer({ artimTimeoutMs: 300 });
  });
  after(async () => {
    await server.acceptor.close();
  });

  it('aborts an unknown PDU type before any RQ', async () => {
    const peer = await connectScriptedPeer(server.port);
    peer.send(hex('09 00 00000004 00000000'));
    await expectAbort(peer, 0, 0); // Sta2 + Evt19 → AA-1: service-user source
    await peer.close();
    await assertFreshAssociation(server.port);
  });

  it('aborts garbage sent before any RQ', async () => {
    const peer = await connectScriptedPeer(server.port);
    peer.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await expectAbort(peer, 0, 0);
    await peer.close();
    await assertFreshAssociation(server.port);
  });

  it('aborts an A-ASSOCIATE-RQ whose item length overruns the PDU', async () => {
    const peer = await connectScriptedPeer(server.port);
    const bad = Buffer.from(ASSOCIATE_RQ_ECHO.bytes);
    bad.writeUInt16BE(0x7fff, 76); // application context item length
    peer.send(bad);
    await expectAbort(peer, 0, 0);
    await peer.close();
    await assertFreshAssociation(server.port);
  });

  it('aborts an unknown PDU type on an established association (2, 1)', async () => {
    const peer = await associatedPeer(server.port);
    peer.send(hex('0a 00 00000004 00000000'));
    await expectAbort(peer, 2, 1);
    await peer.close();
    await assertFreshAssociation(server.port);
  });

  it('aborts a P-DATA-TF declaring 0x7FFFFFFF bytes from its header alone (2, 6)', async () => {
    const peer = await associatedPeer(server.port);
    peer.send(hex('04 00 7fffffff')); // header only: the server must not wait for the body
    await expectAbort(peer, 2, 6);
    await peer.waitForClose(); // the server's FIN follows its A-ABORT
    assert.equal(peer.pending.length, 0, 'nothing after the A-ABORT');
    await assertFreshAssociation(server.port);
  });

  it('aborts an A-RELEASE-RQ of wrong length (2, 6)', async () => {
    const peer = await associatedPeer(server.port);
    peer.send(hex('05 00 00000005 0000000000'));
    await expectAbort(peer, 2, 6);
    await peer.close();
    await assertFreshAssociation(server.port);
  });

  it('aborts an A-ASSOCIATE-RJ of wrong length (2, 6)', async () => {
    const peer = await associatedPeer(server.port);
    peer.send(hex('03 00 00000003 000101'));
    await expectAbort(peer, 2, 6);
    await peer.close();
    await assertFreshAssociation(server.port);
  });

  it('aborts a second A-ASSOCIATE-RQ on an established association (2, 2)', async () => {
    const peer = await associatedPeer(server.port);
    peer.send(ASSOCIATE_RQ_ECHO.bytes);
    await expectAbort(peer, 2, 2); // Sta6 + Evt6 → AA-8: unexpected PDU
    await peer.waitForClose();
    await assertFreshAssociation(server.port);
  });

  it('closes a connection that never sends an RQ (ARTIM)', async () => {
    const peer = await connectScriptedPeer(server.port);
    await peer.waitForClose();
    assert.equal(peer.pending.length, 0, 'nothing is sent, the connection just closes');
    await assertFreshAssociation(server.port);
  });

  it('serves P-DATA and release from a scripted peer, and closes after the RP', async () => {
    const peer = await associatedPeer(server.port);
    peer.send(P_DATA_TF.bytes);
    const echoed = await peer.readPdu();
    assert.deepStrictEqual(echoed.bytes, P_DATA_TF.bytes);
    peer.send(RELEASE_RQ.bytes);
    const rp = await peer.readPdu();
    assert.deepStrictEqual(rp.bytes, hex('06 00 00000004 00000000'));
    // We do not close: the acceptor sends FIN after its final RP and the connection ends.
    await peer.waitForClose();
    const seen = server.seen.at(-1) as Seen;
    assert.equal(await seen.ended, 'released');
    assert.deepStrictEqual(seen.closed, ['released']);
  });
});

describe('acceptor limits', BOUND, () => {
  it('rejects association max + 1 with (2, 3, 2) and accepts again once one is released', async () => {
    const server = await startServer({ maxAssociations: 1 });
    try {
      const first = await requestAssociation(requestorOptions(server.port));
      const peer = await connectScriptedPeer(server.port);
      peer.send(ASSOCIATE_RQ_ECHO.bytes);
      const rj = await peer.readPdu();
      assert.deepStrictEqual(rj.bytes, hex('03 00 00000004 00 02 03 02'));
      await peer.close();
      await assert.rejects(requestAssociation(requestorOptions(server.port)), (err: unknown) => {
        assert.ok(err instanceof AssociationRejectedError);
        assert.match(err.message, /local limit exceeded/);
        return true;
      });
      await first.release();
      await assertFreshAssociation(server.port);
    } finally {
      await server.acceptor.close();
    }
  });

  it('aborts an established association that stays silent past the idle timeout', async () => {
    const server = await startServer({ idleTimeoutMs: 200 });
    try {
      const peer = await associatedPeer(server.port);
      await expectAbort(peer, 2, 0);
      await peer.close();
      assert.equal(await server.seen[0].ended, 'aborted');
      assert.deepStrictEqual(server.seen[0].closed, ['aborted']);
      await assertFreshAssociation(server.port);
    } finally {
      await server.acceptor.close();
    }
  });

  it('close() aborts live associations and resolves when every socket is closed', async () => {
    const server = await startServer();
    const assoc = await requestAssociation(requestorOptions(server.port));
    const rx = collect(assoc);
    const idle = await connectScriptedPeer(server.port);
    await server.acceptor.close();
    await assoc.closed;
    await idle.waitForClose();
    assert.deepStrictEqual(rx.closed, ['aborted']);
    assert.deepStrictEqual(server.seen[0].closed, ['aborted']);
    assert.equal(server.acceptor.activeAssociations, 0);
  });

  it('times out a requestor whose peer never answers the RQ (DicomTimeoutError, ARTIM)', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.resume();
    });
    const port = await new Promise<number>((resolve) => silent.listen(0, '127.0.0.1', () => resolve((silent.address() as net.AddressInfo).port)));
    try {
      await assert.rejects(requestAssociation(requestorOptions(port, { artimTimeoutMs: 200 })), (err: unknown) => {
        assert.ok(err instanceof DicomTimeoutError);
        assert.equal(err.timer, 'ARTIM');
        return true;
      });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('tells the requestor when the acceptor aborts; release and sendPData then fail', async () => {
    const server = await startServer();
    try {
      const assoc = await requestAssociation(requestorOptions(server.port));
      const rx = collect(assoc);
      server.seen[0].channel.abort();
      await assoc.closed;
      assert.deepStrictEqual(rx.closed, ['aborted']);
      await assert.rejects(assoc.release(), DicomError);
      await assert.rejects(assoc.sendPData([{ pcId: 1, isCommand: true, isLast: true, data: hex('00') }]), DicomError);
    } finally {
      await server.acceptor.close();
    }
  });

  it('rejects release with AssociationAbortedError when the peer aborts instead of answering', async () => {
    const peerServer = net.createServer((socket) => {
      socket.on('error', () => {});
      let got = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        if (got[0] === 0x01 && got.length >= 6 + got.readUInt32BE(2)) {
          got = got.subarray(6 + got.readUInt32BE(2));
          // Accept with the fixture AC (context 1 accepted), then abort on the release request.
          socket.write(hex('02 00 000000d9'));
          socket.write(ACCEPT_BODY);
        } else if (got[0] === 0x05 && got.length >= 10) {
          socket.write(hex('07 00 00000004 0000 02 00'));
        }
      });
    });
    const port = await new Promise<number>((resolve) => peerServer.listen(0, '127.0.0.1', () => resolve((peerServer.address() as net.AddressInfo).port)));
    try {
      const assoc = await requestAssociation(requestorOptions(port, { calledAeTitle: 'ANY-SCP', callingAeTitle: 'ECHOSCU' }));
      await assert.rejects(assoc.release(), (err: unknown) => {
        assert.ok(err instanceof AssociationAbortedError);
        assert.equal(err.source, 2);
        return true;
      });
    } finally {
      await new Promise((resolve) => peerServer.close(resolve));
    }
  });
});
