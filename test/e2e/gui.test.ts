/**
 * The admin GUI in a real browser (issue 4 acceptance): Debian chromium driven by
 * playwright-core against the real bridge, with DCMTK storescu/echoscu/storescp as the PACS.
 * It writes nothing under docs/: the README's screenshots are `npm run screenshots`.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { openLogBook } from '../../src/logbook/logbook.js';
import { removeDir, tempDir } from '../support/bridge-harness.js';
import { launchBrowser } from '../support/browser.js';
import { configText, startGui, type GuiUnderTest } from '../support/gui-harness.js';
import { echoscu, freePort, storescu } from '../support/peers/dcmtk.js';
import { startStorescp, type StorescpPeer } from '../support/peers/storescp.js';
import { writeStudy } from '../support/study-files.js';

/** Markup in a patient name ('=' would start PN's ideographic group, so none here). */
const SCRIPT_NAME = '<script>alert(1)</script><b>Evil</b>';
/** The example, put straight into the log book. */
const HOSTILE_NAME = '<img src=x onerror=alert(1)>';

/** The little of the DOM the page functions below touch (the test build has no DOM types). */
interface DomNode {
  textContent: string | null;
  hidden?: boolean;
  querySelectorAll(selector: string): ArrayLike<DomNode>;
}
declare const document: { querySelector(selector: string): DomNode | null };

/** Waits until the text of `selector` contains `text` (playwright polls; no sleeps). */
async function waitForText(page: Page, selector: string, text: string | RegExp, timeoutMs = 30_000): Promise<string> {
  const pattern = typeof text === 'string' ? { source: text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), flags: '' } : { source: text.source, flags: text.flags };
  await page.waitForFunction(
    ([sel, p]) => new RegExp(p.source, p.flags).test(document.querySelector(sel)?.textContent ?? ''),
    [selector, pattern] as const,
    { timeout: timeoutMs },
  );
  return (await page.textContent(selector)) ?? '';
}

async function rowTexts(page: Page): Promise<string[][]> {
  return page.$$eval('#logbook-table tbody tr', (rows) =>
    (rows as unknown as DomNode[]).filter((r) => !r.hidden).map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent ?? '')),
  );
}

