import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { type ChannelPrefs, NOTIFICATION_TYPES, type NotificationPreferences, type NotificationType, type PresenceStatus, type QuietWindow } from '../../../protocol/types.ts';
import { useActions, usePresence } from '../data.ts';
import { Link } from '../link.tsx';
import { disablePush, enablePush, type PushState, pushState } from '../push.ts';
import { BackIcon } from '../components/icons.tsx';
import { ErrorText } from '../components/error-text.tsx';

const CHANNELS: { key: keyof ChannelPrefs; label: string }[] = [
  { key: 'inApp', label: 'In app' },
  { key: 'push', label: 'Push' },
  { key: 'email', label: 'Email' },
];
const TYPE_LABEL: Record<NotificationType, string> = {
  message: 'Messages',
  mention: 'Mentions',
  reaction: 'Reactions',
  group_invite: 'Added to a group',
  group_update: 'Group changes',
  contact_request: 'Contact requests',
  contact_accept: 'Contact accepted',
  call: 'Calls',
  forward: 'Forwards',
  system: 'System',
};
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const STATUSES: { value: Exclude<PresenceStatus, 'offline'>; label: string }[] = [
  { value: 'online', label: 'Online' },
  { value: 'away', label: 'Away' },
  { value: 'busy', label: 'Busy' },
  { value: 'dnd', label: 'Do not disturb' },
];

function zones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  return intl.supportedValuesOf?.('timeZone') ?? [Intl.DateTimeFormat().resolvedOptions().timeZone];
}

