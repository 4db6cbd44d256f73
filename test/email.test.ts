import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { AddressObject } from 'mailparser';
import { createEmailChannel, type EmailChannel, type Mail } from '../src/delivery/channels/email.ts';
import { type DigestConversation, type DigestInput, type DigestMessage, renderDigest } from '../src/delivery/email/digest.ts';
import { type LocalSmtp, startLocalSmtp } from './helpers/smtp.ts';

const msg = (over: Partial<DigestMessage> = {}): DigestMessage => ({ senderName: 'Ana', body: 'see you at 8', createdAt: '2026-01-01T23:30:00Z', mentioned: false, ...over });
const conv = (over: Partial<DigestConversation> = {}): DigestConversation => ({ id: 'c1', title: 'Team', unread: 1, url: 'https://parley.test/c/c1', messages: [msg()], ...over });
const digest = (over: Partial<DigestInput> = {}): DigestInput => ({ recipientName: 'Zoë', productName: 'Parley', conversations: [conv()], totalUnread: 1, timeZone: 'UTC', ...over });

const HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "' onmouseover='x", 'Tom & Jerry'];
/** Every tag the template writes; anything else in the html came from the data. */
const TEMPLATE_TAGS = new Set(['!DOCTYPE', 'html', 'head', 'meta', 'title', 'body', 'table', 'tr', 'td', 'div', 'span', 'strong', 'br', 'a']);

