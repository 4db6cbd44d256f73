import type { NotificationType } from '../domain/types.ts';

/**
 * Which notification types each realtime connection asked for (`notification:subscribe`).
 * In memory and per connection, like typing: a connection that reconnects subscribes again.
 * A connection that never asked gets every type.
 */
export function notificationFilters() {
  const byConnection = new Map<string, ReadonlySet<NotificationType>>();
  return {
    /** `null` means every type again. */
    set(connectionId: string, types: NotificationType[] | null): { types: NotificationType[] | null } {
      if (types === null) byConnection.delete(connectionId);
      else byConnection.set(connectionId, new Set(types));
      return { types };
    },
    allows: (connectionId: string, type: NotificationType): boolean => byConnection.get(connectionId)?.has(type) ?? true,
    dropConnection(connectionId: string): void {
      byConnection.delete(connectionId);
    },
  };
}

export type NotificationFilters = ReturnType<typeof notificationFilters>;
