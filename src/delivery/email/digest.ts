export interface DigestMessage { senderName: string; body: string; createdAt: string /* ISO */; mentioned: boolean; deleted?: never }
export interface DigestConversation { id: string; title: string; unread: number; url: string | null; messages: DigestMessage[] /* newest last, at most a few shown */ }
export interface DigestInput { recipientName: string | null; productName: string; conversations: DigestConversation[]; totalUnread: number; timeZone: string /* IANA, e.g. 'UTC' */ }
export interface RenderedMail { subject: string; html: string; text: string }

const MAX_BODY = 500;
const MAX_SUBJECT = 150;
const MAX_LINE = 120;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** Counts and cuts in code points so an emoji is never split into a lone surrogate. */
function truncate(s: string, max: number): string {
  const points = Array.from(s);
  return points.length <= max ? s : `${points.slice(0, max - 1).join('').trimEnd()}…`;
}

// toWellFormed: a lone surrogate from the client would become U+FFFD in UTF-8 anyway, say so up front.
/** One-line fields (names, titles): any control character, newlines included, becomes a space. */
const oneLine = (s: string, max = MAX_LINE) => truncate(s.toWellFormed().replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').trim(), max);
/** Bodies keep their line breaks; other control characters are dropped. */
const multiLine = (s: string) =>
  truncate(
    s
      .toWellFormed()
      .replace(/\r\n?|[\u2028\u2029]/g, '\n')
      .replace(/[^\P{Cc}\n\t]/gu, '')
      .trim(),
    MAX_BODY,
  );

/** Only http(s) may become a link: javascript:, data: and friends are dropped, not shown. */
function safeUrl(url: string | null): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/** Counts come from the database, but a NaN or negative one must not print as such. */
const count = (n: number) => (Number.isFinite(n) && n > 0 ? Math.floor(n) : 0);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** An unknown zone (stale user setting) falls back to UTC instead of throwing the whole digest away. */
function timeFormatter(timeZone: string): { zone: string; format(iso: string): string } {
  const options: Intl.DateTimeFormatOptions = { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-GB', { ...options, timeZone });
  } catch {
    fmt = new Intl.DateTimeFormat('en-GB', { ...options, timeZone: 'UTC' });
  }
  return {
    zone: fmt.resolvedOptions().timeZone,
    format(iso) {
      const at = Date.parse(iso);
      return Number.isNaN(at) ? '' : fmt.format(at);
    },
  };
}

interface Shown { sender: string; time: string; body: string; mentioned: boolean }
interface Section { title: string; unread: number; url: string | null; messages: Shown[]; more: number }

/** Everything user-supplied is cleaned once here, so both parts show the same thing. */
function prepare(d: DigestInput) {
  const time = timeFormatter(d.timeZone);
  const sections: Section[] = d.conversations.map((c) => {
    const messages = c.messages.map((m) => ({ sender: oneLine(m.senderName) || 'Someone', time: time.format(m.createdAt), body: multiLine(m.body), mentioned: m.mentioned === true }));
    const unread = Math.max(count(c.unread), messages.length);
    return { title: oneLine(c.title) || 'Untitled conversation', unread, url: safeUrl(c.url), messages, more: unread - messages.length };
  });
  const total = count(d.totalUnread);
  const product = oneLine(d.productName, 60) || 'Parley';
  const recipient = d.recipientName === null ? '' : oneLine(d.recipientName, 60);
  return { sections, total, product, recipient, zone: time.zone };
}

function subjectOf(total: number, sections: Section[]): string {
  const head = plural(total, 'unread message');
  // With one conversation its title says more than "in 1 conversation".
  const where = sections.length === 1 ? sections[0]!.title : plural(sections.length, 'conversation');
  // Titles are one-lined already; the subject is a header, so check again where it is built.
  const subject = `${head} in ${where}`.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ');
  return truncate(subject, MAX_SUBJECT);
}

const FONT = "font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const MUTED = 'color:#6b7280';

function htmlSection(s: Section): string {
  const messages = s.messages
    .map((m) => {
      const badge = m.mentioned ? ` <span style="background:#fde68a;color:#78350f;border-radius:4px;padding:0 6px;font-size:12px;">@ mentioned you</span>` : '';
      const accent = m.mentioned ? 'border-left:3px solid #f59e0b;padding-left:8px;' : '';
      return (
        `<div style="margin-top:12px;${accent}">` +
        `<div style="font-size:13px;${MUTED};"><strong style="color:#111827;">${escapeHtml(m.sender)}</strong>${m.time ? ` · ${escapeHtml(m.time)}` : ''}${badge}</div>` +
        `<div style="font-size:14px;line-height:1.5;margin-top:2px;word-break:break-word;">${escapeHtml(m.body).replace(/\n/g, '<br>')}</div>` +
        `</div>`
      );
    })
    .join('');
  const more = s.more > 0 ? `<div style="margin-top:12px;font-size:13px;${MUTED};">and ${s.more} more</div>` : '';
  const link = s.url
    ? `<div style="margin-top:14px;"><a href="${escapeHtml(s.url)}" style="background:#2563eb;color:#ffffff;text-decoration:none;border-radius:6px;padding:8px 14px;font-size:14px;display:inline-block;">Open conversation</a></div>`
    : '';
  return (
    `<tr><td style="padding:16px 24px;border-top:1px solid #e5e7eb;">` +
    `<div style="font-size:16px;font-weight:bold;color:#111827;">${escapeHtml(s.title)} <span style="font-weight:normal;font-size:13px;${MUTED};">${plural(s.unread, 'unread message')}</span></div>` +
    `${messages}${more}${link}</td></tr>`
  );
}

function textSection(s: Section): string {
  const lines = [`== ${s.title} (${plural(s.unread, 'unread message')}) ==`];
  for (const m of s.messages) {
    lines.push(`${m.time ? `[${m.time}] ` : ''}${m.sender}${m.mentioned ? ' (mentioned you)' : ''}:`);
    lines.push(...m.body.split('\n').map((l) => `  ${l}`));
  }
  if (s.more > 0) lines.push(`and ${s.more} more`);
  if (s.url) lines.push(`Open: ${s.url}`);
  return lines.join('\n');
}

/** The email digest of unread messages. Pure: the caller fetches, this only renders. */
export function renderDigest(d: DigestInput): RenderedMail {
  const { sections, total, product, recipient, zone } = prepare(d);
  const subject = subjectOf(total, sections);
  const greeting = recipient ? `Hi ${recipient},` : 'Hi,';
  const intro = `You have ${plural(total, 'unread message')} on ${product}.`;
  const footer = `Times are shown in ${zone}. You get this email because you have unread messages on ${product}.`;

  const html =
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>${escapeHtml(subject)}</title></head>` +
    `<body style="margin:0;padding:0;background:#f3f4f6;">` +
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f4f6;"><tr><td align="center" style="padding:24px 12px;">` +
    `<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="max-width:600px;width:100%;background:#ffffff;border-radius:8px;${FONT};color:#111827;">` +
    `<tr><td style="padding:24px 24px 16px;font-size:15px;line-height:1.5;">${escapeHtml(greeting)}<br>${escapeHtml(intro)}</td></tr>` +
    sections.map(htmlSection).join('') +
    `<tr><td style="padding:16px 24px 24px;border-top:1px solid #e5e7eb;font-size:12px;${MUTED};">${escapeHtml(footer)}</td></tr>` +
    `</table></td></tr></table></body></html>`;

  const text = [greeting, '', intro, '', ...sections.map((s) => `${textSection(s)}\n`), '--', footer, ''].join('\n');
  return { subject, html, text };
}
