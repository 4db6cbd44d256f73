import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from '../client/src/backoff.ts';

test('reconnect backoff: full jitter between 0 and min(cap, base * 2^attempt)', () => {
  const opts = { baseMs: 500, capMs: 30_000 };
  const top = (attempt: number) => backoffDelay(attempt, opts, () => 0.999_999);
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 50].map(top), [499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999]);
  assert.equal(backoffDelay(3, opts, () => 0), 0, 'the jitter is full: down to no wait at all');
  assert.equal(backoffDelay(3, opts, () => 0.5), 2000);
  // Spread: a crowd of clients at the same attempt does not come back together.
  const waits = new Set(Array.from({ length: 50 }, () => backoffDelay(6, opts)));
  assert.ok(waits.size > 40);
  for (const w of waits) assert.ok(w >= 0 && w < 30_000);
});
