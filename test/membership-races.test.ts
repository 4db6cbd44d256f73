import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Actor, ConversationEvent } from '../src/domain/types.ts';
import { backends, skippedPostgres } from './helpers/backends.ts';
import { type Harness, harness, uid } from './helpers/harness.ts';

/**
 * Membership changes racing with what they forbid (issue 8 §2). Each race runs many times,
 * every trial in its own group and all trials at once: on PostgreSQL the two sides of a trial
 * really overlap (several pool connections), and the whole batch costs about one trial's time.
 * A check that reads membership from a snapshot older than its conversation lock lets some
 * of them through; none may.
 */
const TRIALS = { postgres: 200, pglite: 50 };

if (skippedPostgres) test('membership races on postgres', { skip: skippedPostgres }, () => {});

const actor = (userId: string): Actor => ({ userId });
const settle = (p: Promise<unknown>) => p.then(() => 'ok', (err: { code?: string }) => err.code ?? String(err));
const later = async (turns: number, fn: () => Promise<unknown>) => {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
  return settle(fn());
};
/** Trial n runs both sides, one of them 0-4 turns of the event loop later, so that across trials they overlap in every way. */
const together = (n: number, a: () => Promise<unknown>, b: () => Promise<unknown>) =>
  Promise.all([later(n % 2 ? (n >> 1) % 5 : 0, a), later(n % 2 ? 0 : (n >> 1) % 5, b)]);

for (const backend of backends) {
  describe(`membership races on ${backend.name}`, () => {
    // PGlite runs one transaction at a time, so its trials cannot overlap: fewer suffice there.
    const trials = TRIALS[backend.name];
    let h: Harness;
    before(async () => {
      h = await harness(backend);
    });
    after(() => h.close());

    const s = () => h.app.services;
    const log = (conversationId: string): Promise<ConversationEvent[]> => h.store.events.since(conversationId, 0, 1000);
    const group = async (owner: string, members: string[]) =>
      (await s().conversations.create(actor(owner), { kind: 'group', members, title: 'race' })).conversation.id;

    /** Runs `trial` `trials` times at once; answers the trials that broke the rule, described. */
    async function race(trial: (n: number) => Promise<string | null>): Promise<string[]> {
      const outcomes = await Promise.all(Array.from({ length: trials }, (_, n) => trial(n)));
      return outcomes.filter((o): o is string => o !== null);
    }

    test(`a member removed while sending: the message never lands after member:left (${trials} trials)`, async () => {
      const violations = await race(async (n) => {
        const [owner, member] = [uid('own'), uid('mem')];
        const id = await group(owner, [member]);
        await together(
          n,
          () => s().members.remove(actor(owner), id, member),
          () => s().messages.send(actor(member), id, { clientMsgId: randomUUID(), body: 'sneaking in' }),
        );
        const events = await log(id);
        const left = events.find((e) => e.type === 'member:left')!.seq;
        const late = events.filter((e) => e.type === 'message:new' && e.data.message.senderId === member && e.seq > left);
        return late.length ? `message at seq ${late[0]!.seq} after member:left at ${left}` : null;
      });
      assert.deepEqual(violations, []);
    });

    test(`a member removed while reacting: the reaction never lands after member:left (${trials} trials)`, async () => {
      const violations = await race(async (n) => {
        const [owner, member] = [uid('own'), uid('mem')];
        const id = await group(owner, [member]);
        const { message } = await s().messages.send(actor(owner), id, { clientMsgId: randomUUID(), body: 'react to me' });
        await together(n, () => s().members.remove(actor(owner), id, member), () => s().reactions.add(actor(member), message.id, '👍'));
        const events = await log(id);
        const left = events.find((e) => e.type === 'member:left')!.seq;
        const late = events.find((e) => e.type === 'reaction:updated' && e.data.userId === member && e.seq > left);
        const kept = (await s().messages.get(actor(owner), message.id)).reactions.some((r) => r.userIds.includes(member));
        return late ? `reaction at seq ${late.seq} after member:left at ${left}${kept ? ', still on the message' : ''}` : null;
      });
      assert.deepEqual(violations, []);
    });

    test(`an admin demoted while deleting someone else's message: the delete never lands after the demotion (${trials} trials)`, async () => {
      const violations = await race(async (n) => {
        const [owner, admin] = [uid('own'), uid('adm')];
        const id = await group(owner, [admin]);
        await s().members.setRole(actor(owner), id, admin, 'admin');
        const { message } = await s().messages.send(actor(owner), id, { clientMsgId: randomUUID(), body: 'not yours' });
        await together(n, () => s().members.setRole(actor(owner), id, admin, 'member'), () => s().messages.delete(actor(admin), message.id));
        const events = await log(id);
        const demoted = events.findLast((e) => e.type === 'member:updated' && e.data.member.role === 'member')!.seq;
        const deleted = events.find((e) => e.type === 'message:deleted');
        return deleted && deleted.seq > demoted ? `deleted at seq ${deleted.seq} after the demotion at ${demoted}` : null;
      });
      assert.deepEqual(violations, []);
    });

    test(`owner and admin leaving together: the group keeps an owner while it has members (${trials} trials)`, async () => {
      const violations = await race(async (n) => {
        const [owner, admin, member] = [uid('own'), uid('adm'), uid('mem')];
        const id = await group(owner, [admin, member]);
        await s().members.setRole(actor(owner), id, admin, 'admin');
        await together(n, () => s().members.remove(actor(owner), id, owner), () => s().members.remove(actor(admin), id, admin));
        const members = await h.store.members.list(id);
        const roles = members.map((m) => `${m.userId === member ? 'member' : m.userId}:${m.role}`);
        return members.length > 0 && !members.some((m) => m.role === 'owner') ? `no owner left among ${roles.join(', ')}` : null;
      });
      assert.deepEqual(violations, []);
    });
  });
}
