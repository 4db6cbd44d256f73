import { type FormEvent, useState } from 'react';
import { devSignIn, runtimeConfig } from '../session.ts';
import { ErrorText } from '../components/error-text.tsx';

/** The development sign-in where it exists; elsewhere, how the embedding app signs users in. */
export function SignIn() {
  const [userId, setUserId] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (!runtimeConfig.devLogin) {
    return (
      <main className="signin" aria-labelledby="signin-title">
        <h1 id="signin-title">Parley</h1>
        <p>You are not signed in.</p>
        <p className="hint">
          This app is opened by the application you use, which signs you in. If you came here directly, go back to that application and open
          your messages from there.
        </p>
      </main>
    );
  }

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await devSignIn(userId.trim(), name.trim());
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  return (
    <main className="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Development sign-in</h1>
      <p className="dev-warning" role="note">
        This is a development sign-in: it lets anyone who can reach this server be any user, with no password. It exists only while Parley
        runs embedded on this machine with its generated secret. In production your application signs users in.
      </p>
      <form onSubmit={submit}>
        <div className="field">
          <label htmlFor="signin-user">User id</label>
          <input
            id="signin-user"
            className="input"
            required
            autoComplete="username"
            pattern="[A-Za-z0-9._@:|+=\-]{1,128}"
            value={userId}
            onChange={(e) => setUserId(e.target.value)}
            aria-describedby="signin-user-hint"
          />
          <span id="signin-user-hint" className="hint">
            Letters, digits and . _ @ : | + = - (for example ana)
          </span>
        </div>
        <div className="field">
          <label htmlFor="signin-name">Display name</label>
          <input id="signin-name" className="input" autoComplete="name" maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <ErrorText error={error} />
        <button className="btn primary" type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}
