import type { PresenceStore } from '../realtime/presence.ts';

/** Which of `userIds` have a live connection on any instance (push goes to the others). */
export async function onlineUsers(presence: PresenceStore, userIds: string[]): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  return presence.connected(userIds);
}
