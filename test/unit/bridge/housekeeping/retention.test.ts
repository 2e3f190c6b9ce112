import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Logger } from '../../../../src/dicom/ul/logger.js';
import {
  DAY_MS,
  removeFailedItem,
  RetentionStoppedError,
  runRetention,
  startRetention,
  type RetentionDeps,
} from '../../../../src/bridge/housekeeping/retention.js';
import { ensureStorageLayout, storageLayout, type StorageLayout } from '../../../../src/bridge/storage-layout.js';
import { openLogBook, type LogBook } from '../../../../src/logbook/logbook.js';
import type { LogEntry } from '../../../../src/logbook/schema.js';

const A = '1234567890123456';
const T0 = '2026-11-20T10:00:00.000Z';
const at = (iso: string, plusMs = 0) => new Date(Date.parse(iso) + plusMs);

interface LogLine {
  level: string;
  obj: object;
  msg: string | undefined;
}

function recordingLogger(lines: LogLine[]): Logger {
  const line = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  const logger: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error'), child: () => logger };
  return logger;
}

let root: string;
let layout: StorageLayout;
let logBook: LogBook;
let now: Date;
let lines: LogLine[];
let log: Logger;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'dicombridge-retention-'));
  layout = storageLayout(join(root, 'storage'));
  await ensureStorageLayout(layout);
  now = new Date(T0);
  logBook = openLogBook(join(layout.logs, 'logbook.sqlite'), { now: () => new Date(now) });
  lines = [];
  log = recordingLogger(lines);
});
afterEach(async () => {
  logBook.close();
  await rm(root, { recursive: true, force: true });
});

/** A study folder as study completion leaves it in Inbox_Failed. */
async function studyFolder(name: string): Promise<string> {
  const dir = join(layout.inboxFailed, name);
  await mkdir(dir);
  await writeFile(join(dir, '1.2.3.4.dcm'), 'not really DICOM');
  await writeFile(join(dir, '1.2.3.5.dcm'), 'not really DICOM either');
  return dir;
}

const deps = (over: Partial<RetentionDeps> = {}): RetentionDeps => ({ layout, logBook, log, keepFailedDays: 7, now: () => new Date(now), ...over });
const cleanupRows = (): LogEntry[] => logBook.latest().filter((e) => e.action === 'Cleanup').reverse();

