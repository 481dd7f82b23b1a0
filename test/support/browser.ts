/**
 * A headless Chromium for tests, through playwright-core: the system browser (Debian's `chromium`,
 * or FLEET_Q_TEST_CHROMIUM naming an executable). Where none is installed the browser tests report that
 * they did not run, unless FLEET_Q_TEST_REQUIRE_BROWSER=1 makes that a failure (CI sets it). Owns finding
 * and launching the browser only.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** The browser executable, or null when this machine has none. */
export function chromiumPath(): string | null {
  const named = process.env.FLEET_Q_TEST_CHROMIUM;
  if (named !== undefined && named !== '') return existsSync(named) ? named : null;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** True when FLEET_Q_TEST_REQUIRE_BROWSER asks for the browser tests to run (a missing browser then fails). */
export function browserRequired(): boolean {
  return ['1', 'true', 'yes'].includes((process.env.FLEET_Q_TEST_REQUIRE_BROWSER ?? '').toLowerCase());
}

/** Launches headless Chromium; throws when none is installed. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (executablePath === null) throw new Error("no Chromium found: install Debian's `chromium` or set FLEET_Q_TEST_CHROMIUM");
  const { chromium } = await import('playwright-core');
  // Root in a container has no user namespace for Chromium's sandbox; the page is our own.
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}
