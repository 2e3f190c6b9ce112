/**
 * A real browser for the admin GUI tests: Debian's chromium driven by playwright-core (no
 * browser downloads here). Headless, sandbox off (root in CI), no background traffic.
 */
import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium binary. */
export const CHROMIUM = '/usr/bin/chromium';

/** Launches headless chromium; a missing binary fails the run (scripts/install-test-deps.sh installs it). */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
