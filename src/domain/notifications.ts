import type { ChannelPrefs, NotificationPreferences, NotificationPriority, NotificationType, QuietWindow } from './types.ts';

export const DEFAULT_PREFERENCES: NotificationPreferences = {
  types: {},
  quietHours: { enabled: false, timeZone: 'UTC', windows: [] },
  doNotDisturb: false,
  mentionsInMuted: true,
};

/** What a user's stored preferences (or none) mean: each part left out takes its default. */
export const withDefaults = (stored?: Partial<NotificationPreferences>): NotificationPreferences => ({ ...DEFAULT_PREFERENCES, ...stored });

/** Whether `channel` is on for `type`; a type the user never set uses every channel. */
export function channelOn(prefs: NotificationPreferences, type: NotificationType, channel: keyof ChannelPrefs): boolean {
  return prefs.types[type]?.[channel] ?? true;
}

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Day of week (0 = Sunday) and minute of day at `at` in `timeZone`. */
export function localTime(at: Date, timeZone: string): { day: number; minute: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(get('weekday'));
  return { day, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

function inWindow(w: QuietWindow, day: number, minute: number): boolean {
  const start = minutes(w.start);
  const end = minutes(w.end);
  if (start === end) return false;
  if (start < end) return w.days.includes(day) && minute >= start && minute < end;
  // Past midnight: the evening part on a listed day, the morning part on the day after one.
  return (w.days.includes(day) && minute >= start) || (w.days.includes((day + 6) % 7) && minute < end);
}

/**
 * Whether pushes and emails are held right now: do-not-disturb, or inside a quiet-hours
 * window in the user's time zone. Urgent notifications are never held.
 */
export function isHeld(prefs: NotificationPreferences, priority: NotificationPriority, at: Date): boolean {
  if (priority === 'urgent') return false;
  if (prefs.doNotDisturb) return true;
  if (!prefs.quietHours.enabled) return false;
  const { day, minute } = localTime(at, prefs.quietHours.timeZone);
  return prefs.quietHours.windows.some((w) => inWindow(w, day, minute));
}

/**
 * When a hold that applies at `at` ends: the first minute outside every quiet window,
 * counted in the user's local time from `at`. Null when nothing ends it by itself
 * (do-not-disturb, or windows covering the whole week): that work waits for the digest.
 * Local minutes are added to `at` as real minutes, so across a DST change the answer can
 * be an hour off; the held push then goes out an hour early or late, never not at all.
 */
export function holdEndsAt(prefs: NotificationPreferences, at: Date): Date | null {
  if (prefs.doNotDisturb) return null;
  if (!prefs.quietHours.enabled) return at;
  const start = localTime(at, prefs.quietHours.timeZone);
  for (let step = 0; step <= 7 * 1440; step++) {
    const total = start.minute + step;
    const day = (start.day + Math.floor(total / 1440)) % 7;
    const minute = total % 1440;
    if (!prefs.quietHours.windows.some((w) => inWindow(w, day, minute))) {
      // Whole minutes: the window ends at the start of this local minute.
      return new Date(at.getTime() + step * 60_000 - (step ? at.getUTCSeconds() * 1000 + at.getUTCMilliseconds() : 0));
    }
  }
  return null;
}

/** An IANA time zone this runtime knows. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
