import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { RateLimiter } from '../../src/realtime/rate-limiter.ts';
import { waitFor } from './harness.ts';

export type MakeRateLimiter = (opts: { points: number; durationSec: number }) => RateLimiter | Promise<RateLimiter>;

/**
 * The RateLimiter port's contract, shared by every implementation (memory now, Redis for
 * the cluster mode): run it once per implementation. Keys carry a random prefix, so runs
 * sharing one Redis never see each other's counters. No fixed sleeps: where time must
 * pass, the window is 1 s and the suite polls against a deadline.
 */
export function rateLimiterContract(name: string, make: MakeRateLimiter): void {
  describe(`RateLimiter contract: ${name}`, () => {
    const run = randomBytes(4).toString('hex');
    let n = 0;
    const key = () => `contract:${run}:${++n}`;
    const consumeN = async (limiter: RateLimiter, k: string, times: number) => {
      const out = [];
      for (let i = 0; i < times; i++) out.push(await limiter.consume(k));
      return out;
    };

    test('allows exactly `points` per key, then refuses with a whole, positive retryAfterSec within the window', async () => {
      const limiter = await make({ points: 3, durationSec: 60 });
      const k = key();
      const results = await consumeN(limiter, k, 5);
      assert.deepEqual(results.slice(0, 3), [{ allowed: true }, { allowed: true }, { allowed: true }]);
      for (const r of results.slice(3)) {
        assert.equal(r.allowed, false);
        if (r.allowed) continue;
        assert.ok(Number.isInteger(r.retryAfterSec), `retryAfterSec ${r.retryAfterSec} is not an integer`);
        assert.ok(r.retryAfterSec >= 1 && r.retryAfterSec <= 60, `retryAfterSec ${r.retryAfterSec} is outside 1..60`);
      }
    });

    test('keys are counted apart', async () => {
      const limiter = await make({ points: 2, durationSec: 60 });
      const [a, b] = [key(), key()];
      await consumeN(limiter, a, 2);
      assert.equal((await limiter.consume(a)).allowed, false);
      assert.deepEqual(await consumeN(limiter, b, 2), [{ allowed: true }, { allowed: true }]);
      assert.equal((await limiter.consume(b)).allowed, false);
    });

    test('concurrent consumes of one key allow exactly `points`', async () => {
      const limiter = await make({ points: 10, durationSec: 60 });
      const k = key();
      const results = await Promise.all(Array.from({ length: 50 }, () => limiter.consume(k)));
      assert.equal(results.filter((r) => r.allowed).length, 10);
    });

    test('points come back when the window ends, and only then', async () => {
      const limiter = await make({ points: 2, durationSec: 1 });
      const k = key();
      assert.deepEqual(await consumeN(limiter, k, 2), [{ allowed: true }, { allowed: true }]);
      const refused = await limiter.consume(k);
      assert.deepEqual(refused, { allowed: false, retryAfterSec: 1 });
      await waitFor(async () => (await limiter.consume(k)).allowed, 30_000, 'the window to end');
      // A new window: one point left of two.
      assert.equal((await limiter.consume(k)).allowed, true);
      assert.equal((await limiter.consume(k)).allowed, false);
    });
  });
}