describe('renderDigest', () => {
  test('subject counts with singular and plural forms', () => {
    const two = [conv({ unread: 2, messages: [msg(), msg()] }), conv({ id: 'c2', title: 'Ops' })];
    assert.equal(renderDigest(digest({ conversations: two, totalUnread: 3 })).subject, '3 unread messages in 2 conversations');
    assert.equal(renderDigest(digest({ totalUnread: 1 })).subject, '1 unread message in Team');
    const one = renderDigest(digest({ conversations: [conv({ unread: 2, messages: [msg(), msg()] })], totalUnread: 2 }));
    assert.equal(one.subject, '2 unread messages in Team');
    assert.match(one.text, /You have 2 unread messages on Parley\./);
    assert.match(renderDigest(digest()).text, /== Team \(1 unread message\) ==/);
  });

  test('hostile strings are escaped in html and verbatim in text', () => {
    for (const evil of HOSTILE) {
      const r = renderDigest(
        digest({ recipientName: evil, conversations: [conv({ title: evil, messages: [msg({ senderName: evil, body: `before ${evil} after` })] })] }),
      );
      const tags = [...r.html.matchAll(/<\/?([!A-Za-z][^\s>/]*)/g)].map((m) => m[1]!);
      assert.deepEqual(tags.filter((t) => !TEMPLATE_TAGS.has(t)), [], evil);
      assert.ok(!r.html.includes(evil), evil);
      // Text like " onerror=" is harmless; inside a tag it is not.
      assert.deepEqual(r.html.match(/<[^>]*\son\w+=[^>]*>/gi), null, evil);
      const escaped = evil.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
      assert.ok(r.html.includes(`before ${escaped} after`), evil);
      assert.equal(r.text.split(evil).length - 1, 4, `${evil} in greeting, title, sender and body`);
      assert.ok(!/&(amp|lt|gt|quot|#39);/.test(r.text), evil);
    }
  });

  test('only http(s) urls become links', () => {
    const urls = ['javascript:alert(1)', ' JaVaScRiPt:alert(1)', '\tjavascript:alert(1)', 'data:text/html,<b>x</b>', 'vbscript:x', '//evil.test/x', 'not a url'];
    for (const url of urls) {
      const r = renderDigest(digest({ conversations: [conv({ url })] }));
      assert.ok(!r.html.includes('href'), url);
      assert.ok(!/javascript|data:|vbscript|evil/i.test(r.html + r.text), url);
    }
    const r = renderDigest(digest({ conversations: [conv({ url: 'https://parley.test/c/1?q="><x>&a=1' })] }));
    assert.ok(r.html.includes('href="https://parley.test/c/1?q=%22%3E%3Cx%3E&amp;a=1"'));
    assert.ok(r.text.includes('Open: https://parley.test/c/1?q=%22%3E%3Cx%3E&a=1'));
    assert.ok(!renderDigest(digest({ conversations: [conv({ url: null })] })).html.includes('href'));
  });

  test('body line breaks become <br> in html and stay lines in text', () => {
    const r = renderDigest(digest({ conversations: [conv({ messages: [msg({ body: 'one\ntwo\r\nthree <b>\u0007' })] })] }));
    assert.ok(r.html.includes('one<br>two<br>three &lt;b&gt;</div>'));
    assert.ok(r.text.includes('  one\n  two\n  three <b>\n'));
  });

  test('long bodies are cut at 500 code points, never inside a surrogate pair', () => {
    const r = renderDigest(digest({ conversations: [conv({ messages: [msg({ body: '😀'.repeat(2000) })] })] }));
    for (const part of [r.html, r.text]) {
      assert.ok(part.isWellFormed());
      assert.ok(part.includes(`${'😀'.repeat(499)}…`));
      assert.ok(!part.includes('😀'.repeat(500)));
    }
    const short = renderDigest(digest({ conversations: [conv({ messages: [msg({ body: '😀'.repeat(500) })] })] }));
    assert.ok(short.text.includes(`${'😀'.repeat(500)}\n`), 'exactly at the limit is not cut');
    assert.ok(renderDigest(digest({ conversations: [conv({ title: 'a\uD800b' })] })).html.isWellFormed(), 'a lone surrogate in the input');
  });

  test('the subject has no control characters and is capped', () => {
    for (const title of ['Hi\r\nBcc: x@y', 'Hi\nBcc: x@y', 'Hi\rBcc: x@y', 'Hi\u0000\u0085\u2028Bcc: x@y']) {
      const { subject } = renderDigest(digest({ conversations: [conv({ title })] }));
      assert.ok(!/[\p{Cc}\u2028\u2029]/u.test(subject), JSON.stringify(subject));
      assert.equal(subject, '1 unread message in Hi Bcc: x@y');
    }
    const { subject } = renderDigest(digest({ conversations: [conv({ title: 'x'.repeat(1000) })] }));
    assert.ok(Array.from(subject).length <= 150);
    assert.ok(subject.endsWith('…'));
  });

  test('"and N more" when more are unread than shown', () => {
    const r = renderDigest(digest({ conversations: [conv({ unread: 7, messages: [msg(), msg()] })], totalUnread: 7 }));
    assert.ok(r.html.includes('and 5 more'));
    assert.ok(r.text.includes('and 5 more'));
    const all = renderDigest(digest({ conversations: [conv({ unread: 2, messages: [msg(), msg()] })], totalUnread: 2 }));
    assert.ok(!/and \d+ more/.test(all.html + all.text));
  });

  test('times are shown in the recipient time zone', () => {
    const tokyo = renderDigest(digest({ timeZone: 'Asia/Tokyo' }));
    assert.ok(tokyo.html.includes('2 Jan, 08:30'));
    assert.ok(tokyo.text.includes('[2 Jan, 08:30] Ana:'));
    assert.ok(tokyo.text.includes('Times are shown in Asia/Tokyo.'));
    assert.ok(renderDigest(digest({ timeZone: 'UTC' })).text.includes('[1 Jan, 23:30]'));
    const unknown = renderDigest(digest({ timeZone: 'Mars/Olympus_Mons' }));
    assert.ok(unknown.text.includes('[1 Jan, 23:30]') && unknown.text.includes('Times are shown in UTC.'));
  });

  test('mentions are marked, and only mentions', () => {
    const r = renderDigest(digest({ conversations: [conv({ unread: 2, messages: [msg({ senderName: 'Bo', mentioned: true }), msg()] })], totalUnread: 2 }));
    assert.equal(r.html.split('@ mentioned you').length - 1, 1);
    assert.ok(r.text.includes('Bo (mentioned you):'));
    assert.ok(r.text.includes('] Ana:'));
    assert.ok(renderDigest(digest({ recipientName: null })).text.startsWith('Hi,\n'));
  });
});

describe('email channel against a local SMTP server', () => {
  let smtp: LocalSmtp;
  let channel: EmailChannel;
  const to = 'ana@example.test';
  const rendered = renderDigest(digest({ conversations: [conv({ title: 'Tom & <Jerry>', messages: [msg({ body: 'a\nb' })] })] }));
  const mail: Mail = { to, ...rendered };

  before(async () => {
    smtp = await startLocalSmtp();
    channel = createEmailChannel({ url: smtp.url, from: 'Parley <noreply@parley.test>', timeoutMs: 5000 });
  });
  after(async () => {
    await channel.close();
    await smtp.close();
  });

  test('delivers the digest: envelope, headers, html and text parts as sent', async () => {
    assert.deepEqual(await channel.send({ ...mail, headers: { 'List-Unsubscribe': '<https://parley.test/unsubscribe>' } }), { status: 'delivered' });
    const got = (await smtp.waitFor(1)).at(-1)!;
    assert.equal(got.from, 'noreply@parley.test');
    assert.deepEqual(got.to, [to]);
    assert.equal(got.subject, rendered.subject);
    assert.equal(got.html, rendered.html);
    assert.equal(got.text, rendered.text);
    assert.deepEqual((got.headers.get('from') as AddressObject).value, [{ address: 'noreply@parley.test', name: 'Parley' }]);
    assert.deepEqual((got.headers.get('to') as AddressObject).value, [{ address: to, name: '' }]);
    assert.match(got.raw, /^List-Unsubscribe: <https:\/\/parley\.test\/unsubscribe>\r$/m);
  });

  test('non-ASCII subject and body survive the trip', async () => {
    const before = smtp.received.length;
    const text = 'Zoë — 你好 👋\nsecond line';
    const sent: Mail = { to, subject: 'Zoë — 你好 👋', html: `<p>${text}</p>`, text };
    assert.deepEqual(await channel.send(sent), { status: 'delivered' });
    const got = (await smtp.waitFor(before + 1)).at(-1)!;
    assert.equal(got.subject, sent.subject);
    assert.equal(got.html, sent.html);
    assert.equal(got.text, sent.text);
  });

  test('4xx replies retry, 5xx replies fail for good, and the server is usable after', async () => {
    const cases: [number, string][] = [
      [421, 'retry'],
      [450, 'retry'],
      [451, 'retry'],
      [452, 'retry'],
      [503, 'retry'],
      [550, 'failed'],
      [552, 'failed'],
      [553, 'failed'],
      [554, 'failed'],
    ];
    const before = smtp.received.length;
    for (const [code, status] of cases) {
      smtp.failNext(code, `scripted ${code}`);
      const result = await channel.send(mail);
      assert.equal(result.status, status, `${code}`);
      assert.match((result as { reason: string }).reason, new RegExp(`^smtp ${code}: ${code} scripted ${code}`));
    }
    assert.equal(smtp.received.length, before);
    assert.deepEqual(await channel.send(mail), { status: 'delivered' });
    assert.equal(smtp.received.length, before + 1);
  });

  test('failNext(code, message, times) refuses that many', async () => {
    smtp.failNext(451, 'busy', 2);
    assert.equal((await channel.send(mail)).status, 'retry');
    assert.equal((await channel.send(mail)).status, 'retry');
    assert.equal((await channel.send(mail)).status, 'delivered');
  });

  test('a closed port gives retry, never a throw', async () => {
    const gone = await startLocalSmtp();
    await gone.close();
    const dead = createEmailChannel({ url: gone.url, from: 'noreply@parley.test', timeoutMs: 2000 });
    assert.deepEqual(await dead.send(mail), { status: 'retry', reason: 'network: ECONNREFUSED' });
    await dead.close();
  });

  test('a server that never greets times out as retry', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    const slow = createEmailChannel({ url: `smtp://127.0.0.1:${port}`, from: 'noreply@parley.test', timeoutMs: 300 });
    const result = await slow.send(mail);
    assert.equal(result.status, 'retry');
    assert.match((result as { reason: string }).reason, /^network: ETIMEDOUT/);
    await slow.close();
    silent.close();
  });

  test('a recipient that is not one plain address, or a bad header, fails without connecting', async () => {
    const before = smtp.received.length;
    const badTo = ['ana@example.test\r\nRCPT TO:<evil@x.test>', 'ana@example.test\n', 'a@b.test, evil@x.test', 'Ana <ana@example.test>', 'ana', '', 'ana@localhost', 'ana@exa\u0000mple.test'];
    for (const bad of badTo) assert.equal((await channel.send({ ...mail, to: bad })).status, 'failed', JSON.stringify(bad));
    const badHeaders: Record<string, string>[] = [{ Bcc: 'evil@x.test' }, { 'X-Ok': 'a\r\nBcc: evil@x.test' }, { 'X Bad': 'v' }];
    for (const headers of badHeaders) assert.equal((await channel.send({ ...mail, headers })).status, 'failed', JSON.stringify(headers));
    // Nothing reached the server: the next good mail is the only new one.
    assert.deepEqual(await channel.send(mail), { status: 'delivered' });
    assert.equal(smtp.received.length, before + 1);
  });
});
