import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { portOf, readBody, Script } from './script.ts';

export interface ExpoReceived { messages: any[]; authorization: string | undefined }

export interface FakeExpo {
  url: string;
  received: ExpoReceived[];
  script: Script;
  /** Receipts asked for, by ticket id. */
  receiptRequests: string[];
  /**
   * What the receipt of each ticket issued from now on says: ok (the default), an error
   * (e.g. DeviceNotRegistered), or 'pending' (not ready: left out of the answer).
   */
  setReceipts(outcome: 'ok' | 'pending' | { error: string }): void;
  close(): Promise<void>;
}

/** The Expo push API: a JSON array of messages in, `{ data: [ticket] }` out, one ok ticket each unless scripted. */
export async function fakeExpo(accessToken?: string): Promise<FakeExpo> {
  const received: ExpoReceived[] = [];
  const script = new Script();
  const receiptRequests: string[] = [];
  const receipts = new Map<string, 'ok' | 'pending' | { error: string }>();
  let nextReceipt: 'ok' | 'pending' | { error: string } = 'ok';
  const server = http.createServer(async (req, res) => {
    const body = (await readBody(req)).toString('utf8');
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(payload));
    };
    if (req.method === 'POST' && req.url === '/--/api/v2/push/getReceipts') {
      let ids: unknown;
      try {
        ids = (JSON.parse(body) as { ids?: unknown }).ids;
      } catch {}
      if (!Array.isArray(ids)) return send(400, { errors: [{ code: 'VALIDATION_ERROR', message: 'ids must be an array' }] });
      const data: Record<string, unknown> = {};
      for (const id of ids as string[]) {
        receiptRequests.push(id);
        const r = receipts.get(id);
        if (r === 'ok') data[id] = { status: 'ok' };
        else if (r && r !== 'pending') data[id] = { status: 'error', message: `failed: ${r.error}`, details: { error: r.error } };
      }
      return send(200, { data });
    }
    if (req.method !== 'POST' || req.url !== '/--/api/v2/push/send') return send(404, { errors: [{ code: 'NOT_FOUND', message: 'no such route' }] });
    let messages: any;
    try {
      messages = JSON.parse(body);
    } catch {
      return send(400, { errors: [{ code: 'VALIDATION_ERROR', message: 'body is not JSON' }] });
    }
    received.push({ messages, authorization: req.headers.authorization });
    const reply = script.take();
    if (reply) return send(reply.status, reply.body ?? {}, reply.headers);
    if (accessToken && req.headers.authorization !== `Bearer ${accessToken}`) {
      return send(401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad access token' }] });
    }
    if (!Array.isArray(messages)) return send(400, { errors: [{ code: 'VALIDATION_ERROR', message: 'expected an array' }] });
    send(
      200,
      {
        data: messages.map(() => {
          const id = randomUUID();
          receipts.set(id, nextReceipt);
          return { status: 'ok', id };
        }),
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${portOf(server)}/--/api/v2/push/send`,
    received,
    script,
    receiptRequests,
    setReceipts(outcome) {
      nextReceipt = outcome;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** An error ticket as Expo writes it. */
export const expoError = (error: string) => ({ data: [{ status: 'error', message: `failed: ${error}`, details: { error } }] });
