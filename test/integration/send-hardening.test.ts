/**
 * Acceptance of the send-side hardening (SPEC §2) against real peers: files in Outbox_Auto
 * that never read as a ZIP go to Outbox_Failed after send.incompleteZipSeconds with a log book
 * row and one warning; a file whose meta disagrees with its dataset is offered under the
 * dataset's UIDs; a busy file is retried, not failed; a failing log book after a full send is
 * not a send failure; and only a few ZIPs are claimed ahead of a blocked PACS.
 */
import assert from 'node:assert/strict';
import { open as openCallback, readdirSync } from 'node:fs';
import { mkdir, readFile, rename, truncate, writeFile, stat } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Bridge } from '../../src/app.js';
import { MAX_CLAIMED_AHEAD } from '../../src/bridge/send/sending.js';
import { readStatus } from '../../src/bridge/status.js';
import { storageLayout } from '../../src/bridge/storage-layout.js';
import { parseFileMeta } from '../../src/dicom/part10/file-meta.js';
import { list, nextEvents, removeDir, sendOverrides, startBridge, tempDir } from '../support/bridge-harness.js';
import { captureLog, LEVEL, type LogLine } from '../support/log-capture.js';
import { freePort } from '../support/peers/dcmtk.js';
import { startOrthanc, type OrthancPeer } from '../support/peers/orthanc.js';
import { startStorescp, type StorescpPeer } from '../support/peers/storescp.js';
import { writeZip } from '../support/zip-files.js';

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
const CT_SMALL = join(PYDICOM, 'CT_small.dcm');

/** Writes a ZIP beside Outbox_Auto and renames it in, as a finished drop. */
async function dropZip(bridge: Bridge, name: string, files: string[]): Promise<void> {
  const temp = join(bridge.layout.root, `.${name}.tmp`);
  await writeZip(temp, files);
  await rename(temp, join(bridge.layout.outboxAuto, name));
}

