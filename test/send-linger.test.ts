import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Queryable } from '../src/storage/db.ts';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { plainMessage } from './helpers/plain-message.ts';
import { seedGroups } from './helpers/seed-groups.ts';

/**
 * PARLEY_SEND_LINGER_MS: how long a send waits for company when no batch is in flight. A
 * send is made, a timer due well after the default linger (1 ms) runs, then 255 more sends
 * are made at once. Node runs timers in the order they fall due, so with the default the
 * first send's batch has gone by then; with a long linger it is still waiting, and the 256th
 * send (the batch's most) sends all of them in one batch.
 */
if (skippedPostgres) test('send linger on postgres', { skip: skippedPostgres }, () => {});

const MAX_BATCH = 256;

for (const backend of backends) {
  test(`${backend.name}: an idle send batcher waits PARLEY_SEND_LINGER_MS for company`, async () => {
    for (const [lingerMs, expected] of [
      [undefined, [1, MAX_BATCH - 1]],
      [60_000, [MAX_BATCH]],
    ] as const) {
      const store = await backend.openStore(lingerMs === undefined ? {} : { sendLingerMs: lingerMs });
      const sizes: number[] = [];
      const unobserve = store.observeSends((batch) => sizes.push(batch.size));
      try {
        const [conversationId] = await seedGroups({ query: store.query } as Queryable, 1, 2);
        const send = (n: number) => store.messages.send(plainMessage({ conversationId: conversationId!, senderId: `u${n % 2}`, clientMsgId: `m${n}`, body: `message ${n}` }));
        const first = send(0);
        await new Promise((resolve) => setTimeout(resolve, 20));
        const outcomes = await Promise.all([first, ...Array.from({ length: MAX_BATCH - 1 }, (_, k) => send(k + 1))]);
        assert.deepEqual(
          outcomes.map((o) => o.outcome === 'created' && o.seq),
          outcomes.map((_, k) => k + 1),
          'every send created, numbered in the order made',
        );
        assert.deepEqual(sizes, expected, `batch sizes with sendLingerMs ${lingerMs ?? 'default'}`);
      } finally {
        unobserve();
        await store.close();
      }
    }
  });
}
