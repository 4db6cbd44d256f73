import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import type { Bus, BusMessage, BusMeta, PublishedMessage } from '../../src/realtime/bus.ts';
import type { InstanceRegistry } from '../../src/realtime/instances.ts';
import type { PresenceStore } from '../../src/realtime/presence.ts';
import type { TypingStore } from '../../src/realtime/typing.ts';
import { waitFor } from './harness.ts';

/**
 * One contract per realtime port, run against every implementation (memory, Redis). Each
 * factory answers two handles on the same shared state, as two instances of a cluster see
 * it: for the memory implementations both are the same object.
 */
export interface Pair<T> {
  a: T;
  b: T;
  close(): Promise<void>;
}

/** Opens pairs for a contract's tests and closes every one after them (call inside its describe). */
function opener<T>(make: () => Promise<Pair<T>>): () => Promise<Pair<T>> {
  const pairs: Pair<T>[] = [];
  after(async () => {
    for (const p of pairs) await p.close();
  });
  return async () => {
    const p = await make();
    pairs.push(p);
    return p;
  };
}

const id = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;

const typingMsg = (conversationId: string, n: number): PublishedMessage => ({ kind: 'typing', update: { conversationId, userId: `u${n}`, typing: true } });

export function busContract(name: string, make: () => Promise<Pair<Bus>>): void {
  describe(`Bus contract: ${name}`, () => {
    const open = opener(make);
    const record = (bus: Bus) => {
      const got: { m: BusMessage; meta: BusMeta }[] = [];
      const stop = bus.subscribe((m, meta) => got.push({ m, meta }));
      return { got, stop };
    };

    test('a message reaches the publisher’s subscribers at once, and every other instance’s once, with its publish time', async () => {
      const { a, b } = await open();
      const onA = record(a);
      const onB = record(b);
      const conversationId = randomUUID();
      const before = Date.now();
      await a.publish(typingMsg(conversationId, 1));
      // Local delivery happens before publish resolves: an instance serves its own clients without Redis.
      assert.equal(onA.got.filter((g) => g.m.kind === 'typing').length, a === b ? 1 : 1);
      assert.equal(onA.got[0]!.meta.local, true);
      await waitFor(() => onB.got.some((g) => g.m.kind === 'typing'), 5000, 'the message on the other instance');
      const seen = onB.got.find((g) => g.m.kind === 'typing')!;
      assert.deepEqual(seen.m, typingMsg(conversationId, 1));
      assert.ok(seen.meta.publishedAt >= before && seen.meta.publishedAt <= Date.now());
      if (a !== b) assert.equal(seen.meta.local, false);
      // Exactly once on each side, the echo of its own message included.
      await a.publish(typingMsg(conversationId, 2));
      await waitFor(() => onB.got.filter((g) => g.m.kind === 'typing').length >= 2, 5000, 'the second message');
      assert.equal(onA.got.filter((g) => g.m.kind === 'typing').length, 2);
      assert.equal(onB.got.filter((g) => g.m.kind === 'typing').length, 2);
      onA.stop();
      onB.stop();
    });

    test("one conversation's messages arrive in the order they were published, wherever they are received", async () => {
      const { a, b } = await open();
      const onB = record(b);
      const conversationId = randomUUID();
      for (let n = 0; n < 200; n++) await a.publish(typingMsg(conversationId, n));
      await waitFor(() => onB.got.filter((g) => g.m.kind === 'typing').length === 200, 10_000, '200 messages');
      const order = onB.got.flatMap((g) => (g.m.kind === 'typing' ? [Number(g.m.update.userId.slice(1))] : []));
      assert.deepEqual(order, Array.from({ length: 200 }, (_, n) => n));
      onB.stop();
    });

    test('an unsubscribed handler hears nothing more; health is ok and stats count', async () => {
      const { a, b } = await open();
      const onB = record(b);
      onB.stop();
      const published = a.stats().published;
      await a.publish(typingMsg(randomUUID(), 1));
      const probe = record(b);
      await a.publish(typingMsg(randomUUID(), 2));
      await waitFor(() => probe.got.some((g) => g.m.kind === 'typing'), 5000, 'the probe message');
      assert.equal(onB.got.length, 0);
      assert.equal(a.stats().published, published + 2);
      assert.equal(a.health().ok, true);
      assert.equal(b.health().ok, true);
      probe.stop();
    });
  });
}