describe('admin GUI in chromium', () => {
  let dir: string;
  let app: GuiUnderTest;
  let browser: Browser;
  let page: Page;
  let storescp: StorescpPeer;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    dir = await tempDir();
    app = await startGui(join(dir, 'store'), { receive: { cridTagGroup: '0010', cridTagElement: '2201' } });
    storescp = await startStorescp({ outDir: join(dir, 'storescp') });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(app.gui.url);
    await page.waitForSelector('#logbook-empty');
  });
  after(async () => {
    await browser?.close();
    await storescp?.stop();
    await app?.stop();
    await removeDir(dir);
  });

  it('shows the study storescu sent as a new row, live, with hostile text shown as text', async () => {
    const study = await writeStudy(join(dir, 'study'), { count: 3, patientName: SCRIPT_NAME });
    const sent = await storescu(app.supervisor.config.receive.port, study.files);
    assert.equal(sent.code, 0, sent.stderr);
    await page.waitForSelector('#logbook-table tbody tr', { timeout: 30_000 });
    const [row] = await rowTexts(page);
    // Timestamp, Patient Name, Birthday, Study Date, Modality, # Instances, Study Description, Action, Status, CRID, Reason
    assert.match(row[0], /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/);
    assert.equal(row[1], SCRIPT_NAME);
    assert.equal(row[2], '05/05/1929');
    assert.equal(row[5], '3');
    assert.equal(row[7], 'Receive');
    assert.equal(row[8], 'Success');
    assert.equal(await page.locator('#logbook-table script, #logbook-table b').count(), 0, 'patient name became markup');
    assert.deepEqual(dialogs, []);
  });

  it('shows the issue\'s hostile name from a live row as text', async () => {
    app.supervisor.bridge.logBook.add({ action: 'Receive', status: 'Warning', patientName: HOSTILE_NAME, reason: '<b>no</b>' });
    await waitForText(page, '#logbook-table tbody', HOSTILE_NAME);
    assert.equal(await page.locator('#logbook-table img').count(), 0);
    assert.deepEqual(dialogs, []);
  });

  it('shows a study with CRYPE IDs with its IDs', async () => {
    const crid = { group: 0x0010, element: 0x2201, vr: 'LO', value: 'CRID#1234567890123456CRID#9876543210987654' };
    const study = await writeStudy(join(dir, 'study-crid'), { count: 4, patientName: 'HOLTZMANN^Carsten', extra: [crid] });
    const sent = await storescu(app.supervisor.config.receive.port, study.files);
    assert.equal(sent.code, 0, sent.stderr);
    await waitForText(page, '#logbook-table tbody', 'HOLTZMANN, Carsten');
    const row = (await rowTexts(page)).find((r) => r[1] === 'HOLTZMANN, Carsten');
    assert.equal(row?.[5], '4');
    assert.match(row?.[9] ?? '', /CRID#1234567890123456.*CRID#9876543210987654/);
  });

  it('Refresh shows rows the live stream did not carry', async () => {
    // Another process writing the same log book (e.g. a second bridge run) is not pushed live.
    const other = openLogBook(join(app.supervisor.config.storageFolder, 'Logs', 'logbook.sqlite'));
    other.add({ action: 'Send', status: 'Failed', fileName: 'X.zip', reason: 'the PACS refused: out of resources (A700)', patientName: 'DOE^Jane' });
    other.close();
    assert.ok(!(await rowTexts(page)).some((r) => r[1] === 'DOE, Jane'));
    await page.click('#logbook-refresh');
    await waitForText(page, '#logbook-table tbody', 'DOE, Jane');
    const row = (await rowTexts(page)).find((r) => r[1] === 'DOE, Jane');
    assert.equal(row?.[8], 'Failed');
    assert.match(row?.[10] ?? '', /out of resources/);
    await page.fill('#logbook-filter', 'failed');
    const shown = await rowTexts(page);
    assert.equal(shown.length, 1);
    assert.equal(shown[0][1], 'DOE, Jane');
    await page.fill('#logbook-filter', '');
  });

  it('Save of a new receive port moves the DICOM listener at once, without a restart', async () => {
    const oldPort = app.supervisor.config.receive.port;
    const newPort = await freePort();
    await page.click('#tab-settings');
    await page.waitForSelector('[name="receive.port"]');
    await page.fill('[name="receive.port"]', String(newPort));
    await page.click('#settings-save');
    await waitForText(page, '#settings-message', 'Saved');
    assert.equal((await echoscu(newPort)).code, 0, 'echoscu on the new port');
    assert.notEqual((await echoscu(oldPort)).code, 0, 'echoscu on the old port');
    assert.equal((JSON.parse((await configText(app.configPath)) ?? '{}') as { receive: { port: number } }).receive.port, newPort);
  });

  it('refuses invalid values next to their fields and writes nothing', async () => {
    const before = await configText(app.configPath);
    const cases: Array<[string, string, string]> = [
      ['receive.port', '0', 'must be an integer from 1 to 65535'],
      ['receive.timeoutSeconds', '4000', 'must be an integer from 1 to 3600'],
      ['receive.cridTagGroup', '12G4', 'must be 4 hexadecimal digits'],
      ['send.calledAeTitle', 'A'.repeat(17), 'must be 1 to 16 ASCII characters'],
    ];
    for (const [key, value] of cases) await page.fill(`[name="${key}"]`, value);
    await page.click('#settings-save');
    for (const [key, , rule] of cases) {
      await waitForText(page, `[data-error-for="${key}"]`, rule);
      assert.equal(await page.getAttribute(`[name="${key}"]`, 'aria-invalid'), 'true');
    }
    await waitForText(page, '#settings-message', /not saved/i);
    assert.equal(await configText(app.configPath), before, 'the configuration file changed');
    assert.equal(app.supervisor.config.receive.timeoutSeconds, 1);
  });

  it('Reset returns the form to the saved settings', async () => {
    const saved = app.supervisor.config;
    await page.click('#settings-reset');
    assert.equal(await page.inputValue('[name="receive.port"]'), String(saved.receive.port));
    assert.equal(await page.inputValue('[name="receive.timeoutSeconds"]'), String(saved.receive.timeoutSeconds));
    assert.equal(await page.inputValue('[name="receive.cridTagGroup"]'), saved.receive.cridTagGroup);
    assert.equal(await page.inputValue('[name="send.calledAeTitle"]'), saved.send.calledAeTitle);
    assert.equal((await page.textContent('[data-error-for="receive.port"]'))?.trim() ?? '', '');
  });

  it('Send DICOM Echo tests the values in the form: success against storescp, connection refused on a closed port', async () => {
    const before = await configText(app.configPath);
    await page.fill('[name="send.host"]', '127.0.0.1');
    await page.fill('[name="send.port"]', String(storescp.port));
    await page.fill('[name="send.calledAeTitle"]', storescp.aeTitle);
    await page.click('#settings-echo');
    const ok = await waitForText(page, '#echo-result', /success/i);
    assert.match(ok, /\d+ ms/);
    await page.fill('[name="send.port"]', String(await freePort()));
    await page.click('#settings-echo');
    await waitForText(page, '#echo-result', 'connection refused');
    assert.equal(await configText(app.configPath), before, 'echo must not save');
    await page.click('#settings-reset');
  });

  it('Browse picks a folder into the Storage Folder field without saving', async () => {
    await mkdir(join(dir, 'choices', 'alpha'), { recursive: true });
    await page.fill('[name="storageFolder"]', join(dir, 'choices'));
    await page.click('#browse-storage');
    await page.waitForSelector('#folder-dialog[open]');
    await waitForText(page, '#folder-list', 'alpha');
    await page.click('#folder-list li button:text-is("alpha")');
    await waitForText(page, '#folder-path', join(dir, 'choices', 'alpha'));
    await page.click('#folder-choose');
    assert.equal(await page.inputValue('[name="storageFolder"]'), join(dir, 'choices', 'alpha'));
    assert.notEqual(app.supervisor.config.storageFolder, join(dir, 'choices', 'alpha'));
    await page.click('#settings-reset');
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(dialogs, []);
  });
});
