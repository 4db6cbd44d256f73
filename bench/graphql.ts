// GraphQL group runs, beside Socket.IO and /v1/ws in the same invocation: each member holds
// one graphql-ws socket with a messageAdded subscription to its conversation and sends with
// the sendMessage mutation over that socket. A GraphQL subscription also carries the
// subscriber's own messages (it is no ack), so those are left out here, as Socket.IO
// leaves them out of the sending connection.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { Delivery, SendResult } from './clients.ts';
import { type Connect, parleyRun } from './group-runs.ts';
import type { BenchRun } from './registry.ts';
import { tokenFor } from './server.ts';

const SEND = 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { seq } }';
const ADDED = 'subscription($c: ID!) { messageAdded(conversationId: $c) { id seq content senderId } }';

type Result = { data?: Record<string, any> | null; errors?: readonly { extensions?: { code?: unknown } }[] };

const graphqlClient: Connect = async (url, userId, conversationId) => {
  const client = createClient({
    url: `${url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { token: await tokenFor(userId) },
    lazy: false,
    retryAttempts: 0,
  });
  await new Promise<void>((resolve, reject) => {
    client.on('connected', () => resolve());
    client.on('closed', (e) => reject(new Error(`graphql-ws closed: ${(e as { code?: number }).code}`)));
  });
  /** The first result of one operation. */
  const once = (query: string, variables: Record<string, unknown>) =>
    new Promise<Result>((resolve) => {
      client.subscribe({ query, variables }, { next: (r) => resolve(r as Result), error: (e) => resolve({ errors: e as Result['errors'] }), complete: () => {} });
    });
  const counts = new Map<string, number>();
  const handlers: ((d: Delivery) => void)[] = [];
  client.subscribe(
    { query: ADDED, variables: { c: conversationId } },
    {
      next: (r) => {
        const m = (r as Result).data?.messageAdded;
        counts.set('message:new', (counts.get('message:new') ?? 0) + 1);
        if (!m || m.senderId === userId) return;
        for (const h of handlers) h({ conversationId, seq: m.seq, message: { id: m.id, body: m.content, senderId: m.senderId } });
      },
      error: () => {},
      complete: () => {},
    },
  );
  // The subscription is running once an operation sent after it is answered.
  await once('{ me { id } }', {});
  return {
    async send(conversationId, clientMsgId, body): Promise<SendResult> {
      const r = await once(SEND, { i: { conversationId, clientMsgId, content: body } });
      const seq = r.data?.sendMessage?.seq;
      return typeof seq === 'number' ? { ok: true, seq } : { ok: false, code: String(r.errors?.[0]?.extensions?.code ?? 'no_result') };
    },
    onMessage: (h) => void handlers.push(h),
    command: async () => ({ ok: false, error: { code: 'unknown_command' } }),
    counts,
    close: () => void client.dispose(),
  };
};

export const graphqlRuns: BenchRun[] = [parleyRun('embedded', 'graphql', graphqlClient), parleyRun('postgres', 'graphql', graphqlClient)];
