/**
 * Acceptance (issue 5 point 5) on a real full disk: the storage folder lives on a 24 MB tmpfs
 * that a filler file fills mid-study. Below `minFreeDiskMegabytes` storescu gets "Out of
 * Resources" (A700) for every instance, nothing partial appears under the storage folder, the
 * status shows the disk as low; once the filler is gone the rest of the study is accepted and
 * its ZIP holds every instance exactly once. With the guard off, an instance larger than the
 * space left fails with ENOSPC while being written: A700 as well, and no partial file.
 *
 * Runs as root in the private network namespace (`npm test`); a tmpfs that cannot be mounted
 * fails the run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, rmdir, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import type { Bridge } from '../../src/app.js';
import { readStatus } from '../../src/bridge/status.js';
import { acknowledgedCount, storescu, type ToolResult } from '../support/peers/dcmtk.js';
import { datasetOf, listTree, readZip, removeDir, sopUidOf, startBridge, tempDir } from '../support/bridge-harness.js';
import { writeStudy, type StudyFiles } from '../support/study-files.js';

const run = promisify(execFile);
const MB = 1024 * 1024;
/** storescu goes on after a refused instance (its default halts the association). */
const NO_HALT = { extra: ['--no-halt'] };
/** The same, dumping each response's command set (Status, Error Comment). */
const NO_HALT_DUMP = { extra: ['--no-halt', '--debug'] };

/** Status and Error Comment (0000,0902) of each C-STORE response in `storescu --debug` output. */
function responses(result: ToolResult): Array<{ status: number; comment: string | null }> {
  const text = `${result.stdout}\n${result.stderr}`;
  return text.split(/Message Type\s*: C-STORE RSP/).slice(1).map((dump) => {
    const own = dump.split(/Sending file|Releasing Association/)[0]!; // up to the next request
    return {
      status: parseInt(/DIMSE Status\s*: 0x([0-9a-f]{4})/i.exec(own)?.[1] ?? 'ffff', 16),
      comment: /\(0000,0902\) LO \[([^\]]*)\]/.exec(own)?.[1]?.trim() ?? null,
    };
  });
}

function output(result: ToolResult): string {
  return `exit ${result.code}\n${result.stdout}\n${result.stderr}`;
}

/** Free bytes of the file system holding `dir`, as an unprivileged writer sees them. */
async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** Writes a filler file so that about `leaveBytes` stay free on the file system of `dir`. */
async function fillUntil(dir: string, path: string, leaveBytes: number): Promise<void> {
  const size = (await freeBytes(dir)) - leaveBytes;
  assert.ok(size > 0, 'the tmpfs has room for the filler');
  await writeFile(path, Buffer.alloc(size, 0x5a));
  const left = await freeBytes(dir);
  assert.ok(left <= leaveBytes + MB && left >= leaveBytes - MB, `about ${leaveBytes} bytes left free, got ${left}`);
}

/**
 * Waits (bounded) until the bridge's status reports the disk as `low`: the guard measures at
 * most once a second, so a change of free space shows within about that time.
 */
async function statusUntil(bridge: Bridge, low: boolean): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const status = await readStatus(bridge, 'test');
    if (status.disk.low === low && bridge.diskGuard.low === low) return;
    await delay(50);
  }
  assert.fail(`status disk.low never became ${low}`);
}

/**
 * No partial instance anywhere under the storage folder: the only .part files are the receiver's
 * empty, pre-created ones; every staged .dcm is a complete instance of `study` (its dataset
 * byte for byte).
 */
async function assertNoPartialFiles(storage: string, studies: StudyFiles[]): Promise<string[]> {
  const files = await listTree(storage);
  for (const part of files.filter((f) => f.endsWith('.part'))) {
    assert.equal((await stat(join(storage, part))).size, 0, `${part} is a pre-created, empty temporary file`);
  }
  const staged = files.filter((f) => f.endsWith('.dcm'));
  const datasets = new Map(studies.flatMap((s) => [...s.datasets]));
  const uids: string[] = [];
  for (const file of staged) {
    const dataset = datasetOf(await readFile(join(storage, file)));
    const uid = sopUidOf(dataset);
    assert.ok(datasets.get(uid)?.equals(dataset), `${file} holds the complete instance ${uid}`);
    uids.push(uid);
  }
  return uids.sort();
}

