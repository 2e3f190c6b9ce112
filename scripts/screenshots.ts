/**
 * `npm run screenshots`: the README's pictures of the admin GUI, taken from the real product.
 * Starts a bridge and its GUI on a temporary storage folder with realistic log book rows
 * (test/support/gui-samples.ts), opens Debian's chromium and writes, for every tab of the page
 * (every [role=tab], so a view added later is included):
 *   docs/gui-<view>-1280.png (1,280 × 800) and docs/gui-<view>-1024.png (1,024 × 768),
 * in the light scheme, plus docs/gui-<first view>-dark-1280.png in the dark one.
 * The test suite writes nothing under docs/; this command is the only thing that does.
 */
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { removeDir, tempDir } from '../test/support/bridge-harness.js';
import { launchBrowser } from '../test/support/browser.js';
import { startGui, type GuiUnderTest } from '../test/support/gui-harness.js';
import { writeSampleRows } from '../test/support/gui-samples.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const DOCS = join(ROOT, 'docs');

/** The two window sizes: a common office monitor and a small laptop. */
const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 1024, height: 768 },
] as const;

/** The little of the DOM the page functions below touch (this build has no DOM types). */
interface DomNode { innerText: string }
declare const document: { getElementById(id: string): DomNode | null };

interface Tab { id: string; panel: string; view: string }

async function shoot(browser: Browser, url: string, viewport: { width: number; height: number }, colorScheme: 'light' | 'dark', onlyFirst: boolean): Promise<string[]> {
  const page = await browser.newPage({ viewport, colorScheme, timezoneId: 'Europe/Berlin', locale: 'de-DE' });
  const written: string[] = [];
  try {
    await page.goto(url);
    await page.waitForSelector('#logbook-table tbody tr');
    await page.waitForSelector('[name="receive.port"]', { state: 'attached' });
    const tabs: Tab[] = await page.$$eval('[role="tab"]', (els) =>
      els.map((e) => ({ id: e.id, panel: e.getAttribute('aria-controls') ?? '', view: e.id.replace(/^tab-/, '') })),
    );
    for (const tab of onlyFirst ? tabs.slice(0, 1) : tabs) {
      await page.click(`#${tab.id}`);
      await page.waitForSelector(`#${tab.panel}`, { state: 'visible' });
      await page.waitForFunction((id) => !(document.getElementById(id)?.innerText ?? '').includes('Loading…'), tab.panel);
      // No hover or focus ring from the click in the picture.
      await page.mouse.move(0, viewport.height - 1);
      await page.evaluate('document.activeElement && document.activeElement.blur()');
      const scheme = colorScheme === 'dark' ? '-dark' : '';
      const file = join(DOCS, `gui-${tab.view}${scheme}-${viewport.width}.png`);
      await page.screenshot({ path: file });
      written.push(file);
    }
  } finally {
    await page.close();
  }
  return written;
}

async function main(): Promise<void> {
  const started = process.hrtime.bigint();
  const dir = await tempDir('dicombridge-screenshots-');
  let app: GuiUnderTest | undefined;
  let browser: Browser | undefined;
  try {
    app = await startGui(join(dir, 'DicomBridge'), {
      keepFailedDays: 30,
      receive: { timeoutSeconds: 30, cridTagGroup: '0010', cridTagElement: '2201' },
      send: { enabled: true, host: '10.1.2.3', port: 104, calledAeTitle: 'PACS1', callingAeTitle: 'DICOMBRIDGE' },
    });
    writeSampleRows(app.supervisor.config.storageFolder);
    await mkdir(DOCS, { recursive: true });
    browser = await launchBrowser();
    const written: string[] = [];
    for (const viewport of VIEWPORTS) written.push(...(await shoot(browser, app.gui.url, viewport, 'light', false)));
    written.push(...(await shoot(browser, app.gui.url, VIEWPORTS[0], 'dark', true)));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    for (const file of written) console.log(`screenshots: wrote ${relative(ROOT, file)}`);
    console.log(`screenshots: ${written.length} files in ${seconds.toFixed(1)} s`);
  } finally {
    await browser?.close();
    await app?.stop();
    await removeDir(dir);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
