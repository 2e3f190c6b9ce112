/**
 * The Log Book in a real browser (issue 11 points 2 and 3): Debian chromium driven by
 * playwright-core against the real bridge, with DCMTK storescu as the modality and storescp as
 * the PACS. The details drawer, the date filter, the CSV export, paging past 500 rows and the
 * Retry of a ZIP that failed while the PACS was down.
 */
import assert from 'node:assert/strict';
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { openLogBook, type LogBook } from '../../src/logbook/logbook.js';
import { list, nextEvents, removeDir, sendOverrides, tempDir } from '../support/bridge-harness.js';
import { launchBrowser } from '../support/browser.js';
import { startGui, type GuiUnderTest } from '../support/gui-harness.js';
import { freePort, storescu } from '../support/peers/dcmtk.js';
import { startStorescp, type StorescpPeer } from '../support/peers/storescp.js';
import { writeStudy } from '../support/study-files.js';
import { writeZip } from '../support/zip-files.js';

/** The little of the DOM the page functions below touch (the test build has no DOM types). */
interface DomNode {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  open?: boolean;
  querySelectorAll(selector: string): ArrayLike<DomNode>;
}
declare const document: { querySelector(selector: string): DomNode | null; querySelectorAll(selector: string): ArrayLike<DomNode>; activeElement: DomNode | null };

/** Patient names of the rows shown. */
function names(page: Page): Promise<string[]> {
  return page.$$eval('#logbook-table tbody tr', (rows) => (rows as unknown as DomNode[]).map((r) => r.querySelectorAll('td')[1]?.textContent ?? ''));
}

/** Waits until the table shows exactly these patient names (playwright polls; no sleeps). */
async function waitForNames(page: Page, expected: string[]): Promise<void> {
  await page.waitForFunction(
    (want) => JSON.stringify(Array.from(document.querySelectorAll('#logbook-table tbody tr')).map((r) => r.querySelectorAll('td')[1]?.textContent ?? '')) === JSON.stringify(want),
    expected,
    { timeout: 30_000 },
  );
}

/** The drawer's value for a label. */
function drawerField(page: Page, label: string): Promise<string> {
  return page.locator(`#logbook-drawer-fields dd[data-field="${label}"]`).innerText();
}

