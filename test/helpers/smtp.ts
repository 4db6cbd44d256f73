import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerError } from 'smtp-server';

export interface ReceivedMail {
  /** The envelope (MAIL FROM / RCPT TO), what the relay acts on; header From/To are in `headers`. */
  from: string;
  to: string[];
  subject: string;
  html: string;
  text: string;
  headers: ParsedMail['headers'];
  raw: string;
}

export interface LocalSmtp {
  url: string;
  received: ReceivedMail[];
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  failNext(code: number, message: string, times?: number): void;
  close(): Promise<void>;
}

/** A plain-text SMTP server on 127.0.0.1 that parses what it accepts and can be told to refuse. */
export async function startLocalSmtp(): Promise<LocalSmtp> {
  const received: ReceivedMail[] = [];
  const failures: { code: number; message: string }[] = [];
  const waiters = new Set<() => void>();

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    logger: false,
    // A reverse DNS lookup per connection tells a test nothing and, without DNS, waits 1.5 s.
    disableReverseLookup: true,
    // close() waits this long for connections a client left open before cutting them.
    closeTimeout: 1000,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        // Decided at end of DATA, as a real relay refusing content or short on disk would.
        const failure = failures.shift();
        if (failure) {
          const err: SMTPServerError = new Error(failure.message);
          err.responseCode = failure.code;
          return callback(err);
        }
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then(
          (mail) => {
            received.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((a) => a.address),
              subject: mail.subject ?? '',
              html: mail.html || '',
              text: mail.text ?? '',
              headers: mail.headers,
              raw: raw.toString('utf8'),
            });
            for (const wake of [...waiters]) wake();
            callback();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    waitFor(count, timeoutMs = 30_000) {
      if (received.length >= count) return Promise.resolve([...received]);
      return new Promise((resolve, reject) => {
        const wake = () => {
          if (received.length < count) return;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve([...received]);
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`waited ${timeoutMs} ms for ${count} mails, got ${received.length}`));
        }, timeoutMs);
        waiters.add(wake);
      });
    },
    failNext(code, message, times = 1) {
      for (let i = 0; i < times; i++) failures.push({ code, message });
    },
    close() {
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
