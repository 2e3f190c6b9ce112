/**
 * The admin GUI over HTTPS in chromium (issue 10 acceptance): the page loads over
 * https://127.0.0.1:port with HSTS and plain http:// on that port fails; the Settings tab's
 * Certificates section shows the GUI certificate's subject and days left; a certificate 10
 * days from expiry shows in the status strip; a Save naming a key that is not its
 * certificate's is refused beside that field with the file unchanged; the new section and
 * warnings pass axe. Plain HTTP off loopback shows the permanent warning. The generated
 * certificate is accepted with --ignore-certificate-errors, for this test's browser only.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { removeDir, tempDir } from '../support/bridge-harness.js';
import { CHROMIUM } from '../support/browser.js';
import { configText, startGui, type GuiUnderTest } from '../support/gui-harness.js';
import { createTestPki, type Issued, type TestPki } from '../support/test-pki.js';

const AXE_SOURCE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface DomNode { textContent: string | null; hidden: boolean }
declare const document: { querySelector(selector: string): DomNode | null };
declare const axe: { run(context: unknown, options: unknown): Promise<{ violations: Array<{ id: string; impact: string | null; nodes: unknown[] }> }> };

function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--ignore-certificate-errors'],
  });
}

/** Waits until the text of `selector` matches (playwright polls; no sleeps). */
async function waitForText(page: Page, selector: string, pattern: RegExp): Promise<string> {
  await page.waitForFunction(([sel, source, flags]) => {
    const el = document.querySelector(sel);
    return el !== null && !el.hidden && new RegExp(source, flags).test(el.textContent ?? '');
  }, [selector, pattern.source, pattern.flags] as const, { timeout: 30_000 });
  return (await page.textContent(selector)) ?? '';
}

async function blockingViolations(page: Page): Promise<string[]> {
  await page.evaluate(await readFile(AXE_SOURCE, 'utf8'));
  const violations = await page.evaluate(async () => (await axe.run(document, { resultTypes: ['violations'] })).violations.map((v) => ({ id: v.id, impact: v.impact ?? '', n: v.nodes.length })));
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}, ${v.n})`);
}

describe('admin GUI over HTTPS in chromium', () => {
  let dir: string;
  let pki: TestPki;
  let gui: Issued;
  let app: GuiUnderTest;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    dir = await tempDir();
    pki = createTestPki(dir);
    gui = pki.issue('gui', { commonName: 'bridge-gui.example', days: 10 });
    const dicom = pki.issue('dicom', { commonName: 'bridge-dicom.example', days: 400 });
    app = await startGui(join(dir, 'store'), { gui: { tls: gui }, receive: { tls: { enabled: false, certFile: dicom.certFile, keyFile: dicom.keyFile, caFile: pki.caFile } } });
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await removeDir(dir);
  });

  it('loads over https:// with HSTS; http:// on the same port fails', async () => {
    assert.match(app.gui.url, /^https:\/\/127\.0\.0\.1:/);
    // In a page of its own: the error page chromium then shows must not race the next navigation.
    const plain = await browser.newPage();
    await assert.rejects(plain.goto(`http://127.0.0.1:${app.gui.port}/`), /net::ERR_/);
    await plain.close();
    const response = await page.goto(app.gui.url);
    assert.equal(response?.status(), 200);
    assert.equal(response?.headers()['strict-transport-security'], 'max-age=31536000');
    await page.waitForSelector('#logbook-empty');
  });

  it('warns in the status strip about the certificate 10 days from expiry', async () => {
    const text = await waitForText(page, '[data-status="certificates"]', /expires in (9|10) days/);
    assert.match(text, /^Certificate "bridge-gui\.example" \(gui\.tls\.certFile\) expires in (9|10) days$/);
    assert.equal(await page.isVisible('[data-status="transport"]'), false, 'HTTPS: no plain-HTTP warning');
  });

  it('shows each certificate with subject, issuer, expiry and days left in the Settings tab', async () => {
    await page.click('#tab-settings');
    await page.waitForSelector('#certificates-table tr[data-setting="gui.tls.certFile"]');
    const rows = await page.$$eval('#certificates-table tbody tr', (trs) => (trs as unknown as Array<{ dataset: { setting: string }; cells: ArrayLike<{ textContent: string }> }>).map((tr) => [tr.dataset.setting, ...Array.from(tr.cells).map((c) => c.textContent)]));
    const guiRow = rows.find((r) => r[0] === 'gui.tls.certFile');
    assert.ok(guiRow, JSON.stringify(rows));
    assert.equal(guiRow[1], 'Admin GUI (HTTPS): our certificate');
    assert.equal(guiRow[2], 'CN=bridge-gui.example');
    assert.equal(guiRow[3], 'CN=DicomBridge Test CA');
    assert.match(guiRow[5] ?? '', /^(9|10) days$/);
    const dicomRow = rows.find((r) => r[0] === 'receive.tls.certFile');
    assert.match(dicomRow?.[5] ?? '', /^(399|400) days \(not in use\)$/);
    assert.ok(rows.some((r) => r[0] === 'receive.tls.caFile' && r[2] === 'CN=DicomBridge Test CA'));
  });

  it('refuses a Save with a key that is not the certificate\'s, beside the key field, file unchanged', async () => {
    const before = await configText(app.configPath);
    const other = pki.issue('other');
    await page.$$eval('#panel-settings details:not([open])', (els) => (els as unknown as Array<{ open: boolean }>).forEach((d) => { d.open = true; }));
    await page.fill('[name="gui.tls.keyFile"]', other.keyFile);
    await page.click('#settings-save');
    const error = await waitForText(page, '[data-error-for="gui.tls.keyFile"]', /is not the key of the certificate/);
    assert.ok(error.includes(other.keyFile), error);
    assert.equal(await page.getAttribute('[name="gui.tls.keyFile"]', 'aria-invalid'), 'true');
    await waitForText(page, '#settings-message', /Not saved/);
    assert.equal(await configText(app.configPath), before);
    await page.click('#settings-reset');
  });

  it('passes axe with the Certificates section and the strip warning shown', async () => {
    const blocking = await blockingViolations(page);
    assert.deepEqual(blocking, []);
    assert.deepEqual(pageErrors, []);
  });
});

describe('admin GUI over plain HTTP off loopback in chromium', () => {
  const inPrivateNetns = process.env.DICOMBRIDGE_NETNS === 'private';
  const address = '10.0.0.2';
  const password = 'a long enough password';
  let dir: string;
  let app: GuiUnderTest;
  let browser: Browser;

  before(async () => {
    if (!inPrivateNetns) return;
    execFileSync('ip', ['addr', 'replace', `${address}/32`, 'dev', 'lo']);
    dir = await tempDir();
    app = await startGui(join(dir, 'store'), { gui: { host: address, password } });
    browser = await launch();
  });
  after(async () => {
    if (!inPrivateNetns) return;
    await browser?.close();
    await app?.stop();
    await removeDir(dir);
    execFileSync('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo']);
  });

  it('shows the permanent "password sent without encryption" warning', { skip: inPrivateNetns ? false : 'needs the private network namespace of run-tests.sh' }, async () => {
    const context = await browser.newContext({ httpCredentials: { username: 'admin', password } });
    const page = await context.newPage();
    await page.goto(app.gui.url);
    const text = await waitForText(page, '[data-status="transport"]', /without encryption/);
    assert.match(text, /^Password sent without encryption/);
    assert.deepEqual(await blockingViolations(page), []);
    await context.close();
  });
});
