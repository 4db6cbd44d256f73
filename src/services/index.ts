import type { Config } from '../config.ts';
import { authService } from './auth.ts';
import { conversationService } from './conversations.ts';
import type { ServiceDeps } from './deps.ts';
import { memberService } from './members.ts';
import { messageService } from './messages.ts';
import { reactionService } from './reactions.ts';
import { readStateService } from './read-state.ts';
import { userService } from './users.ts';

/** The API of the product. Every gateway calls these and nothing else. */
export function createServices(config: Config, deps: ServiceDeps) {
  const users = userService(deps);
  return {
    auth: authService(config, users),
    users,
    conversations: conversationService(deps),
    members: memberService(deps),
    messages: messageService(deps),
    reactions: reactionService(deps),
    readState: readStateService(deps),
  };
}

export type Services = ReturnType<typeof createServices>;
