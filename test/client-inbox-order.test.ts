import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Notification } from '../protocol/types.ts';
import { createEventHandlers } from '../client/src/events.ts';
import { createClientStores } from '../client/src/state/stores.ts';

const note = (id: string, createdAt: string): Notification => ({
  id,
  userId: 'me',
  type: 'system',
  priority: 'normal',
  title: id,
  body: '',
  data: {},
  actionUrl: null,
  createdAt,
  readAt: null,
  expiresAt: null,
});

function inbox(nextCursor: string | null, items: Notification[]) {
  const stores = createClientStores(() => 'me');
  stores.notifications.set((s) => ({ ...s, loaded: true, nextCursor, items }));
  const events = createEventHandlers({
    stores,
    me: () => 'me',
    receive: () => {},
    resync: () => {},
    unknown: () => {},
    remove: () => {},
    ownMessage: () => {},
    onError: (err) => assert.fail(String(err)),
  });
  const arrive = (n: Notification, unreadCount: number) => events.onEvent('notification:new', { notification: n, unreadCount });
  const ids = () => stores.notifications.get().items.map((n) => n.id);
  return { stores, arrive, ids };
}

test('a live notification goes where the server lists it (newest createdAt first, then the greater id), not on top', () => {
  const { stores, arrive, ids } = inbox(null, [note('n3', '2026-11-30T10:00:03.000Z'), note('n1', '2026-11-30T10:00:01.000Z')]);
  // Created before n3 but delivered after it: a drain that ran late, another instance.
  arrive(note('n2', '2026-11-30T10:00:02.000Z'), 3);
  assert.deepEqual(ids(), ['n3', 'n2', 'n1']);
  assert.equal(stores.notifications.get().unreadCount, 3);
  arrive(note('n4', '2026-11-30T10:00:04.000Z'), 4);
  arrive(note('n0', '2026-11-30T10:00:00.000Z'), 5);
  assert.deepEqual(ids(), ['n4', 'n3', 'n2', 'n1', 'n0'], 'the oldest goes last when the whole inbox is loaded');
  // Same instant: the greater id first, as the server's ORDER BY created_at DESC, id DESC.
  arrive(note('n2b', '2026-11-30T10:00:02.000Z'), 6);
  assert.deepEqual(ids(), ['n4', 'n3', 'n2b', 'n2', 'n1', 'n0']);
  arrive(note('n2', '2026-11-30T10:00:02.000Z'), 6);
  assert.deepEqual(ids(), ['n4', 'n3', 'n2b', 'n2', 'n1', 'n0'], 'one already there is not added twice');
});

test('a live notification older than every loaded one waits for its page while more pages remain', () => {
  const { stores, arrive, ids } = inbox('cursor-1', [note('n5', '2026-11-30T10:00:05.000Z')]);
  arrive(note('n1', '2026-11-30T10:00:01.000Z'), 2);
  assert.deepEqual(ids(), ['n5'], 'the next page brings it, in its place');
  assert.equal(stores.notifications.get().unreadCount, 2, 'the count still moves');
  arrive(note('n6', '2026-11-30T10:00:06.000Z'), 3);
  assert.deepEqual(ids(), ['n6', 'n5']);
});
