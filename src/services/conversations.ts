import { groupInvite } from './notify-dispatch.ts';
import { randomUUID } from 'node:crypto';
import { LIMITS } from '../../protocol/limits.ts';
import type { ConversationListQuery, CreateConversation, PatchConversation } from '../../protocol/schemas.ts';
import { canManage } from '../domain/roles.ts';
import { directKey } from '../domain/ids.ts';
import type { Actor, Conversation, ConversationEvent } from '../domain/types.ts';
import { AppError, notFound } from '../errors.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { isStorableInstant } from '../domain/instant.ts';
import { type ServiceDeps, transact, Unchanged } from './deps.ts';
import { checkMetadata } from './metadata.ts';

/** "Muted" with no end: a date that never passes. */
const MUTED_FOREVER = new Date('9999-12-31T00:00:00Z');

/**
 * Conversations: direct (one per pair of users, created idempotently) and groups (owner,
 * admins, members, title and metadata). Every read is scoped to the caller's membership:
 * a conversation the caller is not in does not exist for them (404, never 403).
 */
export function conversationService(deps: ServiceDeps) {
  const { store, bus, now } = deps;

  async function get(actor: Actor, id: string): Promise<Conversation> {
    const conversation = await store.conversations.getFor(id, actor.userId);
    if (!conversation) throw notFound('Conversation not found');
    return conversation;
  }

  async function createDirect(actor: Actor, members: string[], metadata: Record<string, unknown>) {
    const others = members.filter((m) => m !== actor.userId);
    if (others.length !== 1) throw new AppError('validation_failed', 'A direct conversation names exactly one other user');
    const other = others[0]!;
    const key = directKey(actor.userId, other);
    const existing = await store.conversations.findDirect(key);
    if (existing) return { conversation: await get(actor, existing), created: false };
    const at = now();
    const id = randomUUID();
    const { changed } = await transact<string | null>(store, async (tx) => {
      await tx.users.ensure([actor.userId, other], at);
      // Two first messages racing: ON CONFLICT lets one insert win; the other reads it.
      if (!(await tx.conversations.insert({ id, kind: 'direct', directKey: key, title: null, metadata, createdBy: actor.userId, at }))) {
        return new Unchanged(null);
      }
      await tx.members.insert(id, [{ userId: actor.userId, role: 'member' }, { userId: other, role: 'member' }], at, 0);
      return id;
    });
    const conversationId = changed ? id : await store.conversations.findDirect(key);
    return { conversation: await get(actor, conversationId!), created: changed };
  }

  return {
    get,

    /** Direct conversations are deduplicated: creating one again returns the same one. */
    async create(actor: Actor, input: CreateConversation): Promise<{ conversation: Conversation; created: boolean }> {
      checkMetadata(input.metadata);
      if (input.kind === 'direct') {
        if (input.title) throw new AppError('validation_failed', 'A direct conversation has no title');
        return createDirect(actor, input.members, input.metadata ?? {});
      }
      const at = now();
      const id = randomUUID();
      const others = input.members.filter((m) => m !== actor.userId);
      await store.transaction(async (tx) => {
        await tx.users.ensure([actor.userId, ...others], at);
        await tx.conversations.insert({
          id,
          kind: 'group',
          directKey: null,
          title: input.title ?? null,
          metadata: input.metadata ?? {},
          createdBy: actor.userId,
          at,
        });
        await tx.members.insert(id, [{ userId: actor.userId, role: 'owner' }, ...others.map((userId) => ({ userId, role: 'member' as const }))], at, 0);
        if (others.length) await tx.notifyWork.addOutbox(groupInvite(id, 0, actor.userId, others, at));
      });
      // No event tells the others of the new group: their invitation (notification:new) does.
      if (others.length) deps.notifyWorkWritten?.();
      return { conversation: await get(actor, id), created: true };
    },

    /** The caller's conversations, most recently active first; archived ones only on request. */
    async list(actor: Actor, q: ConversationListQuery): Promise<{ conversations: Conversation[]; nextCursor: string | null }> {
      const limit = q.limit ?? LIMITS.conversationsDefault;
      const conversations = await store.conversations.listFor(actor.userId, {
        archived: q.archived ?? false,
        limit,
        before: q.cursor ? decodeCursor(q.cursor) : null,
      });
      const last = conversations.length === limit ? conversations[limit - 1] : undefined;
      return { conversations, nextCursor: last ? encodeCursor(last.lastActivityAt, last.id) : null };
    },

    /** Title and metadata of a group; admins and the owner only. Takes a seq (conversation:updated). */
    async update(actor: Actor, id: string, patch: PatchConversation): Promise<Conversation> {
      checkMetadata(patch.metadata);
      const at = now();
      const { value: event } = await transact(store, async (tx) => {
        const lock = await tx.conversations.lockAsMember(id, actor.userId);
        if (!lock) throw notFound('Conversation not found');
        if (lock.kind === 'direct') throw new AppError('direct_conversation', 'A direct conversation has no title or metadata to change');
        if (!canManage(lock.role)) throw new AppError('forbidden', 'Only admins change a group');
        const seq = await tx.conversations.takeSeq(id, { message: false, at });
        const conversation = await tx.conversations.updateInfo(id, patch, at);
        const event: ConversationEvent = {
          type: 'conversation:updated',
          conversationId: id,
          seq,
          data: { conversationId: id, seq, conversation, by: actor.userId },
        };
        await tx.events.append(event, at);
        return event;
      });
      await bus.publish({ kind: 'conversation', origin: actor.deviceId, event });
      return get(actor, id);
    },

    /** Archived conversations drop out of the list until a new message arrives. */
    async setArchived(actor: Actor, id: string, archived: boolean): Promise<Conversation> {
      if (!(await store.members.setSettings(id, actor.userId, { archived }))) throw notFound('Conversation not found');
      return get(actor, id);
    },

    /** Muted until `until`, or indefinitely without one. Muted unread is left out of the total. */
    async mute(actor: Actor, id: string, until?: Date): Promise<Conversation> {
      // A date-time the schema accepts may still be no date here (second 60) or past year 9999.
      if (until && !(isStorableInstant(until.getTime()) && until.getTime() > now().getTime())) {
        throw new AppError('validation_failed', 'until must be a time in the future, before year 10000');
      }
      if (!(await store.members.setSettings(id, actor.userId, { mutedUntil: until ?? MUTED_FOREVER }))) throw notFound('Conversation not found');
      return get(actor, id);
    },

    async unmute(actor: Actor, id: string): Promise<Conversation> {
      if (!(await store.members.setSettings(id, actor.userId, { mutedUntil: null }))) throw notFound('Conversation not found');
      return get(actor, id);
    },
  };
}

export type ConversationService = ReturnType<typeof conversationService>;
