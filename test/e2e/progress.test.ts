/**
 * The "In progress" panel in a real browser (issue 11, point 1): Debian chromium driven by
 * playwright-core against the real bridge. A 300-instance study sent in three parts by our
 * SCU shows with growing counts and its countdown, then moves to the Log Book; a ZIP dropped
 * into Outbox_Auto and sent to a slow DCMTK storescp shows "instances sent n / total" and its
 * attempt, then leaves; a ZIP whose PACS is down shows its next retry time; with nothing
 * going on the panel says "Nothing in progress".
 *
 * Counts are observed, never timed: the SCU sends the next part only once the page shows the
 * previous one, and a MutationObserver in the page records every text the panel showed.
 */
import assert from 'node:assert/strict';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { removeDir, sendOverrides, tempDir } from '../support/bridge-harness.js';
import { launchBrowser } from '../support/browser.js';
import { buildInstance, CT_IMAGE_STORAGE, EXPLICIT_LE, testUid } from '../support/dicom-builder.js';
import { startGui, type GuiUnderTest } from '../support/gui-harness.js';
import { openScu } from '../support/scu.js';
import { freePort } from '../support/peers/dcmtk.js';
import { startStorescp, type StorescpPeer } from '../support/peers/storescp.js';
import { writeStudy } from '../support/study-files.js';
import { writeZip } from '../support/zip-files.js';

/** Instances of the slowly sent study, in parts of PART. */
const INSTANCES = 300;
const PART = 100;
/** Instances in the Outbox ZIP; storescp takes a second over each. */
const ZIP_INSTANCES = 6;

/**
 * Helpers installed in the page (as a string: the test build has no DOM types): the panel's
 * items, the Log Book's rows, and a recorder of every text the panel shows.
 */
const PAGE_HELPERS = `(() => {
  window.__panelItems = () => Array.from(document.querySelectorAll('#in-progress-list .progress-item')).map((li) => ({
    kind: li.dataset.kind,
    title: li.querySelector('.progress-title')?.textContent ?? '',
    meta: li.querySelector('.progress-meta')?.textContent ?? '',
    detail: li.querySelector('.progress-detail')?.textContent ?? '',
    label: li.querySelector('.progress-label')?.textContent ?? '',
    bar: (() => { const p = li.querySelector('progress'); return p ? { value: p.value, max: p.max, valuetext: p.getAttribute('aria-valuetext') } : null; })(),
  }));
  window.__logRows = () => Array.from(document.querySelectorAll('#logbook-table tbody tr')).map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent ?? ''));
  window.__progressSeen = [];
  window.__record = () => {
    window.__progressSeen = [];
    const note = () => { for (const item of window.__panelItems()) window.__progressSeen.push(item); };
    window.__observer?.disconnect();
    window.__observer = new MutationObserver(note);
    window.__observer.observe(document.getElementById('in-progress-list'), { childList: true, subtree: true, characterData: true });
    note();
  };
})()`;

interface PanelItem {
  kind: string;
  title: string;
  meta: string;
  detail: string;
  label: string;
  bar: { value: number; max: number; valuetext: string | null } | null;
}

/** What PAGE_HELPERS put on the page's window. */
declare const window: {
  __panelItems(): PanelItem[];
  __logRows(): string[][];
  __record(): void;
  __progressSeen: PanelItem[];
};

/** Records every item text the panel shows from now on. */
async function recordPanel(page: Page): Promise<void> {
  await page.evaluate(() => window.__record());
}

async function seen(page: Page): Promise<PanelItem[]> {
  return page.evaluate(() => window.__progressSeen);
}

async function panel(page: Page): Promise<PanelItem[]> {
  return page.evaluate(() => window.__panelItems());
}

/** Waits until an item of `kind` shows a text matching `pattern` in `field`. */
async function waitForItem(page: Page, kind: string, field: 'detail' | 'label', pattern: RegExp, timeoutMs = 60_000): Promise<PanelItem> {
  await page.waitForFunction(
    ([k, f, source]) => window.__panelItems().some((i) => i.kind === k && new RegExp(source).test(i[f])),
    [kind, field, pattern.source] as const,
    { timeout: timeoutMs },
  );
  return (await panel(page)).find((i) => i.kind === kind && pattern.test(i[field]))!;
}

/** Waits until the panel has no item of `kind`. */
async function waitForNone(page: Page, kind: string, timeoutMs = 60_000): Promise<void> {
  await page.waitForFunction((k) => !window.__panelItems().some((i) => i.kind === k), kind, { timeout: timeoutMs });
}

