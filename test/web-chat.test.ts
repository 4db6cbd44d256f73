import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, PHONE, screenshot, signedIn, type UserPage } from './helpers/web-browser.ts';
import { startWebServer, type WebServer } from './helpers/web-server.ts';

let browser: Browser;
let server: WebServer;
const users: UserPage[] = [];

before(async () => {
  [browser, server] = await Promise.all([launchChromium(), startWebServer()]);
});
after(async () => {
  for (const u of users) await u.context.close();
  await browser.close();
  await server.close();
});

async function user(id: string, name: string, viewport?: { width: number; height: number }): Promise<Page> {
  const u = await signedIn(browser, server.url, id, name, viewport);
  users.push(u);
  return u.page;
}

const list = (page: Page) => page.getByRole('list', { name: 'Conversation list' });
const log = (page: Page) => page.locator('section.messages');
const message = (page: Page, text: string) => log(page).getByRole('article').filter({ hasText: text });

async function startDirect(page: Page, peer: string): Promise<string> {
  await page.getByRole('link', { name: 'New', exact: true }).click();
  await page.getByLabel('User id').fill(peer);
  await page.getByRole('button', { name: 'Start conversation' }).click();
  await page.waitForURL(/\/c\/[0-9a-f-]{36}$/);
  return page.url().split('/c/')[1]!;
}

async function send(page: Page, text: string): Promise<void> {
  const box = page.getByRole('combobox', { name: /Message|Reply to/ });
  await box.fill(text);
  await box.press('Enter');
}

test('two users chat live: messages, typing, receipts, reactions, an edit and a delete show on the other side', async () => {
  const ana = await user('ana', 'Ana');
  const bob = await user('bob', 'Bob');
  const id = await startDirect(ana, 'bob');
  await send(ana, 'Hello Bob');
  await message(ana, 'Hello Bob').getByText('✓').first().waitFor();

  // Bob sees the new conversation and its unread badge without reloading.
  const item = list(bob).getByRole('link', { name: /Ana, 1 unread/ });
  await item.waitFor();
  // The title follows in an effect of its own: wait for it rather than read it at once.
  await bob.waitForFunction(() => (globalThis as unknown as { document: { title: string } }).document.title.startsWith('(1) '));
  assert.match(await bob.title(), /^\(1\) /, 'the unread total leads the page title');
  assert.match(await item.innerText(), /Hello Bob/);
  await item.click();
  await message(bob, 'Hello Bob').waitFor();

  // Read receipt: Bob read it, Ana sees "Seen by Bob".
  await message(ana, 'Hello Bob').getByText('Seen by Bob').waitFor();

  // Typing.
  await bob.getByRole('combobox', { name: 'Message' }).pressSequentially('Hi Ana', { delay: 20 });
  await ana.getByText('Bob is typing…').waitFor();
  await bob.getByRole('combobox', { name: 'Message' }).press('Enter');
  await message(ana, 'Hi Ana').waitFor();
  await ana.getByText('Bob is typing…').waitFor({ state: 'detached' });

  // A reaction from Bob on Ana's message.
  const onBob = message(bob, 'Hello Bob');
  await onBob.hover();
  await onBob.getByRole('button', { name: 'Add a reaction' }).click();
  await bob.getByRole('button', { name: 'React with 👍' }).click();
  await message(ana, 'Hello Bob').getByRole('button', { name: /👍 1, by Bob/ }).waitFor();

  // Ana edits, then deletes; Bob sees both.
  const mine = message(ana, 'Hello Bob');
  await mine.hover();
  await mine.getByRole('button', { name: 'Edit message' }).click();
  const box = ana.getByRole('combobox', { name: 'Edit message' });
  await box.fill('Hello Bob, edited');
  await box.press('Enter');
  await message(bob, 'Hello Bob, edited').getByText('(edited)').waitFor();

  ana.once('dialog', (d) => void d.accept());
  const edited = message(ana, 'Hello Bob, edited');
  await edited.hover();
  await edited.getByRole('button', { name: 'Delete message' }).click();
  await message(bob, 'This message was deleted').waitFor();
  assert.equal(await message(bob, 'Hello Bob, edited').count(), 0);

  // A reply with a quote, and a mention picked from the autocomplete.
  const hi = message(ana, 'Hi Ana');
  await hi.hover();
  await hi.getByRole('button', { name: 'Reply to Bob' }).click();
  const reply = ana.getByRole('combobox', { name: 'Reply to Bob' });
  await reply.pressSequentially('Sure @Bo');
  await ana.getByRole('option', { name: /Bob/ }).waitFor();
  await reply.press('Enter');
  await reply.press('Enter');
  const quoted = message(bob, 'Sure @Bob');
  await quoted.getByRole('button', { name: /Reply to Bob: Hi Ana/ }).waitFor();
  await quoted.locator('.mention', { hasText: '@Bob' }).waitFor();

  await screenshot(ana, 'conversation-desktop');
  await screenshot(bob, 'conversation-list-desktop');

  // Presence and a custom status, set by Ana, seen by Bob in the conversation's header.
  await ana.getByRole('link', { name: 'Preferences' }).click();
  await ana.getByLabel('Presence').selectOption('busy');
  await ana.getByLabel('Custom status').fill('In a meeting');
  await ana.getByRole('button', { name: 'Save status' }).click();
  await ana.getByText('Status saved.').waitFor();
  await bob.getByRole('heading', { name: /Ana.*busy · In a meeting/ }).waitFor();
  assert.ok(id);
});

