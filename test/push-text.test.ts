import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stableUuid } from '../src/domain/ids.ts';
import type { UnseenMessage } from '../src/storage/store.ts';
import { composeConversationPush } from '../src/services/push.ts';

const m = (senderName: string, body: string, mentioned = false, seq = 1): UnseenMessage => ({ seq, senderId: senderName.toLowerCase(), senderName, body, mentioned });

test('one message says itself; several say how many and from whom', () => {
  const direct = { kind: 'direct' as const, title: null };
  const group = { kind: 'group' as const, title: 'Team' };
  assert.deepEqual(composeConversationPush(direct, [m('Ana', 'hi')], 1), { title: 'Ana', body: 'hi', mention: false });
  assert.deepEqual(composeConversationPush(group, [m('Ana', 'hi')], 1), { title: 'Team', body: 'Ana: hi', mention: false });
  assert.deepEqual(composeConversationPush(direct, [m('Ana', 'a'), m('Ana', 'b'), m('Ana', 'c')], 3), { title: 'Ana', body: '3 new messages from Ana', mention: false });
  assert.equal(composeConversationPush(group, [m('Ana', 'a'), m('Bo', 'b')], 2).body, '2 new messages from Ana and Bo');
  assert.equal(composeConversationPush(group, [m('Ana', 'a'), m('Bo', 'b'), m('Cy', 'c'), m('Di', 'd')], 9).body, '9 new messages from Ana, Bo and 2 others');
  assert.equal(composeConversationPush(group, [m('Ana', 'a'), m('Bo', 'b'), m('Cy', 'c')], 3).body, '3 new messages from Ana, Bo and 1 other');
  // Total counts what is unread, beyond the few messages loaded.
  assert.equal(composeConversationPush(direct, [m('Ana', 'x')], 12).body, '12 new messages from Ana');
});

test('a mention wins over the count, and long bodies are cut on a code point', () => {
  const group = { kind: 'group' as const, title: null };
  assert.deepEqual(composeConversationPush(group, [m('Ana', 'a'), m('Bo', '@you look', true), m('Cy', 'c')], 3), {
    title: 'Bo mentioned you in your group',
    body: '@you look',
    mention: true,
  });
  const long = composeConversationPush({ kind: 'direct', title: null }, [m('Ana', '😀'.repeat(500))], 1).body;
  assert.equal([...long].length, 180);
  assert.ok(long.isWellFormed());
});

test('stable ids are UUIDs, the same for the same key', () => {
  assert.match(stableUuid('a'), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(stableUuid('push:1'), stableUuid('push:1'));
  assert.notEqual(stableUuid('push:1'), stableUuid('push:2'));
});
