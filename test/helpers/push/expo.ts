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
  /** The ticket every later message to `token` gets: an error (e.g. DeviceNotRegistered) instead of ok. */
  setTicket(token: string, error: string): void;
  /**
   * The Expo project `token` belongs to. A request whose tokens belong to more than one
   * project is refused whole (400 PUSH_TOO_MANY_EXPERIENCE_IDS, the tokens by project).
   */
  setProject(token: string, project: string): void;
  /** A request with a message to `token` in it is refused whole, as Expo refuses one that fails its validation (400 VALIDATION_ERROR). */
  setInvalid(token: string): void;
  /** Receipt requests as they came: the ids of each. */
  receiptBatches: string[][];
  close(): Promise<void>;
}

/** What Expo takes in one request (more is refused whole: 400 PUSH_TOO_MANY_NOTIFICATIONS / PUSH_TOO_MANY_RECEIPTS). */
export const EXPO_LIMITS = { messages: 100, receiptIds: 1000 };
const DEFAULT_PROJECT = '@parley/app';

/** The Expo push API: a JSON array of messages in, `{ data: [ticket] }` out, a ticket per message in order, ok unless set or scripted. */
export async function fakeExpo(accessToken?: string): Promise<FakeExpo> {
  const received: ExpoReceived[] = [];
  const script = new Script();
  const receiptRequests: string[] = [];
  const receiptBatches: string[][] = [];
  const tickets = new Map<string, string>();
  const projects = new Map<string, string>();
  const invalid = new Set<string>();
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
      if (ids.length > EXPO_LIMITS.receiptIds) return send(400, { errors: [{ code: 'PUSH_TOO_MANY_RECEIPTS', message: `more than ${EXPO_LIMITS.receiptIds} ids` }] });
      receiptBatches.push(ids as string[]);
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
    if (messages.length > EXPO_LIMITS.messages) {
      return send(400, { errors: [{ code: 'PUSH_TOO_MANY_NOTIFICATIONS', message: `more than ${EXPO_LIMITS.messages} notifications` }] });
    }
    const refused = (messages as { to: string }[]).find((m) => invalid.has(m.to));
    if (refused) return send(400, { errors: [{ code: 'VALIDATION_ERROR', message: `"to" ${refused.to} is not valid` }] });
    const byProject: Record<string, string[]> = {};
    for (const m of messages as { to: string }[]) {
      const project = projects.get(m.to) ?? DEFAULT_PROJECT;
      byProject[project] = [...(byProject[project] ?? []), m.to];
    }
    if (Object.keys(byProject).length > 1) {
      const message = 'All push notification messages in the same request must be for the same project; check the details field to investigate conflicting tokens.';
      return send(400, { errors: [{ code: 'PUSH_TOO_MANY_EXPERIENCE_IDS', message, details: byProject }] });
    }
    send(200, {
      data: (messages as { to: string }[]).map((m) => {
        const error = tickets.get(m.to);
        if (error) return { status: 'error', message: `failed: ${error}`, details: { error } };
        const id = randomUUID();
        receipts.set(id, nextReceipt);
        return { status: 'ok', id };
      }),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${portOf(server)}/--/api/v2/push/send`,
    received,
    script,
    receiptRequests,
    receiptBatches,
    setReceipts(outcome) {
      nextReceipt = outcome;
    },
    setTicket(token, error) {
      tickets.set(token, error);
    },
    setInvalid(token) {
      invalid.add(token);
    },
    setProject(token, project) {
      projects.set(token, project);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** An error ticket as Expo writes it. */
export const expoError = (error: string) => ({ data: [{ status: 'error', message: `failed: ${error}`, details: { error } }] });