describe('runRetention', () => {
  it('deletes items moved there more than keepFailedDays ago, with a Cleanup row each; younger ones stay', async () => {
    await studyFolder('old-study');
    await studyFolder('young-study');
    await studyFolder('edge-study');
    const zipName = `DOE^JOHN_19700101_M_20261101_CT_1.2.3_CRID#${A}.zip`;
    await writeFile(join(layout.outboxFailed, zipName), 'zip bytes');
    logBook.recordFailedMove('Inbox_Failed', 'old-study', new Date(T0));
    logBook.recordFailedMove('Outbox_Failed', zipName, at(T0, 60_000));
    logBook.recordFailedMove('Inbox_Failed', 'young-study', at(T0, 5 * DAY_MS));
    // The mtime says nothing: a rename keeps it. An ancient mtime must not make it expire.
    await utimes(join(layout.inboxFailed, 'young-study'), new Date('2001-01-01'), new Date('2001-01-01'));
    now = at(T0, 7 * DAY_MS + 2 * 60_000);
    logBook.recordFailedMove('Inbox_Failed', 'edge-study', at(now.toISOString(), -7 * DAY_MS)); // exactly 7 days: not older

    const result = await runRetention(deps());

    assert.deepEqual(result.deleted, [
      { folder: 'Inbox_Failed', name: 'old-study' },
      { folder: 'Outbox_Failed', name: zipName },
    ]);
    assert.equal(result.kept, 2);
    assert.deepEqual(result.failed, []);
    assert.deepEqual((await readdir(layout.inboxFailed)).sort(), ['edge-study', 'young-study']);
    assert.deepEqual(await readdir(layout.outboxFailed), []);
    const rows = cleanupRows();
    assert.deepEqual(
      rows.map((e) => ({ status: e.status, fileName: e.fileName, reason: e.reason, crids: e.crids })),
      [
        { status: 'Success', fileName: 'old-study', reason: 'deleted from Inbox_Failed after 7 days (moved there 2026-11-20 10:00 UTC)', crids: [] },
        { status: 'Success', fileName: zipName, reason: 'deleted from Outbox_Failed after 7 days (moved there 2026-11-20 10:01 UTC)', crids: [A] },
      ],
    );
    assert.equal(rows[0].timestamp, now.toISOString());
    assert.deepEqual(logBook.failedMoves('Inbox_Failed').map((r) => r.name), ['edge-study', 'young-study']);
    assert.deepEqual(logBook.failedMoves('Outbox_Failed'), []);

    // A pass later, the young one has expired too, the rows say how long it was there.
    now = at(T0, 13 * DAY_MS);
    const later = await runRetention(deps());
    assert.deepEqual(later.deleted.map((d) => d.name), ['edge-study', 'young-study']);
    assert.match(cleanupRows().at(-1)!.reason!, /^deleted from Inbox_Failed after 8 days \(moved there 2026-11-25 10:00 UTC\)$/);
  });

  it('reads keepFailedDays as given: 1 day deletes what 7 days keeps', async () => {
    await studyFolder('s');
    logBook.recordFailedMove('Inbox_Failed', 's', new Date(T0));
    now = at(T0, 2 * DAY_MS);
    assert.deepEqual((await runRetention(deps({ keepFailedDays: 7 }))).deleted, []);
    assert.equal((await runRetention(deps({ keepFailedDays: 1 }))).deleted.length, 1);
    assert.match(cleanupRows()[0].reason!, /after 2 days/);
  });

  it('an item without a record gets one "first seen now", is kept the full period from then, then deleted', async () => {
    await studyFolder('by-hand');
    await writeFile(join(layout.outboxFailed, 'old-release.zip'), 'x');
    await utimes(join(layout.outboxFailed, 'old-release.zip'), new Date('2001-01-01'), new Date('2001-01-01'));

    const first = await runRetention(deps());
    assert.deepEqual(first.firstSeen, [
      { folder: 'Inbox_Failed', name: 'by-hand' },
      { folder: 'Outbox_Failed', name: 'old-release.zip' },
    ]);
    assert.deepEqual(first.deleted, []);
    assert.deepEqual(logBook.failedMoves('Inbox_Failed'), [{ folder: 'Inbox_Failed', name: 'by-hand', movedAt: T0, source: 'seen' }]);
    assert.deepEqual(cleanupRows(), []);

    // A second pass does not move the first-seen time forward.
    now = at(T0, 7 * DAY_MS);
    const second = await runRetention(deps());
    assert.deepEqual(second.firstSeen, []);
    assert.equal(second.kept, 2);
    assert.equal(logBook.failedMoves('Outbox_Failed')[0].movedAt, T0);

    now = at(T0, 7 * DAY_MS + 1);
    const third = await runRetention(deps());
    assert.equal(third.deleted.length, 2);
    assert.equal(cleanupRows()[0].reason, 'deleted from Inbox_Failed after 7 days (first seen there 2026-11-20 10:00 UTC)');
  });

  it('forgets the record of an item that is gone and leaves the bridge\'s dot-names alone', async () => {
    logBook.recordFailedMove('Inbox_Failed', 'removed-by-hand', new Date(T0));
    logBook.recordFailedMove('Outbox_Failed', 'gone.zip', new Date(T0));
    await writeFile(join(layout.inboxFailed, '.moving.tmp'), 'temp');
    now = at(T0, 30 * DAY_MS);

    const result = await runRetention(deps());

    assert.deepEqual(result.forgotten, [
      { folder: 'Inbox_Failed', name: 'removed-by-hand' },
      { folder: 'Outbox_Failed', name: 'gone.zip' },
    ]);
    assert.deepEqual(logBook.failedMoves('Inbox_Failed'), []);
    assert.deepEqual(logBook.failedMoves('Outbox_Failed'), []);
    assert.deepEqual(cleanupRows(), [], 'nothing was deleted, so no Cleanup row');
    assert.ok(existsSync(join(layout.inboxFailed, '.moving.tmp')));
    assert.deepEqual(result.firstSeen, [], 'a dot-name gets no record');
  });

  it('a deletion that fails writes a Failed row, keeps item and record, and succeeds at a later pass', async () => {
    await studyFolder('busy');
    logBook.recordFailedMove('Inbox_Failed', 'busy', new Date(T0));
    now = at(T0, 8 * DAY_MS);
    const removeCalls: string[] = [];
    const busy = async (itemPath: string) => {
      removeCalls.push(itemPath);
      throw Object.assign(new Error(`EBUSY: resource busy or locked, rmdir '${itemPath}'`), { code: 'EBUSY' });
    };
    const reportedFailures = new Set<string>();

    const first = await runRetention(deps({ removeItem: busy, reportedFailures }));
    assert.deepEqual(removeCalls, [join(layout.inboxFailed, 'busy')]);
    assert.equal(first.failed.length, 1);
    assert.deepEqual(first.deleted, []);
    assert.ok(existsSync(join(layout.inboxFailed, 'busy', '1.2.3.4.dcm')));
    assert.equal(logBook.failedMoves('Inbox_Failed').length, 1);
    const [failedRow] = cleanupRows();
    assert.equal(failedRow.status, 'Failed');
    assert.equal(failedRow.fileName, 'busy');
    assert.match(failedRow.reason!, /^could not delete from Inbox_Failed after 8 days: EBUSY: resource busy/);
    assert.ok(lines.some((l) => l.level === 'warn' && /could not delete/.test(l.msg ?? '')));

    // Still failing: tried again and logged, but no second row for the same item.
    await runRetention(deps({ removeItem: busy, reportedFailures }));
    assert.equal(removeCalls.length, 2);
    assert.equal(cleanupRows().length, 1);
    // Without the set every failure is a row.
    await runRetention(deps({ removeItem: busy }));
    assert.equal(cleanupRows().length, 2);

    const last = await runRetention(deps({ reportedFailures }));
    assert.deepEqual(last.deleted, [{ folder: 'Inbox_Failed', name: 'busy' }]);
    assert.equal(existsSync(join(layout.inboxFailed, 'busy')), false);
    assert.equal(cleanupRows().at(-1)!.status, 'Success');
    assert.equal(reportedFailures.size, 0);
  });

  it('removes symbolic links as links: targets outside the folder survive', async () => {
    const outside = join(root, 'outside');
    await mkdir(join(outside, 'dir'), { recursive: true });
    await writeFile(join(outside, 'precious.txt'), 'keep me');
    await writeFile(join(outside, 'dir', 'inner.txt'), 'keep me too');
    await symlink(join(outside, 'precious.txt'), join(layout.outboxFailed, 'link-to-file.zip'));
    await symlink(join(outside, 'dir'), join(layout.inboxFailed, 'link-to-dir'), 'dir');
    const study = await studyFolder('study-with-link');
    await symlink(join(outside, 'dir'), join(study, 'escape'), 'dir');
    for (const [folder, name] of [['Outbox_Failed', 'link-to-file.zip'], ['Inbox_Failed', 'link-to-dir'], ['Inbox_Failed', 'study-with-link']] as const) {
      logBook.recordFailedMove(folder, name, new Date(T0));
    }
    now = at(T0, 8 * DAY_MS);

    const result = await runRetention(deps());

    assert.equal(result.deleted.length, 3);
    assert.deepEqual(await readdir(layout.inboxFailed), []);
    assert.deepEqual(await readdir(layout.outboxFailed), []);
    assert.equal(await readFile(join(outside, 'precious.txt'), 'utf8'), 'keep me');
    assert.equal(await readFile(join(outside, 'dir', 'inner.txt'), 'utf8'), 'keep me too');
  });

  it('skips a folder it cannot read and keeps that folder\'s records', async () => {
    logBook.recordFailedMove('Outbox_Failed', 'a.zip', new Date(T0));
    await rm(layout.outboxFailed, { recursive: true });
    now = at(T0, 30 * DAY_MS);
    const result = await runRetention(deps());
    assert.deepEqual(result.forgotten, []);
    assert.equal(logBook.failedMoves('Outbox_Failed').length, 1);
    assert.ok(lines.some((l) => l.level === 'warn' && /retention skipped Outbox_Failed/.test(l.msg ?? '')));
  });

  it('refuses a keepFailedDays that is not a positive number', async () => {
    for (const keepFailedDays of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await assert.rejects(runRetention(deps({ keepFailedDays })), RangeError);
    }
  });

  it('removeFailedItem deletes a study folder recursively and tolerates a vanished item', async () => {
    const dir = await studyFolder('s');
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'f'), 'x');
    await removeFailedItem(dir);
    assert.equal(existsSync(dir), false);
    await removeFailedItem(dir);
  });
});

