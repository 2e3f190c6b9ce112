/**
 * The Activity counts (SPEC §7): per UTC hour for 24 h and per UTC day for 30 days, every
 * bucket present, failed rows counted apart, rows outside the range and other actions ignored.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openLogBook, type LogBook } from '../../../src/logbook/logbook.js';
import type { LogEntryInput } from '../../../src/logbook/schema.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'dicombridge-activity-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A log book whose rows get the timestamps the test chooses. */
function bookWithClock(): { book: LogBook; addAt(iso: string, entry: LogEntryInput): void } {
  let clock = new Date(0);
  const book = openLogBook(path.join(dir, `book-${Math.random().toString(36).slice(2)}.sqlite`), { now: () => clock });
  return {
    book,
    addAt(iso, entry) {
      clock = new Date(iso);
      book.add(entry);
    },
  };
}

const NOW = new Date('2026-12-04T20:37:38.000Z');

describe('LogBook.activity', () => {
  it('counts the last 24 UTC hours, zeros included, failed apart', () => {
    const { book, addAt } = bookWithClock();
    addAt('2026-12-04T20:00:00.000Z', { action: 'Receive', status: 'Success' });
    addAt('2026-12-04T20:59:59.999Z', { action: 'Receive', status: 'Warning' });
    addAt('2026-12-04T20:10:00.000Z', { action: 'Receive', status: 'Failed' });
    addAt('2026-12-04T18:05:00.000Z', { action: 'Send', status: 'Success' });
    addAt('2026-12-04T18:06:00.000Z', { action: 'Send', status: 'Failed' });
    addAt('2026-12-03T21:00:00.000Z', { action: 'Send', status: 'Failed' }); // the oldest hour in range
    addAt('2026-12-03T20:59:59.999Z', { action: 'Receive', status: 'Success' }); // one hour too old
    addAt('2026-12-04T21:00:00.000Z', { action: 'Receive', status: 'Success' }); // the next hour (clock skew)
    addAt('2026-12-04T19:00:00.000Z', { action: 'Echo', status: 'Success' });
    addAt('2026-12-04T19:00:00.000Z', { action: 'Cleanup', status: 'Failed' });
    const activity = book.activity('24h', NOW);
    book.close();

    assert.equal(activity.bucketMs, 3_600_000);
    assert.equal(activity.from, '2026-12-03T21:00:00.000Z');
    assert.equal(activity.to, '2026-12-04T21:00:00.000Z');
    assert.equal(activity.buckets.length, 24);
    assert.equal(activity.buckets[0].start, '2026-12-03T21:00:00.000Z');
    assert.equal(activity.buckets[23].start, '2026-12-04T20:00:00.000Z');
    const byStart = new Map(activity.buckets.map((b) => [b.start, b]));
    assert.deepEqual(byStart.get('2026-12-04T20:00:00.000Z'), { start: '2026-12-04T20:00:00.000Z', received: 2, receivedFailed: 1, sent: 0, sentFailed: 0 });
    assert.deepEqual(byStart.get('2026-12-04T18:00:00.000Z'), { start: '2026-12-04T18:00:00.000Z', received: 0, receivedFailed: 0, sent: 1, sentFailed: 1 });
    assert.deepEqual(byStart.get('2026-12-03T21:00:00.000Z'), { start: '2026-12-03T21:00:00.000Z', received: 0, receivedFailed: 0, sent: 0, sentFailed: 1 });
    const total = activity.buckets.reduce((sum, b) => sum + b.received + b.receivedFailed + b.sent + b.sentFailed, 0);
    assert.equal(total, 6, 'echo, cleanup and rows outside the range are not counted');
  });

  it('counts the last 30 UTC days, today included', () => {
    const { book, addAt } = bookWithClock();
    addAt('2026-12-04T00:00:00.000Z', { action: 'Receive', status: 'Success' });
    addAt('2026-12-04T23:59:59.999Z', { action: 'Send', status: 'Success' });
    addAt('2026-11-05T12:00:00.000Z', { action: 'Receive', status: 'Failed' }); // the oldest day in range
    addAt('2026-11-04T23:59:59.999Z', { action: 'Send', status: 'Failed' }); // 31 days ago
    const activity = book.activity('30d', NOW);
    book.close();

    assert.equal(activity.bucketMs, 86_400_000);
    assert.equal(activity.buckets.length, 30);
    assert.equal(activity.buckets[0].start, '2026-11-05T00:00:00.000Z');
    assert.equal(activity.buckets[29].start, '2026-12-04T00:00:00.000Z');
    assert.deepEqual(activity.buckets[29], { start: '2026-12-04T00:00:00.000Z', received: 1, receivedFailed: 0, sent: 1, sentFailed: 0 });
    assert.deepEqual(activity.buckets[0], { start: '2026-11-05T00:00:00.000Z', received: 0, receivedFailed: 1, sent: 0, sentFailed: 0 });
    assert.ok(activity.buckets.slice(1, 29).every((b) => b.received + b.receivedFailed + b.sent + b.sentFailed === 0));
  });

  it('refuses an unknown range', () => {
    const { book } = bookWithClock();
    assert.throws(() => book.activity('7d' as '24h', NOW), RangeError);
    book.close();
  });
});
