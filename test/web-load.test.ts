import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, signedIn } from './helpers/web-browser.ts';
import { startWebServer, type WebServer } from './helpers/web-server.ts';

let browser: Browser;
let server: WebServer;

before(async () => {
  [browser, server] = await Promise.all([launchChromium(), startWebServer()]);
  await server.app.services.conversations.create({ userId: 'ana' }, { kind: 'direct', members: ['bob'] });
});
after(async () => {
  await browser.close();
  await server.close();
});

interface Loaded {
  url: string;
  type: string;
  encoded: number;
}

test('first load: the JavaScript and CSS it transfers, and the time until the app is usable (printed)', async () => {
  const ana = await signedIn(browser, server.url, 'ana', 'Ana');
  const { page, context } = ana;
  for (const encoding of ['gzip', 'br']) {
    // A cold cache each time: a new page in a context that only keeps the session.
    const fresh = await context.newPage();
    const cdp = await context.newCDPSession(fresh);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'accept-encoding': encoding } });
    const types = new Map<string, { url: string; type: string }>();
    const loaded: Loaded[] = [];
    cdp.on('Network.responseReceived', (e: any) => types.set(e.requestId, { url: e.response.url, type: e.type }));
    cdp.on('Network.loadingFinished', (e: any) => {
      const t = types.get(e.requestId);
      if (t) loaded.push({ ...t, encoded: e.encodedDataLength });
    });
    await fresh.goto('/');
    await fresh.getByRole('link', { name: /bob/i }).waitFor();
    const tti = await fresh.evaluate(() => {
      const mark = performance.getEntriesByName('parley:interactive')[0];
      const nav = (performance as any).getEntriesByType('navigation')[0];
      return { interactive: mark?.startTime ?? null, domContentLoaded: nav.domContentLoadedEventEnd as number };
    });
    const sum = (type: string) => loaded.filter((l) => l.type === type && new URL(l.url).origin === server.url).reduce((a, l) => a + l.encoded, 0);
    const js = sum('Script');
    const css = sum('Stylesheet');
    console.log(
      `# first load (${encoding}): JS ${(js / 1024).toFixed(1)} KiB, CSS ${(css / 1024).toFixed(1)} KiB transferred (with headers); ` +
        `DOMContentLoaded ${tti.domContentLoaded.toFixed(0)} ms, interactive (conversations shown) ${tti.interactive?.toFixed(0)} ms`,
    );
    assert.ok(js > 0 && css > 0, 'the app loaded its script and style');
    assert.ok(tti.interactive !== null, 'the app marks when it is usable');
    await cdp.detach();
    await fresh.close();
  }
  assert.deepEqual(ana.errors, []);
  await page.close();
  await context.close();
});
