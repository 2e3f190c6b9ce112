/**
 * The Activity tab in a real browser (issue 11 point 4 acceptance): rows written into the log
 * book with chosen timestamps (received/sent, successful/failed, over hours and days, some
 * older than 30 days) show as 24 hourly or 30 daily bars per chart with the right counts, the
 * failed part hatched and labelled, a text alternative with the same figures, axis labels in
 * the browser's local time, and the range switched by keyboard.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { openLogBook } from '../../src/logbook/logbook.js';
import type { LogAction, LogStatus } from '../../src/logbook/schema.js';
import { removeDir, tempDir } from '../support/bridge-harness.js';
import { launchBrowser } from '../support/browser.js';
import { startGui, type GuiUnderTest } from '../support/gui-harness.js';

const HOUR_MS = 3_600_000;
/** The browser's zone and locale: labels must be Berlin's local time, not UTC. */
const ZONE = 'Europe/Berlin';
const LOCALE = 'en-GB';

/** The little of the DOM the page functions below touch (the test build has no DOM types). */
interface DomNode {
  textContent: string | null;
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomNode | null;
  querySelectorAll(selector: string): ArrayLike<DomNode>;
}
declare const document: { querySelector(selector: string): DomNode | null; activeElement: DomNode | null };

/** One bar as the page drew it. */
interface Bar {
  start: string;
  ok: number;
  failed: number;
  okHeight: number;
  failedHeight: number;
  failedFill: string | null;
}

/** Rows to write: how long ago, what and how it ended. */
const ROWS: { agoMs: number; action: LogAction; status: LogStatus; times?: number }[] = [
  { agoMs: 0, action: 'Receive', status: 'Success', times: 3 },
  { agoMs: 0, action: 'Receive', status: 'Warning' },
  { agoMs: 0, action: 'Receive', status: 'Failed', times: 2 },
  { agoMs: 3 * HOUR_MS, action: 'Send', status: 'Success', times: 2 },
  { agoMs: 3 * HOUR_MS, action: 'Send', status: 'Failed' },
  { agoMs: 7 * HOUR_MS, action: 'Receive', status: 'Success' },
  { agoMs: 7 * HOUR_MS, action: 'Echo', status: 'Success' },
  { agoMs: 7 * HOUR_MS, action: 'Cleanup', status: 'Failed' },
  { agoMs: 50 * HOUR_MS, action: 'Send', status: 'Success', times: 4 },
  { agoMs: 10 * 24 * HOUR_MS, action: 'Receive', status: 'Success', times: 6 },
  { agoMs: 10 * 24 * HOUR_MS, action: 'Send', status: 'Failed', times: 2 },
  { agoMs: 35 * 24 * HOUR_MS, action: 'Receive', status: 'Success', times: 5 },
  { agoMs: 35 * 24 * HOUR_MS, action: 'Send', status: 'Failed', times: 5 },
];

