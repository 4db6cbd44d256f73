import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { createDueWakes } from '../src/storage/due-wakes.ts';
import { QUEUES, type QueueName } from '../src/storage/job-queue.ts';

// The clock is moved by hand: a wake is asserted at its time, never waited for.
const T0 = 1_800_000_000_000;
beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 }));
afterEach(() => mock.timers.reset());

function recorded() {
  const wakes: { queue: QueueName; jobs: number; at: number }[] = [];
  const due = createDueWakes((queue, jobs) => wakes.push({ queue, jobs, at: Date.now() - T0 }));
  return { wakes, due };
}

test('each queue is woken once its jobs fall due, earliest first, whatever order they were scheduled in', () => {
  const { wakes, due } = recorded();
  due.at(QUEUES.fcm, T0 + 3_000);
  due.at(QUEUES.push, T0 + 1_000, 2);
  due.at(QUEUES.apns, T0 + 2_000);
  due.at(QUEUES.push, T0 + 60_000);
  mock.timers.tick(1_000);
  assert.deepEqual(wakes, [], 'nothing before the first due time (a wake comes just after it: the database takes a job once start_after < now())');
  mock.timers.tick(20);
  assert.deepEqual(wakes, [{ queue: QUEUES.push, jobs: 2, at: 1_020 }]);
  mock.timers.tick(1_000);
  assert.deepEqual(wakes.slice(1), [{ queue: QUEUES.apns, jobs: 1, at: 2_020 }]);
  mock.timers.tick(1_000);
  assert.deepEqual(wakes.slice(2), [{ queue: QUEUES.fcm, jobs: 1, at: 3_020 }]);
  mock.timers.tick(57_000);
  assert.deepEqual(wakes.slice(3), [{ queue: QUEUES.push, jobs: 1, at: 60_020 }]);
  assert.equal(due.size, 0);
});

test('jobs of a queue falling due within one grain (100 ms) share one wake that rouses as many workers', () => {
  const { wakes, due } = recorded();
  due.at(QUEUES.fcm, T0 + 501);
  due.at(QUEUES.fcm, T0 + 550, 2);
  due.at(QUEUES.fcm, T0 + 600);
  due.at(QUEUES.apns, T0 + 580);
  assert.equal(due.size, 1);
  mock.timers.tick(619);
  assert.deepEqual(wakes, []);
  mock.timers.tick(1);
  assert.deepEqual(wakes, [
    { queue: QUEUES.fcm, jobs: 4, at: 620 },
    { queue: QUEUES.apns, jobs: 1, at: 620 },
  ]);
});

test('an earlier job scheduled after a later one moves the wake forward; one already due wakes at once', () => {
  const { wakes, due } = recorded();
  due.at(QUEUES.email, T0 + 10_000);
  due.at(QUEUES.email, T0 + 300);
  mock.timers.tick(320);
  assert.deepEqual(wakes, [{ queue: QUEUES.email, jobs: 1, at: 320 }]);
  due.at(QUEUES.push, T0 - 5_000);
  mock.timers.tick(0);
  assert.deepEqual(wakes.slice(1), [{ queue: QUEUES.push, jobs: 1, at: 320 }]);
  mock.timers.tick(9_700);
  assert.deepEqual(wakes.slice(2), [{ queue: QUEUES.email, jobs: 1, at: 10_020 }]);
});

test('due times past what is kept are left to the idle poll: memory stays bounded', () => {
  const { wakes, due } = recorded();
  for (let i = 1; i <= 10_000; i++) due.at(QUEUES.push, T0 + i * 100);
  assert.equal(due.size, 10_000);
  due.at(QUEUES.push, T0 + 10_000_000);
  assert.equal(due.size, 10_000, 'a new due time past the cap is not kept');
  due.at(QUEUES.fcm, T0 + 100);
  assert.equal(due.size, 10_000, 'one already kept still takes more jobs');
  mock.timers.tick(120);
  assert.deepEqual(wakes, [
    { queue: QUEUES.push, jobs: 1, at: 120 },
    { queue: QUEUES.fcm, jobs: 1, at: 120 },
  ]);
  assert.equal(due.size, 9_999);
  due.stop();
  assert.equal(due.size, 0);
  mock.timers.tick(2_000_000);
  assert.equal(wakes.length, 2, 'stopped: no wake after');
});
