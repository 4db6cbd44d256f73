import { Type } from '@sinclair/typebox';
import { AddMembers, CreateConversation, PatchConversation, SetRole, UserId, Uuid } from '../../../../protocol/schemas.ts';
import type { Member } from '../../../domain/types.ts';
import { argsOf, defined } from '../args.ts';
import type { GraphqlContext } from '../context.ts';
import { lower } from '../presenters.ts';

type Args = Record<string, unknown>;
type Input = Record<string, unknown>;

const ok = (message?: string) => ({ success: true, message: message ?? null });

const startArgs = argsOf(CreateConversation);
const updateArgs = argsOf(Type.Object({ id: Uuid, patch: PatchConversation }));
const addArgs = argsOf(Type.Object({ conversationId: Uuid, body: AddMembers }));
const memberArgs = argsOf(Type.Object({ conversationId: Uuid, userId: UserId }));
const roleArgs = argsOf(Type.Object({ conversationId: Uuid, userId: UserId, body: SetRole }));

/**
 * Mutations. Those with a realtime command of their own run through the shared
 * dispatcher (same payload schema and rate limit as Socket.IO and /v1/ws); the others
 * check their protocol schema and spend a rate-limit point like the REST write they
 * mirror. Each calls one service.
 */
export const Mutation = {
  async startConversation(_: unknown, { input }: { input: Input }, ctx: GraphqlContext) {
    const participants = input.participantIds as string[];
    const kind = input.kind ? lower(String(input.kind)) : participants.length === 1 ? 'direct' : 'group';
    const body = startArgs({ kind, members: participants, title: input.title, metadata: input.metadata });
    await ctx.spend();
    return (await ctx.services.conversations.create(ctx.actor, body)).conversation;
  },

  sendMessage(_: unknown, { input }: { input: Input }, ctx: GraphqlContext) {
    const { content, attachments, ...rest } = input;
    const files = Array.isArray(attachments) ? attachments.map((a) => defined(a as Input)) : attachments;
    return ctx.command('message:send', defined({ ...rest, body: content, attachments: files }));
  },

  async markConversationAsRead(_: unknown, { conversationId }: Args, ctx: GraphqlContext) {
    await ctx.command('conversation:read', { conversationId });
    return ok();
  },

  editMessage: (_: unknown, { messageId, content }: Args, ctx: GraphqlContext) => ctx.command('message:edit', { messageId, body: content }),

  async deleteMessage(_: unknown, { messageId }: Args, ctx: GraphqlContext) {
    await ctx.command('message:delete', { messageId });
    return ok();
  },

  addReaction: (_: unknown, { messageId, emoji }: Args, ctx: GraphqlContext) => ctx.command('reaction:add', { messageId, emoji }),
  removeReaction: (_: unknown, { messageId, emoji }: Args, ctx: GraphqlContext) => ctx.command('reaction:remove', { messageId, emoji }),
  markRead: (_: unknown, args: Args, ctx: GraphqlContext) => ctx.command('conversation:read', defined(args)),
  markDelivered: (_: unknown, args: Args, ctx: GraphqlContext) => ctx.command('conversation:delivered', defined(args)),

  async setTyping(_: unknown, { conversationId, typing }: Args, ctx: GraphqlContext) {
    await ctx.command(typing ? 'typing:start' : 'typing:stop', { conversationId });
    return ok();
  },

  async updateConversation(_: unknown, { id, input }: { id: string; input: Input }, ctx: GraphqlContext) {
    // An explicit null title clears it; a left-out one stays.
    const patch = { ...('title' in input ? { title: input.title } : {}), ...defined({ metadata: input.metadata }) };
    const a = updateArgs({ id, patch });
    await ctx.spend();
    return ctx.services.conversations.update(ctx.actor, a.id, a.patch);
  },

  async addMembers(_: unknown, { conversationId, userIds, role }: Args, ctx: GraphqlContext): Promise<Member[]> {
    const a = addArgs({ conversationId, body: defined({ userIds, role: typeof role === 'string' ? lower(role) : null }) });
    await ctx.spend();
    return (await ctx.services.members.add(ctx.actor, a.conversationId, a.body)).added;
  },

  async removeMember(_: unknown, args: Args, ctx: GraphqlContext) {
    const a = memberArgs(args);
    await ctx.spend();
    await ctx.services.members.remove(ctx.actor, a.conversationId, a.userId);
    return ok(a.userId === ctx.actor.userId ? 'You left the conversation' : undefined);
  },

  async setMemberRole(_: unknown, { conversationId, userId, role }: Args, ctx: GraphqlContext) {
    const a = roleArgs({ conversationId, userId, body: { role: lower(String(role)) } });
    await ctx.spend();
    return ctx.services.members.setRole(ctx.actor, a.conversationId, a.userId, a.body.role);
  },

  async markNotificationRead(_: unknown, { id }: Args, ctx: GraphqlContext) {
    return ((await ctx.command('notification:read', { notificationId: id })) as { notification: unknown }).notification;
  },

  async markAllNotificationsRead(_: unknown, _a: Args, ctx: GraphqlContext) {
    await ctx.spend();
    return ctx.services.notifications.markAllRead(ctx.actor);
  },
};
