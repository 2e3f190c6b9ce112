/**
 * Acceptance (SPEC §5: `receive.associationTimeoutSeconds`, `receive.idleTimeoutSeconds`):
 * idle peers cannot lock the DICOM port. TCP connections that never send an A-ASSOCIATE-RQ
 * neither take association slots nor keep a real peer out, and are closed at the ARTIM
 * timeout; associations stalled in the middle of a P-DATA-TF PDU are aborted (and logged) at
 * the idle timeout; DCMTK echoscu and storescu are served afterwards. Both timeouts apply to
 * new connections when the settings are saved, without re-binding the port.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { createBridge, type Bridge } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { Logger } from '../../src/dicom/ul/logger.js';
import { ASSOCIATE_RQ_ECHO, hex } from '../fixtures/pdus.js';
import { list, nextStudies, readZip, removeDir, tempDir } from '../support/bridge-harness.js';
import { acknowledgedCount, runTool, storescu } from '../support/peers/dcmtk.js';
import { connectScriptedPeer, type ScriptedPeer } from '../support/scripted-peer.js';
import { writeStudy } from '../support/study-files.js';

const A_ASSOCIATE_AC = 0x02;
const A_ABORT = 0x07;
const SILENT_CONNECTIONS = 40;
const STALLED_ASSOCIATIONS = 16;

/** A logger that keeps every line (info and up) for the test to read. */
function capturingLogger(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { log: pino({ level: 'info' }, sink) as unknown as Logger, lines };
}

async function startBridgeWithLog(storageFolder: string, receive: Record<string, unknown>, log: Logger): Promise<Bridge> {
  const config = parseConfig({ storageFolder, receive: { host: '127.0.0.1', port: 1, timeoutSeconds: 1, ...receive } }, { baseDir: storageFolder });
  config.receive.port = 0; // lets the OS pick a free port in tests
  return createBridge(config, { log });
}

/** echoscu with its own short connect, ACSE and DIMSE timeouts: a refused or stalled echo fails. */
function echoscu(port: number): ReturnType<typeof runTool> {
  return runTool('echoscu', ['-to', '5', '-ta', '5', '-td', '5', '-aet', 'ECHOSCU', '-aec', 'CRYPE_DCM', '127.0.0.1', String(port)], 30_000);
}

/** An association whose peer stops in the middle of a P-DATA-TF PDU: header and half the body. */
async function stalledAssociation(port: number): Promise<ScriptedPeer> {
  const peer = await connectScriptedPeer(port);
  peer.send(ASSOCIATE_RQ_ECHO.bytes);
  const ac = await peer.readPdu();
  assert.equal(ac.type, A_ASSOCIATE_AC, 'A-ASSOCIATE-AC');
  // P-DATA-TF of 1006 bytes: one command PDV of 1002 bytes, of which only 100 are sent.
  peer.send(Buffer.concat([hex('04 00 000003ee', '000003ea 01 03'), Buffer.alloc(100, 0x41)]));
  return peer;
}

/** Resolves once the bridge has sent A-ABORT (then we close, as PS3.8 expects) or closed. */
async function abortedOrClosed(peer: ScriptedPeer, waitMs: number): Promise<'aborted' | 'closed'> {
  try {
    const pdu = await peer.readPdu(waitMs);
    assert.equal(pdu.type, A_ABORT, `expected A-ABORT, got PDU type ${pdu.type}`);
    await peer.close();
    return 'aborted';
  } catch (err) {
    assert.match((err as Error).message, /closed/, 'the bridge neither aborted nor closed the stalled association');
    return 'closed';
  }
}

