import type { Dispatch } from '../gateways/session/commands.ts';
import { AppError } from '../errors.ts';

/**
 * Graceful shutdown's first half: once draining, new realtime commands are refused with a
 * retryable `unavailable` (the client retries on the instance it reconnects to), and the
 * commands already running (commits and their acks) are waited for.
 */
export function createDrain() {
  let draining = false;
  let inFlight = 0;
  let idle: (() => void) | null = null;
  return {
    draining: () => draining,
    begin() {
      draining = true;
    },
    /** Wraps the command path: counts what runs, refuses what comes after begin(). */
    wrap(dispatch: Dispatch): Dispatch {
      return async (ctx, name, data) => {
        if (draining) return { ok: false, error: new AppError('unavailable', 'This instance is restarting; retry on reconnect', { retryAfter: 1 }).toBody() };
        inFlight++;
        try {
          return await dispatch(ctx, name, data);
        } finally {
          if (--inFlight === 0) idle?.();
        }
      };
    },
    /** Resolves once no command is running (call after begin()). */
    settled(): Promise<void> {
      if (inFlight === 0) return Promise.resolve();
      return new Promise((resolve) => {
        idle = () => {
          idle = null;
          resolve();
        };
      });
    },
  };
}

export type Drain = ReturnType<typeof createDrain>;
