import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { pgliteBackend } from './helpers/backends.ts';
import { bundlePage, launchBrowser, pageErrors, servePages } from './helpers/browser.ts';
import { type Harness, harness, tokenFor, uid, waitFor } from './helpers/harness.ts';
import { listen } from './helpers/realtime.ts';
import { bodies, sdkClients, synced } from './helpers/sdk.ts';

/** The page's origin: served from memory by interception, so it differs from the server's (CORS). */
const ORIGIN = 'http://localhost:4999';

describe('client in a real browser', () => {
  let h: Harness;
  let url: string;
  let browser: Browser;
  let script: string;
  const clients = sdkClients();
  before(async () => {
    h = await harness(pgliteBackend, { PARLEY_CORS_ORIGINS: ORIGIN });
    url = await listen(h);
    [browser, script] = await Promise.all([launchBrowser(), bundlePage('test/browser/chat-page.ts')]);
  });
  after(async () => {
    await clients.closeAll();
    await browser?.close();
    await h.close();
  });

  /** A new browser profile (its own IndexedDB) on the chat page as `userId`, in `conversationId` with `peer`. */
  async function openChat(userId: string, conversationId: string, peer: string) {
    const context = await browser.newContext();
    await servePages(context, ORIGIN, {
      '/': { type: 'text/html', body: '<!doctype html><meta charset="utf-8"><div id="root"></div><script type="module" src="/chat.js"></script>' },
      '/chat.js': { type: 'text/javascript', body: script },
    });
    const page = await context.newPage();
    const errors = pageErrors(page);
    const hash = encodeURIComponent(JSON.stringify({ url, token: await tokenFor(userId), conversationId, peer }));
    await page.goto(`${ORIGIN}/#${hash}`);
    return { context, page, errors };
  }
  const text = (page: Page, id: string) => page.locator(`#${id}`).innerText();
  async function until(page: Page, id: string, want: (t: string) => boolean, what: string) {
    let last = '';
    try {
      await waitFor(
        async () => {
          last = await text(page, id);
          return want(last);
        },
        15_000,
        what,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}: #${id} shows ${JSON.stringify(last)}`);
    }
  }
  /** b (a Node client) makes a group with a, who opens the chat page in the browser. */
  async function scene(title: string) {
    const aId = uid('a');
    const bId = uid('b');
    const b = clients.make({ url, token: await tokenFor(bId), transport: 'ws' });
    await synced(b);
    const conv = await b.createConversation({ kind: 'group', members: [aId], title });
    const chat = await openChat(aId, conv.id, bId);
    await until(chat.page, 'status', (t) => t === 'connected synced', 'connected');
    return { aId, bId, b, conv, ...chat };
  }
  const renders = (page: Page, name: string) => page.evaluate((n) => (globalThis as unknown as { renders: Record<string, number> }).renders[n]!, name);

  test('React hooks follow live events; typing and presence do not re-render the message list', async () => {
    const { aId, bId, b, conv, page, errors, context } = await scene('Hooks');
    await until(page, 'title', (t) => t === 'Hooks', 'useConversation');

    b.send(conv.id, 'hi from b');
    await until(page, 'messages', (t) => t === 'hi from b', 'useMessages');
    await until(page, 'conversations', (t) => t === 'Hooks: hi from b', 'useConversations');
    await until(page, 'unread', (t) => t === '1', 'useUnread');
    await until(page, 'presence', (t) => t === `${bId}:online`, 'usePresence');

    const listRenders = await renders(page, 'messages');
    b.startTyping(conv.id);
    await until(page, 'typing', (t) => t === bId, 'useTyping');
    await b.setPresence({ status: 'busy' });
    await until(page, 'presence', (t) => t === `${bId}:busy`, 'presence update');
    assert.equal(await renders(page, 'messages'), listRenders, 'typing and presence left the message list alone');

    // The invitation is drained from the outbox in the background: it must be in before the
    // admin's, or the two are as new as the machine's load made them.
    await until(page, 'inbox', (t) => t === `1:${bId} added you to Hooks`, 'useNotifications: the invitation');
    const sent = await h.admin().post('/v1/notifications', { userIds: [aId], type: 'system', title: 'Hello', body: 'from the admin' });
    assert.equal(sent.status, 201);
    // Newest first: the admin's, then the group_invite b's conversation made.
    await until(page, 'inbox', (t) => t === `2:Hello|${bId} added you to Hooks`, 'useNotifications');

    // useSendMessage: the other side gets it once; here it turns from pending to sent.
    await b.openConversation(conv.id);
    await page.evaluate(() => (globalThis as unknown as { chat: { send(t: string): void } }).chat.send('hi from a'));
    await waitFor(() => bodies(b, conv.id).includes('hi from a'), 15_000, 'b got it');
    await until(page, 'messages', (t) => t === 'hi from b\nhi from a', 'sent');
    assert.equal(await page.locator('#messages li[data-state="sent"]').count(), 2);
    await until(page, 'typing', (t) => t === '', 'typing cleared by the message');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('offline: sends show pending, survive a reload, and arrive once, in order, when back online', async () => {
    const { bId, b, conv, page, context, errors } = await scene('Offline');
    await b.openConversation(conv.id);

    await context.setOffline(true);
    await until(page, 'status', (t) => t === 'offline', 'offline');
    await page.evaluate(() => {
      const chat = (globalThis as unknown as { chat: { send(t: string): void } }).chat;
      for (const t of ['o1', 'o2', 'o3']) chat.send(t);
    });
    await until(page, 'messages', (t) => t === 'o1\no2\no3', 'shown at once');
    assert.equal(await page.locator('#messages li[data-state="pending"]').count(), 3);
    await page.evaluate(() => (globalThis as unknown as { chat: { persisted(): Promise<void> } }).chat.persisted());

    // Still offline, the page is reloaded (served from memory, as a service worker would).
    await page.reload();
    await until(page, 'status', (t) => t === 'offline', 'offline after the reload');
    await until(page, 'messages', (t) => t === 'o1\no2\no3', 'pending after the reload');
    assert.equal(await page.locator('#messages li[data-state="pending"]').count(), 3);
    assert.deepEqual(bodies(b, conv.id), [], 'nothing left while offline');

    await context.setOffline(false);
    await waitFor(() => bodies(b, conv.id).length === 3, 15_000, 'b got them');
    await until(page, 'messages', (t) => t === 'o1\no2\no3', 'sent');
    assert.equal(await page.locator('#messages li[data-state="sent"]').count(), 3);
    const history = await h.as(bId).get(`/v1/conversations/${conv.id}/messages`);
    assert.deepEqual(
      history.body.messages.map((m: { body: string }) => m.body),
      ['o1', 'o2', 'o3'],
      'exactly once each, in send order',
    );
    assert.deepEqual(bodies(b, conv.id), ['o1', 'o2', 'o3']);
    assert.deepEqual(errors, []);
    await context.close();
  });
});
