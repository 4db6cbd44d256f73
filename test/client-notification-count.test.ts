import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { createClient, type ParleyClient } from '../client/src/index.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness, tokenFor, uid, waitFor } from './helpers/harness.ts';
import { listen } from './helpers/realtime.ts';

/**
 * The inbox's unread count comes from answers to the client's own requests and from live
 * events. An answer read on the server before a change, but arriving after that change's
 * event, must not set the count back (seen in CI: the web app's bell stuck at 1 unread with
 * 3, when the connect's count answered late on a busy machine). Here the answer is held,
 * already read, until the event has been applied.
 */
describe('client: the notification count', () => {
  let h: Harness;
  let url: string;
  const clients: ParleyClient[] = [];
  before(async () => {
    h = await harness(pgliteBackend);
    url = await listen(h);
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await h.close();
  });

  /** A fetch that hands back the answers of `path` only once `release()` is called. */
  function holding(path: string) {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let read = 0;
    const fetchHeld: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (!String(input).includes(path)) return res;
      read++;
      await gate;
      return res;
    };
    return { fetch: fetchHeld, release, read: () => read };
  }

  const notify = (userId: string, title: string) => h.app.services.notifications.send({ userIds: [userId], type: 'system', title, body: title });

  test("the connect's count answered after a live notification does not set it back", async () => {
    const userId = uid('ivy');
    const held = holding('/v1/notifications/unread-count');
    const errors: unknown[] = [];
    const client = createClient({ url, token: await tokenFor(userId), WebSocket: WebSocket as never, transport: 'ws', fetch: held.fetch, onError: (e) => errors.push(e) });
    clients.push(client);
    // The server has read the count (0); the answer waits.
    await waitFor(() => held.read() === 1, 10_000, 'the count read on the server');
    await notify(userId, 'First news');
    await waitFor(() => client.notifications.get().unreadCount === 1, 10_000, 'the live count');
    held.release();
    await waitFor(() => client.connection.get().synced, 10_000, 'synced');
    assert.equal(client.notifications.get().unreadCount, 1);
    // Answers with no live count meanwhile still apply.
    await client.markAllNotificationsRead();
    assert.equal(client.notifications.get().unreadCount, 0);
    assert.deepEqual(errors, []);
  });
});
