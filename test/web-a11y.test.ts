import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import type { Actor } from '../src/domain/types.ts';
import { DESKTOP, launchChromium, newContext, PHONE, screenshot, signedIn, type UserPage } from './helpers/web-browser.ts';
import { startWebServer, type WebServer } from './helpers/web-server.ts';

let browser: Browser;
let server: WebServer;
let conversationId: string;
const opened: UserPage[] = [];

const actor = (userId: string): Actor => ({ userId });

before(async () => {
  [browser, server] = await Promise.all([launchChromium(), startWebServer()]);
  // Something to look at: a group with history, a reply, a reaction, an unread notification.
  const s = server.app.services;
  await s.users.upsert('kim', { name: 'Kim Ode' });
  await s.users.upsert('lou', { name: 'Lou Park' });
  const { conversation } = await s.conversations.create(actor('kim'), { kind: 'group', members: ['lou'], title: 'Design review' });
  conversationId = conversation.id;
  const send = (who: string, body: string, extra = {}) => s.messages.send(actor(who), conversationId, { clientMsgId: crypto.randomUUID(), body, ...extra });
  const first = await send('lou', 'The new colours are in the Figma file.', { attachments: [{ url: 'https://files.example/colours.pdf', name: 'colours.pdf', size: 48_213 }] });
  await send('kim', 'Looks good to me.', { replyTo: first.message.id });
  await s.reactions.add(actor('lou'), first.message.id, '🎉');
  await send('lou', '@Kim Ode can you check the dark theme?', { mentions: ['kim'] });
  await s.notifications.send({ userIds: ['kim'], type: 'system', title: 'Welcome to Parley', body: 'Your workspace is ready.', actionUrl: '/preferences' });
});
after(async () => {
  for (const u of opened) await u.context.close();
  await browser.close();
  await server.close();
});

async function seriousViolations(page: Page): Promise<string[]> {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
}

for (const [width, viewport] of [
  ['desktop', DESKTOP],
  ['phone', PHONE],
] as const) {
  // Five axe scans: slow on a busy machine.
  test(`the list, a conversation, the inbox and the preferences pass axe at ${width} width (no serious or critical violations)`, { timeout: 240_000 }, async () => {
    const kim = await signedIn(browser, server.url, 'kim', 'Kim Ode', viewport);
    opened.push(kim);
    const { page } = kim;
    await page.getByRole('link', { name: /Design review/ }).waitFor();
    assert.deepEqual(await seriousViolations(page), [], 'conversation list');
    await screenshot(page, `list-${width}`);

    await page.goto(`/c/${conversationId}`);
    await page.locator('section.messages article', { hasText: 'dark theme' }).waitFor();
    // Kim read up to her own reply; Lou's mention after it is new.
    if (width === 'desktop') {
      const order = await page.locator('section.messages .separator, section.messages article .msg-body').allInnerTexts();
      assert.deepEqual(order.slice(-3), ['Looks good to me.', 'New messages', '@Kim Ode can you check the dark theme?']);
    }
    assert.deepEqual(await seriousViolations(page), [], 'conversation');
    await screenshot(page, `conversation-seeded-${width}`);

    await page.goto('/notifications');
    await page.getByText('Welcome to Parley').waitFor();
    assert.deepEqual(await seriousViolations(page), [], 'notifications');
    await screenshot(page, `notifications-${width}`);

    await page.goto('/preferences');
    await page.getByRole('button', { name: 'Save preferences' }).waitFor();
    assert.deepEqual(await seriousViolations(page), [], 'preferences');
    await screenshot(page, `preferences-${width}`);

    await page.goto(`/c/${conversationId}/members`);
    await page.getByRole('heading', { name: '2 members' }).waitFor();
    assert.deepEqual(await seriousViolations(page), [], 'members');
    await screenshot(page, `members-${width}`);
    assert.deepEqual(kim.errors, []);
  });
}

test('the keyboard alone signs in, opens a conversation, sends, reacts, and saves preferences', async () => {
  const context = await newContext(browser, { viewport: DESKTOP, baseURL: server.url });
  const page = await context.newPage();
  opened.push({ context, page, errors: [] });
  await page.goto('/');
  // Keys pressed before the app has rendered its form go nowhere: wait for the form first.
  const userId = page.getByLabel('User id');
  await userId.waitFor();
  await page.keyboard.press('Tab');
  await page.waitForFunction(() => (globalThis as any).document.activeElement?.labels?.[0]?.textContent?.includes('User id'));
  await page.keyboard.type('lou');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Lou Park');
  await page.keyboard.press('Enter');
  await page.getByRole('link', { name: /Design review/ }).waitFor();

  // Tab until the conversation's link has the focus, then open it.
  const onLink = () => page.evaluate(() => {
    const el = (globalThis as any).document.activeElement;
    return el?.tagName === 'A' && el.textContent.includes('Design review');
  });
  for (let i = 0; i < 15 && !(await onLink()); i++) await page.keyboard.press('Tab');
  assert.ok(await onLink(), 'Tab reaches the conversation');
  await page.keyboard.press('Enter');
  const box = page.getByRole('combobox', { name: 'Message' });
  await box.waitFor();
  await box.focus();
  await page.keyboard.type('Typed without a mouse');
  await page.keyboard.press('Enter');
  await page.locator('section.messages article', { hasText: 'Typed without a mouse' }).waitFor();

  // Reactions: focus reaches the message's actions, and the picker works with arrows and Enter.
  const mine = page.locator('section.messages article', { hasText: 'Typed without a mouse' });
  await mine.getByRole('button', { name: 'Add a reaction' }).focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter');
  await mine.getByRole('button', { name: /❤️ 1/ }).waitFor();

  await page.getByRole('link', { name: 'Preferences' }).focus();
  await page.keyboard.press('Enter');
  const dnd = page.getByLabel(/Do not disturb: hold/);
  await dnd.focus();
  await page.keyboard.press('Space');
  await page.getByRole('button', { name: 'Save preferences' }).focus();
  await page.keyboard.press('Enter');
  await page.getByText('Preferences saved.').waitFor();
  const prefs = await server.app.services.notifications.getPreferences(actor('lou'));
  assert.equal(prefs.doNotDisturb, true);
});
