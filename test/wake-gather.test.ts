import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { QUEUES, type QueueName } from '../src/storage/job-queue.ts';
import { GATHER_MS, wakeGatherer } from '../src/storage/wake-gather.ts';

// The clock is moved by hand: a wake is asserted at its time, never waited for.
const T0 = 1_800_000_000_000;
beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 }));
afterEach(() => mock.timers.reset());

/** Device queues take ten a fetch, the email queue one. */
function recorded() {
  const roused: { queue: QueueName; jobs: number; at: number }[] = [];
  const gatherer = wakeGatherer(
    (queue, jobs) => roused.push({ queue, jobs, at: Date.now() - T0 }),
    (queue) => (queue === QUEUES.email ? 1 : 10),
  );
  return { roused, gatherer };
}

test("a batched queue's wakes are gathered for a moment and rouse its workers once, for all their jobs", () => {
  const { roused, gatherer } = recorded();
  gatherer.wake(QUEUES.fcm, 1);
  mock.timers.tick(5);
  gatherer.wake(QUEUES.fcm, 2);
  gatherer.wake(QUEUES.apns, 1);
  mock.timers.tick(GATHER_MS - 6);
  assert.deepEqual(roused, [], 'nothing before the first wake has waited its moment');
  mock.timers.tick(1);
  assert.deepEqual(roused, [{ queue: QUEUES.fcm, jobs: 3, at: GATHER_MS }]);
  mock.timers.tick(5);
  assert.deepEqual(roused.slice(1), [{ queue: QUEUES.apns, jobs: 1, at: GATHER_MS + 5 }], "each queue's moment counts from its own first wake");
  gatherer.wake(QUEUES.fcm, 1);
  mock.timers.tick(GATHER_MS);
  assert.deepEqual(roused.slice(2), [{ queue: QUEUES.fcm, jobs: 1, at: 2 * GATHER_MS + 5 }], 'a wake after a rouse gathers anew');
});

test('wakes that fill a batch rouse at once; a queue taking one job a fetch is never held', () => {
  const { roused, gatherer } = recorded();
  for (let i = 0; i < 9; i++) gatherer.wake(QUEUES.fcm, 1);
  assert.deepEqual(roused, []);
  gatherer.wake(QUEUES.fcm, 1);
  assert.deepEqual(roused, [{ queue: QUEUES.fcm, jobs: 10, at: 0 }], 'the tenth job fills the batch');
  gatherer.wake(QUEUES.push, 25);
  assert.deepEqual(roused.slice(1), [{ queue: QUEUES.push, jobs: 25, at: 0 }], 'a burst goes at once, whole');
  gatherer.wake(QUEUES.email, 1);
  assert.deepEqual(roused.slice(2), [{ queue: QUEUES.email, jobs: 1, at: 0 }]);
  mock.timers.tick(GATHER_MS * 2);
  assert.equal(roused.length, 3, 'nothing left to rouse later');
});

test('stop drops the wakes still gathering', () => {
  const { roused, gatherer } = recorded();
  gatherer.wake(QUEUES.fcm, 1);
  gatherer.stop();
  mock.timers.tick(GATHER_MS * 2);
  assert.deepEqual(roused, []);
});
