import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Expiring, ExpiryQueue } from '../src/gateways/session/expiries.ts';

type Item = Expiring & { name: string };

/** Resolves once `done()` holds, checking after every expiry; fails past the deadline. */
function recorder(deadlineMs = 10_000) {
  const fired: string[] = [];
  const waiters: { done: () => boolean; resolve: () => void }[] = [];
  const item = (name: string, expiresAt: number, onExpire?: () => void): Item => ({
    name,
    expiresAt,
    expiryIndex: -1,
    expire() {
      fired.push(name);
      onExpire?.();
      for (const w of waiters.splice(0)) if (w.done()) w.resolve();
      else waiters.push(w);
    },
  });
  const until = (done: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      if (done()) return resolve();
      const timer = setTimeout(() => reject(new Error(`deadline passed; fired so far: ${fired.join(', ')}`)), deadlineMs);
      waiters.push({
        done,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  return { fired, item, until };
}

test('expiries fire earliest first, and a removed one never fires', async () => {
  const errors: unknown[] = [];
  const queue = new ExpiryQueue((err) => errors.push(err));
  const { fired, item, until } = recorder();
  const now = Date.now();
  // Shuffled times with ties, some already past: the heap must order them whatever the insertion order.
  const items = Array.from({ length: 300 }, (_, i) => item(`e${i}`, now - 20 + ((i * 7919) % 97)));
  for (const it of items) queue.add(it);
  const removed = items.filter((_, i) => i % 4 === 1);
  for (const it of removed) queue.remove(it);
  for (const it of removed) assert.equal(it.expiryIndex, -1);
  const kept = items.filter((_, i) => i % 4 !== 1);
  assert.equal(queue.size, kept.length);

  await until(() => fired.length === kept.length);
  const byName = new Map(items.map((it) => [it.name, it]));
  const times = fired.map((n) => byName.get(n)!.expiresAt);
  for (let i = 1; i < times.length; i++) assert.ok(times[i - 1]! <= times[i]!, `fired out of order at ${i}: ${times[i - 1]} then ${times[i]}`);
  assert.deepEqual(new Set(fired), new Set(kept.map((it) => it.name)));
  assert.equal(queue.size, 0);
  assert.deepEqual(errors, []);
});

test('an expiry earlier than the one the timer waits for fires without waiting for it', async () => {
  const queue = new ExpiryQueue(() => {});
  const { fired, item, until } = recorder();
  const later = item('in an hour', Date.now() + 3_600_000);
  // Past setTimeout's longest delay (about 24.8 days): held, re-checked then, not fired now.
  const far = item('in forty days', Date.now() + 40 * 86_400_000);
  queue.add(later);
  queue.add(far);
  queue.add(item('soon', Date.now() + 20));
  await until(() => fired.includes('soon'));
  assert.deepEqual(fired, ['soon']);
  assert.equal(queue.size, 2);
  // Removing the earliest leaves the others queued, each in its place.
  queue.remove(later);
  assert.equal(queue.size, 1);
  assert.equal(far.expiryIndex, 0);
  queue.remove(far);
  assert.equal(queue.size, 0);
});

test('an expiry that throws is reported and the rest still fire', async () => {
  const errors: unknown[] = [];
  const queue = new ExpiryQueue((err) => errors.push(err));
  const { fired, item, until } = recorder();
  const now = Date.now();
  queue.add(item('a', now - 2));
  queue.add(
    item('b', now - 1, () => {
      throw new Error('onExpire failed');
    }),
  );
  queue.add(item('c', now));
  await until(() => fired.length === 3);
  assert.deepEqual(fired, ['a', 'b', 'c']);
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /onExpire failed/);
});

test('adding a queued item again or removing one not queued changes nothing', async () => {
  const queue = new ExpiryQueue(() => {});
  const { fired, item, until } = recorder();
  const a = item('a', Date.now() + 10);
  const stranger = item('stranger', Date.now());
  queue.add(a);
  queue.add(a);
  assert.equal(queue.size, 1);
  queue.remove(stranger);
  assert.equal(queue.size, 1);
  await until(() => fired.length === 1);
  queue.remove(a);
  assert.deepEqual(fired, ['a']);
  assert.equal(queue.size, 0);
});
