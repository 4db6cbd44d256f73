import { LIMITS } from '../../protocol/limits.ts';
import type { AddMembers, MemberListQuery } from '../../protocol/schemas.ts';
import { canManage, canRemove, canSetRole } from '../domain/roles.ts';
import type { Actor, ConversationEvent, Member, Role } from '../domain/types.ts';
import { AppError, notFound } from '../errors.ts';
import type { Repos } from '../storage/store.ts';
import { decodeMemberCursor, encodeMemberCursor } from './cursor.ts';
import { type Outcome, type ServiceDeps, transact, Unchanged } from './deps.ts';
import { groupInvite } from './notify-dispatch.ts';

/**
 * Group membership. Each join, leave and role change takes the conversation's next seq,
 * so it is part of the log every member (and sync) sees in order. Direct conversations
 * have fixed members.
 */
export function memberService(deps: ServiceDeps) {
  const { store, bus, now } = deps;

  async function lockGroup(tx: Repos, conversationId: string, actor: Actor) {
    const lock = await tx.conversations.lockAsMember(conversationId, actor.userId);
    if (!lock) throw notFound('Conversation not found');
    if (lock.kind === 'direct') throw new AppError('direct_conversation');
    return lock;
  }

  async function publishAll(actor: Actor, events: ConversationEvent[]) {
    for (const event of events) await bus.publish({ kind: 'conversation', origin: actor.deviceId, event });
  }

  return {
    /**
     * A page of the members in join order, for any member: a conversation's view carries only
     * the first 100, so this is how a client of a large group gets the rest. `cursors[k]` is
     * where a page after `members[k]` starts (GraphQL's edges).
     */
    async page(
      actor: Actor,
      conversationId: string,
      q: MemberListQuery = {},
    ): Promise<{ members: Member[]; memberCount: number; nextCursor: string | null; cursors: string[] }> {
      const after = q.cursor ? decodeMemberCursor(q.cursor) : null;
      const limit = q.limit ?? LIMITS.memberPageDefault;
      const page = await store.members.page(conversationId, actor.userId, { after, limit: limit + 1 });
      if (!page) throw notFound('Conversation not found');
      const rows = page.members.slice(0, limit);
      const cursors = rows.map((r) => encodeMemberCursor(r.joinedAtUs, r.member.userId));
      const nextCursor = page.members.length > limit ? (cursors.at(-1) ?? null) : null;
      return { members: rows.map((r) => r.member), memberCount: page.memberCount, nextCursor, cursors };
    },

    /** Admins add members; only the owner adds admins. Users not seen before get a bare profile. */
    async add(actor: Actor, conversationId: string, input: AddMembers): Promise<{ added: Member[] }> {
      const role: Role = input.role ?? 'member';
      const at = now();
      const { value: events } = await transact<ConversationEvent[]>(store, async (tx) => {
        const lock = await lockGroup(tx, conversationId, actor);
        if (!canManage(lock.role) || (role === 'admin' && lock.role !== 'owner')) {
          throw new AppError('forbidden', role === 'admin' ? 'Only the owner adds admins' : 'Only admins add members');
        }
        const already = new Set(await tx.members.filterMembers(conversationId, input.userIds));
        const joining = input.userIds.filter((u) => !already.has(u));
        if (joining.length === 0) return new Unchanged([]);
        await tx.users.ensure(joining, at);
        const events: ConversationEvent[] = [];
        for (const userId of joining) {
          const seq = await tx.conversations.takeSeq(conversationId, { message: false, at });
          // History before joining is visible but not unread: the marker starts at the join.
          await tx.members.insert(conversationId, [{ userId, role }], at, seq);
          const member = (await tx.members.get(conversationId, userId))!;
          const event: ConversationEvent = {
            type: 'member:joined',
            conversationId,
            seq,
            data: { conversationId, seq, member, by: actor.userId },
          };
          await tx.events.append(event, at);
          events.push(event);
        }
        await tx.notifyWork.addOutbox(groupInvite(conversationId, events.at(-1)!.seq, actor.userId, joining, at));
        return events;
      });
      if (events.length) deps.notifyWorkWritten?.();
      await publishAll(actor, events);
      return { added: events.map((e) => (e.type === 'member:joined' ? e.data.member : null)).filter((m) => m !== null) };
    },

    /**
     * Removes `userId`; removing oneself is leaving. When the last owner leaves, the
     * longest-standing admin (else member) becomes owner in the same transaction. The
     * caller's role comes from lockAsMember, read after the conversation lock: two members
     * leaving at once see each other's change.
     */
    async remove(actor: Actor, conversationId: string, userId: string): Promise<void> {
      const at = now();
      const { value: events } = await transact(store, async (tx) => {
        const lock = await lockGroup(tx, conversationId, actor);
        const leaving = userId === actor.userId;
        const target = leaving ? { role: lock.role } : await tx.members.get(conversationId, userId);
        if (!target) throw notFound('That user is not a member');
        if (!leaving && !canRemove(lock.role, target.role)) throw new AppError('forbidden', 'You cannot remove this member');
        await tx.members.remove(conversationId, userId);
        const seq = await tx.conversations.takeSeq(conversationId, { message: false, at });
        const events: ConversationEvent[] = [
          { type: 'member:left', conversationId, seq, data: { conversationId, seq, userId, by: actor.userId } },
        ];
        // Whoever left, a group with members keeps an owner: the longest-standing admin
        // (else member) inherits when none is left (this also mends a group left ownerless before).
        const heir = await tx.members.heir(conversationId);
        if (heir) {
          const member = (await tx.members.setRole(conversationId, heir, 'owner'))!;
          const next = await tx.conversations.takeSeq(conversationId, { message: false, at });
          events.push({ type: 'member:updated', conversationId, seq: next, data: { conversationId, seq: next, member, by: actor.userId } });
        }
        for (const e of events) await tx.events.append(e, at);
        return events;
      });
      await publishAll(actor, events);
    },

    /** The owner makes members admins and back. */
    async setRole(actor: Actor, conversationId: string, userId: string, role: Role): Promise<Member> {
      const at = now();
      const { value } = await transact<Outcome<Member>>(store, async (tx) => {
        const lock = await lockGroup(tx, conversationId, actor);
        const target = await tx.members.get(conversationId, userId);
        if (!target) throw notFound('That user is not a member');
        if (!canSetRole(lock.role, target.role, role)) throw new AppError('forbidden', 'Only the owner changes roles');
        if (target.role === role) return new Unchanged({ result: target, event: null });
        const member = (await tx.members.setRole(conversationId, userId, role))!;
        const seq = await tx.conversations.takeSeq(conversationId, { message: false, at });
        const event: ConversationEvent = { type: 'member:updated', conversationId, seq, data: { conversationId, seq, member, by: actor.userId } };
        await tx.events.append(event, at);
        return { result: member, event };
      });
      if (value.event) await bus.publish({ kind: 'conversation', origin: actor.deviceId, event: value.event });
      return value.result;
    },
  };
}

export type MemberService = ReturnType<typeof memberService>;
