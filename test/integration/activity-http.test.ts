/**
 * GET /api/activity over HTTP (SPEC §7 Activity): 24 hourly or 30 daily buckets, zeros
 * included, counts of the rows another connection wrote into the log book, and a 400 for an
 * unknown range.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Activity } from '../../src/logbook/activity.js';
import { openLogBook } from '../../src/logbook/logbook.js';
import { removeDir, tempDir } from '../support/bridge-harness.js';
import { rawRequest, startGui, type GuiUnderTest } from '../support/gui-harness.js';

const HOUR_MS = 3_600_000;

describe('GET /api/activity', () => {
  let dir: string;
  let app: GuiUnderTest;
  /** Timestamps of the rows written, by kind. */
  const written: { at: Date; action: 'Receive' | 'Send'; status: 'Success' | 'Failed' }[] = [];

  before(async () => {
    dir = await tempDir();
    app = await startGui(join(dir, 'store'));
    let clock = new Date();
    const book = openLogBook(join(app.supervisor.config.storageFolder, 'Logs', 'logbook.sqlite'), { now: () => clock });
    const base = Date.now();
    const rows = [
      { hoursAgo: 0, action: 'Receive', status: 'Success' },
      { hoursAgo: 0, action: 'Receive', status: 'Success' },
      { hoursAgo: 2, action: 'Receive', status: 'Failed' },
      { hoursAgo: 5, action: 'Send', status: 'Success' },
      { hoursAgo: 5, action: 'Send', status: 'Failed' },
      { hoursAgo: 30, action: 'Send', status: 'Success' },
      { hoursAgo: 24 * 40, action: 'Receive', status: 'Success' },
    ] as const;
    for (const row of rows) {
      clock = new Date(base - row.hoursAgo * HOUR_MS);
      book.add({ action: row.action, status: row.status });
      written.push({ at: clock, action: row.action, status: row.status });
    }
    book.close();
  });
  after(async () => {
    await app?.stop();
    await removeDir(dir);
  });

  /** What the buckets must hold: each written row counted in the bucket its time falls in. */
  function expected(activity: Activity): Activity['buckets'] {
    return activity.buckets.map(({ start }) => {
      const from = Date.parse(start);
      const inside = written.filter((w) => w.at.getTime() >= from && w.at.getTime() < from + activity.bucketMs);
      const count = (action: string, failed: boolean) => inside.filter((w) => w.action === action && (w.status === 'Failed') === failed).length;
      return { start, received: count('Receive', false), receivedFailed: count('Receive', true), sent: count('Send', false), sentFailed: count('Send', true) };
    });
  }

  it('answers 24 hourly buckets with the rows counted and zeros elsewhere', async () => {
    const res = await rawRequest(app.gui.port, 'GET', '/api/activity?range=24h');
    assert.equal(res.status, 200);
    const activity = res.json() as Activity;
    assert.equal(activity.range, '24h');
    assert.equal(activity.buckets.length, 24);
    for (let i = 1; i < 24; i += 1) assert.equal(Date.parse(activity.buckets[i].start) - Date.parse(activity.buckets[i - 1].start), HOUR_MS);
    assert.deepEqual(activity.buckets, expected(activity));
    const totals = activity.buckets.reduce((t, b) => t + b.received + b.receivedFailed + b.sent + b.sentFailed, 0);
    assert.equal(totals, 5, 'the rows of the last 24 hours, not older ones');
    assert.ok(activity.buckets.filter((b) => b.received + b.receivedFailed + b.sent + b.sentFailed === 0).length >= 20, 'empty hours are there as zeros');
  });

  it('answers 30 daily buckets; a missing range means 24h', async () => {
    const res = await rawRequest(app.gui.port, 'GET', '/api/activity?range=30d');
    assert.equal(res.status, 200);
    const activity = res.json() as Activity;
    assert.equal(activity.buckets.length, 30);
    assert.deepEqual(activity.buckets, expected(activity));
    assert.equal(activity.buckets.reduce((t, b) => t + b.received + b.receivedFailed + b.sent + b.sentFailed, 0), 6, 'the 40-day-old row is out');
    const plain = await rawRequest(app.gui.port, 'GET', '/api/activity');
    assert.equal((plain.json() as Activity).range, '24h');
  });

  it('refuses an unknown range with 400 and a readable reason', async () => {
    for (const range of ['7d', '', '24H', '24h;drop']) {
      const res = await rawRequest(app.gui.port, 'GET', `/api/activity?range=${encodeURIComponent(range)}`);
      assert.equal(res.status, 400, range);
      assert.match((res.json() as { error: string }).error, /range must be one of 24h, 30d/);
    }
    const post = await rawRequest(app.gui.port, 'POST', '/api/activity');
    assert.notEqual(post.status, 200);
  });
});
