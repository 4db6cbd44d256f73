import type { Notification } from '../../../protocol/types.ts';
import { useNotifications } from '../data.ts';
import { listTime } from '../format.ts';
import { Link } from '../link.tsx';
import { navigate } from '../router.ts';
import { BackIcon, BellIcon } from '../components/icons.tsx';

/** Opens an action URL: a path of this app in place, anything else in a new tab. */
export function openAction(url: string): void {
  const target = new URL(url, location.origin);
  if (target.origin === location.origin) navigate(target.pathname + target.search);
  else if (target.protocol === 'https:' || target.protocol === 'http:') window.open(target.href, '_blank', 'noopener,noreferrer');
}

/** The bell: a link to the inbox with the unread count. */
export function Bell() {
  const { unreadCount } = useNotifications();
  return (
    <Link to="/notifications" className="btn icon" aria-label={unreadCount ? `Notifications, ${unreadCount} unread` : 'Notifications'}>
      <BellIcon />
      {unreadCount > 0 && (
        <span className="badge" aria-hidden="true">
          {unreadCount > 99 ? '99+' : unreadCount}
        </span>
      )}
    </Link>
  );
}

function Item({ n, markRead }: { n: Notification; markRead(id: string): void }) {
  const unread = n.readAt === null;
  return (
    <li className={unread ? 'unread' : undefined}>
      <div>
        <div className="inbox-title">
          {unread && <span className="sr-only">Unread: </span>}
          {n.title}
        </div>
        <div className="inbox-body">{n.body}</div>
      </div>
      <time className="hint" dateTime={n.createdAt}>
        {listTime(n.createdAt)}
      </time>
      <div className="inbox-actions">
        {n.actionUrl && (
          <button
            type="button"
            className="btn"
            onClick={() => {
              if (unread) markRead(n.id);
              openAction(n.actionUrl!);
            }}
          >
            Open
          </button>
        )}
        {unread && (
          <button type="button" className="btn" onClick={() => markRead(n.id)} aria-label={`Mark "${n.title}" read`}>
            Mark read
          </button>
        )}
      </div>
    </li>
  );
}

/** The in-app inbox: newest first, mark one or all read, open the action. */
export function NotificationsPage() {
  const { notifications, unreadCount, markRead, markAllRead, hasMore, loadMore } = useNotifications();
  return (
    <>
      <div className="topbar">
        <Link to="/" className="btn icon back" aria-label="Back to conversations">
          <BackIcon />
        </Link>
        <h2>Notifications {unreadCount > 0 && <span className="sub">{unreadCount} unread</span>}</h2>
        <button type="button" className="btn" onClick={markAllRead} disabled={unreadCount === 0}>
          Mark all read
        </button>
      </div>
      <div className="page">
        {notifications.length === 0 ? (
          <p className="empty">Nothing here yet.</p>
        ) : (
          <ul className="inbox card" aria-label="Inbox">
            {notifications.map((n) => (
              <Item key={n.id} n={n} markRead={markRead} />
            ))}
          </ul>
        )}
        {hasMore && (
          <button type="button" className="btn" onClick={loadMore}>
            Show older
          </button>
        )}
      </div>
    </>
  );
}