describe('Log Book in chromium', () => {
  let dir: string;
  let store: string;
  let app: GuiUnderTest;
  let browser: Browser;
  let page: Page;
  let pacsPort: number;
  let pacs: StorescpPeer | undefined;
  const pageErrors: string[] = [];

  /** A second connection to the bridge's log book with its own clock (rows "from the past"). */
  function pastBook(at: () => Date): LogBook {
    return openLogBook(join(store, 'Logs', 'logbook.sqlite'), { now: at });
  }

  before(async () => {
    dir = await tempDir();
    store = join(dir, 'store');
    // Sending on, to a PACS that is down (nothing listens there yet), without retries.
    pacsPort = await freePort();
    app = await startGui(store, sendOverrides(pacsPort, { retries: 0 }));
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(app.gui.url);
    await page.waitForSelector('#logbook-empty');
  });
  after(async () => {
    await browser?.close();
    await pacs?.stop();
    await app?.stop();
    await removeDir(dir);
  });

  it('the details drawer shows the inbox, ZIP name and sender of a study storescu sent; Esc closes it', async () => {
    const study = await writeStudy(join(dir, 'study'), { count: 3, patientName: 'DRAWER^Dora' });
    const done = nextEvents(app.supervisor.bridge, 'study', 1);
    const sent = await storescu(app.supervisor.config.receive.port, study.files, { callingAet: 'MODALITY_7' });
    assert.equal(sent.code, 0, sent.stderr);
    const [outcome] = await done;
    const [zip] = await list(join(store, 'Inbox_Manual'));
    assert.ok(zip?.endsWith('.zip'), `ZIP in Inbox_Manual: ${zip}`);
    assert.equal(outcome.inbox, 'Inbox_Manual');

    const row = page.locator('#logbook-table tbody tr', { hasText: 'DRAWER, Dora' });
    await row.waitFor({ timeout: 30_000 });
    // By keyboard: the row takes focus, Enter opens the drawer.
    await row.focus();
    await page.keyboard.press('Enter');
    await page.locator('#logbook-drawer').waitFor({ state: 'visible' });
    assert.equal(await drawerField(page, 'Folder'), 'Inbox_Manual');
    assert.equal(await drawerField(page, 'ZIP or folder name'), zip);
    assert.equal(await drawerField(page, 'Calling AE title'), 'MODALITY_7');
    assert.equal(await drawerField(page, 'Peer address'), '127.0.0.1');
    assert.equal(await drawerField(page, 'Instances'), '3');
    assert.match(await drawerField(page, 'Study Instance UID'), new RegExp(`^${study.studyUid.replace(/\./g, '\\.')}$`));
    assert.match(await drawerField(page, 'Zipping'), /\d+(\.\d)? (ms|s)$/);
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Close', 'focus moved into the drawer');
    assert.equal(await page.locator('#logbook-drawer-retry').isVisible(), false, 'nothing to retry on a success');
    await page.keyboard.press('Escape');
    await page.locator('#logbook-drawer').waitFor({ state: 'hidden' });
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.id), await row.getAttribute('data-id'), 'focus back on the row');
    // By mouse too.
    await row.click();
    await page.locator('#logbook-drawer').waitFor({ state: 'visible' });
    await page.click('#logbook-drawer-close');
    await page.locator('#logbook-drawer').waitFor({ state: 'hidden' });
  });

  it('the date filter narrows the rows to the chosen days', async () => {
    let t = new Date(2026, 0, 10, 12);
    const book = pastBook(() => t);
    book.add({ action: 'Receive', status: 'Success', patientName: 'JANUARY, Jan' });
    t = new Date(2026, 1, 15, 9);
    book.add({ action: 'Receive', status: 'Success', patientName: 'FEBRUARY, Feb' });
    t = new Date(2026, 1, 28, 23, 59);
    book.add({ action: 'Send', status: 'Failed', patientName: 'LATE, Feb', reason: 'PACS down' });
    t = new Date(2026, 2, 20, 8);
    book.add({ action: 'Receive', status: 'Success', patientName: 'MARCH, Mar' });
    book.close();
    await page.fill('#logbook-from', '2026-02-01');
    await page.fill('#logbook-to', '2026-02-28');
    await waitForNames(page, ['LATE, Feb', 'FEBRUARY, Feb']);
    await page.selectOption('#logbook-status', 'Failed');
    await waitForNames(page, ['LATE, Feb']);
    await page.selectOption('#logbook-status', '');
    await page.fill('#logbook-from', '2026-03-01');
    await page.fill('#logbook-to', '');
    await page.waitForFunction(() => {
      const shown = Array.from(document.querySelectorAll('#logbook-table tbody tr')).map((r) => r.querySelectorAll('td')[1]?.textContent ?? '');
      return shown.includes('MARCH, Mar') && shown.includes('DRAWER, Dora') && !shown.some((name) => /Feb|Jan/.test(name));
    }, undefined, { timeout: 30_000 });
    await page.fill('#logbook-from', '');
  });

  it('Export CSV downloads the filtered rows: BOM, header, umlauts, quoting', async () => {
    app.supervisor.bridge.logBook.add({ action: 'Receive', status: 'Warning', patientName: 'MÜLLER, Jürgen', reason: 'malformed CRYPE ID text: "CRID#12", see log' });
    await page.fill('#logbook-filter', 'müller');
    await waitForNames(page, ['MÜLLER, Jürgen']);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#logbook-export')]);
    assert.match(download.suggestedFilename(), /^dicombridge-logbook-\d{8}-\d{4}\.csv$/);
    const bytes = await readFile((await download.path())!);
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 byte order mark');
    const lines = bytes.subarray(3).toString('utf8').split('\r\n');
    assert.ok(lines[0].startsWith('Timestamp,Patient Name,Birthday,Study Date,Modality,# Instances,Study Description,Action,Status,CRID,Reason,'), lines[0]);
    assert.equal(lines.filter((l) => l !== '').length, 2, 'header and the one filtered row');
    assert.match(lines[1], /^\d{4}-\d{2}-\d{2}T[^,]+,"MÜLLER, Jürgen",,,,0,,Receive,Warning,,"malformed CRYPE ID text: ""CRID#12"", see log",/);
    await page.fill('#logbook-filter', '');
  });

  it('pages past the last 500 rows with Older and Newer', async () => {
    const book = pastBook(() => new Date(2025, 11, 1));
    for (let i = 0; i < 520; i += 1) book.add({ action: 'Cleanup', status: 'Success', patientName: `PAGE, ${String(i).padStart(3, '0')}` });
    book.close();
    await page.selectOption('#logbook-action', 'Cleanup');
    await page.waitForFunction(() => document.querySelectorAll('#logbook-table tbody tr').length === 500, undefined, { timeout: 30_000 });
    assert.equal((await names(page))[0], 'PAGE, 519');
    assert.match(await page.innerText('#logbook-page'), /Rows 1–500, older rows exist/);
    await page.click('#logbook-older');
    await page.waitForFunction(() => document.querySelectorAll('#logbook-table tbody tr').length === 20, undefined, { timeout: 30_000 });
    const older = await names(page);
    assert.equal(older[0], 'PAGE, 019');
    assert.equal(older.at(-1), 'PAGE, 000');
    assert.match(await page.innerText('#logbook-page'), /^Rows 501–520$/);
    assert.equal(await page.isDisabled('#logbook-older'), true);
    await page.click('#logbook-newer');
    await page.waitForFunction(() => document.querySelectorAll('#logbook-table tbody tr').length === 500, undefined, { timeout: 30_000 });
    assert.equal((await names(page))[0], 'PAGE, 519');
    await page.selectOption('#logbook-action', '');
  });

  it('Retry sends an Outbox_Failed ZIP once the PACS is up', async () => {
    const bridge = app.supervisor.bridge;
    const study = await writeStudy(join(dir, 'outgoing'), { count: 4, patientName: 'RETRY^Rudi' });
    await writeZip(join(dir, 'retry-me.zip'), study.files);
    const failed = nextEvents(bridge, 'send', 1);
    await rename(join(dir, 'retry-me.zip'), join(store, 'Outbox_Auto', 'retry-me.zip'));
    const [first] = await failed;
    assert.equal(first.status, 'Failed', 'the PACS is down');
    assert.deepEqual(await list(join(store, 'Outbox_Failed')), ['retry-me.zip']);

    pacs = await startStorescp({ outDir: join(dir, 'pacs'), aeTitle: 'PACS', port: pacsPort });
    // The PACS refused the connection before a dataset was read: the row knows only the ZIP's name.
    const [failedRow] = bridge.logBook.query({ q: 'retry-me.zip', action: 'Send', limit: 1 });
    const row = page.locator(`#logbook-table tbody tr[data-id="${failedRow.id}"]`);
    await row.waitFor({ timeout: 30_000 });
    await row.click();
    assert.equal(await drawerField(page, 'Folder'), 'Outbox_Failed');
    assert.equal(await drawerField(page, 'ZIP or folder name'), 'retry-me.zip');
    const sentAgain = nextEvents(bridge, 'send', 1);
    await page.click('#logbook-drawer-retry');
    await page.waitForSelector('#logbook-drawer-message:has-text("Moved back to Outbox_Auto")');
    const [second] = await sentAgain;
    assert.equal(second.status, 'Success', second.reason);
    assert.equal((await pacs.files()).length, 4, 'storescp received every instance');
    assert.deepEqual(await list(join(store, 'Outbox_Failed')), []);
    assert.deepEqual(await list(join(store, 'Outbox_Auto')), []);
    assert.deepEqual(bridge.logBook.failedMoves('Outbox_Failed'), [], 'retention forgot it');
    const rows = bridge.logBook.query({ q: 'retry-me.zip', limit: 5 }).map((e) => [e.action, e.status]);
    assert.deepEqual(rows, [['Send', 'Success'], ['Retry', 'Success'], ['Send', 'Failed']]);
    await page.keyboard.press('Escape');
    // The new rows arrived live.
    await page.locator('#logbook-table tbody tr', { hasText: 'Retry' }).first().waitFor({ timeout: 30_000 });
    assert.deepEqual(pageErrors, []);
  });
});
