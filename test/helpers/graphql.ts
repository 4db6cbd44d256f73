import { type Client as WsClient, createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { tokenFor } from './harness.ts';

export interface GqlReply {
  status: number;
  body: { data?: any; errors?: { message: string; extensions?: { code?: string; [k: string]: unknown }; path?: unknown[] }[] };
}

/** A plain HTTP POST to /graphql, the way any GraphQL client sends one. */
export async function post(url: string, token: string | null, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GqlReply> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

/** POSTs as `userId` (a fresh token each call) and fails loudly on any error. */
export async function gql(url: string, userId: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const res = await post(url, await tokenFor(userId), query, variables);
  if (res.status !== 200 || res.body.errors) throw new Error(`graphql failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data;
}

/** The code of the first error of a reply. */
export const codeOf = (res: GqlReply): string | undefined => res.body.errors?.[0]?.extensions?.code;

export const wsUrl = (url: string): string => `${url.replace('http', 'ws')}/graphql`;

/** A real graphql-ws client for `userId`, connected (lazy: false) and acknowledged. */
export async function gqlWs(url: string, userId: string, opts: { token?: string } = {}): Promise<WsClient> {
  const token = opts.token ?? (await tokenFor(userId));
  const client = createClient({ url: wsUrl(url), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, lazy: false, retryAttempts: 0 });
  await new Promise<void>((resolve, reject) => {
    const off = client.on('connected', () => {
      off();
      resolve();
    });
    client.on('closed', (e) => reject(new Error(`closed before ack: ${(e as { code?: number }).code}`)));
  });
  return client;
}

/** One subscription's deliveries, recorded, with a way to wait for the nth or for the end. */
export interface Recording {
  results: { data?: any; errors?: any[] }[];
  /** Resolves once `n` results arrived (fails at the deadline). */
  count(n: number, timeoutMs?: number): Promise<void>;
  /** Resolves when the server completed or errored the subscription (fails after `timeoutMs`). */
  ended(timeoutMs?: number): Promise<{ error?: unknown }>;
  stop(): void;
}

export function record(client: WsClient, query: string, variables?: Record<string, unknown>): Recording {
  const results: Recording['results'] = [];
  const waiters = new Set<() => void>();
  let end!: (v: { error?: unknown }) => void;
  const ended = new Promise<{ error?: unknown }>((resolve) => {
    end = resolve;
  });
  const stop = client.subscribe(
    { query, ...(variables ? { variables } : {}) },
    {
      next: (r) => {
        results.push(r as Recording['results'][number]);
        for (const w of waiters) w();
      },
      error: (error) => end({ error }),
      complete: () => end({}),
    },
  );
  return {
    results,
    ended: (timeoutMs = 10_000) =>
      Promise.race([
        ended,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the subscription did not end within ${timeoutMs} ms`)), timeoutMs).unref()),
      ]),
    stop,
    count: (n, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        if (results.length >= n) return resolve();
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`only ${results.length} of ${n} results within ${timeoutMs} ms`));
        }, timeoutMs).unref();
        const check = () => {
          if (results.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      }),
  };
}

/** A raw WebSocket speaking graphql-transport-ws by hand, for the protocol's edges. */
export async function rawWs(url: string): Promise<{ ws: WebSocket; send(m: unknown): void; next(): Promise<any>; closed: Promise<{ code: number; reason: string }> }> {
  const ws = new WebSocket(wsUrl(url), 'graphql-transport-ws');
  const inbox: any[] = [];
  const waiting: ((m: any) => void)[] = [];
  ws.on('message', (raw) => {
    const m = JSON.parse(String(raw));
    const w = waiting.shift();
    if (w) w(m);
    else inbox.push(m);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return {
    ws,
    closed,
    send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)),
    next: () =>
      inbox.length
        ? Promise.resolve(inbox.shift())
        : Promise.race([
            new Promise((resolve) => waiting.push(resolve)),
            closed.then((c) => {
              throw new Error(`closed ${c.code} ${c.reason} while waiting for a message`);
            }),
          ]),
  };
}
