import path from 'node:path';
import { build } from 'esbuild';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** The flags every browser test runs Chromium with (no sandbox in CI containers, nothing phoning home). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const ROOT = path.resolve(import.meta.dirname, '../..');
const open = new Set<Browser>();
// Close what a failed or cancelled test file left open (Playwright also kills it on exit).
process.on('exit', () => {
  for (const b of open) void b.close().catch(() => {});
});

/** Debian's Chromium (or CHROMIUM_PATH), headless; close it in `after`. One per test file is plenty: contexts are cheap. */
export async function launchBrowser(): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  open.add(browser);
  browser.on('disconnected', () => open.delete(browser));
  return browser;
}

/**
 * Bundles a test page's script (TypeScript, imports from client/, protocol/, node_modules)
 * for the browser with esbuild's JS API, in production mode (React's production build).
 */
export async function bundlePage(entry: string): Promise<string> {
  const out = await build({
    entryPoints: [path.resolve(ROOT, entry)],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    minify: false,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

/**
 * Serves pages to a browser context from memory at `origin` (say `http://localhost:4999`,
 * which nothing listens on), by request interception. Interception answers even while the
 * context is offline (`setOffline(true)`), so a reload offline behaves as if a service
 * worker had the page cached. Requests to other origins (the Parley server) go to the network.
 */
export async function servePages(context: BrowserContext, origin: string, files: Record<string, { type: string; body: string }>): Promise<void> {
  // A page that came from interception has no network address, so Chromium's Local Network
  // Access checks would treat it as public and block its requests to the loopback server.
  await context.grantPermissions(['local-network-access'], { origin });
  await context.route(`${origin}/**`, (route) => {
    const file = files[new URL(route.request().url()).pathname];
    return file ? route.fulfill({ status: 200, contentType: file.type, body: file.body }) : route.fulfill({ status: 404, body: 'not found' });
  });
}

/** A page's uncaught errors, so a test can end by asserting there were none. */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}
