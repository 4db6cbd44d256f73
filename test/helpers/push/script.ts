import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';

/** A canned answer a fake provider gives instead of its normal one. */
export interface Reply { status: number; body?: unknown; headers?: Record<string, string> }

/** The queue of canned answers: `next(reply, times)` makes the next `times` requests get `reply`. */
export class Script {
  private readonly queue: Reply[] = [];
  next(reply: Reply, times = 1): void {
    for (let i = 0; i < times; i++) this.queue.push(reply);
  }
  take(): Reply | undefined {
    return this.queue.shift();
  }
  clear(): void {
    this.queue.length = 0;
  }
}

export const portOf = (server: { address(): AddressInfo | string | null }) => (server.address() as AddressInfo).port;

/** Reads a whole request body (bounded: these servers only ever see our own small requests). */
export function readBody(req: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > 1 << 20) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A 127.0.0.1 URL nothing listens on (a port just released), for the network-error cases. */
export async function deadUrl(scheme: 'http' | 'https'): Promise<string> {
  const net = await import('node:net');
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = portOf(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `${scheme}://127.0.0.1:${port}`;
}
