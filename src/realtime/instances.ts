/** One Parley process of a cluster, as the others see it. */
export interface InstanceInfo {
  id: string;
  startedAt: string;
  /** Live realtime connections, by gateway. */
  connections: Record<string, number>;
  /** Its last heartbeat. */
  seenAt: string;
}

/**
 * The instances port: each instance beats every few seconds; an instance silent past the
 * stale bound (killed, partitioned) is no longer listed. Memory: this process alone.
 */
export interface InstanceRegistry {
  beat(info: Omit<InstanceInfo, 'seenAt'>, now: number): Promise<void>;
  /** Instances heard from since `staleBefore`; older entries are forgotten. */
  list(staleBefore: number): Promise<InstanceInfo[]>;
  remove(id: string): Promise<void>;
}
