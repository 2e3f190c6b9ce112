import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { noopLogger, type Logger } from '../../../../src/dicom/ul/logger.js';
import { noteFailedMove } from '../../../../src/bridge/housekeeping/failed-moves.js';
import { runRetention } from '../../../../src/bridge/housekeeping/retention.js';
import { StudyCompletion, type StudyOutcome } from '../../../../src/bridge/receive/study-completion.js';
import { OutboxSender, type SendOutcome } from '../../../../src/bridge/send/outbox-sender.js';
import { ensureStorageLayout, storageLayout, type StorageLayout } from '../../../../src/bridge/storage-layout.js';
import { openLogBook, type LogBook } from '../../../../src/logbook/logbook.js';

const MOVED_AT = '2026-11-20T10:00:00.000Z';

let root: string;
let layout: StorageLayout;
let logBook: LogBook;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'dicombridge-failed-moves-'));
  layout = storageLayout(join(root, 'storage'));
  await ensureStorageLayout(layout);
  logBook = openLogBook(join(layout.logs, 'logbook.sqlite'), { now: () => new Date(MOVED_AT) });
});
afterEach(async () => {
  logBook.close();
  await rm(root, { recursive: true, force: true });
});

describe('failed-folder hooks record the move time', () => {
  it('study completion: a study that cannot be zipped moves to Inbox_Failed with a record', async () => {
    const dir = join(layout.staging, 'PAT1_1.2.3');
    await mkdir(dir);
    await writeFile(join(dir, '1.2.3.4.dcm'), 'this is not a Part 10 file');
    const outcomes: StudyOutcome[] = [];
    const completion = new StudyCompletion({
      layout,
      logBook,
      log: noopLogger,
      settings: () => ({ cridTag: null, compressionLevel: 1, fsync: false }),
      onOutcome: (o) => outcomes.push(o),
    });
    await completion.enqueue({ key: 'PAT1_1.2.3', dir, instances: new Map() });

    assert.equal(outcomes[0]?.status, 'Failed');
    assert.deepEqual(await readdir(layout.inboxFailed), ['PAT1_1.2.3']);
    assert.deepEqual(logBook.failedMoves('Inbox_Failed'), [{ folder: 'Inbox_Failed', name: 'PAT1_1.2.3', movedAt: MOVED_AT, source: 'moved' }]);
    // Retention then finds it known: no first-seen record replaces the move time.
    const result = await runRetention({ layout, logBook, log: noopLogger, keepFailedDays: 7, now: () => new Date(MOVED_AT) });
    assert.deepEqual(result.firstSeen, []);
  });

  it('outbox sender: a ZIP that cannot be read moves to Outbox_Failed with a record', async () => {
    const claimed = join(layout.outboxClaimed, '0001-broken.zip');
    await writeFile(claimed, 'not a zip at all');
    await writeFile(join(layout.outboxFailed, 'broken.zip'), 'an earlier failure of the same name');
    const outcomes: SendOutcome[] = [];
    const sender = new OutboxSender({
      layout,
      logBook,
      log: noopLogger,
      settings: () => {
        throw new Error('not reached: the ZIP fails before any sending');
      },
      onOutcome: (o) => outcomes.push(o),
    });
    await sender.enqueue(claimed);

    assert.equal(outcomes[0]?.status, 'Failed');
    assert.equal(outcomes[0]?.path, join(layout.outboxFailed, 'broken (2).zip'));
    assert.equal(existsSync(claimed), false);
    assert.deepEqual(logBook.failedMoves('Outbox_Failed'), [{ folder: 'Outbox_Failed', name: 'broken (2).zip', movedAt: MOVED_AT, source: 'moved' }]);
  });

  it('noteFailedMove never throws: a log book failure is a warning and the item is simply unknown', () => {
    const warnings: string[] = [];
    const log: Logger = { ...noopLogger, warn: (_obj, msg) => void warnings.push(msg ?? ''), child: () => log };
    logBook.close();
    noteFailedMove({ logBook, log }, 'Inbox_Failed', join(layout.inboxFailed, 'x'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /could not record when the item was moved to Inbox_Failed/);
  });
});
