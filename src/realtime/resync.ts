import type { Bus } from './bus.ts';
import type { Hub } from './hub.ts';

/**
 * When the bus may have lost messages from other instances, every local client is told to
 * sync (`sync:required`): the database has everything, the live stream had a gap.
 */
export function startResync(bus: Bus, hub: Hub): () => void {
  return bus.subscribe((m) => {
    if (m.kind === 'resync') hub.emitTo([...hub.userIds()], 'sync:required', { reason: m.reason });
  });
}
