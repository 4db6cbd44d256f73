import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { type Client, type Harness, harness, send, uid } from './helpers/harness.ts';

/**
 * Invariant 5, as a property: over random sequences of sends, reads, deletes, reactions
 * and membership changes, every member's unread count equals a model's:
 * messages from others, not deleted, after the member's read marker.
 */

type Op =
  | { kind: 'send'; user: number }
  | { kind: 'read'; user: number; ahead: number }
  | { kind: 'readAll'; user: number }
  | { kind: 'delete'; pick: number }
  | { kind: 'react'; user: number; pick: number }
  | { kind: 'add'; user: number }
  | { kind: 'remove'; user: number };

const USERS = 4; // user 0 owns the group and is never removed
const user = fc.integer({ min: 0, max: USERS - 1 });
const other = fc.integer({ min: 1, max: USERS - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('send' as const), user }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('read' as const), user, ahead: fc.integer({ min: -3, max: 3 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('readAll' as const), user }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('react' as const), user, pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('add' as const), user: other }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('remove' as const), user: other }), weight: 1 },
);

interface Model {
  lastSeq: number;
  messages: { id: string; seq: number; sender: number; deleted: boolean }[];
  /** Read marker per member; absent = not a member. */
  read: Map<number, number>;
}

const unreadOf = (m: Model, u: number): number =>
  m.messages.filter((x) => x.seq > m.read.get(u)! && x.sender !== u && !x.deleted).length;

async function apply(o: Op, m: Model, clients: Client[], id: string): Promise<void> {
  const isMember = (u: number) => m.read.has(u);
  switch (o.kind) {
    case 'send': {
      if (!isMember(o.user)) return;
      const msg = await send(clients[o.user]!, id, `from ${o.user}`);
      m.lastSeq = msg.seq;
      m.messages.push({ id: msg.id, seq: msg.seq, sender: o.user, deleted: false });
      m.read.set(o.user, msg.seq);
      return;
    }
    case 'read': {
      if (!isMember(o.user)) return;
      const seq = Math.max(0, m.lastSeq + o.ahead);
      await clients[o.user]!.post(`/v1/conversations/${id}/read`, { seq });
      m.read.set(o.user, Math.max(m.read.get(o.user)!, Math.min(seq, m.lastSeq)));
      return;
    }
    case 'readAll': {
      if (!isMember(o.user)) return;
      await clients[o.user]!.post(`/v1/conversations/${id}/read`, {});
      m.read.set(o.user, m.lastSeq);
      return;
    }
    case 'delete': {
      const target = m.messages[o.pick % Math.max(1, m.messages.length)];
      if (!target || !isMember(target.sender)) return;
      const res = await clients[target.sender]!.delete(`/v1/messages/${target.id}`);
      assert.equal(res.status, 200);
      if (!target.deleted) m.lastSeq++;
      target.deleted = true;
      return;
    }
    case 'react': {
      const target = m.messages[o.pick % Math.max(1, m.messages.length)];
      if (!target || target.deleted || !isMember(o.user)) return;
      const res = await clients[o.user]!.post(`/v1/messages/${target.id}/reactions`, { emoji: `e${m.lastSeq}` });
      assert.equal(res.status, 200);
      m.lastSeq++;
      return;
    }
    case 'add': {
      if (isMember(o.user)) return;
      await clients[0]!.post(`/v1/conversations/${id}/members`, { userIds: [clients[o.user]!.userId] });
      m.lastSeq++;
      m.read.set(o.user, m.lastSeq);
      return;
    }
    case 'remove': {
      if (!isMember(o.user)) return;
      assert.equal((await clients[0]!.delete(`/v1/conversations/${id}/members/${clients[o.user]!.userId}`)).status, 204);
      m.lastSeq++;
      m.read.delete(o.user);
      return;
    }
  }
}

if (skippedPostgres) test('unread model on postgres', { skip: skippedPostgres }, () => {});

for (const backend of backends) {
  describe(`unread counts on ${backend.name}`, () => {
    let h: Harness;
    before(async () => {
      h = await harness(backend);
    });
    after(() => h.close());

    test('match the model over random sends, reads, deletes, reactions and membership changes', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 25 }), async (ops) => {
          const clients = Array.from({ length: USERS }, () => h.as(uid('m')));
          const id = await h.group(clients[0]!, [clients[1]!.userId]);
          const m: Model = { lastSeq: 0, messages: [], read: new Map([[0, 0], [1, 0]]) };
          for (const o of ops) {
            await apply(o, m, clients, id);
            for (let u = 0; u < USERS; u++) {
              const res = await clients[u]!.get(`/v1/conversations/${id}`);
              if (!m.read.has(u)) {
                assert.equal(res.status, 404);
                continue;
              }
              assert.equal(res.body.conversation.unreadCount, unreadOf(m, u), `user ${u} after ${JSON.stringify(o)}`);
              assert.equal(res.body.conversation.lastSeq, m.lastSeq);
            }
          }
          // The total across conversations (these users have only this one) agrees too.
          for (const [u] of m.read) assert.equal((await clients[u]!.get('/v1/me/unread')).body.totalUnread, unreadOf(m, u));
        }),
        { numRuns: 30 },
      );
    });
  });
}
