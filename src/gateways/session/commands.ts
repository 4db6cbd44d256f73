import type { ValidateFunction } from 'ajv';
import { type Ack, COMMANDS, type CommandData, type CommandName, type CommandResults } from '../../../protocol/events.ts';
import type { Actor } from '../../domain/types.ts';
import { AppError, toAppError } from '../../errors.ts';
import type { RateLimiter } from '../../realtime/rate-limiter.ts';
import type { Services } from '../../services/index.ts';
import { assertCleanValue } from '../json.ts';
import { bodyAjv, describeErrors } from '../validation.ts';

/** Who sent a command, and on which connection (typing, locks and presence are per connection). */
export interface CommandContext {
  actor: Actor;
  connectionId: string;
}

/** Each returns its command's ack data (`protocol/event-map.ts`); those answering `{}` return nothing. */
type Reply<C extends CommandName> = CommandResults[C] extends Record<string, never> ? Promise<void> : Promise<CommandResults[C]>;
type Handlers = { [C in CommandName]: (s: Services, ctx: CommandContext, data: CommandData<C>) => Reply<C> };

/** One line per command: parse is done, call one service, the result is the ack's data. */
const HANDLERS: Handlers = {
  // The command's data is a SendMessage plus conversationId, which send() does not read: passed
  // whole, since copying the rest out (`...input`) took V8's slow path on every send.
  'message:send': async (s, { actor }, d) => (await s.messages.send(actor, d.conversationId, d)).message,
  'message:edit': (s, { actor }, d) => s.messages.edit(actor, d.messageId, d.body),
  'message:delete': (s, { actor }, d) => s.messages.delete(actor, d.messageId),
  'reaction:add': (s, { actor }, d) => s.reactions.add(actor, d.messageId, d.emoji),
  'reaction:remove': (s, { actor }, d) => s.reactions.remove(actor, d.messageId, d.emoji),
  'typing:start': (s, { actor, connectionId }, d) => s.typing.start(actor, d.conversationId, connectionId),
  'typing:stop': (s, { actor }, d) => s.typing.stop(actor, d.conversationId),
  'conversation:read': (s, { actor }, d) => s.readState.markRead(actor, d.conversationId, d.seq),
  'conversation:delivered': (s, { actor }, d) => s.readState.markDelivered(actor, d.conversationId, d.seq),
  'presence:set': (s, { actor }, d) => s.presence.set(actor, d),
  'presence:get': async (s, { actor }, d) => ({ presence: await s.presence.query(actor, d.userIds) }),
  sync: (s, { actor }, d) => s.sync.sync(actor, d.cursors, d.limit),
  heartbeat: async (s, { actor, connectionId }) => {
    await s.presence.heartbeat(actor, connectionId);
    return { at: new Date().toISOString() };
  },
  'message:lock': (s, { actor, connectionId }, d) => s.locks.lock(actor, d.messageId, connectionId),
  'message:unlock': (s, { actor }, d) => s.locks.unlock(actor, d.messageId),
  'notification:read': (s, { actor }, d) => s.notifications.markRead(actor, d.notificationId),
  'notification:subscribe': async (s, { connectionId }, d) => s.notificationFilters.set(connectionId, d.types),
};

/** Commands that write count against the user's rate limit, shared with REST writes. */
const WRITES = new Set<CommandName>(['message:send', 'message:edit', 'message:delete', 'reaction:add', 'reaction:remove', 'message:lock', 'presence:set']);

export type Dispatch = (ctx: CommandContext, name: unknown, data: unknown) => Promise<Ack>;

const fail = (err: AppError): Ack => ({ ok: false, error: err.toBody() });

/**
 * The one command path of every realtime gateway: known name, schema-valid payload,
 * rate limit, then the service. Always resolves to an ack; never throws.
 */
export function createDispatcher(
  services: Services,
  limiter: RateLimiter,
  /** A failure of the server's own (`internal_error`) or of storage (`unavailable`), for logs and metrics. */
  onServerError: (err: unknown, name: string, code: 'internal_error' | 'unavailable') => void,
): Dispatch {
  const validators = new Map<string, ValidateFunction>(Object.entries(COMMANDS).map(([name, schema]) => [name, bodyAjv.compile(schema)]));
  return async (ctx, name, data) => {
    const validate = typeof name === 'string' ? validators.get(name) : undefined;
    if (!validate) return fail(new AppError('unknown_command', `Unknown command: ${String(name).slice(0, 64)}`));
    try {
      assertCleanValue(data);
    } catch (err) {
      return fail(toAppError(err));
    }
    if (!validate(data ?? {})) {
      const details = describeErrors(validate.errors ?? [], 'data');
      return fail(new AppError('validation_failed', `${details[0]?.path}: ${details[0]?.message}`, { details }));
    }
    const command = name as CommandName;
    try {
      if (WRITES.has(command)) {
        const decision = await limiter.consume(`user:${ctx.actor.userId}`);
        if (!decision.allowed) return fail(new AppError('rate_limited', undefined, { retryAfter: decision.retryAfterSec }));
      }
      const handler = HANDLERS[command] as (s: Services, c: CommandContext, d: unknown) => Promise<unknown>;
      return { ok: true, data: (await handler(services, ctx, data ?? {})) ?? {} };
    } catch (err) {
      const appErr = toAppError(err);
      if (appErr.code === 'internal_error' || appErr.code === 'unavailable') onServerError(err, command, appErr.code);
      return fail(appErr);
    }
  };
}
