import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from './browser.ts';

/** Screenshots land here on every run (git-ignored). */
export const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts/web');

/** One Chromium per test file (the SDK tests' launcher: Debian's /usr/bin/chromium); browser contexts are the users. */
export const launchChromium = launchBrowser;

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 740 };

export interface UserPage {
  context: BrowserContext;
  page: Page;
  /** Every uncaught error of the page: a test ends by asserting there were none. */
  errors: string[];
}

/** Waits in these tests end on the event, with a deadline that a busy machine does not reach. */
export const WAIT_MS = 60_000;

/** A browser context (a user) with the tests' deadline. */
export async function newContext(browser: Browser, options: Parameters<Browser['newContext']>[0] = {}): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(WAIT_MS);
  return context;
}

/** A new browser context signed in as `userId` through the development sign-in form. */
export async function signedIn(browser: Browser, url: string, userId: string, name: string, viewport = DESKTOP): Promise<UserPage> {
  const context = await newContext(browser, { viewport, baseURL: url });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto('/');
  await page.getByLabel('User id').fill(userId);
  await page.getByLabel('Display name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Conversations' }).waitFor();
  return { context, page, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}
