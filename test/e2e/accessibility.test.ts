/**
 * The admin GUI checked by axe-core (issue 11 §6) in Debian's chromium against the real
 * bridge, with log book rows (one failed send) in light and dark colour schemes. Every
 * [role=tab] is visited, so a tab added later is checked without changing this file; in each
 * panel every closed <details> is opened and the first control that opens a dialog or drawer
 * is used, so those are checked too. Serious and critical violations fail the test.
 *
 * The page's CSP (script-src 'self') would refuse a <script> tag: axe's source is evaluated
 * through the DevTools protocol instead (page.evaluate), which CSP does not govern.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { removeDir, tempDir } from '../support/bridge-harness.js';
import { launchBrowser } from '../support/browser.js';
import { startGui, type GuiUnderTest } from '../support/gui-harness.js';
import { writeSampleRows } from '../support/gui-samples.js';

const AXE_SOURCE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** The little of the DOM and axe the page functions below touch (the test build has no DOM types). */
interface DomNode {
  id: string;
  hidden: boolean;
  open: boolean;
  innerText: string;
  getAttribute(name: string): string | null;
  getClientRects(): ArrayLike<unknown>;
  querySelectorAll(selector: string): ArrayLike<DomNode>;
}
interface AxeResultNode { target: unknown[]; failureSummary?: string; html: string }
interface AxeViolation { id: string; impact: string | null; help: string; helpUrl: string; nodes: AxeResultNode[] }
declare const document: { getElementById(id: string): DomNode | null; querySelectorAll(selector: string): ArrayLike<DomNode> };
declare const axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> };

/** A violation as printed: rule, impact and where. */
interface Finding { id: string; impact: string; help: string; nodes: string[] }

const BLOCKING = new Set(['serious', 'critical']);

/** Runs axe on the whole document as it is now (hidden panels are skipped by axe itself). */
async function runAxe(page: Page): Promise<Finding[]> {
  const violations = await page.evaluate(async () => {
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? 'unknown',
      help: `${v.help} (${v.helpUrl})`,
      nodes: v.nodes.map((n) => `${JSON.stringify(n.target)}: ${n.failureSummary ?? n.html}`),
    }));
  });
  return violations;
}

function countByImpact(findings: Finding[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of findings) counts[f.impact] = (counts[f.impact] ?? 0) + f.nodes.length;
  return counts;
}

/** The first visible control in the panel that opens a dialog or drawer, by its ARIA. */
async function openerIn(page: Page, panelId: string): Promise<string | null> {
  return page.evaluate((id) => {
    const panel = document.getElementById(id);
    if (panel === null) return null;
    const candidates = Array.from(panel.querySelectorAll('[aria-haspopup="dialog"], [aria-expanded="false"][aria-controls]'));
    const visible = candidates.find((c) => c.getClientRects().length > 0 && c.getAttribute('role') !== 'tab');
    if (visible === undefined) return null;
    visible.id ||= `axe-opener-${Math.random().toString(36).slice(2)}`;
    return visible.id;
  }, panelId);
}

describe('accessibility of the admin GUI (axe-core)', () => {
  let dir: string;
  let app: GuiUnderTest;
  let browser: Browser;
  let page: Page;

  before(async () => {
    dir = await tempDir();
    const storage = join(dir, 'store');
    app = await startGui(storage);
    writeSampleRows(app.supervisor.config.storageFolder);
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(app.gui.url);
    // Both tabs load at boot: wait for the sample rows and the settings form.
    await page.waitForSelector('#logbook-table tbody tr');
    await page.waitForSelector('[name="receive.port"]', { state: 'attached' });
    await page.evaluate(await readFile(AXE_SOURCE, 'utf8'));
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await removeDir(dir);
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`has no serious or critical violations on any tab, dialog or drawer (${colorScheme})`, async (t: TestContext) => {
      await page.emulateMedia({ colorScheme });
      const tabs = await page.$$eval('[role="tab"]', (els) => (els as unknown as DomNode[]).map((e) => ({ id: e.id, panel: e.getAttribute('aria-controls') ?? '' })));
      assert.ok(tabs.length >= 2, 'the page has its tabs');
      const blocking: string[] = [];
      for (const tab of tabs) {
        await page.click(`#${tab.id}`);
        await page.waitForSelector(`#${tab.panel}`, { state: 'visible' });
        await page.waitForFunction((id) => !(document.getElementById(id)?.innerText ?? '').includes('Loading…'), tab.panel);
        // Advanced settings and other folded content are checked too.
        await page.$$eval(`#${tab.panel} details:not([open])`, (els) => (els as unknown as DomNode[]).forEach((d) => { d.open = true; }));
        const views: Array<[string, Finding[]]> = [[tab.id, await runAxe(page)]];
        const opener = await openerIn(page, tab.panel);
        if (opener !== null) {
          await page.click(`#${opener}`);
          await page.waitForSelector('dialog[open], [role="dialog"]:not([hidden]), [aria-modal="true"]:not([hidden])', { state: 'visible' });
          views.push([`${tab.id} → #${opener}`, await runAxe(page)]);
          await page.keyboard.press('Escape');
        }
        for (const [view, findings] of views) {
          t.diagnostic(`${colorScheme} ${view}: ${JSON.stringify(countByImpact(findings))}`);
          for (const f of findings.filter((x) => BLOCKING.has(x.impact))) {
            blocking.push(`[${colorScheme}] ${view}: ${f.impact} ${f.id}: ${f.help}\n    ${f.nodes.join('\n    ')}`);
          }
        }
      }
      assert.deepEqual(blocking, [], `axe found serious or critical violations:\n${blocking.join('\n')}`);
    });
  }
});