describe('idle peers do not lock the DICOM port', () => {
  let storage: string;
  let work: string;
  let bridge: Bridge;
  let lines: Array<Record<string, unknown>>;
  const peers: ScriptedPeer[] = [];

  before(async () => {
    storage = await tempDir();
    work = await tempDir();
    const captured = capturingLogger();
    lines = captured.lines;
    bridge = await startBridgeWithLog(storage, { associationTimeoutSeconds: 2, idleTimeoutSeconds: 1 }, captured.log);
  });
  after(async () => {
    await Promise.all(peers.map((peer) => peer.close()));
    await bridge.stop();
    await removeDir(storage);
    await removeDir(work);
  });

  test(`${SILENT_CONNECTIONS} silent connections and ${STALLED_ASSOCIATIONS} stalled associations: aborted and logged, then echoscu and storescu are served`, async () => {
    const port = bridge.receivePort!;
    const silent: ScriptedPeer[] = [];
    for (let i = 0; i < SILENT_CONNECTIONS; i += 1) silent.push(await connectScriptedPeer(port));
    peers.push(...silent);
    // Silent connections take no association slot: all 16 (= maxAssociations) are accepted.
    const stalled: ScriptedPeer[] = [];
    for (let i = 0; i < STALLED_ASSOCIATIONS; i += 1) stalled.push(await stalledAssociation(port));
    peers.push(...stalled);

    // The safety bound (10 s) is far above the idle timeout (1 s) and far below today's 10 min.
    const ends = await Promise.all(stalled.map((peer) => abortedOrClosed(peer, 10_000)));
    assert.equal(ends.length, STALLED_ASSOCIATIONS);

    const echo = await echoscu(port);
    assert.equal(echo.code, 0, echo.stdout + echo.stderr);

    // Silent connections are closed by the bridge at the association timeout (ARTIM).
    await Promise.all(silent.map((peer) => peer.waitForClose(10_000)));

    const idleAborts = lines.filter((l) => l.msg === 'aborting the association' && /idle timeout/.test(String(l.why)));
    assert.equal(idleAborts.length, STALLED_ASSOCIATIONS, 'each stalled association is logged as aborted for idling');
    const artimCloses = lines.filter((l) => /no A-ASSOCIATE-RQ within/.test(String(l.msg)));
    assert.ok(artimCloses.length > 0, 'closing silent connections is logged');

    const study = await writeStudy(`${work}/study`, { count: 12, rows: 256, columns: 256 });
    const studies = nextStudies(bridge, 1);
    const stored = await storescu(port, study.files);
    assert.equal(acknowledgedCount(stored.stdout + stored.stderr), 12, stored.stderr);
    const [outcome] = await studies;
    assert.equal(outcome!.instances, 12);
    const zips = (await list(bridge.layout.inboxManual)).filter((n) => n.includes(study.studyUid));
    assert.equal(zips.length, 1);
    assert.equal((await readZip(`${bridge.layout.inboxManual}/${zips[0]!}`)).size, 12);
  });
});

describe('the receive timeouts apply on reconfigure without re-binding', () => {
  let storage: string;
  let bridge: Bridge;

  before(async () => {
    storage = await tempDir();
    bridge = await startBridgeWithLog(storage, {}, capturingLogger().log);
  });
  after(async () => {
    await bridge.stop();
    await removeDir(storage);
  });

  test('lower timeouts close a new silent connection and abort a new stalled association; the port stays bound', async () => {
    const port = bridge.receivePort!;
    const changes = await bridge.reconfigure({ ...bridge.config, receive: { ...bridge.config.receive, associationTimeoutSeconds: 1, idleTimeoutSeconds: 1 } });
    assert.equal(bridge.receivePort, port, 'same listener');
    assert.ok(changes.some((c) => /association requests now time out after 1 s/.test(c)), changes.join('; '));
    assert.ok(changes.some((c) => /idle DICOM associations now aborted after 1 s/.test(c)), changes.join('; '));

    const silent = await connectScriptedPeer(port);
    const stalled = await stalledAssociation(port);
    // Bounds far above the 1 s timeouts and far below the defaults (30 s, 60 s).
    await silent.waitForClose(10_000);
    await abortedOrClosed(stalled, 10_000);
    const echo = await echoscu(port);
    assert.equal(echo.code, 0, echo.stdout + echo.stderr);
  });
});
