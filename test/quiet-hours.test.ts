import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PREFERENCES, holdEndsAt, isHeld, localTime } from '../src/domain/notifications.ts';
import type { NotificationPreferences } from '../src/domain/types.ts';

const paris: NotificationPreferences = {
  ...DEFAULT_PREFERENCES,
  quietHours: { enabled: true, timeZone: 'Europe/Paris', windows: [{ days: [1, 2, 3, 4, 5], start: '22:00', end: '07:00' }] },
};

test('local time follows the time zone, daylight saving included', () => {
  assert.deepEqual(localTime(new Date('2026-01-05T21:30:00Z'), 'Europe/Paris'), { day: 1, minute: 22 * 60 + 30 });
  assert.deepEqual(localTime(new Date('2026-07-06T21:30:00Z'), 'Europe/Paris'), { day: 1, minute: 23 * 60 + 30 });
  assert.deepEqual(localTime(new Date('2026-01-05T02:00:00Z'), 'America/New_York'), { day: 0, minute: 21 * 60 });
});

test('a window past midnight holds the evening of a listed day and the next morning', () => {
  assert.equal(isHeld(paris, 'normal', new Date('2026-01-05T21:30:00Z')), true); // Monday 22:30 Paris
  assert.equal(isHeld(paris, 'normal', new Date('2026-01-06T05:00:00Z')), true); // Tuesday 06:00, after Monday
  assert.equal(isHeld(paris, 'normal', new Date('2026-01-06T06:30:00Z')), false); // Tuesday 07:30
  assert.equal(isHeld(paris, 'normal', new Date('2026-01-05T05:00:00Z')), false); // Monday 06:00, after Sunday (not listed)
  assert.equal(isHeld(paris, 'normal', new Date('2026-01-10T21:30:00Z')), false); // Saturday 22:30: not a listed day
  assert.equal(isHeld(paris, 'normal', new Date('2026-01-10T05:00:00Z')), true); // Saturday 06:00, after Friday
});

test('urgent bypasses quiet hours and do-not-disturb; disabled quiet hours hold nothing', () => {
  const night = new Date('2026-01-05T21:30:00Z');
  assert.equal(isHeld(paris, 'urgent', night), false);
  assert.equal(isHeld({ ...DEFAULT_PREFERENCES, doNotDisturb: true }, 'high', night), true);
  assert.equal(isHeld({ ...DEFAULT_PREFERENCES, doNotDisturb: true }, 'urgent', night), false);
  assert.equal(isHeld({ ...paris, quietHours: { ...paris.quietHours, enabled: false } }, 'normal', night), false);
});

test('a hold ends at the first minute outside every window, in the user time zone; do-not-disturb has no end', () => {
  // Monday 22:30 Paris (winter, UTC+1): the window runs to Tuesday 07:00 Paris = 06:00 UTC.
  assert.equal(holdEndsAt(paris, new Date('2026-01-05T21:30:20Z'))?.toISOString(), '2026-01-06T06:00:00.000Z');
  // In summer (UTC+2) the same local end is 05:00 UTC.
  assert.equal(holdEndsAt(paris, new Date('2026-07-06T21:30:00Z'))?.toISOString(), '2026-07-07T05:00:00.000Z');
  // Not held: ends at once.
  const noon = new Date('2026-01-06T11:00:00Z');
  assert.equal(holdEndsAt(paris, noon)?.getTime(), noon.getTime());
  // Back-to-back windows are one hold.
  const chained: NotificationPreferences = {
    ...DEFAULT_PREFERENCES,
    quietHours: { enabled: true, timeZone: 'UTC', windows: [{ days: [1], start: '20:00', end: '22:00' }, { days: [1], start: '22:00', end: '23:30' }] },
  };
  assert.equal(holdEndsAt(chained, new Date('2026-01-05T21:00:00Z'))?.toISOString(), '2026-01-05T23:30:00.000Z');
  assert.equal(holdEndsAt({ ...DEFAULT_PREFERENCES, doNotDisturb: true }, noon), null);
  const always: NotificationPreferences = { ...DEFAULT_PREFERENCES, quietHours: { enabled: true, timeZone: 'UTC', windows: [{ days: [0, 1, 2, 3, 4, 5, 6], start: '00:00', end: '23:59' }, { days: [0, 1, 2, 3, 4, 5, 6], start: '23:59', end: '00:00' }] } };
  assert.equal(holdEndsAt(always, noon), null);
});
