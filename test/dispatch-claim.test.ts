import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Repos, Store } from '../src/storage/store.ts';
import { backends, skippedPostgres, type TestStore } from './helpers/backends.ts';
import { type Harness, harness, send, uid } from './helpers/harness.ts';

/**
 * The notification dispatcher reads and decides outside any transaction; its transaction only
 * claims the work (moves the position, deletes outbox rows) and writes what it made: on
 * PGlite's one connection every send waits while a transaction is open (issue 9). Two drains
 * that read the same work write it once: the one that claims second rolls back.
 */
if (skippedPostgres) test('dispatcher claim on postgres', { skip: skippedPostgres }, () => {});

for (const backend of backends) {
  describe(`the dispatcher's claim on ${backend.name}`, () => {
    let h: Harness;
    /** Repo methods called inside store transactions, as `repo.method`. */
    let inTransaction: string[] = [];
    before(async () => {
      h = await harness(backend);
      // Drains run only when these tests say so.
      await h.app.services.dispatcher.stop(0);
      const transaction = h.store.transaction.bind(h.store);
      const recording = (tx: Repos): Repos =>
        new Proxy(tx, {
          get(repos, name: string) {
            const repo = repos[name as keyof Repos] as unknown as Record<string, unknown>;
            return new Proxy(repo, {
              get(r, method: string) {
                const f = r[method];
                if (typeof f !== 'function') return f;
                return (...args: unknown[]) => {
                  inTransaction.push(`${name}.${method}`);
                  return f.apply(r, args);
                };
              },
            });
          },
        });
      h.store.transaction = ((fn: (tx: Repos) => Promise<unknown>) => transaction((tx) => fn(recording(tx)))) as Store['transaction'];
    });
    after(() => h?.close());

    const q = () => (h.store as TestStore).query;
    const behind = async () => (await q()<{ n: number }>('SELECT ((SELECT pos FROM message_log_head) - (SELECT pos FROM notify_position))::int AS n'))[0]!.n;
    const outboxRows = async () => (await q()<{ n: number }>('SELECT count(*)::int AS n FROM notification_outbox'))[0]!.n;
    const inbox = async (userId: string, type: string) =>
      (await q()<{ n: number }>('SELECT count(*)::int AS n FROM notifications WHERE user_id = $1 AND type = $2', [userId, type]))[0]!.n;
    const drain = async () => {
      while (await h.app.services.dispatcher.drainOnce()) {}
    };
    /**
     * Two drains at once, neither going past its read of the work until both have read it: on
     * a loaded machine one could otherwise claim and commit before the other began, and the
     * second would find nothing, not lose the claim. A drain that ends without reading the
     * work lets the other go, so a change of path fails the assertions instead of hanging.
     * Answers what each drainOnce answered.
     */
    const twoDrainsReadingTogether = async () => {
      const { notifyWork } = h.store;
      const read = notifyWork.readWork;
      const held: (() => void)[] = [];
      let ended = 0;
      const release = () => {
        for (const go of held.splice(0)) go();
      };
      notifyWork.readWork = async (...args) => {
        const work = await read.apply(notifyWork, args);
        await new Promise<void>((resolve) => {
          held.push(resolve);
          if (held.length === 2 || ended > 0) release();
        });
        return work;
      };
      const drain = () =>
        h.app.services.dispatcher.drainOnce().finally(() => {
          ended++;
          release();
        });
      try {
        return await Promise.all([drain(), drain()]);
      } finally {
        notifyWork.readWork = read;
      }
    };

    test('the transaction claims and writes; every read happens before it', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const group = await h.group(ana, [bob.userId]);
      await drain();
      inTransaction = [];
      await send(ana, group, 'look, bob', { mentions: [bob.userId] });
      await drain();
      assert.equal(await inbox(bob.userId, 'mention'), 1, 'the mention reached the inbox');
      assert.deepEqual(inTransaction, ['notifyWork.claimWork', 'notifications.insertMany', 'jobs.enqueue']);
      assert.equal(await behind(), 0);
    });

    test('of two drains over the same messages and outbox rows, one writes them', async () => {
      const ana = h.as(uid('ana'));
      const bob = h.as(uid('bob'));
      const group = await h.group(ana, [bob.userId]);
      await drain();

      const sent = await send(ana, group, 'look, bob', { mentions: [bob.userId] });
      const both = await twoDrainsReadingTogether();
      assert.ok(both.includes(true), 'the one that lost the claim asks to look again');
      await drain();
      assert.equal(await inbox(bob.userId, 'mention'), 1, 'one mention, not two');
      assert.equal(await behind(), 0);

      // A reaction is outbox work (no new message): the rows are claimed the same way.
      const reacted = await bob.post(`/v1/messages/${sent.id}/reactions`, { emoji: '👍' });
      assert.equal(reacted.status, 200);
      assert.equal(await outboxRows(), 1);
      assert.ok((await twoDrainsReadingTogether()).includes(true), 'the one that lost the claim asks to look again');
      await drain();
      assert.equal(await inbox(ana.userId, 'reaction'), 1, 'one reaction entry, not two');
      assert.equal(await outboxRows(), 0);
    });
  });
}