export function presenceContract(name: string, make: () => Promise<Pair<PresenceStore>>, opts: { survivesRestart?: () => Promise<PresenceStore> } = {}): void {
  describe(`PresenceStore contract: ${name}`, () => {
    const open = opener(make);

    test('online once across devices on two instances; offline with last seen when the last goes', async () => {
      const { a, b } = await open();
      const u = id('ana');
      assert.equal(await a.connect(u, 'phone', 1000), true);
      assert.equal(await b.connect(u, 'laptop', 1001), false);
      assert.deepEqual(Object.keys((await b.get([u]))[0]!.connections).sort(), ['laptop', 'phone']);
      const nobody = id('nobody');
      assert.deepEqual([...(await a.connected([nobody, u]))], [u]);
      assert.equal(await b.allConnected([u, u]), true, 'every one online, repeats and all');
      assert.equal(await b.allConnected([u, nobody]), false, 'one offline is enough');
      assert.equal(await b.allConnected([]), true);
      assert.equal(await a.disconnect(u, 'phone', 1002), false);
      assert.equal(await a.disconnect(u, 'phone', 1002), false, 'a second disconnect changes nothing');
      const [still] = await a.get([u]);
      assert.deepEqual(Object.keys(still!.connections), ['laptop']);
      assert.equal(await b.disconnect(u, 'laptop', 5000), true);
      const [gone] = await a.get([u]);
      assert.deepEqual(gone!.connections, {});
      assert.deepEqual([...(await b.connected([u, nobody]))], [], 'offline once the last connection goes');
      assert.equal(await a.allConnected(new Set([u])), false);
      assert.equal(gone!.lastSeenAt, new Date(5000).toISOString());
      const [unknown] = await a.get([nobody]);
      assert.deepEqual({ ...unknown, userId: 'x' }, { userId: 'x', connections: {}, chosen: 'online', customStatus: null, lastSeenAt: null });
    });

    test('sweep drops only connections silent since the bound, once, and names users left with none', async () => {
      const { a, b } = await open();
      const [u, v] = [id('u'), id('v')];
      await a.connect(u, 'c1', 1000);
      await b.connect(u, 'c2', 1000);
      await a.connect(v, 'c3', 1000);
      await b.heartbeat(u, 'c2', 3000);
      const gone = await a.sweep(2000, 4000);
      assert.ok(gone.includes(v) && !gone.includes(u), JSON.stringify(gone));
      // Swept once: the other instance sweeping the same bound finds nothing left.
      assert.deepEqual((await b.sweep(2000, 4000)).filter((x) => x === u || x === v), []);
      const [ru, rv] = await b.get([u, v]);
      assert.deepEqual(Object.keys(ru!.connections), ['c2']);
      assert.equal(rv!.lastSeenAt, new Date(4000).toISOString());
      // A heartbeat of a connection swept meanwhile brings it back, and says the user is online again.
      assert.equal(await a.heartbeat(v, 'c3', 5000), true);
      assert.equal(await a.heartbeat(v, 'c3', 5001), false);
      assert.deepEqual(Object.keys((await b.get([v]))[0]!.connections), ['c3']);
    });

    test('status and custom status are kept; an expired custom status is cleared once', async () => {
      const { a, b } = await open();
      const u = id('u');
      await a.setStatus(u, { status: 'busy', customStatus: { text: 'in a meeting', expiresAt: new Date(10_000).toISOString() } });
      const [r] = await b.get([u]);
      assert.equal(r!.chosen, 'busy');
      assert.deepEqual(r!.customStatus, { text: 'in a meeting', expiresAt: new Date(10_000).toISOString() });
      assert.deepEqual((await a.expireCustomStatuses(9_999)).filter((x) => x === u), []);
      assert.deepEqual((await b.expireCustomStatuses(10_000)).filter((x) => x === u), [u]);
      assert.deepEqual((await a.expireCustomStatuses(10_000)).filter((x) => x === u), []);
      const [after] = await a.get([u]);
      assert.equal(after!.customStatus, null);
      assert.equal(after!.chosen, 'busy');
      await a.setStatus(u, { customStatus: { emoji: '🌴' } });
      await a.setStatus(u, { status: 'online' });
      assert.deepEqual((await b.get([u]))[0]!.customStatus, { emoji: '🌴' });
      await b.setStatus(u, { customStatus: null });
      assert.equal((await a.get([u]))[0]!.customStatus, null);
    });

    test('online counts users with a live connection', async () => {
      const { a, b } = await open();
      const base = (await a.online(0)).count;
      const [u, v] = [id('u'), id('v')];
      await a.connect(u, 'c1', 1);
      await b.connect(u, 'c2', 1);
      await b.connect(v, 'c3', 1);
      const all = await b.online(1_000_000);
      assert.equal(all.count, base + 2);
      assert.ok(all.userIds.includes(u) && all.userIds.includes(v));
      assert.equal((await a.online(1)).userIds.length, 1);
      await a.disconnect(v, 'c3', 2);
      assert.equal((await a.online(0)).count, base + 1);
    });

    if (opts.survivesRestart) {
      test('a chosen status and a custom status survive a restart of every instance', async () => {
        const { a } = await open();
        const u = id('u');
        await a.setStatus(u, { status: 'busy', customStatus: { text: 'away until noon' } });
        const fresh = await opts.survivesRestart!();
        const [r] = await fresh.get([u]);
        assert.equal(r!.chosen, 'busy');
        assert.deepEqual(r!.customStatus, { text: 'away until noon' });
      });
    }
  });
}

