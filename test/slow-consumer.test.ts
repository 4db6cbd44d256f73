import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pgliteBackend } from './helpers/backends.ts';
import { rawWs } from './helpers/graphql.ts';
import { type Harness, harness, tokenFor, uid, waitFor } from './helpers/harness.ts';
import { listen, socketClient, syncAll, wsClient } from './helpers/realtime.ts';

/**
 * A client that stops reading is cut off once its unsent data passes the bound
 * (PARLEY_MAX_BUFFERED_BYTES), instead of holding the server's memory and the others'
 * deliveries hostage; what it missed it gets back by sync.
 */
describe('slow consumers', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness(pgliteBackend, { PARLEY_MAX_BUFFERED_BYTES: String(256 * 1024) });
    url = await listen(h);
  });
  after(() => h.close());

  /** A graphql-ws socket asking for messageAdded with each message's content, and its TCP socket. */
  async function graphqlSubscriber(userId: string, conversationId: string) {
    const c = await rawWs(url);
    c.send({ type: 'connection_init', payload: { token: await tokenFor(userId) } });
    assert.equal((await c.next()).type, 'connection_ack');
    c.send({ id: 'added', type: 'subscribe', payload: { query: 'subscription($c: ID!) { messageAdded(conversationId: $c) { id content } }', variables: { c: conversationId } } });
    return { raw: (c.ws as any)._socket };
  }

  for (const kind of ['ws', 'socket.io', 'graphql'] as const) {
    test(`over ${kind}: the stalled client is dropped, the others get everything, sync recovers the rest`, async () => {
      const sender = h.admin(uid('sender'));
      const slowId = uid('slow');
      const fastId = uid('fast');
      const id = (await sender.post('/v1/conversations', { kind: 'group', members: [slowId, fastId] })).body.conversation.id;
      const slow = kind === 'ws' ? await wsClient(url, slowId) : kind === 'socket.io' ? await socketClient(url, slowId) : await graphqlSubscriber(slowId, id);
      const fast = await wsClient(url, fastId);
      // Stop reading: the client's TCP socket is paused, so the kernel buffers fill, then the server's.
      const raw = kind === 'ws' ? (slow as any).ws._socket : kind === 'socket.io' ? (slow as any).socket.io.engine.transport.ws._socket : (slow as any).raw;
      raw.pause();
      raw.resume = () => raw; // ws resumes its socket when its parser drains: keep it stalled
      const body = '😀'.repeat(10_000); // ~40 KB a message
      const ids: string[] = [];
      for (let i = 0; i < 400 && h.app.hub.of(slowId).size > 0; i++) {
        const res = await sender.post(`/v1/conversations/${id}/messages`, { clientMsgId: randomUUID(), body });
        ids.push(res.body.message.id);
      }
      await waitFor(() => h.app.hub.of(slowId).size === 0, 30_000, 'the slow consumer to be dropped');
      const last = ids.at(-1);
      await fast.next('message:new', (d) => d.message.id === last);
      assert.equal(fast.events.filter((e) => e.event === 'message:new').length, ids.length);
      raw.destroy();
      // Back with a fresh connection: sync returns every message it missed, page after page.
      const again = await wsClient(url, slowId);
      assert.deepEqual((await syncAll(again, id)).map((c) => c.data.message.id), ids);
      await Promise.all([again.close(), fast.close()]);
    });
  }
});
