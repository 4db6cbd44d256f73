import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConversationEvent } from '../src/domain/types.ts';
import { createMemoryBus } from '../src/realtime/bus-memory.ts';
import { startFanout } from '../src/realtime/fanout.ts';
import { createHub } from '../src/realtime/hub.ts';
import { waitFor } from './helpers/harness.ts';

const event = (conversationId: string, seq: number): ConversationEvent => ({
  type: 'member:left',
  conversationId,
  seq,
  data: { conversationId, seq, userId: 'x', by: 'x' },
});

/** A hub with one connection whose multicast records what reached it, fed by a real bus. */
function setup(windowMs = 100) {
  const bus = createMemoryBus();
  const hub = createHub();
  const received: number[] = [];
  hub.register('ws', (_c, _e, data) => received.push((data as { seq: number }).seq));
  hub.add({ id: 'c1', userId: 'u1', gateway: 'ws' });
  const stop = startFanout({ bus, hub, membersOf: async () => new Set(['u1']), onError: (e) => assert.fail(String(e)), reorderWindowMs: windowMs });
  return { bus, received, stop };
}

test('events published out of order reach connections in seq order', async () => {
  const { bus, received, stop } = setup();
  for (const seq of [1, 3, 2, 5, 4, 6]) await bus.publish({ kind: 'conversation', event: event('c', seq) });
  await waitFor(() => received.length === 6, 2000, 'six deliveries');
  assert.deepEqual(received, [1, 2, 3, 4, 5, 6]);
  stop();
});

test('a fresh lane waits for an earlier seq still in flight', async () => {
  const { bus, received, stop } = setup();
  await bus.publish({ kind: 'conversation', event: event('d', 8) });
  await bus.publish({ kind: 'conversation', event: event('d', 7) });
  await waitFor(() => received.length === 2, 2000, 'two deliveries');
  assert.deepEqual(received, [7, 8]);
  stop();
});

test('a real gap is not waited on forever: held events go out after the window, still in order', async () => {
  const { bus, received, stop } = setup(50);
  await bus.publish({ kind: 'conversation', event: event('e', 1) });
  for (const seq of [4, 3]) await bus.publish({ kind: 'conversation', event: event('e', seq) });
  await waitFor(() => received.length === 3, 2000, 'the held events');
  assert.deepEqual(received, [1, 3, 4]);
  stop();
});
