/**
 * Stopping the bridge while a ZIP is being sent loses nothing and fails nothing (issue 5
 * point 3): the ZIP stays claimed, no failure is recorded, and the next start sends it.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { list, nextEvents, removeDir, sendOverrides, startBridge, tempDir } from '../support/bridge-harness.js';
import { startStorescp, type StorescpPeer } from '../support/peers/storescp.js';
import { writeStudy } from '../support/study-files.js';
import { writeZip } from '../support/zip-files.js';

describe('stopping while a ZIP waits for a PACS that is down', () => {
  let work: string;
  let storage: string;
  let down: Server;
  let scp: StorescpPeer;
  before(async () => {
    work = await tempDir();
    storage = await tempDir();
    scp = await startStorescp({ outDir: join(work, 'storescp'), aeTitle: 'PACS' });
  });
  after(async () => {
    down?.close();
    await scp.stop();
    await removeDir(work);
    await removeDir(storage);
  });

  test('the ZIP stays claimed, nothing is marked failed, and the next start sends it', async () => {
    // A "PACS" that accepts the connection and drops it at once: a transient fault, retried in an hour.
    let attempted: () => void = () => undefined;
    const firstAttempt = new Promise<void>((resolve) => (attempted = resolve));
    down = createServer((socket) => {
      socket.destroy();
      attempted();
    });
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const downPort = (down.address() as { port: number }).port;

    const first = await startBridge(storage, sendOverrides(downPort, { retries: 3, retryDelaySeconds: 3600 }));
    const study = await writeStudy(join(work, 'study'), { count: 5 });
    await writeZip(join(first.layout.outboxAuto, 'study.zip'), study.files);
    await firstAttempt;
    await first.stop();

    const layout = first.layout;
    assert.deepEqual(await list(layout.outboxFailed), [], 'a stop is not a failed send');
    assert.equal((await list(layout.outboxClaimed)).length, 1, 'the ZIP stays claimed for the next start');

    const second = await startBridge(storage, sendOverrides(scp.port));
    try {
      const [outcome] = await nextEvents(second, 'send', 1);
      assert.equal(outcome!.status, 'Success', outcome!.reason);
      assert.equal(outcome!.sent, 5);
      assert.deepEqual(await list(layout.outboxClaimed), []);
      const rows = second.logBook.latest(10).filter((r) => r.action === 'Send');
      assert.deepEqual(rows.map((r) => r.status), ['Success'], 'one Send row, no Failed row from the stop');
    } finally {
      await second.stop();
    }
  });
});
