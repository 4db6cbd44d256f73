import { type FormEvent, useState } from 'react';
import { useActions } from '../data.ts';
import { Link } from '../link.tsx';
import { navigate } from '../router.ts';
import { BackIcon } from '../components/icons.tsx';
import { ErrorText } from '../components/error-text.tsx';

const USER_ID = /^[A-Za-z0-9._@:|+=-]{1,128}$/;
const splitIds = (raw: string): string[] => [...new Set(raw.split(/[\s,]+/).filter(Boolean))];

/** A direct conversation with one user id, or a group with a title and members. */
export function NewConversation({ me }: { me: string }) {
  const act = useActions();
  const [kind, setKind] = useState<'direct' | 'group'>('direct');
  const [peer, setPeer] = useState('');
  const [title, setTitle] = useState('');
  const [members, setMembers] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const ids = kind === 'direct' ? [peer.trim()] : splitIds(members).filter((id) => id !== me);
    const bad = ids.find((id) => !USER_ID.test(id));
    if (bad !== undefined || ids.length === 0) {
      setError(bad ? `"${bad}" is not a user id` : 'Add at least one member');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const c = await act.createConversation(kind === 'direct' ? { kind, members: ids } : { kind, members: ids, ...(title.trim() ? { title: title.trim() } : {}) });
      navigate(`/c/${c.id}`, { replace: true });
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  return (
    <>
      <div className="topbar">
        <Link to="/" className="btn icon back" aria-label="Back to conversations">
          <BackIcon />
        </Link>
        <h2>New conversation</h2>
      </div>
      <div className="page">
        <form className="card" onSubmit={submit}>
          <fieldset className="field" style={{ border: 0, padding: 0 }}>
            <legend className="label">Kind</legend>
            <div className="row">
              <label>
                <input type="radio" name="kind" checked={kind === 'direct'} onChange={() => setKind('direct')} /> Direct message
              </label>
              <label>
                <input type="radio" name="kind" checked={kind === 'group'} onChange={() => setKind('group')} /> Group
              </label>
            </div>
          </fieldset>
          {kind === 'direct' ? (
            <div className="field">
              <label htmlFor="new-peer">User id</label>
              <input id="new-peer" className="input" required value={peer} onChange={(e) => setPeer(e.target.value)} autoComplete="off" />
            </div>
          ) : (
            <>
              <div className="field">
                <label htmlFor="new-title">Title</label>
                <input id="new-title" className="input" maxLength={200} value={title} onChange={(e) => setTitle(e.target.value)} />
              </div>
              <div className="field">
                <label htmlFor="new-members">Members</label>
                <input id="new-members" className="input" required value={members} onChange={(e) => setMembers(e.target.value)} aria-describedby="new-members-hint" autoComplete="off" />
                <span id="new-members-hint" className="hint">
                  User ids, separated by commas or spaces. You become the group's owner.
                </span>
              </div>
            </>
          )}
          <ErrorText error={error} />
          <button type="submit" className="btn primary" disabled={busy}>
            Start conversation
          </button>
        </form>
      </div>
    </>
  );
}
