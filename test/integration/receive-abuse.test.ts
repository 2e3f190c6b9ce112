/**
 * Acceptance (issue: Receive): hostile and broken peers against the running bridge. A
 * malformed PDU gets an abort and the bridge keeps serving the next association (checked with
 * DCMTK echoscu); an association aborted mid-instance leaves no partial file while the
 * instances acknowledged before it are zipped; a SOP Instance UID like `../../x` writes
 * nothing outside the storage folder; memory stays bounded.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bridge } from '../../src/app.js';
import { DimseServiceUser } from '../../src/dicom/dimse/service-user.js';
import { sendCommand } from '../../src/dicom/dimse/fragmenter.js';
import { buildStoreRq } from '../../src/dicom/dimse/messages.js';
import { encodeCommand } from '../../src/dicom/dimse/command.js';
import { cStore } from '../../src/dicom/dimse/store.js';
import { requestAssociation, type RequestorAssociation } from '../../src/dicom/ul/requestor.js';
import { ASSOCIATE_RQ_ECHO, hex } from '../fixtures/pdus.js';
import { buildInstance, CT_IMAGE_STORAGE, EXPLICIT_LE, testUid } from '../support/dicom-builder.js';
import { containsUid, datasetOf, list, listTree, readZip, removeDir, sopUidOf, startBridge, tempDir, testLogger } from '../support/bridge-harness.js';
import { echoscu } from '../support/peers/dcmtk.js';
import { connectScriptedPeer, type ScriptedPeer } from '../support/scripted-peer.js';

const A_ABORT = 0x07;

/** A dataset as the async stream the SCU reads. */
async function* chunks(bytes: Buffer): AsyncIterable<Buffer> {
  yield bytes;
}

