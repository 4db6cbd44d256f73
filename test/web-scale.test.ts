import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, screenshot, signedIn, type UserPage } from './helpers/web-browser.ts';
import { startWebServer, type WebServer } from './helpers/web-server.ts';

const COUNT = Number(process.env.WEB_SCALE_MESSAGES ?? 10_000);
let browser: Browser;
let server: WebServer;
let ana: UserPage;
let conversationId: string;

// Seeding and paging through 10,000 messages take a while on a busy machine: deadlines of their own.
before(async () => {
  [browser, server] = await Promise.all([launchChromium(), startWebServer()]);
  const s = server.app.services;
  conversationId = (await s.conversations.create({ userId: 'ana' }, { kind: 'direct', members: ['bob'] })).conversation.id;
  // Sends that arrive together share a transaction (group commit): a few hundred at a time.
  const started = Date.now();
  for (let i = 0; i < COUNT; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, COUNT - i) }, (_, j) => {
        const n = i + j + 1;
        const who = n % 3 === 0 ? 'ana' : 'bob';
        const body = n % 7 === 0 ? `Message ${n}: a longer one that wraps onto a second line at most widths, to give the list rows of different heights.` : `Message ${n}`;
        return s.messages.send({ userId: who }, conversationId, { clientMsgId: `seed-${n}`, body });
      }),
    );
  }
  console.log(`# seeded ${COUNT} messages in ${Date.now() - started} ms`);
  ana = await signedIn(browser, server.url, 'ana', 'Ana');
}, { timeout: 300_000 });
after(async () => {
  await ana.context.close();
  await browser.close();
  await server.close();
});

test(`a conversation of ${COUNT} messages stays small in the DOM and scrolls smoothly (measured, printed)`, { timeout: 300_000 }, async () => {
  const { page } = ana;
  await page.goto(`/c/${conversationId}`);
  const log = page.locator('section.messages');
  await log.locator('article', { hasText: `Message ${COUNT}` }).waitFor();

  // Scroll to the top until the whole history is loaded, as a reader going back would
  // (each time the top comes near, the app asks for the page before).
  const loadStarted = Date.now();
  await page.waitForFunction(
    () => {
      const el = (globalThis as any).document.querySelector('section.messages');
      el.scrollTop = 0;
      return el.textContent.includes('This is the beginning of the conversation.');
    },
    undefined,
    { polling: 50, timeout: 100_000 },
  );
  const loadMs = Date.now() - loadStarted;
  const fetches = await page.evaluate(() =>
    (performance as any)
      .getEntriesByType('resource')
      .filter((e: any) => e.name.includes('/messages'))
      .map((e: any) => [Math.round(e.startTime), Math.round(e.duration)]),
  );
  console.log(`# history requests: ${fetches.length}; first ${JSON.stringify(fetches.slice(0, 8))}; last ${JSON.stringify(fetches.slice(-8))}`);
  await log.evaluate((el: any) => {
    el.scrollTop = 0;
  });
  await log.locator('.msg-body', { hasText: /^Message 1$/ }).waitFor();

  const dom = await page.evaluate(() => ({
    nodes: (globalThis as any).document.getElementsByTagName('*').length,
    articles: (globalThis as any).document.querySelectorAll('section.messages article').length,
  }));

  // A fast fling from the top towards the bottom, 1,500 px a frame for up to 600 frames,
  // timing each frame: every frame brings rows never rendered (nor measured) before. (A string: tsx
  // would wrap a named function in a helper the page does not have.)
  const frames = (await page.evaluate(`new Promise((resolve) => {
    const el = document.querySelector('section.messages');
    el.scrollTop = 0;
    const times = [];
    let last = performance.now();
    const step = () => {
      const now = performance.now();
      times.push(now - last);
      last = now;
      if (el.scrollTop + el.clientHeight >= el.scrollHeight - 1 || times.length > 600) return resolve(times.slice(1));
      el.scrollTop += 1500;
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  })`)) as number[];
  const sorted = [...frames].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!.toFixed(1);
  console.log(
    `# ${COUNT} messages: DOM ${dom.nodes} elements, ${dom.articles} message rows rendered; history loaded in ${loadMs} ms; ` +
      `scroll sweep ${frames.length} frames, frame time p50 ${pct(50)} ms, p95 ${pct(95)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms, ` +
      `${frames.filter((f) => f > 50).length} frames over 50 ms`,
  );
  await screenshot(page, 'conversation-10k-desktop');
  // What virtualisation promises: the rows in the DOM do not grow with the history.
  assert.ok(dom.articles < 200, `${dom.articles} rows in the DOM`);
  assert.ok(dom.nodes < 5000, `${dom.nodes} elements in the DOM`);
  assert.deepEqual(ana.errors, []);
});
