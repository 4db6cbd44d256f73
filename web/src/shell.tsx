import { useEffect } from 'react';
import { ConnectionBanner } from './components/connection-banner.tsx';
import { ParleyData, useUnreadTotal } from './data.ts';
import { Link } from './link.tsx';
import { type Route, useRoute, useTitle } from './router.ts';
import { ConversationList } from './screens/conversation-list.tsx';
import { ConversationView } from './screens/conversation-view.tsx';
import { Members } from './screens/members.tsx';
import { NewConversation } from './screens/new-conversation.tsx';
import { Bell, NotificationsPage } from './screens/notifications.tsx';
import { Preferences } from './screens/preferences.tsx';
import { announceUnread, type Session, signOut } from './session.ts';
import { GearIcon } from './components/icons.tsx';

const TITLES: Record<Route['name'], string> = {
  home: 'Conversations',
  conversation: 'Conversation',
  members: 'Members',
  new: 'New conversation',
  notifications: 'Notifications',
  preferences: 'Preferences',
};

function Page({ route, me }: { route: Route; me: string }) {
  switch (route.name) {
    case 'conversation':
      return <ConversationView key={route.id} id={route.id} me={me} />;
    case 'members':
      return <Members id={route.id} me={me} />;
    case 'new':
      return <NewConversation me={me} />;
    case 'notifications':
      return <NotificationsPage />;
    case 'preferences':
      return <Preferences me={me} />;
    default:
      return <p className="empty">Choose a conversation, or start a new one.</p>;
  }
}

function Layout({ session }: { session: Session }) {
  const route = useRoute();
  const unread = useUnreadTotal();
  useTitle(TITLES[route.name], unread);
  useEffect(() => announceUnread(unread), [unread]);
  const activeId = route.name === 'conversation' || route.name === 'members' ? route.id : null;
  return (
    <div className={`app${route.name !== 'home' ? ' in-page' : ''}`}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <nav className="sidebar" aria-label="Conversations">
        <div className="topbar">
          <h1>{session.name ?? session.userId}</h1>
          <Bell />
          <Link to="/preferences" className="btn icon" aria-label="Preferences">
            <GearIcon />
          </Link>
          <Link to="/new" className="btn primary">
            New
          </Link>
        </div>
        <ConversationList me={session.userId} activeId={activeId} />
        <div className="topbar" style={{ borderTop: '1px solid var(--border)', borderBottom: 0 }}>
          <span className="hint" style={{ flex: 1 }}>
            Signed in as {session.userId}
            {session.source === 'dev' && ' (development sign-in)'}
          </span>
          <button type="button" className="btn" onClick={signOut}>
            Sign out
          </button>
        </div>
      </nav>
      <main className="main" id="main">
        <ConnectionBanner />
        <Page route={route} me={session.userId} />
      </main>
    </div>
  );
}

/** The signed-in app: the SDK's client for this session, and the layout around the pages. */
export function Shell({ session }: { session: Session }) {
  return (
    <ParleyData session={session}>
      <Layout session={session} />
    </ParleyData>
  );
}
