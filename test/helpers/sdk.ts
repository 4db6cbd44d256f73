import WebSocket from 'ws';
import { type ClientOptions, createClient, type ParleyClient } from '../../client/src/index.ts';
import { waitFor } from './harness.ts';

export type TestClient = ParleyClient & { errors: unknown[] };

/**
 * SDK clients for tests: on Node 20 the plain-WebSocket transport takes the `ws` package,
 * every error the client handles by itself is recorded, and `closeAll` closes what was made.
 */
export function sdkClients() {
  const made: ParleyClient[] = [];
  return {
    make(opts: ClientOptions): TestClient {
      const errors: unknown[] = [];
      const client = createClient({ WebSocket: WebSocket as never, onError: (e) => errors.push(e), ...opts });
      made.push(client);
      return Object.assign(client, { errors });
    },
    closeAll: () => Promise.all(made.splice(0).map((c) => c.close())),
  };
}

export const synced = (c: ParleyClient, what = 'synced', timeoutMs = 20_000) => waitFor(() => c.connection.get().synced, timeoutMs, what);

/** A conversation's loaded message bodies, in order. */
export const bodies = (c: ParleyClient, conversationId: string) => c.messages(conversationId).get().messages.map((m) => m.body);
