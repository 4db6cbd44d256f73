import { type FormEvent, useState } from 'react';
import type { Conversation, Member } from '../../../protocol/types.ts';
import { Avatar, presenceLabel } from '../components/avatar.tsx';
import { useActions, useConversation, useMembers, usePresence } from '../data.ts';
import { Link } from '../link.tsx';
import { conversationTitle, memberName } from '../names.ts';
import { navigate } from '../router.ts';
import { BackIcon } from '../components/icons.tsx';
import { ErrorText } from '../components/error-text.tsx';

const isAdmin = (c: Conversation): boolean => c.role === 'owner' || c.role === 'admin';

/** Members (with presence and roles), adding and removing them for admins, mute, archive and leave for everyone. */
export function Members({ id, me }: { id: string; me: string }) {
  const c = useConversation(id);
  const act = useActions();
  const list = useMembers(id);
  const presence = usePresence(list.members.map((m) => m.userId));
  const [adding, setAdding] = useState('');
  const [error, setError] = useState<string | null>(null);
  if (!c) return <p className="empty">Loading…</p>;

  const run = async (what: () => Promise<unknown>) => {
    setError(null);
    try {
      await what();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const add = (e: FormEvent) => {
    e.preventDefault();
    const ids = [...new Set(adding.split(/[\s,]+/).filter(Boolean))];
    if (ids.length) void run(async () => {
      await act.addMembers(id, ids);
      setAdding('');
    });
  };
  const canRemove = (m: Member) => isAdmin(c) && m.userId !== me && m.role !== 'owner' && (c.role === 'owner' || m.role === 'member');
  const muted = c.mutedUntil !== null && Date.parse(c.mutedUntil) > Date.now();

  return (
    <>
      <div className="topbar">
        <Link to={`/c/${id}`} className="btn icon" aria-label="Back to the conversation">
          <BackIcon />
        </Link>
        <h2>{conversationTitle(c, me)}</h2>
      </div>
      <div className="page">
        <section className="card" aria-labelledby="members-title">
          <h3 id="members-title">
            {c.memberCount} member{c.memberCount === 1 ? '' : 's'}
          </h3>
          <ul className="members">
            {list.members.map((m) => {
              const p = presence[m.userId];
              return (
                <li key={m.userId}>
                  <Avatar name={memberName(m)} picture={m.picture} presence={p?.status ?? 'offline'} small />
                  <span className="name">
                    {memberName(m)} {m.userId === me && '(you)'} <span className="hint">{m.userId}</span>
                    {p?.customStatus?.text && <span className="hint"> · {p.customStatus.text}</span>}
                    <span className="sr-only">, {presenceLabel(p?.status ?? 'offline')}</span>
                  </span>
                  {m.role !== 'member' && <span className="tag">{m.role}</span>}
                  {canRemove(m) && (
                    <button type="button" className="btn danger" onClick={() => void run(() => act.removeMember(id, m.userId))} aria-label={`Remove ${memberName(m)}`}>
                      Remove
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
          {list.hasMore && (
            <button type="button" className="btn" disabled={list.loading} onClick={() => void run(list.loadMore)}>
              {list.loading ? 'Loading…' : 'Show more members'}
            </button>
          )}
          {c.kind === 'group' && isAdmin(c) && (
            <form onSubmit={add} className="row" style={{ marginTop: 12 }}>
              <label htmlFor="add-members" className="sr-only">
                User ids to add
              </label>
              <input id="add-members" className="input" style={{ flex: 1 }} placeholder="User ids to add" value={adding} onChange={(e) => setAdding(e.target.value)} />
              <button type="submit" className="btn primary">
                Add
              </button>
            </form>
          )}
          <ErrorText error={error} />
        </section>
        <section className="card" aria-label="Conversation settings">
          <div className="row">
            <button type="button" className="btn" aria-pressed={muted} onClick={() => void run(() => act.setMuted(id, !muted))}>
              {muted ? 'Unmute' : 'Mute'}
            </button>
            <button type="button" className="btn" aria-pressed={c.archived} onClick={() => void run(() => act.setArchived(id, !c.archived))}>
              {c.archived ? 'Unarchive' : 'Archive'}
            </button>
            {c.kind === 'group' && (
              <button
                type="button"
                className="btn danger"
                onClick={() =>
                  void run(async () => {
                    if (!confirm('Leave this group?')) return;
                    await act.removeMember(id, me);
                    navigate('/', { replace: true });
                  })
                }
              >
                Leave group
              </button>
            )}
          </div>
        </section>
      </div>
    </>
  );
}