/** An errno error as node:fs gives it. */
function fsError(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: resource busy or locked, ${syscall} '${path}'`), { code, syscall, path, errno: -16 });
}

describe('send hardening', () => {
  let work: string;
  before(async () => {
    work = await tempDir();
  });
  after(async () => {
    await removeDir(work);
  });

  test('unreadable files (empty, not a ZIP, truncated) go to Outbox_Failed after incompleteZipSeconds, warned once, counted apart', async () => {
    const storage = await tempDir();
    const capture = captureLog();
    const pacsPort = await freePort(); // nothing is readable, so nothing is ever sent there
    const bridge = await startBridge(storage, sendOverrides(pacsPort, { incompleteZipSeconds: 10 }), { log: capture.log });
    try {
      const { outboxAuto, outboxFailed } = bridge.layout;
      // Already in Outbox_Failed: never overwritten by a newcomer of the same name.
      await mkdir(outboxFailed, { recursive: true });
      await writeFile(join(outboxFailed, 'empty.zip'), 'keep me');
      const truncated = join(work, 'truncated.zip');
      await writeZip(truncated, [CT_SMALL]);
      await truncate(truncated, Math.floor((await stat(truncated)).size / 2));
      const failed = nextEvents(bridge, 'send', 3, 60_000);
      await writeFile(join(outboxAuto, 'empty.zip'), '');
      await writeFile(join(outboxAuto, 'text.zip'), 'this is a text file, not a ZIP\n');
      await rename(truncated, join(outboxAuto, 'truncated.zip'));

      const isWarning = (line: LogLine) => line.level === LEVEL.warn && /does not read as a complete ZIP/.test(line.msg);
      await capture.waitFor(isWarning, 3);
      const status = await readStatus(bridge, 'test', 0);
      assert.equal(status.outboxUnreadable, 3, 'the status strip counts the unreadable files apart');
      assert.equal(status.outboxWaiting, 0, 'and not as ZIPs waiting');

      const outcomes = await failed;
      const reason = 'incomplete or not a ZIP (unchanged for 10 s)';
      assert.deepEqual(outcomes.map((o) => [o.zipName, o.status, o.reason]).sort(), [
        ['empty.zip', 'Failed', reason],
        ['text.zip', 'Failed', reason],
        ['truncated.zip', 'Failed', reason],
      ]);
      assert.deepEqual(await list(outboxAuto), []);
      assert.deepEqual(await list(outboxFailed), ['empty (2).zip', 'empty.zip', 'text.zip', 'truncated.zip']);
      assert.equal(await readFile(join(outboxFailed, 'empty.zip'), 'utf8'), 'keep me', 'the file already there is untouched');
      assert.equal((await stat(join(outboxFailed, 'empty (2).zip'))).size, 0);
      const rows = bridge.logBook.latest(10).filter((r) => r.action === 'Send');
      // The log book names each file as it is now in Outbox_Failed (what the GUI's Retry moves back).
      assert.deepEqual(rows.map((r) => [r.fileName, r.folder, r.status, r.reason]).sort(), [
        ['empty (2).zip', 'Outbox_Failed', 'Failed', reason],
        ['text.zip', 'Outbox_Failed', 'Failed', reason],
        ['truncated.zip', 'Outbox_Failed', 'Failed', reason],
      ]);
      const warnings = capture.lines().filter(isWarning);
      assert.deepEqual(warnings.map((w) => w.zip).sort(), ['empty.zip', 'text.zip', 'truncated.zip'], 'one warning per file, at the first sight');
      assert.equal(bridge.outboxUnreadable, 0);
    } finally {
      await bridge.stop();
      await removeDir(storage);
    }
  });

  describe('to Orthanc', () => {
    let orthanc: OrthancPeer;
    before(async () => {
      orthanc = await startOrthanc({ dir: join(work, 'orthanc') });
    });
    after(async () => {
      await orthanc.stop();
    });

    test("pydicom's rtplan.dcm (meta disagrees with the dataset) is sent under the dataset's SOP Instance UID, with a warning", async () => {
      const storage = await tempDir();
      const capture = captureLog();
      const bridge = await startBridge(storage, sendOverrides(orthanc.dicomPort), { log: capture.log });
      try {
        const sent = nextEvents(bridge, 'send', 1);
        await dropZip(bridge, 'rtplan.zip', [join(PYDICOM, 'rtplan.dcm')]);
        const [outcome] = await sent;
        assert.equal(outcome!.status, 'Success', outcome!.reason);
        assert.equal(outcome!.sent, 1);
        const ids = await orthanc.instanceIds();
        assert.equal(ids.length, 1);
        const meta = parseFileMeta(await orthanc.file(ids[0]!), true);
        assert.equal(meta?.mediaStorageSopInstanceUid, '1.2.777.777.77.7.7777.7777.20030903150023', "stored under the dataset's UID");
        assert.equal(meta?.mediaStorageSopClassUid, '1.2.840.10008.5.1.4.1.1.481.5');
        const warnings = capture.lines().filter((l) => l.level === LEVEL.warn && /file meta disagrees with the dataset/.test(l.msg));
        assert.equal(warnings.length, 1);
        assert.match(warnings[0]!.msg, /1\.2\.999\.999\.99\.9\.9999\.9999\.20030903150023/);
      } finally {
        await bridge.stop();
        await removeDir(storage);
      }
    });
  });

  describe('to DCMTK storescp', () => {
    let scp: StorescpPeer;
    before(async () => {
      scp = await startStorescp({ outDir: join(work, 'storescp'), aeTitle: 'PACS' });
    });
    after(async () => {
      await scp.stop();
    });

    test('a ZIP that cannot be opened for now (EBUSY) is retried, then sent', async () => {
      const storage = await tempDir();
      const capture = captureLog();
      let busy = 2;
      let opens = 0;
      const openFd = (path: string): Promise<number> => {
        opens += 1;
        if (busy > 0) {
          busy -= 1;
          return Promise.reject(fsError('EBUSY', 'open', path));
        }
        return new Promise((resolve, reject) => openCallback(path, 'r', (err, fd) => (err ? reject(err) : resolve(fd))));
      };
      const bridge = await startBridge(storage, sendOverrides(scp.port), { log: capture.log, openFd });
      try {
        const sent = nextEvents(bridge, 'send', 1);
        await dropZip(bridge, 'busy.zip', [CT_SMALL]);
        const [outcome] = await sent;
        assert.equal(outcome!.status, 'Success', outcome!.reason);
        assert.equal(opens, 3);
        assert.equal(capture.lines().filter((l) => l.level === LEVEL.warn && l.code === 'EBUSY').length, 2);
        assert.deepEqual(await list(bridge.layout.outboxFailed), []);
      } finally {
        await bridge.stop();
        await removeDir(storage);
      }
    });

    test('a failing log book after a full send: the ZIP is deleted once, no failure is reported, no row is written twice', async () => {
      const storage = await tempDir();
      const capture = captureLog();
      const bridge = await startBridge(storage, sendOverrides(scp.port), { log: capture.log });
      const logBook = bridge.logBook as { add: (...args: unknown[]) => unknown };
      const add = logBook.add;
      let rowsTried = 0;
      logBook.add = () => {
        rowsTried += 1;
        throw new Error('disk I/O error');
      };
      try {
        const sent = nextEvents(bridge, 'send', 1, 30_000);
        await dropZip(bridge, 'study.zip', [CT_SMALL]);
        const [outcome] = await sent;
        assert.equal(outcome!.status, 'Success', outcome!.reason);
        assert.equal(rowsTried, 1, 'one row attempted');
        assert.deepEqual(await list(bridge.layout.outboxAuto), []);
        assert.deepEqual(await list(bridge.layout.outboxClaimed), []);
        assert.deepEqual(await list(bridge.layout.outboxFailed), [], 'not moved to Outbox_Failed');
        const errors = capture.lines().filter((l) => l.level >= LEVEL.error);
        assert.equal(errors.length, 1, JSON.stringify(errors));
        assert.match(errors[0]!.msg, /log book row .* could not be written .*sent and deleted/);
      } finally {
        logBook.add = add;
        await bridge.stop();
        await removeDir(storage);
      }
    });
  });

  test(`with a blocked PACS, at most ${MAX_CLAIMED_AHEAD} ZIPs are claimed ahead of the one being sent`, async () => {
    const storage = await tempDir();
    const capture = captureLog();
    // A PACS that accepts the connection and never answers the association request.
    const sockets = new Set<Socket>();
    const blocked = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    const connected = new Promise<void>((resolve) => {
      blocked.once('connection', () => resolve());
    });
    await new Promise<void>((resolve) => blocked.listen(0, '127.0.0.1', resolve));
    const port = (blocked.address() as { port: number }).port;
    // The ten ZIPs are there (complete) before sending starts.
    const layout = storageLayout(storage);
    await mkdir(layout.outboxAuto, { recursive: true });
    for (let i = 0; i < 10; i += 1) {
      const temp = join(work, `zip${i}.zip`);
      await writeZip(temp, [CT_SMALL]);
      await rename(temp, join(layout.outboxAuto, `zip${i}.zip`));
    }
    let most = 0;
    const look = (): void => {
      let claimed = 0;
      try {
        claimed = readdirSync(layout.outboxClaimed).filter((n) => n.endsWith('.zip')).length;
      } catch {
        // not created yet
      }
      most = Math.max(most, claimed);
    };
    capture.onLine(look);
    const bridge = await startBridge(storage, sendOverrides(port, { retries: 0, timeoutSeconds: 120 }), { log: capture.log });
    try {
      const outcomes = nextEvents(bridge, 'send', 10, 60_000);
      await connected;
      // Scans that found complete ZIPs but left them, the sender having enough ahead.
      await capture.waitFor((l) => /enough ZIPs are claimed ahead/.test(l.msg), 3);
      look();
      assert.equal(most, 1 + MAX_CLAIMED_AHEAD);
      assert.equal((await list(layout.outboxAuto)).length, 10 - 1 - MAX_CLAIMED_AHEAD);
      // Unblock: the PACS goes away; every ZIP now fails fast, one after the other.
      blocked.close();
      for (const socket of sockets) socket.destroy();
      const done = await outcomes;
      assert.equal(done.length, 10);
      assert.equal((await list(bridge.layout.outboxFailed)).length, 10);
      assert.ok(most <= 1 + MAX_CLAIMED_AHEAD, `at most ${1 + MAX_CLAIMED_AHEAD} in the claim folder, saw ${most}`);
    } finally {
      await bridge.stop();
      blocked.close();
      await removeDir(storage);
    }
  });
});