export function typingContract(name: string, make: () => Promise<Pair<TypingStore>>): void {
  describe(`TypingStore contract: ${name}`, () => {
    const open = opener(make);
    const opts = { ttlMs: 6000, resendMs: 2000 };

    test('a start is announced, repeats within resendMs are not (from any instance), a later one is', async () => {
      const { a, b } = await open();
      const c = randomUUID();
      assert.equal((await a.start(c, 'ana', 'c1', 10_000, opts)).announce, true);
      assert.equal((await b.start(c, 'ana', 'c2', 11_000, opts)).announce, false);
      assert.equal((await a.start(c, 'ana', 'c1', 11_999, opts)).announce, false);
      assert.equal((await b.start(c, 'ana', 'c1', 12_000, opts)).announce, true);
      assert.equal((await a.start(c, 'bob', 'c3', 12_000, opts)).announce, true, 'users are apart');
    });

    test('a stop from any instance ends it once; an expiry ends it only if nobody renewed it', async () => {
      const { a, b } = await open();
      const c = randomUUID();
      const first = await a.start(c, 'ana|x', 'c1', 1, opts);
      const renewed = await b.start(c, 'ana|x', 'c2', 2, opts);
      assert.equal(await a.expire(c, 'ana|x', first.stamp), false, 'renewed since: not this stamp');
      assert.equal(await b.expire(c, 'ana|x', renewed.stamp), true);
      assert.equal(await a.stop(c, 'ana|x'), false);
      await a.start(c, 'ana|x', 'c1', 3, opts);
      assert.equal(await b.stop(c, 'ana|x'), true);
      assert.equal(await a.stop(c, 'ana|x'), false);
    });

    test("a connection going ends what it was typing, and nothing else", async () => {
      const { a, b } = await open();
      const [c1, c2] = [randomUUID(), randomUUID()];
      const conn = id('conn');
      await a.start(c1, 'ana', conn, 1, opts);
      await a.start(c2, 'ana', conn, 1, opts);
      await a.start(c1, 'bob', id('other'), 1, opts);
      const dropped = await b.dropConnection(conn);
      assert.deepEqual(dropped.map((d) => `${d.conversationId}|${d.userId}`).sort(), [`${c1}|ana`, `${c2}|ana`].sort());
      assert.deepEqual(await a.dropConnection(conn), []);
      assert.equal(await b.stop(c1, 'bob'), true);
      // A mark taken over by another connection is no longer the first one's.
      const moved = id('moved');
      await a.start(c1, 'eve', moved, 1, opts);
      await b.start(c1, 'eve', id('later'), 2, opts);
      assert.deepEqual(await a.dropConnection(moved), []);
    });
  });
}

export function instancesContract(name: string, make: () => Promise<Pair<InstanceRegistry>>): void {
  describe(`InstanceRegistry contract: ${name}`, () => {
    test('instances are listed by everyone while they beat, and forgotten when stale or removed', async () => {
      const { a, b, close } = await make();
      try {
        const [x, y] = [id('x'), id('y')];
        await a.beat({ id: x, startedAt: new Date(1000).toISOString(), connections: { ws: 2, socketio: 1 } }, 10_000);
        await b.beat({ id: y, startedAt: new Date(2000).toISOString(), connections: { ws: 0, socketio: 0 } }, 12_000);
        const listed = (await b.list(9_000)).filter((i) => i.id === x || i.id === y);
        assert.deepEqual(listed.map((i) => i.id), [x, y]);
        assert.deepEqual(listed[0]!.connections, { ws: 2, socketio: 1 });
        assert.equal(listed[0]!.seenAt, new Date(10_000).toISOString());
        assert.deepEqual((await a.list(11_000)).filter((i) => i.id === x || i.id === y).map((i) => i.id), [y]);
        await a.remove(y);
        assert.deepEqual((await b.list(0)).filter((i) => i.id === x || i.id === y), []);
      } finally {
        await close();
      }
    });
  });
}
