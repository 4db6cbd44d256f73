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
 * connection that keeps sending past its budget is reported through its owner's `onFlood` so its
 * gateway closes it. A class, not closures over a scope: an idle connection holds one
 * object for it instead of two functions and their context.
 */
export class FrameBudget {
  private tokens: number;
  private refilledAt = Date.now();
  // Accepted frames in between do not reset it: a flooder whose budget trickles back
  // (50 a second) would otherwise never be closed.
  private refused = 0;
  private lastRefusalAt = 0;

  constructor(
    private readonly limits: FrameBudgetLimits,
    /** Told when the connection floods (an object, so a connection can be its own: no closure each). */
    private readonly owner: { onFlood(): void },
  ) {
    this.tokens = limits.burst;
  }

  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.limits.burst, this.tokens + ((now - this.refilledAt) / 1000) * this.limits.perSecond);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens--;
      return true;
    }
    if (now - this.lastRefusalAt > FLOOD_FORGET_MS) this.refused = 0;
    this.lastRefusalAt = now;
    if (++this.refused >= FLOOD_CLOSE_AFTER) this.owner.onFlood();
    return false;
  }

  charge(n: number): void {
    this.tokens -= n;
  }
}