describe('Activity tab in chromium', () => {
  let dir: string;
  let app: GuiUnderTest;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const written: { at: number; action: LogAction; status: LogStatus }[] = [];

  before(async () => {
    dir = await tempDir();
    app = await startGui(join(dir, 'store'));
    let clock = new Date();
    const book = openLogBook(join(app.supervisor.config.storageFolder, 'Logs', 'logbook.sqlite'), { now: () => clock });
    const base = Date.now();
    for (const row of ROWS) {
      for (let i = 0; i < (row.times ?? 1); i += 1) {
        clock = new Date(base - row.agoMs);
        book.add({ action: row.action, status: row.status, fileName: `${row.action}-${i}.zip` });
        written.push({ at: clock.getTime(), action: row.action, status: row.status });
      }
    }
    book.close();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, timezoneId: ZONE, locale: LOCALE });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(app.gui.url);
    await page.waitForSelector('#logbook-table tbody tr');
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await removeDir(dir);
  });

  /** The counts a bucket must show: the rows written in it. */
  function expectedCounts(start: string, bucketMs: number, series: 'received' | 'sent'): { ok: number; failed: number } {
    const from = Date.parse(start);
    const action = series === 'received' ? 'Receive' : 'Send';
    const inside = written.filter((w) => w.action === action && w.at >= from && w.at < from + bucketMs);
    return { ok: inside.filter((w) => w.status !== 'Failed').length, failed: inside.filter((w) => w.status === 'Failed').length };
  }

  async function bars(series: 'received' | 'sent'): Promise<Bar[]> {
    return page.$$eval(`svg.activity-chart[data-series="${series}"] g.bucket`, (groups) =>
      (groups as unknown as DomNode[]).map((g) => {
        const ok = g.querySelector('rect.bar-ok');
        const failed = g.querySelector('rect.bar-failed');
        return {
          start: g.getAttribute('data-start') ?? '',
          ok: Number(g.getAttribute('data-ok')),
          failed: Number(g.getAttribute('data-failed')),
          okHeight: Number(ok?.getAttribute('height') ?? 0),
          failedHeight: Number(failed?.getAttribute('height') ?? 0),
          failedFill: failed?.getAttribute('fill') ?? null,
        };
      }),
    );
  }

  /** Checks one chart against the rows written; returns its totals. */
  async function checkChart(series: 'received' | 'sent', count: number, bucketMs: number): Promise<{ ok: number; failed: number }> {
    const drawn = await bars(series);
    assert.equal(drawn.length, count, `${series}: one bar per bucket`);
    for (let i = 1; i < drawn.length; i += 1) assert.equal(Date.parse(drawn[i].start) - Date.parse(drawn[i - 1].start), bucketMs);
    const totals = { ok: 0, failed: 0 };
    // One count per unit of height, the same scale for every bar of the chart.
    const unit = drawn.map((b) => (b.ok > 0 ? b.okHeight / b.ok : b.failed > 0 ? b.failedHeight / b.failed : 0)).find((u) => u > 0) ?? 0;
    for (const bar of drawn) {
      assert.deepEqual({ ok: bar.ok, failed: bar.failed }, expectedCounts(bar.start, bucketMs, series), `${series} at ${bar.start}`);
      assert.ok(Math.abs(bar.okHeight - bar.ok * unit) < 0.01, `${series} at ${bar.start}: height of the successful part`);
      assert.ok(Math.abs(bar.failedHeight - bar.failed * unit) < 0.01, `${series} at ${bar.start}: height of the failed part`);
      if (bar.failed > 0) assert.equal(bar.failedFill, `url(#activity-hatch-${series})`, 'failed parts are hatched, not only coloured');
      totals.ok += bar.ok;
      totals.failed += bar.failed;
    }
    return totals;
  }

  /** The text alternative's rows: [bucket name, received, received failed, sent, sent failed]. */
  async function tableRows(): Promise<string[][]> {
    return page.$$eval('#activity-table tbody tr', (rows) =>
      (rows as unknown as DomNode[]).map((r) => Array.from(r.querySelectorAll('th, td')).map((c) => c.textContent ?? '')),
    );
  }

  it('opens by keyboard and shows 24 hourly bars per chart with the rows counted and failed ones hatched', async () => {
    await page.focus('#tab-logbook');
    await page.keyboard.press('ArrowLeft'); // the tabs wrap: Log Book ← Activity
    assert.equal(await page.getAttribute('#tab-activity', 'aria-selected'), 'true');
    assert.equal(await page.isHidden('#panel-activity'), false);
    await page.waitForSelector('#activity-charts[data-range="24h"] svg.activity-chart');

    const received = await checkChart('received', 24, HOUR_MS);
    const sent = await checkChart('sent', 24, HOUR_MS);
    assert.deepEqual(received, { ok: 5, failed: 2 }, 'echo, cleanup and older rows are not counted');
    assert.deepEqual(sent, { ok: 2, failed: 1 });

    // The legend says it in words, with the totals.
    const legends = await page.$$eval('.activity-legend', (els) => (els as unknown as DomNode[]).map((e) => e.textContent ?? ''));
    assert.match(legends[0], /received: 5/);
    assert.match(legends[0], /failed \(moved to Inbox_Failed\) \(hatched\): 2/);
    assert.match(legends[1], /sent: 2/);
    assert.match(legends[1], /failed \(moved to Outbox_Failed\) \(hatched\): 1/);
    // Each chart is an image with a description of its totals.
    const desc = await page.textContent('svg.activity-chart[data-series="received"] desc');
    assert.equal(desc, '5 received, 2 failed (moved to Inbox_Failed) in 24 hours.');

    // The text alternative has every bucket with the same counts.
    const rows = await tableRows();
    assert.equal(rows.length, 24);
    const summed = rows.reduce((t, r) => t.map((v, i) => v + Number(r[i + 1])), [0, 0, 0, 0]);
    assert.deepEqual(summed, [5, 2, 2, 1]);

    // Axis labels are the browser's local time (Berlin), every second hour back from the newest.
    const drawn = await bars('received');
    const newest = drawn[drawn.length - 1].start;
    const local = new Date(newest).toLocaleTimeString(LOCALE, { timeZone: ZONE, hour: '2-digit', minute: '2-digit' });
    const labels = await page.$$eval('svg.activity-chart[data-series="received"] .axis text', (els) => (els as unknown as DomNode[]).map((e) => e.textContent ?? ''));
    assert.ok(labels.includes(local), `the newest hour is labelled ${local} (got ${labels.join(' ')})`);
    assert.ok(labels.includes('Hour (local time)'));
    assert.equal(labels.filter((l) => /^\d\d:00$/.test(l)).length, 12);
  });

  it('switches to 30 daily bars and back by keyboard', async () => {
    const checked = '#activity-range [role="radio"][aria-checked="true"]';
    assert.equal(await page.getAttribute(checked, 'data-range'), '24h');
    // Tab from the tab list reaches the range switch's checked radio.
    await page.focus('#tab-activity');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-range')), '24h');
    await page.keyboard.press('ArrowRight');
    await page.waitForSelector('#activity-charts[data-range="30d"]');
    assert.equal(await page.getAttribute(checked, 'data-range'), '30d');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-range')), '30d', 'focus follows the selection');

    const received = await checkChart('received', 30, 24 * HOUR_MS);
    const sent = await checkChart('sent', 30, 24 * HOUR_MS);
    assert.deepEqual(received, { ok: 11, failed: 2 }, 'the rows older than 30 days are not counted');
    assert.deepEqual(sent, { ok: 6, failed: 3 });
    assert.equal((await tableRows()).length, 30);
    const labels = await page.$$eval('svg.activity-chart[data-series="sent"] .axis text', (els) => (els as unknown as DomNode[]).map((e) => e.textContent ?? ''));
    assert.ok(labels.includes('Day (local date)'));

    await page.keyboard.press('ArrowLeft');
    await page.waitForSelector('#activity-charts[data-range="24h"]');
    assert.equal((await bars('sent')).length, 24);
    assert.deepEqual(pageErrors, []);
  });

  it('counts a row the bridge adds while the tab is open (live)', async () => {
    const legend = 'svg.activity-chart[data-series="sent"] desc';
    assert.match((await page.textContent(legend)) ?? '', /^2 sent, 1 failed/);
    app.supervisor.bridge.logBook.add({ action: 'Send', status: 'Failed', fileName: 'LIVE.zip', reason: 'the PACS refused' });
    await page.waitForFunction((sel) => /^2 sent, 2 failed/.test(document.querySelector(sel)?.textContent ?? ''), legend, { timeout: 30_000 });
    assert.deepEqual(pageErrors, []);
  });
});
