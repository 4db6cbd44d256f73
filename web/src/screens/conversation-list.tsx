import { useMemo, useState } from 'react';
import type { Conversation, Presence } from '../../../protocol/types.ts';
import { Avatar } from '../components/avatar.tsx';
import { useConversations, usePresence } from '../data.ts';
import { listTime } from '../format.ts';
import { conversationTitle, memberName, peerOf } from '../names.ts';
import { Link } from '../link.tsx';

function preview(c: Conversation, me: string): string {
  const m = c.lastMessage;
  if (!m) return 'No messages yet';
  if (m.deletedAt) return 'Message deleted';
  const who = m.senderId === me ? 'You' : memberName(c.members.find((x) => x.userId === m.senderId) ?? { userId: m.senderId, name: null });
  const text = m.body || (m.attachments.length ? `📎 ${m.attachments[0]!.name ?? 'attachment'}` : '');
  return c.kind === 'group' || m.senderId === me ? `${who}: ${text}` : text;
}

const muted = (c: Conversation): boolean => c.mutedUntil !== null && Date.parse(c.mutedUntil) > Date.now();

function Item({ c, me, active, presence }: { c: Conversation; me: string; active: boolean; presence: Presence | undefined }) {
  const title = conversationTitle(c, me);
  const peer = peerOf(c, me);
  const unread = c.unreadCount;
  const label = [title, unread ? `${unread} unread` : null, c.archived ? 'archived' : null, muted(c) ? 'muted' : null].filter(Boolean).join(', ');
  return (
    <li className={`conv-item${unread ? ' unread' : ''}${c.archived ? ' archived' : ''}`}>
      <Link to={`/c/${c.id}`} aria-current={active ? 'page' : undefined} aria-label={label}>
        <Avatar name={title} picture={peer?.picture} presence={peer ? (presence?.status ?? 'offline') : null} />
        <span className="conv-title">
          {title}
          {presence?.customStatus?.text && <span className="hint"> · {presence.customStatus.emoji} {presence.customStatus.text}</span>}
        </span>
        <span className="conv-preview">{preview(c, me)}</span>
        <span className="conv-meta">
          {c.lastMessage && <time dateTime={c.lastMessage.createdAt}>{listTime(c.lastMessage.createdAt)}</time>}
          {unread > 0 && (
            <span className={`badge${muted(c) ? ' muted' : ''}`} aria-hidden="true">
              {unread > 99 ? '99+' : unread}
            </span>
          )}
          {muted(c) && <span className="tag">Muted</span>}
          {c.archived && <span className="tag">Archived</span>}
        </span>
      </Link>
    </li>
  );
}

/** Every conversation, most recent first, with a filter box; archived ones last, marked. */
export function ConversationList({ me, activeId }: { me: string; activeId: string | null }) {
  const { conversations, loading } = useConversations();
  const [filter, setFilter] = useState('');
  const peers = useMemo(() => [...new Set(conversations.map((c) => peerOf(c, me)?.userId).filter((x): x is string => !!x))], [conversations, me]);
  const presence = usePresence(peers);
  const q = filter.trim().toLowerCase();
  const shown = conversations.filter(
    (c) => !q || conversationTitle(c, me).toLowerCase().includes(q) || c.members.some((m) => m.userId.toLowerCase().includes(q)),
  );
  const active = shown.filter((c) => !c.archived);
  const archived = shown.filter((c) => c.archived);
  return (
    <>
      <div className="filter">
        <label htmlFor="conv-filter" className="sr-only">
          Filter conversations
        </label>
        <input id="conv-filter" className="input" type="search" placeholder="Filter conversations" value={filter} onChange={(e) => setFilter(e.target.value)} />
      </div>
      <ul className="conv-list" aria-label="Conversation list">
        {active.map((c) => (
          <Item key={c.id} c={c} me={me} active={c.id === activeId} presence={presence[peerOf(c, me)?.userId ?? '']} />
        ))}
        {archived.length > 0 && (
          <li className="section-label" aria-hidden="true">
            Archived
          </li>
        )}
        {archived.map((c) => (
          <Item key={c.id} c={c} me={me} active={c.id === activeId} presence={presence[peerOf(c, me)?.userId ?? '']} />
        ))}
        {!loading && shown.length === 0 && <li className="empty">{q ? 'No conversation matches.' : 'No conversations yet. Start one with New.'}</li>}
      </ul>
    </>
  );
}
