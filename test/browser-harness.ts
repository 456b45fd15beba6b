import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { TOKEN } from './harness.js';

/** Debian's chromium, as scripts/ensure-chromium.mjs found or installed it. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

export async function launchBrowser(): Promise<Browser> {
  try {
    return await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  } catch (err) {
    throw new Error(`could not start chromium at ${chromiumPath()} (run node scripts/ensure-chromium.mjs, or set CHROMIUM_PATH): ${(err as Error).message}`);
  }
}

const violations = new WeakMap<Page, string[]>();

/** Console reports of Content-Security-Policy violations on a page opened by openDashboard. */
export function cspViolations(page: Page): readonly string[] {
  return violations.get(page) ?? [];
}

/** Opens the dashboard and signs in with the token, as a person would at the token prompt. */
export async function openDashboard(browser: Browser, httpPort: number): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  page.setDefaultTimeout(15_000);
  const seen: string[] = [];
  violations.set(page, seen);
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) seen.push(message.text());
  });
  await page.goto(`http://127.0.0.1:${httpPort}/`);
  await page.getByTestId('token-input').fill(TOKEN);
  await page.getByTestId('token-submit').click();
  await page.getByTestId('live-workers').waitFor();
  return page;
}

/** With TITAN_SCREENSHOTS=<dir> set, saves a full-page screenshot there (how docs/screenshots/ is made). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.TITAN_SCREENSHOTS;
  if (dir === undefined || dir === '') return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
