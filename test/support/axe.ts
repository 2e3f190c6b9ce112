/**
 * axe-core in the page under test. The page's CSP (script-src 'self') would refuse a <script>
 * tag, so axe's source is evaluated through the DevTools protocol (page.evaluate), which CSP
 * does not govern.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface AxeViolation { id: string; impact: string | null; help: string; helpUrl: string; nodes: Array<{ target: unknown[]; failureSummary?: string; html: string }> }
declare const axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> };
declare const document: unknown;

/** Loads axe-core into the page (again after each navigation). */
export async function injectAxe(page: Page): Promise<void> {
  await page.evaluate(await readFile(AXE_SOURCE, 'utf8'));
}

/** The serious and critical violations on the page as it is now, one readable line each. */
export async function blockingViolations(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact ?? ''} ${v.id}: ${v.help} (${v.helpUrl})\n    ${v.nodes.map((n) => `${JSON.stringify(n.target)}: ${n.failureSummary ?? n.html}`).join('\n    ')}`);
  });
}
