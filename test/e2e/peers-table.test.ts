/**
 * The known peers table (receive.allowedPeers) in chromium against the real bridge: rows added
 * with the keyboard, an invalid host shown beside its cell and Save refused, fixed and saved
 * (the configuration file and GET /api/settings then hold both peers, applied without a
 * restart), a row removed and saved, no serious axe violations with the table shown, and the
 * saves listed in the Log Book as Settings rows.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { blockingViolations, injectAxe } from '../support/axe.js';
import { removeDir, tempDir } from '../support/bridge-harness.js';
import { launchBrowser } from '../support/browser.js';
import { configText, rawRequest, startGui, type GuiUnderTest } from '../support/gui-harness.js';

interface DomNode {
  textContent: string | null;
  id: string;
  getAttribute(name: string): string | null;
}
declare const document: { querySelector(selector: string): DomNode | null; activeElement: DomNode | null };

/** Waits until the text of `selector` matches (playwright polls; no sleeps). */
async function waitForText(page: Page, selector: string, text: RegExp, timeoutMs = 30_000): Promise<string> {
  await page.waitForFunction(
    ([sel, source, flags]) => new RegExp(source, flags).test(document.querySelector(sel)?.textContent ?? ''),
    [selector, text.source, text.flags] as const,
    { timeout: timeoutMs },
  );
  return (await page.textContent(selector)) ?? '';
}

/** The accessible name of the focused element (aria-label, else its text). */
function focusedName(page: Page): Promise<string> {
  return page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent ?? '');
}

const cell = (row: number, field: string) => `#peers-table tbody tr[data-index="${row}"] [data-peer-field="${field}"]`;
const cellError = (row: number, column: number) => `#peers-table tbody tr[data-index="${row}"] td:nth-child(${column}) .field-error`;

function savedPeers(text: string | null): unknown {
  return (JSON.parse(text ?? '{}') as { receive?: { allowedPeers?: unknown } }).receive?.allowedPeers;
}

describe('known peers table in chromium', () => {
  let dir: string;
  let app: GuiUnderTest;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    dir = await tempDir();
    app = await startGui(join(dir, 'store'));
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(app.gui.url);
    await page.click('#tab-settings');
    await page.waitForSelector('[name="receive.port"]');
    await page.click('[data-section="receive"] details.advanced > summary');
    await page.waitForSelector('#peers-add', { state: 'visible' });
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await removeDir(dir);
  });

  it('starts empty: any peer may store', async () => {
    await waitForText(page, '#peers-table tbody', /any calling AE title may store/);
    assert.deepEqual(app.supervisor.config.receive.allowedPeers, []);
  });

  it('adds two peers with the keyboard; the invalid host is shown beside its cell and Save is refused', async () => {
    const before = await configText(app.configPath);
    await page.focus('#peers-add');
    await page.keyboard.press('Enter');
    assert.equal(await focusedName(page), 'AE title of peer 1');
    await page.keyboard.type('PACS1');
    await page.keyboard.press('Tab');
    assert.equal(await focusedName(page), 'Host of peer 1');
    await page.keyboard.type('10.1.2.3');
    await page.keyboard.press('Tab');
    assert.equal(await focusedName(page), 'Certificate CN of peer 1');
    await page.keyboard.type('pacs1.example.org');
    await page.keyboard.press('Tab');
    assert.equal(await focusedName(page), 'Remove peer 1');
    await page.keyboard.press('Tab');
    assert.equal(await focusedName(page), 'Add peer');
    await page.keyboard.press('Enter');
    assert.equal(await focusedName(page), 'AE title of peer 2');
    await page.keyboard.type('PACS2');
    await page.keyboard.press('Tab');
    await page.keyboard.type('10.1.2.300');

    // Validated while typing, by the server's rule, beside the cell.
    await waitForText(page, cellError(1, 2), /must be an IP address, a CIDR range/);
    assert.equal(await page.getAttribute(cell(1, 'host'), 'aria-invalid'), 'true');
    const describedBy = (await page.getAttribute(cell(1, 'host'), 'aria-describedby')) ?? '';
    assert.ok(describedBy !== '' && (await page.textContent(`#${describedBy}`))?.includes('CIDR'), 'the error is the input\'s description');
    assert.equal(await page.textContent(cellError(0, 2)), '', 'the valid row has no error');

    await page.click('#settings-save');
    await waitForText(page, '#settings-message', /not saved/i);
    await waitForText(page, cellError(1, 2), /must be an IP address/);
    assert.equal(await configText(app.configPath), before, 'nothing written');
    assert.deepEqual(app.supervisor.config.receive.allowedPeers, []);
  });

  it('fixed and saved: the file and GET /api/settings hold both peers, applied at once', async () => {
    await page.fill(cell(1, 'host'), '10.1.2.0/24');
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '', cellError(1, 2));
    await page.click('#settings-save');
    await waitForText(page, '#settings-message', /Saved/);
    const expected = [
      { aeTitle: 'PACS1', host: '10.1.2.3', commonName: 'pacs1.example.org' },
      { aeTitle: 'PACS2', host: '10.1.2.0/24' },
    ];
    assert.deepEqual(savedPeers(await configText(app.configPath)), expected);
    const api = await rawRequest(app.gui.port, 'GET', '/api/settings');
    assert.deepEqual((api.json() as { settings: { receive: { allowedPeers: unknown } } }).settings.receive.allowedPeers, expected);
    assert.deepEqual(app.supervisor.config.receive.allowedPeers, expected);
  });

  it('has no serious or critical axe violations on the Settings tab with the table shown', async () => {
    await injectAxe(page);
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      const blocking = await blockingViolations(page);
      assert.deepEqual(blocking, [], `[${colorScheme}] axe:\n${blocking.join('\n')}`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('removes a row with the keyboard and saves the rest', async () => {
    await page.focus(`#peers-table tbody tr[data-index="0"] button`);
    assert.equal(await focusedName(page), 'Remove peer 1');
    await page.keyboard.press('Enter');
    // The row that took its place has the focus, now peer 1.
    assert.equal(await focusedName(page), 'AE title of peer 1');
    assert.equal(await page.inputValue(cell(0, 'aeTitle')), 'PACS2');
    await page.click('#settings-save');
    await waitForText(page, '#settings-message', /Saved/);
    assert.deepEqual(savedPeers(await configText(app.configPath)), [{ aeTitle: 'PACS2', host: '10.1.2.0/24' }]);
    assert.deepEqual(app.supervisor.config.receive.allowedPeers, [{ aeTitle: 'PACS2', host: '10.1.2.0/24' }]);
  });

  it('the Log Book lists the saves as Settings rows with their changes', async () => {
    await page.click('#tab-logbook');
    await page.selectOption('#logbook-action', 'Settings');
    await waitForText(page, '#logbook-table tbody', /receive\.allowedPeers: \[\{"aeTitle":"PACS1"/);
    const text = (await page.textContent('#logbook-table tbody')) ?? '';
    assert.match(text, /Settings/);
    assert.match(text, /Failed/, 'the refused save is there too');
    assert.deepEqual(pageErrors, []);
  });
});
