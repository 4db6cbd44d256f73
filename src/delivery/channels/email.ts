import { createTransport, type NodemailerError } from 'nodemailer';
import type { DeliveryResult } from '../channel.ts';

export interface Mail { to: string; subject: string; html: string; text: string; headers?: Record<string, string> }
export interface EmailChannel { send(mail: Mail): Promise<DeliveryResult>; close(): Promise<void> }

/**
 * One bare address, no display name and no list: nodemailer parses `to` as an address list,
 * so a comma, an angle bracket or a line break here would let the data add recipients.
 */
const ADDRESS_RE = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:".]+(?:\.[^\s@<>()[\]\\,;:".]+)+$/;
const CONTROL_RE = /[\p{Cc}\u2028\u2029]/u;
const HEADER_NAME_RE = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
/** Headers that decide who gets the mail or who it is from stay with the channel. */
const RESERVED_HEADERS = new Set(['to', 'cc', 'bcc', 'from', 'sender', 'reply-to', 'subject', 'return-path', 'content-type', 'content-transfer-encoding', 'mime-version']);

/**
 * Failures that are the message's or the configuration's, not the network's: sending the same
 * mail again gets the same answer. They only count when the server gave no reply code.
 */
const PERMANENT_CODES = new Set(['EENVELOPE', 'EMESSAGE', 'ECONFIG', 'EMAXRECIPIENTS', 'EAUTH', 'ENOAUTH']);

function checkMail(mail: Mail): string | null {
  if (typeof mail.to !== 'string' || mail.to.length > 254 || CONTROL_RE.test(mail.to) || !ADDRESS_RE.test(mail.to)) return 'not a single plausible address';
  for (const [name, value] of Object.entries(mail.headers ?? {})) {
    if (!HEADER_NAME_RE.test(name) || RESERVED_HEADERS.has(name.toLowerCase())) return `header not allowed: ${JSON.stringify(name).slice(0, 80)}`;
    // String(): send() promises never to throw, even on a caller that slipped past the types.
    if (CONTROL_RE.test(String(value).replace(/\t/g, ''))) return `control character in header ${name}`;
  }
  return null;
}

/**
 * SMTP replies follow RFC 5321: 4yz is transient, 5yz permanent. 503 (bad sequence of commands)
 * is the session's state, not the message, so it retries, as nodemailer's own `permanent` flag has it.
 * Without a reply the error is a socket one (nodemailer rewrites ECONNREFUSED to ESOCKET and keeps the
 * system code in `originalCode`), which says nothing about the mail: retry.
 */
function classifySmtpError(err: unknown): DeliveryResult {
  const e = (err ?? {}) as NodemailerError;
  if (typeof e.responseCode === 'number') {
    const reason = `smtp ${e.responseCode}: ${String(e.response ?? e.message).slice(0, 200)}`;
    return e.responseCode >= 500 && e.responseCode < 600 && e.responseCode !== 503 ? { status: 'failed', reason } : { status: 'retry', reason };
  }
  const code = e.code ?? '';
  if (PERMANENT_CODES.has(code)) return { status: 'failed', reason: `${code}: ${String(e.message).slice(0, 200)}` };
  return { status: 'retry', reason: `network: ${e.originalCode ?? (code || String(e.message ?? err))}${e.timeoutType ? ` (${e.timeoutType})` : ''}` };
}

/**
 * An SMTP relay through nodemailer, one connection per mail: digests are few and spread out, so a
 * pool would mostly hold idle connections that the server drops, and one connection per mail keeps
 * a failure confined to its own job.
 */
export function createEmailChannel(opts: { url: string /* smtp:// or smtps:// URL, e.g. smtp://user:pass@127.0.0.1:2525 */; from: string; timeoutMs?: number }): EmailChannel {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const transport = createTransport({
    url: opts.url,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    // The content is ours, but a path or URL in it must never make the server read a file or fetch.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  });
  return {
    async send(mail): Promise<DeliveryResult> {
      const problem = checkMail(mail);
      if (problem) return { status: 'failed', reason: problem };
      try {
        await transport.sendMail({
          from: opts.from,
          // An address object, so nothing in it is parsed as a list again.
          to: { name: '', address: mail.to },
          subject: mail.subject,
          html: mail.html,
          text: mail.text,
          ...(mail.headers ? { headers: mail.headers } : {}),
          // The per-phase timeouts reset on every byte; this bounds the whole exchange so the job settles.
          signal: AbortSignal.timeout(timeoutMs * 3),
        });
        return { status: 'delivered' };
      } catch (err) {
        return classifySmtpError(err);
      }
    },
    async close() {
      transport.close();
    },
  };
}
