import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConversationEvent } from '../src/domain/types.ts';
import { createMemoryBus } from '../src/realtime/bus-memory.ts';
import { startFanout } from '../src/realtime/fanout.ts';
import { createHub } from '../src/realtime/hub.ts';
import { waitFor } from './helpers/harness.ts';

const event = (conversationId: string, seq: number, userId = 'x'): ConversationEvent => ({
  type: 'member:left',
  conversationId,
  seq,
  data: { conversationId, seq, userId, by: 'x' },
});

/** A hub with one connection whose multicast records what reached it, fed by a real bus. */
function setup(windowMs = 100) {
  const bus = createMemoryBus();
  const hub = createHub();
  const received: number[] = [];
  const byUser = new Map<string, number[]>();
  hub.register('ws', (connections, _e, data) => {
    const seq = (data as { seq: number }).seq;
    for (const c of connections) byUser.set(c.userId, [...(byUser.get(c.userId) ?? []), seq]);
    if (connections.some((c) => c.userId === 'u1')) received.push(seq);
  });
  hub.add({ id: 'c1', userId: 'u1', gateway: 'ws' });
  let late = 0;
  const stop = startFanout({
    bus,
    hub,
    membersOf: async () => new Set(['u1']),
    onError: (e) => assert.fail(String(e)),
    reorderWindowMs: windowMs,
    onLate: () => late++,
  });
  return { bus, hub, received, byUser, late: () => late, stop };
}

test('events published out of order reach connections in seq order', async () => {
  const { bus, received, stop } = setup();
  for (const seq of [1, 3, 2, 5, 4, 6]) await bus.publish({ kind: 'conversation', event: event('c', seq) });
  await waitFor(() => received.length === 6, 30_000, 'six deliveries');
  assert.deepEqual(received, [1, 2, 3, 4, 5, 6]);
  stop();
});

test('a fresh lane waits for an earlier seq still in flight', async () => {
  const { bus, received, stop } = setup();
  await bus.publish({ kind: 'conversation', event: event('d', 8) });
  await bus.publish({ kind: 'conversation', event: event('d', 7) });
  await waitFor(() => received.length === 2, 30_000, 'two deliveries');
  assert.deepEqual(received, [7, 8]);
  stop();
});

test('a real gap is not waited on forever: held events go out after the window, still in order', async () => {
  const { bus, received, stop } = setup(50);
  await bus.publish({ kind: 'conversation', event: event('e', 1) });
  for (const seq of [4, 3]) await bus.publish({ kind: 'conversation', event: event('e', seq) });
  await waitFor(() => received.length === 3, 30_000, 'the held events');
  assert.deepEqual(received, [1, 3, 4]);
  stop();
});

test('an event later than the window is not sent live: a connection never sees a seq go backwards', async () => {
  const { bus, received, late, stop } = setup(50);
  await bus.publish({ kind: 'conversation', event: event('f', 1) });
  await bus.publish({ kind: 'conversation', event: event('f', 3) });
  await waitFor(() => received.length === 2, 30_000, 'seq 3, after the window');
  await bus.publish({ kind: 'conversation', event: event('f', 2) });
  await bus.publish({ kind: 'conversation', event: event('f', 4) });
  await waitFor(() => received.length === 3, 30_000, 'seq 4');
  assert.deepEqual(received, [1, 3, 4], 'seq 2 came too late: the connection synced the gap instead');
  assert.equal(late(), 1, 'counted (parley_fanout_late_events_total)');
  stop();
});

test('a late removal still reaches the member it removed (they never saw the later seqs)', async () => {
  const { bus, hub, byUser, stop } = setup(50);
  hub.add({ id: 'c2', userId: 'gone', gateway: 'ws' });
  await bus.publish({ kind: 'conversation', event: event('g', 1) });
  await bus.publish({ kind: 'conversation', event: event('g', 3) });
  await waitFor(() => byUser.get('u1')?.length === 2, 30_000, 'seq 3, after the window');
  await bus.publish({ kind: 'conversation', event: event('g', 2, 'gone') });
  await waitFor(() => byUser.get('gone')?.length === 1, 30_000, 'the removal, to the removed member');
  assert.deepEqual(byUser.get('gone'), [2]);
  assert.deepEqual(byUser.get('u1'), [1, 3], 'not to the others');
  stop();
});

const sent = (conversationId: string, seq: number): ConversationEvent =>
  ({ type: 'message:new', conversationId, seq, data: { conversationId, seq, message: { seq } } }) as unknown as ConversationEvent;

test('members at hand: an event goes out as it is published, never ahead of one still waiting for its members', async () => {
  const bus = createMemoryBus();
  const hub = createHub();
  const received: number[] = [];
  hub.register('ws', (_connections, _e, data) => void received.push((data as { seq: number }).seq));
  hub.add({ id: 'c1', userId: 'u1', gateway: 'ws' });
  const members = new Set(['u1']);
  let cached = false;
  let slow = true;
  let load = () => {};
  const stop = startFanout({
    bus,
    hub,
    membersOf: () =>
      slow
        ? new Promise((resolve) => {
            load = () => resolve(members);
          })
        : Promise.resolve(members),
    membersNow: () => (cached ? members : undefined),
    onError: (e) => assert.fail(String(e)),
  });
  // Seq 1 finds nothing cached and waits for its load; seq 2, with the entry at hand, waits behind it.
  await bus.publish({ kind: 'conversation', event: sent('m', 1) });
  cached = true;
  await bus.publish({ kind: 'conversation', event: sent('m', 2) });
  assert.deepEqual(received, []);
  slow = false;
  load();
  await waitFor(() => received.length === 2, 30_000, 'seqs 1 and 2');
  await bus.publish({ kind: 'conversation', event: sent('m', 3) });
  assert.deepEqual(received, [1, 2, 3], 'seq 3 went out within its publish: nothing waited on the chain');
  // A membership event takes the chain even with the entry at hand (whether the cache has
  // heard of it yet depends on the bus's order of subscribers), and what follows waits its turn.
  slow = true;
  await bus.publish({ kind: 'conversation', event: event('m', 4) });
  await bus.publish({ kind: 'conversation', event: sent('m', 5) });
  assert.deepEqual(received, [1, 2, 3]);
  slow = false;
  load();
  await waitFor(() => received.length === 5, 30_000, 'the removal and the message after it');
  assert.deepEqual(received, [1, 2, 3, 4, 5]);
  stop();
});
