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
  tabIndex: number;
  tagName: string;
  labels?: ArrayLike<DomNode>;
  focus(): void;
  contains(other: DomNode | null): boolean;
  innerText: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
  getClientRects(): ArrayLike<unknown>;
  querySelectorAll(selector: string): ArrayLike<DomNode>;
}
/** Relative luminance of a CSS rgb()/rgba() colour (WCAG 2). */
function luminance(css: string): number {
  const [r, g, b] = (css.match(/[\d.]+/g) ?? ['0', '0', '0']).slice(0, 3).map((v) => {
    const c = Number(v) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

interface AxeResultNode { target: unknown[]; failureSummary?: string; html: string }
interface AxeViolation { id: string; impact: string | null; help: string; helpUrl: string; nodes: AxeResultNode[] }
declare const document: {
  getElementById(id: string): DomNode | null;
  querySelectorAll(selector: string): ArrayLike<DomNode>;
  activeElement: DomNode | null;
  body: DomNode;
};
declare const location: { hash: string };
declare function getComputedStyle(el: DomNode, pseudo?: string): Record<string, string>;
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
  it('tabs follow the WAI-ARIA pattern for every [role=tab]: roving tabindex, arrows, Home/End, Enter', async () => {
    await page.emulateMedia({ colorScheme: 'light' });
    /** Which tab is selected, which one has the focus, which tabs are in the Tab order, which panels show. */
    const state = () => page.evaluate(() => {
      const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
      return {
        ids: tabs.map((t) => t.id),
        selected: tabs.filter((t) => t.getAttribute('aria-selected') === 'true').map((t) => t.id),
        tabStops: tabs.filter((t) => t.tabIndex === 0).map((t) => t.id),
        focused: document.activeElement?.id ?? '',
        visiblePanels: tabs.map((t) => document.getElementById(t.getAttribute('aria-controls') ?? '')).filter((p) => p !== null && !p.hidden).map((p) => p?.id),
        panelsLabelled: tabs.every((t) => document.getElementById(t.getAttribute('aria-controls') ?? '')?.getAttribute('aria-labelledby') === t.id),
        hash: location.hash,
      };
    });
    const expectOn = async (index: number) => {
      const now = await state();
      const id = now.ids[index];
      assert.deepEqual(now.selected, [id], 'exactly the focused tab is selected');
      assert.deepEqual(now.tabStops, [id], 'only the selected tab is in the Tab order');
      assert.equal(now.focused, id);
      assert.deepEqual(now.visiblePanels, [await page.getAttribute(`#${id}`, 'aria-controls')]);
      assert.equal(now.hash, index === 0 ? '' : `#${id.replace(/^tab-/, '')}`);
    };
    const first = await state();
    const last = first.ids.length - 1;
    assert.ok(first.panelsLabelled, 'each panel is labelled by its tab');
    await page.focus(`#${first.ids[0]}`);
    await page.keyboard.press('Enter');
    await expectOn(0);
    await page.keyboard.press('End');
    await expectOn(last);
    await page.keyboard.press('Home');
    await expectOn(0);
    await page.keyboard.press('ArrowLeft');
    await expectOn(last);
    await page.keyboard.press('ArrowRight');
    await expectOn(0);
    for (let i = 1; i <= last; i += 1) {
      await page.keyboard.press('ArrowRight');
      await expectOn(i);
    }
    // Focus (not selection) on another tab, as a screen reader's virtual cursor can: Enter and Space select it.
    await page.evaluate((id) => document.getElementById(id)?.focus(), first.ids[0]);
    await page.keyboard.press('Enter');
    await expectOn(0);
    await page.evaluate((id) => document.getElementById(id)?.focus(), first.ids[last]);
    await page.keyboard.press(' ');
    await expectOn(last);
    // Tab leaves the tablist for the selected panel: the panel itself, or the control it starts with.
    await page.keyboard.press('Tab');
    const panelId = await page.getAttribute(`#${first.ids[last]}`, 'aria-controls');
    const inPanel = await page.evaluate((id) => {
      const panel = document.getElementById(id ?? '');
      return panel !== null && panel.contains(document.activeElement);
    }, panelId);
    assert.ok(inPanel, `Tab from the tablist lands in ${panelId}`);
    await page.focus(`#${first.ids[0]}`);
    await page.keyboard.press('Enter');
  });

  for (const colorScheme of ['light', 'dark'] as const) {
    it(`shows where the keyboard focus is on every Tab stop of every tab (${colorScheme})`, async () => {
      await page.emulateMedia({ colorScheme });
      const tabs = await page.$$eval('[role="tab"]', (els) => (els as unknown as DomNode[]).map((e) => e.id));
      const missing: string[] = [];
      let stops = 0;
      for (const tab of tabs) {
        await page.focus(`#${tab}`);
        await page.keyboard.press('Enter');
        const seen = new Set<string>();
        // Walk the Tab order until it comes back to the tabs (bounded: the page has fewer stops).
        for (let i = 0; i < 120; i += 1) {
          await page.keyboard.press('Tab');
          const focus = await page.evaluate(() => {
            const el = document.activeElement;
            if (el === null || el === document.body) return null;
            const style = getComputedStyle(el);
            return {
              what: `${el.tagName.toLowerCase()}#${el.id} ${el.getAttribute('name') ?? el.getAttribute('aria-label') ?? ''}`.trim(),
              role: el.getAttribute('role'),
              outline: style.outlineStyle,
              width: parseFloat(style.outlineWidth),
              color: style.outlineColor,
              bg: getComputedStyle(document.body).backgroundColor,
            };
          });
          if (focus === null || focus.role === 'tab' || seen.has(focus.what)) break;
          seen.add(focus.what);
          stops += 1;
          if (focus.outline === 'none' || focus.width < 2 || contrast(focus.color, focus.bg) < 3) {
            missing.push(`${tab}: ${focus.what} (outline ${focus.outline} ${focus.width}px ${focus.color} on ${focus.bg})`);
          }
        }
      }
      assert.ok(stops >= 10, `walked only ${stops} Tab stops`);
      assert.deepEqual(missing, [], 'focus not visible (2 px outline, 3:1 against the page)');
    });
  }

  it('follows the system colour scheme, and shows each status by symbol and word, not colour alone', async () => {
    const look = async (colorScheme: 'light' | 'dark') => {
      await page.emulateMedia({ colorScheme });
      await page.click('[role="tab"]');
      return page.evaluate(() => {
        const cell = (word: string) => Array.from(document.querySelectorAll('#logbook-table td')).find((td) => td.textContent === word);
        const marker = (word: string) => {
          const td = cell(word);
          return td === undefined ? 'no cell' : getComputedStyle(td, '::before').content;
        };
        return {
          bg: getComputedStyle(document.body).backgroundColor,
          text: getComputedStyle(document.body).color,
          failed: marker('Failed'),
          success: marker('Success'),
          warning: marker('Warning'),
        };
      });
    };
    const light = await look('light');
    const dark = await look('dark');
    assert.ok(luminance(light.bg) > 0.8, `light background ${light.bg}`);
    assert.ok(luminance(dark.bg) < 0.05, `dark background ${dark.bg}`);
    for (const scheme of [light, dark]) {
      assert.ok(contrast(scheme.text, scheme.bg) >= 4.5, `text ${scheme.text} on ${scheme.bg}`);
      assert.match(scheme.failed, /✖/);
      assert.match(scheme.success, /✔/);
      assert.match(scheme.warning, /⚠/);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('labels every settings field and links its rule text to it', async () => {
    const fields = await page.$$eval('#settings-form input, #settings-form select', (els) =>
      (els as unknown as DomNode[]).map((el) => {
        const described = (el.getAttribute('aria-describedby') ?? '').split(/\s+/).filter((id) => id !== '');
        const rule = document.querySelectorAll(`[data-rule-for="${el.getAttribute('name') ?? ''}"]`)[0];
        return {
          name: el.getAttribute('name') ?? el.id,
          label: Array.from(el.labels ?? []).map((l) => l.textContent ?? '').join(' ').trim() || (el.getAttribute('aria-label') ?? ''),
          describedExists: described.every((id) => document.getElementById(id) !== null),
          ruleLinked: rule === undefined || (rule.textContent ?? '') === '' || described.includes(rule.id),
        };
      }),
    );
    assert.ok(fields.length >= 20, `only ${fields.length} fields`);
    for (const f of fields) {
      assert.notEqual(f.label, '', `${f.name} has no label`);
      assert.ok(f.describedExists, `${f.name}: aria-describedby names a missing element`);
      assert.ok(f.ruleLinked, `${f.name}: its rule text is not linked by aria-describedby`);
    }
  });
});