function StatusCard({ me }: { me: string }) {
  const act = useActions();
  const presence = usePresence([me])[me];
  const [status, setStatus] = useState<Exclude<PresenceStatus, 'offline'>>('online');
  const [text, setText] = useState('');
  const [emoji, setEmoji] = useState('');
  const [hours, setHours] = useState('0');
  const [saved, setSaved] = useState<string | null>(null);
  useEffect(() => {
    if (!presence) return;
    if (presence.status !== 'offline') setStatus(presence.status);
    setText(presence.customStatus?.text ?? '');
    setEmoji(presence.customStatus?.emoji ?? '');
  }, [presence]);
  const save = async (e: FormEvent) => {
    e.preventDefault();
    const customStatus = text.trim()
      ? { text: text.trim(), ...(emoji.trim() ? { emoji: emoji.trim() } : {}), ...(hours !== '0' ? { expiresAt: new Date(Date.now() + Number(hours) * 3600_000).toISOString() } : {}) }
      : null;
    try {
      await act.setStatus({ status, customStatus });
      setSaved('Status saved.');
    } catch (err) {
      setSaved((err as Error).message);
    }
  };
  return (
    <form className="card" onSubmit={save} aria-labelledby="status-title">
      <h3 id="status-title">Your status</h3>
      <div className="row">
        <div className="field">
          <label htmlFor="status-select">Presence</label>
          <select id="status-select" className="input" value={status} onChange={(e) => setStatus(e.target.value as typeof status)}>
            {STATUSES.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field" style={{ width: 80 }}>
          <label htmlFor="status-emoji">Emoji</label>
          <input id="status-emoji" className="input" maxLength={16} value={emoji} onChange={(e) => setEmoji(e.target.value)} />
        </div>
        <div className="field" style={{ flex: 1, minWidth: 180 }}>
          <label htmlFor="status-text">Custom status</label>
          <input id="status-text" className="input" maxLength={100} placeholder="In a meeting" value={text} onChange={(e) => setText(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="status-expiry">Clear after</label>
          <select id="status-expiry" className="input" value={hours} onChange={(e) => setHours(e.target.value)}>
            <option value="0">Never</option>
            <option value="1">1 hour</option>
            <option value="4">4 hours</option>
            <option value="24">Today (24 hours)</option>
          </select>
        </div>
      </div>
      <button type="submit" className="btn primary">
        Save status
      </button>{' '}
      <span role="status">{saved}</span>
    </form>
  );
}

function PushCard() {
  const act = useActions();
  const [state, setState] = useState<PushState | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    void pushState().then(setState);
  }, []);
  const toggle = async () => {
    setError(null);
    try {
      setState(state === 'on' ? await disablePush(act) : await enablePush(act));
    } catch (err) {
      setError(`Could not turn browser notifications on: ${(err as Error).message}`);
    }
  };
  return (
    <section className="card" aria-labelledby="push-title">
      <h3 id="push-title">Browser notifications</h3>
      <p className="hint">
        {state === 'unsupported'
          ? 'This browser does not support push notifications.'
          : state === 'denied'
            ? 'Notifications are blocked for this site in the browser settings.'
            : state === 'on'
              ? 'This browser gets a notification for new messages while Parley is closed.'
              : 'Get a notification for new messages while Parley is closed.'}
      </p>
      {(state === 'on' || state === 'off') && (
        <button type="button" className="btn" onClick={toggle} aria-pressed={state === 'on'}>
          {state === 'on' ? 'Turn off browser notifications' : 'Turn on browser notifications'}
        </button>
      )}
      <ErrorText error={error} />
    </section>
  );
}

function PreferencesForm({ initial }: { initial: NotificationPreferences }) {
  const act = useActions();
  const [prefs, setPrefs] = useState(initial);
  const [saved, setSaved] = useState<string | null>(null);
  const allZones = useMemo(zones, []);
  const channel = (t: NotificationType, k: keyof ChannelPrefs): boolean => prefs.types[t]?.[k] ?? true;
  const setChannel = (t: NotificationType, k: keyof ChannelPrefs, on: boolean) =>
    setPrefs((p) => ({ ...p, types: { ...p.types, [t]: { ...p.types[t], [k]: on } } }));
  const setWindow = (i: number, w: Partial<QuietWindow>) =>
    setPrefs((p) => ({ ...p, quietHours: { ...p.quietHours, windows: p.quietHours.windows.map((x, j) => (j === i ? { ...x, ...w } : x)) } }));
  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      setPrefs(await act.putPreferences(prefs));
      setSaved('Preferences saved.');
    } catch (err) {
      setSaved(`Not saved: ${(err as Error).message}`);
    }
  };
  const q = prefs.quietHours;
  return (
    <form onSubmit={save}>
      <section className="card" aria-labelledby="dnd-title">
        <h3 id="dnd-title">Do not disturb</h3>
        <label>
          <input type="checkbox" checked={prefs.doNotDisturb} onChange={(e) => setPrefs({ ...prefs, doNotDisturb: e.target.checked })} /> Do not disturb: hold
          every push (urgent ones still come); unread messages wait for the email digest
        </label>
        <br />
        <label>
          <input type="checkbox" checked={prefs.mentionsInMuted} onChange={(e) => setPrefs({ ...prefs, mentionsInMuted: e.target.checked })} /> Mentions still
          notify in muted conversations
        </label>
      </section>
      <section className="card" aria-labelledby="types-title">
        <h3 id="types-title">What notifies you, and how</h3>
        <table className="prefs">
          <thead>
            <tr>
              <th scope="col">Type</th>
              {CHANNELS.map((c) => (
                <th key={c.key} scope="col">
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {NOTIFICATION_TYPES.map((t) => (
              <tr key={t}>
                <th scope="row">{TYPE_LABEL[t]}</th>
                {CHANNELS.map((c) => (
                  <td key={c.key}>
                    <input type="checkbox" aria-label={`${TYPE_LABEL[t]}: ${c.label}`} checked={channel(t, c.key)} onChange={(e) => setChannel(t, c.key, e.target.checked)} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="card" aria-labelledby="quiet-title">
        <h3 id="quiet-title">Quiet hours</h3>
        <label>
          <input type="checkbox" checked={q.enabled} onChange={(e) => setPrefs({ ...prefs, quietHours: { ...q, enabled: e.target.checked } })} /> Hold pushes during
          these hours (they come when the quiet hours end)
        </label>
        <div className="field" style={{ marginTop: 8 }}>
          <label htmlFor="quiet-zone">Time zone</label>
          <select id="quiet-zone" className="input" value={q.timeZone} onChange={(e) => setPrefs({ ...prefs, quietHours: { ...q, timeZone: e.target.value } })}>
            {(allZones.includes(q.timeZone) ? allZones : [q.timeZone, ...allZones]).map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        </div>
        {q.windows.map((w, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a window has no identity but its place in the list
          <fieldset key={i} className="field" style={{ border: '1px solid var(--border)', borderRadius: 8, padding: 8 }}>
            <legend className="label">Window {i + 1}</legend>
            <div className="row">
              {DAYS.map((d, day) => (
                <label key={d}>
                  <input
                    type="checkbox"
                    checked={w.days.includes(day)}
                    onChange={(e) => setWindow(i, { days: e.target.checked ? [...w.days, day].sort() : w.days.filter((x) => x !== day) })}
                  />{' '}
                  {d}
                </label>
              ))}
            </div>
            <div className="row">
              <label>
                From <input type="time" className="input" style={{ width: 'auto' }} value={w.start} onChange={(e) => setWindow(i, { start: e.target.value })} />
              </label>
              <label>
                to <input type="time" className="input" style={{ width: 'auto' }} value={w.end} onChange={(e) => setWindow(i, { end: e.target.value })} />
              </label>
              <button
                type="button"
                className="btn danger"
                onClick={() => setPrefs({ ...prefs, quietHours: { ...q, windows: q.windows.filter((_, j) => j !== i) } })}
                aria-label={`Remove window ${i + 1}`}
              >
                Remove
              </button>
            </div>
          </fieldset>
        ))}
        <button
          type="button"
          className="btn"
          onClick={() => setPrefs({ ...prefs, quietHours: { ...q, windows: [...q.windows, { days: [0, 1, 2, 3, 4, 5, 6], start: '22:00', end: '07:00' }] } })}
        >
          Add a window
        </button>
      </section>
      <div className="card row">
        <button type="submit" className="btn primary">
          Save preferences
        </button>
        <span role="status">{saved}</span>
      </div>
    </form>
  );
}

/** Status, browser notifications, and notification preferences. */
export function Preferences({ me }: { me: string }) {
  const act = useActions();
  const [prefs, setPrefs] = useState<NotificationPreferences | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    act.getPreferences().then(setPrefs, (err: Error) => setError(err.message));
  }, [act]);
  return (
    <>
      <div className="topbar">
        <Link to="/" className="btn icon back" aria-label="Back to conversations">
          <BackIcon />
        </Link>
        <h2>Preferences</h2>
      </div>
      <div className="page">
        <StatusCard me={me} />
        <PushCard />
        <ErrorText error={error} />
        {prefs ? <PreferencesForm initial={prefs} /> : !error && <p className="hint">Loading preferences…</p>}
      </div>
    </>
  );
}