/** A remover that waits at a gate, counting how many run at once. */
function gatedRemover() {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let entered!: () => void;
  const reached = new Promise<void>((resolve) => (entered = resolve));
  const state = { active: 0, maxActive: 0, calls: 0 };
  const removeItem = async (itemPath: string) => {
    state.calls += 1;
    state.active += 1;
    state.maxActive = Math.max(state.maxActive, state.active);
    entered();
    await gate;
    await removeFailedItem(itemPath);
    state.active -= 1;
  };
  return { removeItem, open: () => open(), reached, state };
}

/** Resolves at the first log book row matching `test`. */
function nextRow(test: (e: LogEntry) => boolean): Promise<LogEntry> {
  return new Promise((resolve) => {
    const off = logBook.onAdd((e) => {
      if (test(e)) {
        off();
        resolve(e);
      }
    });
  });
}

describe('startRetention', () => {
  it('runs a pass at once; stop waits for it', async () => {
    await studyFolder('old');
    logBook.recordFailedMove('Inbox_Failed', 'old', new Date(T0));
    now = at(T0, 8 * DAY_MS);
    const service = startRetention({ layout, logBook, log, keepFailedDays: () => 7, now: () => new Date(now) });
    await service.stop();
    assert.equal(existsSync(join(layout.inboxFailed, 'old')), false);
    assert.equal(cleanupRows().length, 1);
    await service.stop(); // idempotent
    await assert.rejects(service.runOnce(), RetentionStoppedError);
  });

  it('reads keepFailedDays at every pass', async () => {
    await studyFolder('s');
    logBook.recordFailedMove('Inbox_Failed', 's', new Date(T0));
    now = at(T0, 3 * DAY_MS);
    let keep = 7;
    const service = startRetention({ layout, logBook, log, keepFailedDays: () => keep, now: () => new Date(now) });
    try {
      assert.deepEqual((await service.runOnce()).deleted, []);
      keep = 2;
      assert.deepEqual((await service.runOnce()).deleted, [{ folder: 'Inbox_Failed', name: 's' }]);
    } finally {
      await service.stop();
    }
  });

  it('runs again every intervalMs', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const service = startRetention({ layout, logBook, log, keepFailedDays: () => 7, now: () => new Date(now), intervalMs: 60_000 });
    try {
      await service.runOnce(); // the start pass (or one right after it) is over
      await studyFolder('later');
      logBook.recordFailedMove('Inbox_Failed', 'later', new Date(T0));
      now = at(T0, 8 * DAY_MS);
      const row = nextRow((e) => e.action === 'Cleanup');
      t.mock.timers.tick(60_000);
      assert.equal((await row).fileName, 'later');
    } finally {
      await service.stop();
    }
  });

  it('passes never overlap: a request during a pass shares the one queued after it', async () => {
    await studyFolder('old');
    logBook.recordFailedMove('Inbox_Failed', 'old', new Date(T0));
    now = at(T0, 8 * DAY_MS);
    const remover = gatedRemover();
    const service = startRetention({ layout, logBook, log, keepFailedDays: () => 7, now: () => new Date(now), removeItem: remover.removeItem });
    try {
      await remover.reached; // the start pass is deleting
      const a = service.runOnce();
      const b = service.runOnce();
      assert.equal(a, b);
      remover.open();
      const result = await a;
      assert.deepEqual(result.deleted, [], 'the queued pass ran after the first had deleted the item');
      assert.equal(remover.state.maxActive, 1);
      assert.equal(remover.state.calls, 1);
      assert.equal(cleanupRows().length, 1);
    } finally {
      await service.stop();
    }
  });

  it('stop waits for a running pass, and a queued request is refused', async () => {
    await studyFolder('old');
    logBook.recordFailedMove('Inbox_Failed', 'old', new Date(T0));
    now = at(T0, 8 * DAY_MS);
    const remover = gatedRemover();
    const service = startRetention({ layout, logBook, log, keepFailedDays: () => 7, now: () => new Date(now), removeItem: remover.removeItem });
    await remover.reached;
    const queued = service.runOnce();
    let stopped = false;
    const stopping = service.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopped, false);
    remover.open();
    await stopping;
    assert.equal(cleanupRows().length, 1, 'the running pass finished its deletion and its row');
    await assert.rejects(queued, RetentionStoppedError);
  });

  it('a failing pass is logged and the next one works', async () => {
    let keep = 0;
    const service = startRetention({ layout, logBook, log, keepFailedDays: () => keep, now: () => new Date(now) });
    try {
      await assert.rejects(service.runOnce(), RangeError);
      assert.ok(lines.some((l) => l.level === 'error' && /retention pass failed/.test(l.msg ?? '')));
      keep = 7;
      assert.equal((await service.runOnce()).kept, 0);
    } finally {
      await service.stop();
    }
  });

  it('refuses an interval below 1 ms', () => {
    assert.throws(() => startRetention({ layout, logBook, log, keepFailedDays: () => 7, intervalMs: 0 }), RangeError);
  });
});
