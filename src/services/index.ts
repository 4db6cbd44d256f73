import type { Config } from '../config.ts';
import type { LockStore } from '../realtime/locks.ts';
import type { PresenceStore } from '../realtime/presence.ts';
import { connectedOrHere } from '../realtime/presence-here.ts';
import type { TypingStore } from '../realtime/typing.ts';
import type { InstanceRegistry } from '../realtime/instances.ts';
import { authService } from './auth.ts';
import { conversationService } from './conversations.ts';
import type { ServiceDeps } from './deps.ts';
import { lockService } from './locks.ts';
import { memberService } from './members.ts';
import { membershipCache } from './membership.ts';
import { messageService } from './messages.ts';
import { notificationService } from './notifications.ts';
import { deviceService } from './devices.ts';
import { presenceService } from './presence.ts';
import { reactionService } from './reactions.ts';
import { readStateService } from './read-state.ts';
import { syncService } from './sync.ts';
import { typingService } from './typing.ts';
import { userService } from './users.ts';
import { notifyDispatcher } from './notify-dispatch.ts';
import { pushService } from './push.ts';
import { digestService } from './digest.ts';
import { adminService } from './admin.ts';
import { notificationFilters } from './notification-filters.ts';
import type { DevicePlatform } from '../domain/types.ts';

/** Ports that hold realtime state: in process for one instance, Redis for a cluster. */
export interface RealtimePorts {
  presence: PresenceStore;
  locks: LockStore;
  typing: TypingStore;
  instances: InstanceRegistry;
  /** An instance silent this long is no longer listed. */
  instanceStaleMs: number;
  /** Platforms with a configured push channel; devices of others are not pushed to. */
  pushPlatforms: ReadonlySet<DevicePlatform>;
  /** Whether the user has a connection to this instance (the hub's), for when presence cannot answer. */
  connectedHere: (userId: string) => boolean;
  /** Told, now and then, that the notification pipeline is deciding from this instance's connections alone. */
  onPresenceFallback: (err: Error) => void;
}

/** Outbox rows, and new messages, taken per dispatcher transaction. */
const DISPATCH_BATCH = 200;
const DISPATCH_MESSAGES = 1000;

/** Typing shows for 6 s after the last sign of it; `true` is re-sent at most every 2 s. */
const TYPING = { ttlMs: 6000, resendMs: 2000 };
/** Changes per sync page when the client names no limit. */
const SYNC_PAGE = 500;

/** The API of the product. Every gateway calls these and nothing else. */
export function createServices(config: Config, deps: ServiceDeps, ports: RealtimePorts) {
  const users = userService(deps);
  const membership = membershipCache(deps.store, deps.bus);
  const locks = lockService({ ...deps, locks: ports.locks, membership }, { ttlMs: config.realtime.lockTtlMs });
  const typing = typingService({ bus: deps.bus, membership, typing: ports.typing }, TYPING);
  const connected = connectedOrHere(ports.presence, ports.connectedHere, ports.onPresenceFallback);
  return {
    auth: authService(config, users),
    users,
    conversations: conversationService(deps),
    members: memberService(deps),
    membership,
    messages: messageService({ ...deps, locks }),
    reactions: reactionService(deps),
    readState: readStateService(deps),
    sync: syncService(deps, { syncLimit: config.syncLimit, pageDefault: SYNC_PAGE, pageBytes: config.syncPageBytes }),
    presence: presenceService({ ...deps, presence: ports.presence, membership }, { groupLimit: config.realtime.presenceGroupLimit }),
    typing,
    locks,
    notifications: notificationService(deps),
    notificationFilters: notificationFilters(),
    dispatcher: notifyDispatcher(
      { ...deps, presence: connected, membership },
      { pushWhen: config.push.when, coalesceMs: config.push.coalesceMs, batch: DISPATCH_BATCH, messageBatch: DISPATCH_MESSAGES, platforms: ports.pushPlatforms },
    ),
    push: pushService({ ...deps, presence: connected }, { pushWhen: config.push.when, platforms: ports.pushPlatforms }),
    admin: adminService({ ...deps, instances: ports.instances, presence: ports.presence, instanceStaleMs: ports.instanceStaleMs }),
    digest: digestService({ ...deps, presence: connected }, { appUrl: config.email.appUrl }),
    devices: deviceService(deps, { allowInsecurePush: config.push.allowInsecure, vapidPublicKey: config.push.vapid?.publicKey ?? null }),
    close() {
      typing.close();
      locks.close();
      membership.close();
    },
  };
}

export type Services = ReturnType<typeof createServices>;
