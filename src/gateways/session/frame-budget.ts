/** Refused frames, with no 10-second pause between them, after which the connection is closed as a flood. */
const FLOOD_CLOSE_AFTER = 200;
const FLOOD_FORGET_MS = 10_000;

/** Frames a connection may send in a burst, and per second after it (PARLEY_FRAME_BURST, PARLEY_FRAME_RATE). */
export interface FrameBudgetLimits {
  burst: number;
  perSecond: number;
}

/**
 * A per-connection token bucket for incoming frames, shared by every realtime gateway.
 * `take()` answers whether one more frame may run; `charge(n)` makes a frame that turned
 * out costly (a sync page) pay for n more, which may leave the bucket in debt. A
 * connection that keeps sending past its budget is reported once through `onFlood` so its
 * gateway closes it.
 */
export function frameBudget(limits: FrameBudgetLimits, onFlood: () => void) {
  const { burst, perSecond } = limits;
  let tokens = burst;
  let refilledAt = Date.now();
  // Accepted frames in between do not reset it: a flooder whose budget trickles back
  // (50 a second) would otherwise never be closed.
  let refused = 0;
  let lastRefusalAt = 0;
  return {
    take(): boolean {
      const now = Date.now();
      tokens = Math.min(burst, tokens + ((now - refilledAt) / 1000) * perSecond);
      refilledAt = now;
      if (tokens >= 1) {
        tokens--;
        return true;
      }
      if (now - lastRefusalAt > FLOOD_FORGET_MS) refused = 0;
      lastRefusalAt = now;
      if (++refused >= FLOOD_CLOSE_AFTER) onFlood();
      return false;
    },
    charge(n: number): void {
      tokens -= n;
    },
  };
}
