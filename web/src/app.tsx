import { SignIn } from './screens/sign-in.tsx';
import { useSession } from './session.ts';
import { Shell } from './shell.tsx';

/** Signed in: the app; otherwise the sign-in (development) or a word on how to get in. */
export function App() {
  const session = useSession();
  return session ? <Shell key={session.userId} session={session} /> : <SignIn />;
}