/** Waits for a Log Book row whose cells contain every text given. */
async function waitForRow(page: Page, texts: string[], timeoutMs = 60_000): Promise<string[]> {
  await page.waitForFunction((want) => window.__logRows().some((cells) => want.every((t) => cells.includes(t))), texts, { timeout: timeoutMs });
  return (await page.evaluate(() => window.__logRows())).find((cells) => texts.every((t) => cells.includes(t)))!;
}

async function emptyState(page: Page): Promise<{ text: string; visible: boolean; items: number }> {
  return {
    text: (await page.textContent('#in-progress-empty')) ?? '',
    visible: await page.isVisible('#in-progress-empty'),
    items: (await panel(page)).length,
  };
}

describe('In progress panel in chromium', () => {
  let dir: string;
  let app: GuiUnderTest;
  let browser: Browser;
  let page: Page;
  let storescp: StorescpPeer;
  const pageErrors: string[] = [];

  before(async () => {
    dir = await tempDir();
    // A slow PACS: storescp sleeps a second during each C-STORE.
    storescp = await startStorescp({ outDir: join(dir, 'storescp'), extraArgs: ['--sleep-during', '1'] });
    app = await startGui(join(dir, 'store'), {
      receive: { timeoutSeconds: 5 },
      ...sendOverrides(storescp.port, { calledAeTitle: storescp.aeTitle, timeoutSeconds: 30 }),
    });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(app.gui.url);
    await page.waitForSelector('#in-progress');
    await page.evaluate(PAGE_HELPERS);
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await storescp?.stop();
    await removeDir(dir);
  });

  it('says "Nothing in progress" while nothing is going on', async () => {
    assert.equal(await page.textContent('#in-progress h2'), 'In progress');
    assert.deepEqual(await emptyState(page), { text: 'Nothing in progress', visible: true, items: 0 });
    const snapshot = (await page.evaluate(() => fetch('/api/progress').then((r) => r.json()))) as { now: number; receiving: { items: unknown[]; more: number } };
    assert.equal(typeof snapshot.now, 'number');
    assert.deepEqual(snapshot.receiving, { items: [], more: 0 });
  });

  it('a 300-instance study sent slowly shows with growing counts and its countdown, then moves to the Log Book', async () => {
    await recordPanel(page);
    const studyUid = testUid();
    const seriesUid = testUid();
    const scu = await openScu(app.supervisor.config.receive.port, [[CT_IMAGE_STORAGE, EXPLICIT_LE]]);
    const counts: number[] = [];
    try {
      for (let part = 0; part < INSTANCES / PART; part += 1) {
        for (let i = part * PART; i < (part + 1) * PART; i += 1) {
          const sopUid = testUid();
          const dataset = buildInstance({
            patientName: 'SLOW^Sally', patientId: 'PID-SLOW', studyDate: '20261204', modality: 'MR',
            studyUid, seriesUid, seriesNumber: 1, sopUid, instanceNumber: i + 1, rows: 8, columns: 8,
          });
          const stored = await scu.store(CT_IMAGE_STORAGE, EXPLICIT_LE, sopUid, dataset);
          assert.equal(stored.status, 0);
        }
        // The next part only goes once the page shows this one.
        const item = await waitForItem(page, 'receiving', 'detail', new RegExp(`^${(part + 1) * PART} instances`));
        counts.push(Number(/^(\d+) instances/.exec(item.detail)![1]));
      }
      const item = await waitForItem(page, 'receiving', 'label', /^zipping in \d+ s$/);
      assert.equal(item.title, 'SLOW, Sally');
      assert.equal(item.meta, 'MR · 04/12/2026');
      assert.match(item.detail, /^300 instances · [\d.]+ kB so far · from TESTSCU$/);
      assert.equal(item.bar?.max, 5000, 'the bar spans the quiet time');
      assert.match(item.bar?.valuetext ?? '', /^zipping in \d+ s$/);

      const snapshot = (await page.evaluate(() => fetch('/api/progress').then((r) => r.json()))) as { receiving: { items: Array<{ instances: number; callingAeTitle: string; patientName: string }> } };
      assert.equal(snapshot.receiving.items.length, 1);
      assert.equal(snapshot.receiving.items[0]!.instances, INSTANCES);
      assert.equal(snapshot.receiving.items[0]!.callingAeTitle, 'TESTSCU');
    } finally {
      await scu.release();
    }

    await waitForNone(page, 'receiving');
    const row = await waitForRow(page, ['SLOW, Sally', 'Receive', String(INSTANCES)]);
    assert.equal(row[8], 'Success');
    await waitForNone(page, 'zipping');

    const shown = (await seen(page)).filter((i) => i.kind === 'receiving');
    const distinct = new Set(shown.map((i) => /^(\d+) instances/.exec(i.detail)?.[1]).filter((n) => n !== undefined));
    assert.ok(distinct.size >= 2, `counts seen: ${[...distinct].join(', ')}`);
    assert.deepEqual(counts, [100, 200, 300]);
    // The countdown ticked in the page (at least two different texts), without new events.
    const countdowns = new Set(shown.map((i) => i.label).filter((t) => /^zipping in \d+ s$/.test(t)));
    assert.ok(countdowns.size >= 2, `countdown texts seen: ${[...countdowns].join(', ')}`);
    assert.deepEqual(await emptyState(page), { text: 'Nothing in progress', visible: true, items: 0 });
  });

  it('a ZIP sent to a slow storescp shows instances sent n / total and its attempt, then leaves the panel', async () => {
    await recordPanel(page);
    const study = await writeStudy(join(dir, 'outgoing'), { count: ZIP_INSTANCES, patientName: 'OUTBOX^Otto' });
    const zipPath = join(dir, 'Otto.zip');
    await writeZip(zipPath, study.files);
    await rename(zipPath, join(app.supervisor.bridge.layout.outboxAuto, 'Otto.zip'));

    const first = await waitForItem(page, 'sending', 'label', new RegExp(`^instances sent [1-${ZIP_INSTANCES - 1}] / ${ZIP_INSTANCES}$`));
    assert.equal(first.title, 'Otto.zip');
    assert.match(first.detail, /^attempt 1 of 3 · /);
    assert.equal(first.bar?.max, ZIP_INSTANCES);
    assert.match(first.meta, /^OUTBOX, Otto/);

    await waitForNone(page, 'sending');
    const row = await waitForRow(page, ['Send', 'OUTBOX, Otto']);
    assert.equal(row[8], 'Success');
    assert.equal((await storescp.files()).length, ZIP_INSTANCES);

    const sent = (await seen(page))
      .filter((i) => i.kind === 'sending')
      .map((i) => /^instances sent (\d+) \//.exec(i.label)?.[1])
      .filter((n) => n !== undefined)
      .map(Number);
    assert.ok(new Set(sent).size >= 2, `sent counts seen: ${sent.join(', ')}`);
    assert.deepEqual(sent, [...sent].sort((a, b) => a - b), 'the count only grows');
    assert.deepEqual(await emptyState(page), { text: 'Nothing in progress', visible: true, items: 0 });
  });

  it('a ZIP whose PACS is down shows its next retry time, then leaves for Outbox_Failed', async () => {
    const config = app.supervisor.config;
    await app.supervisor.bridge.reconfigure({ ...config, send: { ...config.send, port: await freePort(), retries: 2, retryDelaySeconds: 2 } });
    await recordPanel(page);
    const study = await writeStudy(join(dir, 'down'), { count: 2, patientName: 'DOWN^Dora' });
    const zipPath = join(dir, 'Dora.zip');
    await writeZip(zipPath, study.files);
    await rename(zipPath, join(app.supervisor.bridge.layout.outboxAuto, 'Dora.zip'));

    const waiting = await waitForItem(page, 'sending', 'detail', /next retry at \d{2}:\d{2}:\d{2} \(in \d+ s\)$/);
    assert.equal(waiting.title, 'Dora.zip');
    assert.match(waiting.detail, /^attempt 1 of 3 · /);
    await waitForNone(page, 'sending');
    const row = await waitForRow(page, ['Send', 'Failed']);
    assert.match(row[10] ?? '', /connection refused/);
    const attempts = new Set((await seen(page)).filter((i) => i.kind === 'sending').map((i) => /^attempt (\d) of 3/.exec(i.detail)?.[1]).filter((n) => n !== undefined));
    // The third attempt fails at once and may leave before the next push: the first two waited.
    assert.ok(attempts.has('1') && attempts.has('2'), `attempts seen: ${[...attempts].join(', ')}`);
    assert.deepEqual(await emptyState(page), { text: 'Nothing in progress', visible: true, items: 0 });
    assert.deepEqual(pageErrors, []);
  });
});
