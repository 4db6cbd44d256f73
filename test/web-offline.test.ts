import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { waitFor } from './helpers/harness.ts';
import { launchChromium, screenshot, signedIn, type UserPage, WAIT_MS } from './helpers/web-browser.ts';
import { startWebServer, type WebServer } from './helpers/web-server.ts';

let browser: Browser;
let server: WebServer;
let ana: UserPage;
let bob: UserPage;
let conversationId: string;

before(async () => {
  [browser, server] = await Promise.all([launchChromium(), startWebServer()]);
  [ana, bob] = await Promise.all([signedIn(browser, server.url, 'ana', 'Ana'), signedIn(browser, server.url, 'bob', 'Bob')]);
  conversationId = (await server.app.services.conversations.create({ userId: 'ana' }, { kind: 'direct', members: ['bob'] })).conversation.id;
  await ana.page.goto(`/c/${conversationId}`);
  await bob.page.goto(`/c/${conversationId}`);
});
after(async () => {
  await ana.context.close();
  await bob.context.close();
  await browser.close();
  await server.close();
});

const bodies = (page: Page) => page.locator('section.messages article .msg-body').allInnerTexts();

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole('combobox', { name: 'Message' });
  await box.fill(text);
  await box.press('Enter');
}

/** What the server stored, in order: the truth the pages are checked against. */
async function stored(): Promise<string[]> {
  const { messages } = await server.app.services.messages.list({ userId: 'bob' }, conversationId, { limit: 200 });
  return messages.sort((a, b) => a.seq - b.seq).map((m) => m.body);
}

test('offline: three messages queue and say so; back online, the other side gets them once, in order', async () => {
  await ana.context.setOffline(true);
  await ana.page.getByRole('status').filter({ hasText: 'You are offline' }).waitFor();
  for (const text of ['one', 'two', 'three']) await send(ana.page, text);
  await ana.page.getByText('3 messages will be sent when you are back').waitFor();
  assert.equal(await ana.page.getByText('Waiting for the connection…').count(), 3);
  await screenshot(ana.page, 'offline-queued-desktop');

  await ana.context.setOffline(false);
  await bob.page.locator('section.messages article', { hasText: 'three' }).waitFor();
  await ana.page.getByText('Waiting for the connection…').first().waitFor({ state: 'detached' });
  assert.deepEqual(await bodies(bob.page), ['one', 'two', 'three']);
  assert.deepEqual(await stored(), ['one', 'two', 'three']);
});

test('a reload with messages still pending sends them once', async () => {
  await ana.context.setOffline(true);
  await ana.page.getByRole('status').filter({ hasText: 'You are offline' }).waitFor();
  await send(ana.page, 'four');
  await send(ana.page, 'five');
  await ana.page.getByText('2 messages will be sent when you are back').waitFor();
  // The reload itself fails while offline: only what the app kept survives it.
  await ana.page.reload().catch(() => undefined);
  await ana.context.setOffline(false);
  await ana.page.goto(`/c/${conversationId}`);
  await bob.page.locator('section.messages article', { hasText: 'five' }).waitFor();

  // Sent and reloaded at once: whether the send got out before the page went away or not, once.
  await send(ana.page, 'six');
  await ana.page.reload();
  await bob.page.locator('section.messages article', { hasText: 'six' }).waitFor();
  await ana.page.locator('section.messages article', { hasText: 'six' }).waitFor();
  await ana.page.getByText('Waiting for the connection…').waitFor({ state: 'detached' });
  await ana.page.getByText('Sending…').waitFor({ state: 'detached' });

  const expected = ['one', 'two', 'three', 'four', 'five', 'six'];
  assert.deepEqual(await stored(), expected);
  assert.deepEqual(await bodies(bob.page), expected);
  assert.deepEqual(await bodies(ana.page), expected);
  assert.deepEqual([...ana.errors, ...bob.errors], []);
});

test('the network drops while the connection is still being made: back online, it connects at once and sends', async () => {
  const carol = await signedIn(browser, server.url, 'carol', 'Carol');
  try {
    const id = (await server.app.services.conversations.create({ userId: 'carol' }, { kind: 'direct', members: ['bob'] })).conversation.id;
    // The next page's first WebSocket opens but is never answered (no `ready`): an attempt
    // still under way when the network goes. Later ones reach the server.
    let hold = true;
    let held = false;
    await carol.context.routeWebSocket(/\/v1\/ws/, (ws) => {
      if (!hold) return void ws.connectToServer();
      held = true;
    });
    await carol.page.goto(`/c/${id}`);
    await carol.page.getByRole('combobox', { name: 'Message' }).waitFor();
    await waitFor(() => held, WAIT_MS, 'the first WebSocket, held');

    await carol.context.setOffline(true);
    await carol.page.getByRole('status').filter({ hasText: 'You are offline' }).waitFor();
    await send(carol.page, 'while offline');
    await carol.page.getByText('Waiting for the connection…').waitFor();
    hold = false;
    await carol.context.setOffline(false);
    // The unanswered attempt times out long after this (15 s) and is ignored: `online` started a new one.
    await carol.page.getByText('Waiting for the connection…').waitFor({ state: 'detached' });
    await carol.page.getByText('Sending…').waitFor({ state: 'detached' });
    const { messages } = await server.app.services.messages.list({ userId: 'bob' }, id, { limit: 10 });
    assert.deepEqual(
      messages.map((m) => m.body),
      ['while offline'],
    );
    assert.deepEqual(carol.errors, []);
  } finally {
    await carol.context.close();
  }
});