describe('disk space guard on a real full tmpfs (DCMTK storescu)', () => {
  let mountPoint: string;
  let mounted = false;
  let work: string;
  let storage: string;
  let filler: string;
  let bridge: Bridge;

  before(async () => {
    mountPoint = await tempDir('dicombridge-tmpfs-');
    work = await tempDir();
    // A failure here fails the run: the acceptance needs a real full disk.
    await run('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mountPoint]);
    mounted = true;
    storage = join(mountPoint, 'storage');
    filler = join(mountPoint, 'filler.bin');
    await mkdir(storage);
    // A long quiet time: studies complete only at flush(), whatever the test's pace.
    bridge = await startBridge(storage, { minFreeDiskMegabytes: 4, receive: { timeoutSeconds: 3600 } });
  });

  after(async () => {
    await bridge?.stop();
    if (mounted) await run('umount', [mountPoint]);
    await rmdir(mountPoint).catch(() => undefined);
    await removeDir(work);
  });

  test('filled mid-study → A700 and nothing partial; space freed → the rest is accepted, one complete ZIP', async () => {
    assert.equal(bridge.config.minFreeDiskMegabytes, 4);
    const study = await writeStudy(join(work, 'study'), { count: 10, rows: 64, columns: 64 });
    const firstPart = study.files.slice(0, 5);
    const rest = study.files.slice(5);

    const sent = await storescu(bridge.receivePort!, firstPart);
    assert.equal(acknowledgedCount(sent.stdout + sent.stderr), 5, output(sent));
    assert.equal((await readStatus(bridge, 'test')).disk.low, false);

    await fillUntil(mountPoint, filler, 2 * MB);
    await statusUntil(bridge, true);

    const refused = await storescu(bridge.receivePort!, rest, NO_HALT_DUMP);
    assert.deepEqual(responses(refused), rest.map(() => ({ status: 0xa700, comment: 'Out of resources: free disk space below 4 MB' })), output(refused));
    assert.deepEqual(await assertNoPartialFiles(storage, [study]), study.sopUids.slice(0, 5).sort(), 'only the first part is staged');

    await rm(filler);
    await statusUntil(bridge, false);

    const resent = await storescu(bridge.receivePort!, rest, NO_HALT);
    assert.equal(acknowledgedCount(resent.stdout + resent.stderr), rest.length, output(resent));

    const outcomes: Array<{ path: string; instances: number }> = [];
    bridge.on('study', (o) => outcomes.push(o));
    await bridge.flush();
    assert.equal(outcomes.length, 1);
    assert.equal(outcomes[0]!.instances, 10);
    const entries = [...(await readZip(outcomes[0]!.path)).values()].map((file) => datasetOf(file));
    assert.deepEqual(entries.map((ds) => sopUidOf(ds)).sort(), [...study.sopUids].sort(), 'every instance exactly once');
    for (const ds of entries) assert.ok(ds.equals(study.datasets.get(sopUidOf(ds))!), 'zipped byte for byte');
    assert.deepEqual((await listTree(bridge.layout.staging)), []);
  });

  test('the disk fills during an instance (guard off) → A700, no partial file, the association goes on', async () => {
    // Saved in the GUI: the guard is off from the next C-STORE on.
    assert.deepEqual(await bridge.reconfigure({ ...bridge.config, minFreeDiskMegabytes: 0 }), ['disk space guard now off']);
    const big = await writeStudy(join(work, 'big'), { count: 1, rows: 1024, columns: 1536 }); // 3 MB of pixels
    const small = await writeStudy(join(work, 'small'), { count: 2, rows: 16, columns: 16 });

    await fillUntil(mountPoint, filler, 1 * MB);
    assert.equal((await readStatus(bridge, 'test')).disk.low, false, 'guard off: the disk is not reported low');

    // One association: the big instance fails while being written, the small ones after it fit.
    const result = await storescu(bridge.receivePort!, [big.files[0]!, ...small.files], NO_HALT_DUMP);
    assert.deepEqual(responses(result), [
      { status: 0xa700, comment: 'Out of resources: ENOSPC' }, // refused by the write, not by the guard
      { status: 0, comment: null },
      { status: 0, comment: null },
    ], output(result));
    assert.deepEqual(await assertNoPartialFiles(storage, [big, small]), [...small.sopUids].sort(), 'only the small instances are staged');

    await rm(filler);
    const resent = await storescu(bridge.receivePort!, big.files);
    assert.equal(acknowledgedCount(resent.stdout + resent.stderr), 1, output(resent));
    const outcomes: Array<{ instances: number }> = [];
    bridge.on('study', (o) => outcomes.push(o));
    await bridge.flush();
    assert.deepEqual(outcomes.map((o) => o.instances).sort(), [1, 2]);
  });

  test('the disk fills while a study is zipped → the ZIP fails, yet every received instance survives', async () => {
    await bridge.reconfigure({ ...bridge.config, minFreeDiskMegabytes: 0 });
    // Noise does not deflate: the ZIP needs about as much room as the instances.
    const study = await writeStudy(join(work, 'zipfull'), { count: 3, rows: 512, columns: 1024, pixelData: () => randomBytes(512 * 1024 * 2) });
    const sent = await storescu(bridge.receivePort!, study.files);
    assert.equal(acknowledgedCount(sent.stdout + sent.stderr), 3, output(sent));

    await fillUntil(mountPoint, filler, 1 * MB);
    const outcomes: Array<{ status: string; inbox: string }> = [];
    bridge.on('study', (o) => outcomes.push(o));
    try {
      await bridge.flush();
    } finally {
      await rm(filler);
    }
    const zips = [...(await listTree(bridge.layout.inboxManual)), ...(await listTree(bridge.layout.inboxAuto))];
    assert.deepEqual(zips.filter((z) => z.includes(study.studyUid)), [], 'no ZIP of the study');
    assert.deepEqual(await listTree(bridge.layout.zipTemp), [], 'no partial ZIP left behind');
    // Wherever the completion left them (Inbox_Failed today, staging if it retries later),
    // every instance is there, complete.
    const kept = [...(await assertNoPartialFiles(storage, [study]))];
    assert.deepEqual(kept, [...study.sopUids].sort(), 'every instance kept, complete');
    assert.deepEqual(outcomes.map((o) => [o.status, o.inbox]), [['Failed', 'Inbox_Failed']]);
  });
});