test('a group of three: "Seen by" fills in as each member reads', async () => {
  const [dan, eve, fay] = await Promise.all([user('dan', 'Dan'), user('eve', 'Eve'), user('fay', 'Fay', PHONE)]);
  await dan.getByRole('link', { name: 'New', exact: true }).click();
  await dan.getByLabel('Group').check();
  await dan.getByLabel('Title').fill('Trip');
  await dan.getByLabel('Members').fill('eve, fay');
  await dan.getByRole('button', { name: 'Start conversation' }).click();
  await dan.waitForURL(/\/c\//);
  await send(dan, 'Who is in?');
  const mine = message(dan, 'Who is in?');
  await mine.getByText('✓').first().waitFor();
  assert.equal(await mine.getByText(/Seen by/).count(), 0);

  await list(eve).getByRole('link', { name: /Trip, 1 unread/ }).click();
  await message(eve, 'Who is in?').waitFor();
  await mine.getByText('Seen by Eve').waitFor();

  await screenshot(fay, 'conversation-list-phone');
  await list(fay).getByRole('link', { name: /Trip, 1 unread/ }).click();
  await message(fay, 'Who is in?').waitFor();
  await mine.getByText('Seen by Eve and Fay').waitFor();
  await screenshot(fay, 'conversation-phone');
  for (const u of users) assert.deepEqual(u.errors, []);
});

test('a group larger than its first 100 members lists the rest on request', async () => {
  const others = Array.from({ length: 129 }, (_, k) => `crowd-${String(k).padStart(3, '0')}`);
  const { conversation } = await server.app.services.conversations.create({ userId: 'gil' }, { kind: 'group', members: others, title: 'Crowd' });
  const gil = await user('gil', 'Gil');
  await gil.goto(`/c/${conversation.id}/members`);
  await gil.getByRole('heading', { name: '130 members' }).waitFor();
  const rows = gil.locator('ul.members > li');
  const more = gil.getByRole('button', { name: 'Show more members' });
  await more.waitFor();
  assert.equal(await rows.count(), 100);
  await more.click();
  await rows.nth(129).waitFor();
  assert.equal(await rows.count(), 130);
  // In join order, each once: all joined at the group's creation, so by user id.
  const ids = await gil.locator('ul.members > li .name .hint').allInnerTexts();
  assert.deepEqual(ids, [...others, 'gil'].sort());
  assert.equal(await more.count(), 0);
  // The pages stay live: a member past the first 100 who leaves leaves the list.
  const leaving = others.at(-1)!;
  await server.app.services.members.remove({ userId: leaving }, conversation.id, leaving);
  await gil.getByRole('heading', { name: '129 members' }).waitFor();
  await rows.nth(129).waitFor({ state: 'detached' });
  assert.equal(await rows.count(), 129);
  assert.deepEqual(await gil.locator('ul.members > li .name .hint').allInnerTexts(), ids.filter((u) => u !== leaving));
  assert.deepEqual(users.at(-1)!.errors, []);
});

test('a send the server refuses shows why, and can be retried or discarded', async () => {
  const gus = await user('gus', 'Gus');
  await startDirect(gus, 'hal');
  // Longer than a message may be (10,000 code points): refused for good, not retried by itself.
  await send(gus, 'x'.repeat(10_001));
  const failed = gus.getByRole('alert').filter({ hasText: 'Not sent:' });
  await failed.waitFor();
  await failed.getByRole('button', { name: 'Retry' }).click();
  await failed.waitFor();
  await failed.getByRole('button', { name: 'Discard' }).click();
  await failed.waitFor({ state: 'detached' });
  assert.equal(await log(gus).getByRole('article').count(), 0);
  await send(gus, 'A shorter one');
  await message(gus, 'A shorter one').getByText('✓').first().waitFor();
});

test('the bell: live unread count, the inbox, mark one and all read, open the action', async () => {
  const ivy = await user('ivy', 'Ivy');
  const notify = (title: string, actionUrl?: string) =>
    server.app.services.notifications.send({ userIds: ['ivy'], type: 'system', title, body: `${title} body`, ...(actionUrl ? { actionUrl } : {}) });
  await notify('First news', '/preferences');
  await ivy.getByRole('link', { name: 'Notifications, 1 unread' }).waitFor();
  await notify('Second news');
  await notify('Third news');
  const bell = ivy.getByRole('link', { name: 'Notifications, 3 unread' });
  await bell.click();
  await ivy.getByRole('button', { name: 'Mark "Second news" read' }).click();
  await ivy.getByRole('link', { name: 'Notifications, 2 unread' }).waitFor();
  await screenshot(ivy, 'notifications-live-desktop');
  await ivy.getByRole('button', { name: 'Mark all read' }).click();
  await ivy.getByRole('link', { name: 'Notifications', exact: true }).waitFor();
  await ivy.getByRole('listitem').filter({ hasText: 'First news' }).getByRole('button', { name: 'Open' }).click();
  await ivy.waitForURL(/\/preferences$/);
  await ivy.getByRole('heading', { name: 'Preferences' }).waitFor();
});
