import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ConversationEvent, Member } from '../src/domain/types.ts';
import { createMemoryBus } from '../src/realtime/bus-memory.ts';
import { membershipCache } from '../src/services/membership.ts';
import { pgliteBackend } from './helpers/backends.ts';
import { type Harness, harness, uid } from './helpers/harness.ts';

/**
 * The fan-out asks the membership cache on every event. Concurrent asks share one load, and
 * a load that a membership change overtook is never kept: a removal takes effect for every
 * event after it.
 */
let h: Harness;
before(async () => {
  h = await harness(pgliteBackend);
});
after(() => h?.close());

/** The real store, with each `members.list` held until the test lets that one answer. */
function heldLists() {
  const held: { conversationId: string; release: () => void }[] = [];
  const store = {
    ...h.store,
    members: {
      ...h.store.members,
      list: async (conversationId: string): Promise<Member[]> => {
        await new Promise<void>((release) => held.push({ conversationId, release }));
        return h.store.members.list(conversationId);
      },
    },
  };
  return { store, held };
}

const memberLeft = (conversationId: string, userId: string, seq: number): ConversationEvent => ({
  type: 'member:left',
  conversationId,
  seq,
  data: { conversationId, seq, userId, by: userId },
});

test('concurrent asks share one load; a removal during it starts a fresh one, and the overtaken load is not kept', async () => {
  const [owner, ana, bo] = [uid('owner'), uid('ana'), uid('bo')];
  const conversationId = await h.group(h.as(owner), [ana, bo]);
  const bus = createMemoryBus();
  const { store, held } = heldLists();
  const cache = membershipCache(store, bus);

  const first = cache.members(conversationId);
  const second = cache.members(conversationId);
  await new Promise((r) => setImmediate(r));
  assert.equal(held.length, 1, 'one query for both asks');

  // Bo leaves while that load is in flight; the event reaches this instance's bus.
  assert.equal(await h.store.members.remove(conversationId, bo), true);
  await bus.publish({ kind: 'conversation', event: memberLeft(conversationId, bo, 2) });
  const third = cache.members(conversationId);
  await new Promise((r) => setImmediate(r));
  assert.equal(held.length, 2, 'an ask after the removal does not join the load it overtook');

  held[0]!.release();
  await Promise.all([first, second]);
  assert.equal(cache.cached(conversationId), undefined, 'the overtaken load is not cached');

  held[1]!.release();
  assert.deepEqual([...(await third)].sort(), [ana, owner].sort());
  assert.deepEqual([...(cache.cached(conversationId) ?? [])].sort(), [ana, owner].sort());
  assert.equal((await cache.members(conversationId)).has(bo), false);
  assert.equal(held.length, 2, 'answered from the cache');
  cache.close();
});
