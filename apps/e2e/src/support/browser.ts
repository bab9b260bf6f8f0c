import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium (never a downloaded browser); `npm test` installs it when missing (tools/chromium.mjs). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where browser tests leave screenshots (under the gitignored tmp/). */
export const ARTIFACTS_DIR = path.resolve(__dirname, '../../../../tmp/e2e-artifacts');

/** The built dashboard the gateway serves; `npm test` builds it (tools/build-dashboard.mjs). */
export const DASHBOARD_INDEX = path.resolve(__dirname, '../../../../dist/apps/dashboard/index.html');

export interface HeadlessBrowser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** A headless chromium with a fresh profile, no background traffic, one page of 1280×800. */
export async function openBrowser(): Promise<HeadlessBrowser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `no chromium at ${CHROMIUM_PATH}: run npm test (it installs Debian's chromium) or apt-get install chromium`,
    );
  if (!existsSync(DASHBOARD_INDEX))
    throw new Error(`the dashboard is not built (${DASHBOARD_INDEX}): run npm run build:dashboard`);
  const profile = await mkdtemp(path.join(os.tmpdir(), 'relay-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, name);
  await page.screenshot({ path: file });
  return file;
}