/** Waits (bounded) until a condition holds: for effects the bridge performs after a peer has gone. */
async function eventually(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Either an A-ABORT PDU arrives (then we close, as PS3.8 §9.2 expects of the peer that
 * receives one) or the bridge closes the connection itself.
 */
async function expectAbortOrClose(peer: ScriptedPeer): Promise<void> {
  try {
    const pdu = await peer.readPdu();
    assert.equal(pdu.type, A_ABORT, `expected A-ABORT, got PDU type ${pdu.type}`);
    await peer.close();
  } catch (err) {
    assert.match((err as Error).message, /closed/);
  }
}

async function associated(port: number): Promise<ScriptedPeer> {
  const peer = await connectScriptedPeer(port);
  peer.send(ASSOCIATE_RQ_ECHO.bytes);
  const ac = await peer.readPdu();
  assert.equal(ac.type, 0x02, 'A-ASSOCIATE-AC');
  return peer;
}

describe('hostile peers against the bridge', () => {
  let storage: string;
  let bridge: Bridge;

  before(async () => {
    storage = await tempDir();
    bridge = await startBridge(storage, { receive: { timeoutSeconds: 3600 } });
  });
  after(async () => {
    await bridge.stop();
    await removeDir(storage);
  });

  const cases: Array<[string, (port: number) => Promise<ScriptedPeer>]> = [
    ['an unknown PDU type', async (port) => {
      const peer = await connectScriptedPeer(port);
      peer.send(hex('09 00 00000004 00000000'));
      return peer;
    }],
    ['item lengths that overrun the PDU', async (port) => {
      const peer = await connectScriptedPeer(port);
      const rq = Buffer.from(ASSOCIATE_RQ_ECHO.bytes);
      rq.writeUInt16BE(0x0fff, 6 + 68 + 2); // application context item claims 4095 bytes
      peer.send(rq);
      return peer;
    }],
    ['a P-DATA-TF declaring 2 GiB (header only)', async (port) => {
      const peer = await associated(port);
      peer.send(hex('04 00 7fffffff'));
      return peer;
    }],
    ['a command fragment stream that never sets the last bit', async (port) => {
      const peer = await associated(port);
      const fragment = Buffer.alloc(16_000, 0x41);
      const pdv = Buffer.alloc(6);
      pdv.writeUInt32BE(fragment.length + 2, 0);
      pdv[4] = 1; // pcId
      pdv[5] = 0x01; // command, not last
      const header = Buffer.alloc(6);
      header[0] = 0x04;
      header.writeUInt32BE(pdv.length + fragment.length, 2);
      // Bounded: 64 fragments (1 MB), far past the command-set cap; stops early once closed.
      for (let i = 0; i < 64 && !peer.closed; i += 1) peer.send(Buffer.concat([header, pdv, fragment]));
      return peer;
    }],
    ['a second A-ASSOCIATE-RQ on an established association', async (port) => {
      const peer = await associated(port);
      peer.send(ASSOCIATE_RQ_ECHO.bytes);
      return peer;
    }],
  ];

  for (const [name, attack] of cases) {
    test(`${name} → abort, and the next association is served`, async () => {
      const peer = await attack(bridge.receivePort!);
      await expectAbortOrClose(peer);
      const echo = await echoscu(bridge.receivePort!);
      assert.equal(echo.code, 0, echo.stderr);
    });
  }

  test('memory stays bounded under repeated abuse', async () => {
    const before = process.memoryUsage().rss;
    for (let round = 0; round < 20; round += 1) {
      for (const [, attack] of cases) await expectAbortOrClose(await attack(bridge.receivePort!));
    }
    const grownMb = (process.memoryUsage().rss - before) / 1e6;
    assert.ok(grownMb < 100, `RSS grew by ${grownMb.toFixed(0)} MB over 100 hostile associations`);
  });

  /** An association from our own SCU with one CT context, for precise mid-instance control. */
  async function storeAssociation(): Promise<{ assoc: RequestorAssociation; user: DimseServiceUser }> {
    const assoc = await requestAssociation({
      host: '127.0.0.1',
      port: bridge.receivePort!,
      callingAeTitle: 'HOSTILE',
      calledAeTitle: 'CRYPE_DCM',
      contexts: [{ pcId: 1, abstractSyntax: CT_IMAGE_STORAGE, transferSyntaxes: [EXPLICIT_LE] }],
      maxPduLength: 65536,
      connectTimeoutMs: 5000,
      artimTimeoutMs: 5000,
      log: testLogger(),
    });
    const user = new DimseServiceUser(assoc, testLogger());
    assoc.setHandler(user);
    return { assoc, user };
  }

  test('an association aborted mid-instance leaves no partial file; acknowledged instances are zipped', async () => {
    const studyUid = testUid();
    const instance = (sopUid: string, n: number) => buildInstance({
      patientName: 'ABORT^Test', patientId: 'P-ABORT', studyUid, seriesUid: `${studyUid}.1`, seriesNumber: 1, sopUid, instanceNumber: n, rows: 256, columns: 256,
    });
    const { assoc, user } = await storeAssociation();
    const acknowledged = [testUid(), testUid()];
    for (const [i, sopUid] of acknowledged.entries()) {
      const result = await cStore(user, assoc, 1, { sopClassUid: CT_IMAGE_STORAGE, sopInstanceUid: sopUid, dataset: chunks(instance(sopUid, i + 1)), timeoutMs: 10_000 });
      assert.equal(result.status, 0);
    }
    // Third instance: the command and half the dataset, then A-ABORT.
    const brokenUid = testUid();
    const dataset = instance(brokenUid, 3);
    await sendCommand(assoc, 1, encodeCommand(buildStoreRq({ MessageID: 99, Priority: 0, AffectedSOPClassUID: CT_IMAGE_STORAGE, AffectedSOPInstanceUID: brokenUid })));
    await assoc.sendPData([{ pcId: 1, isCommand: false, isLast: false, data: dataset.subarray(0, 60_000) }]);
    assoc.abort();
    await assoc.closed;
    // Work/incoming may hold empty files opened ahead of need; the partial one must be gone.
    const partialFiles = async () => {
      // A file may be deleted between readdir and stat: gone counts as empty.
      const sizeOf = (n: string) => stat(join(bridge.layout.incoming, n)).then((s) => s.size, () => 0);
      const sizes = await Promise.all((await list(bridge.layout.incoming)).map(sizeOf));
      return sizes.filter((size) => size > 0).length;
    };
    await eventually(async () => bridge.activeAssociations === 0 && (await partialFiles()) === 0, 'the partial instance is deleted');

    const zipped = new Promise<string>((resolve) => bridge.once('study', (o) => resolve(o.path)));
    await bridge.flush();
    const entries = await readZip(await zipped);
    const uids = [...entries.values()].map((file) => sopUidOf(datasetOf(file)));
    assert.deepEqual(uids.sort(), [...acknowledged].sort());
    for (const path of await listTree(storage)) {
      if (path.endsWith('.sqlite') || path.includes('sqlite-') || path.endsWith('.log')) continue;
      const bytes = await readFile(join(storage, path));
      assert.ok(!containsUid(bytes, brokenUid) || path.startsWith('Inbox_'), `${path} holds the broken instance`);
    }
  });

  test('a SOP Instance UID of ../../x writes nothing outside the storage folder', async () => {
    const parent = dirname(storage);
    const beforeParent = new Set(await readdir(parent));
    const studyUid = testUid();
    const { assoc, user } = await storeAssociation();
    const dataset = buildInstance({ patientName: 'PATH^Traversal', patientId: '../../y', studyUid, seriesUid: '../../s', seriesNumber: 1, sopUid: '../../x', instanceNumber: 1 });
    const result = await cStore(user, assoc, 1, { sopClassUid: CT_IMAGE_STORAGE, sopInstanceUid: '../../x', dataset: chunks(dataset), timeoutMs: 10_000 });
    await assoc.release();
    const zipped = new Promise<string>((resolve) => bridge.once('study', (o) => resolve(o.path)));
    await bridge.flush();
    if (result.status === 0) {
      const path = await zipped;
      assert.ok(path.startsWith(storage), `ZIP inside the storage folder: ${path}`);
      const names = [...(await readZip(path)).keys()];
      assert.ok(names.every((n) => !n.includes('..')), `entry names are safe: ${names.join(', ')}`);
    }
    const added = (await readdir(parent)).filter((n) => !beforeParent.has(n) && !n.startsWith('dicombridge-test-'));
    assert.deepEqual(added, [], 'nothing new beside the storage folder');
    for (const p of await listTree(storage)) assert.ok(!p.split('/').includes('..') && !p.endsWith('/x') && p !== 'x', p);
  });
});
