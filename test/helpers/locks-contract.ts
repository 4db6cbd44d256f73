import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { LockHolder, LockStore } from '../../src/realtime/locks.ts';
import { waitFor } from './harness.ts';

/**
 * The LockStore port's contract, shared by every implementation (memory, Redis): run it
 * once per implementation. Ids are random, so runs sharing one Redis never meet. Expiry
 * is waited for against a deadline (an implementation may expire by its own clock).
 */
export function lockStoreContract(name: string, make: () => LockStore | Promise<LockStore>): void {
  describe(`LockStore contract: ${name}`, () => {
    const holder = (over: Partial<LockHolder> = {}): LockHolder => ({
      userId: `u-${randomUUID()}`,
      conversationId: randomUUID(),
      connectionId: randomUUID(),
      expiresAt: Date.now() + 60_000,
      ...over,
    });

    test('one user holds a message; another is answered with the holder; the holder renews and releases', async () => {
      const locks = await make();
      const m = randomUUID();
      const ana = holder();
      assert.deepEqual(await locks.acquire(m, ana, Date.now()), { ok: true });
      const bob = holder({ conversationId: ana.conversationId });
      const refused = await locks.acquire(m, bob, Date.now());
      assert.equal(refused.ok, false);
      assert.equal(!refused.ok && refused.holder.userId, ana.userId);
      assert.deepEqual(await locks.acquire(m, { ...ana, connectionId: randomUUID() }, Date.now()), { ok: true });
      assert.equal(await locks.release(m, bob.userId, Date.now()), false);
      assert.equal((await locks.holder(m, Date.now()))?.userId, ana.userId);
      assert.equal(await locks.release(m, ana.userId, Date.now()), true);
      assert.equal(await locks.holder(m, Date.now()), null);
    });

    test('releaseConnection releases what that connection holds, and nothing else', async () => {
      const locks = await make();
      const [m1, m2, m3] = [randomUUID(), randomUUID(), randomUUID()];
      const ana = holder();
      const other = holder();
      await locks.acquire(m1, ana, Date.now());
      await locks.acquire(m2, ana, Date.now());
      await locks.acquire(m3, other, Date.now());
      const released = await locks.releaseConnection(ana.connectionId);
      assert.deepEqual(released.map((r) => r.messageId).sort(), [m1, m2].sort());
      assert.equal(released[0]!.holder.userId, ana.userId);
      assert.equal(await locks.holder(m1, Date.now()), null);
      assert.equal((await locks.holder(m3, Date.now()))?.userId, other.userId);
      assert.deepEqual(await locks.releaseConnection(ana.connectionId), []);
    });

    test('releaseHolder releases what a user holds in one conversation, once', async () => {
      const locks = await make();
      const [m1, m2, m3] = [randomUUID(), randomUUID(), randomUUID()];
      const ana = holder();
      const anaElsewhere = holder({ userId: ana.userId });
      const bob = holder({ conversationId: ana.conversationId });
      await locks.acquire(m1, ana, Date.now());
      await locks.acquire(m2, anaElsewhere, Date.now());
      await locks.acquire(m3, bob, Date.now());
      const released = await locks.releaseHolder(ana.conversationId, ana.userId);
      assert.deepEqual(released.map((r) => [r.messageId, r.holder.userId]), [[m1, ana.userId]]);
      assert.deepEqual(await locks.releaseHolder(ana.conversationId, ana.userId), [], 'a second release finds nothing: one instance announces');
      assert.equal((await locks.holder(m2, Date.now()))?.userId, ana.userId);
      assert.equal((await locks.holder(m3, Date.now()))?.userId, bob.userId);
    });

    test('a lock expires by itself', async () => {
      const locks = await make();
      const m = randomUUID();
      await locks.acquire(m, holder({ expiresAt: Date.now() + 200 }), Date.now());
      await waitFor(async () => (await locks.holder(m, Date.now())) === null, 30_000, 'the lock to expire');
      assert.deepEqual(await locks.acquire(m, holder(), Date.now()), { ok: true });
    });
  });
}
