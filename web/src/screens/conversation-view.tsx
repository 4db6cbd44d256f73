import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Conversation, Message } from '../../../protocol/types.ts';
import { Avatar, presenceLabel } from '../components/avatar.tsx';
import { Composer } from '../components/composer.tsx';
import { type MessageActions, MessageRow, type RowMessage } from '../components/message-row.tsx';
import { VirtualList, type VirtualListHandle } from '../components/virtual-list.tsx';
import { useActions, useConversation, useMessages, usePresence, useSend, useTyping } from '../data.ts';
import { dayKey, dayLabel, listNames } from '../format.ts';
import { Link } from '../link.tsx';
import { conversationTitle, memberName, peerOf } from '../names.ts';
import { BackIcon } from '../components/icons.tsx';

type Entry = { kind: 'day'; key: string; label: string } | { kind: 'new'; key: string } | { kind: 'msg'; key: string; row: RowMessage; continued: boolean };

const CONTINUE_MS = 5 * 60_000;
const entryKey = (e: Entry): string => e.key;
const isMessage = (e: Entry): boolean => e.kind === 'msg';

/** Messages interleaved with date separators and the "new messages" divider. */
function entriesOf(rows: RowMessage[], me: string, dividerAfterSeq: number | null): Entry[] {
  const out: Entry[] = [];
  let lastDay = '';
  let prev: Message | null = null;
  let divided = dividerAfterSeq === null;
  for (const row of rows) {
    const m = row.message;
    const day = dayKey(m.createdAt);
    if (day !== lastDay) {
      out.push({ kind: 'day', key: `day-${day}`, label: dayLabel(m.createdAt) });
      lastDay = day;
      prev = null;
    }
    if (!divided && m.seq > dividerAfterSeq! && m.senderId !== me && !row.send) {
      out.push({ kind: 'new', key: 'new-messages' });
      divided = true;
      prev = null;
    }
    const continued = !!prev && prev.senderId === m.senderId && Date.parse(m.createdAt) - Date.parse(prev.createdAt) < CONTINUE_MS && !m.replyTo;
    out.push({ kind: 'msg', key: `m-${m.clientMsgId}-${m.senderId}`, row, continued });
    prev = m;
  }
  return out;
}

function Header({ c, me }: { c: Conversation; me: string }) {
  const peer = peerOf(c, me);
  const presence = usePresence(peer ? [peer.userId] : []);
  const p = peer ? presence[peer.userId] : undefined;
  const title = conversationTitle(c, me);
  const sub = peer
    ? [p ? presenceLabel(p.status) : 'offline', p?.customStatus?.text ? `${p.customStatus.emoji ?? ''} ${p.customStatus.text}`.trim() : null].filter(Boolean).join(' · ')
    : `${c.memberCount} members`;
  return (
    <div className="topbar">
      <Link to="/" className="btn icon back" aria-label="Back to conversations">
        <BackIcon />
      </Link>
      <Avatar name={title} picture={peer?.picture} presence={peer ? (p?.status ?? 'offline') : null} small />
      <h2>
        {title}
        <span className="sub">{sub}</span>
      </h2>
      <Link to={`/c/${c.id}/members`} className="btn">
        {c.kind === 'group' ? 'Members' : 'Details'}
      </Link>
    </div>
  );
}

/** One conversation: its history (virtualised), typing, receipts, and the composer. */
export function ConversationView({ id, me }: { id: string; me: string }) {
  const conversation = useConversation(id);
  const { rows, hasMore, loadingOlder, loadOlder } = useMessages(id);
  const send = useSend(id);
  const typing = useTyping(id);
  const act = useActions();
  const list = useRef<VirtualListHandle>(null);
  const [atBottom, setAtBottom] = useState(true);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const [announce, setAnnounce] = useState('');

  // The read marker as it was when the conversation was first shown: the divider stays put while reading.
  const divider = useRef<number | null | undefined>(undefined);
  if (divider.current === undefined && conversation) {
    const mine = conversation.members.find((m) => m.userId === me);
    divider.current = mine && conversation.unreadCount > 0 ? mine.readSeq : null;
  }
  const dividerAfter = divider.current ?? null;

  const members = conversation?.members ?? [];
  const byId = useMemo(() => new Map(members.map((m) => [m.userId, m])), [members]);
  const nameOf = useCallback((userId: string) => memberName(byId.get(userId) ?? { userId, name: null }), [byId]);
  const pictureOf = useCallback((userId: string) => byId.get(userId)?.picture ?? null, [byId]);
  const messagesById = useMemo(() => new Map(rows.map((r) => [r.message.id, r.message])), [rows]);
  const entries = useMemo(() => entriesOf(rows, me, dividerAfter), [rows, me, dividerAfter]);

  // "Seen by" under the caller's latest sent message only, as most chat apps do.
  const lastMine = useMemo(() => [...rows].reverse().find((r) => r.message.senderId === me && !r.send)?.message ?? null, [rows, me]);
  const seenBy = useMemo(
    () => (lastMine ? members.filter((m) => m.userId !== me && m.readSeq >= lastMine.seq).map(memberName) : []),
    [members, lastMine, me],
  );

  // Read up to the latest message while the newest is on screen and the page is visible.
  const latestSeq = rows.length ? Math.max(...rows.slice(-20).map((r) => r.message.seq)) : 0;
  const myRead = byId.get(me)?.readSeq ?? 0;
  useEffect(() => {
    const mark = () => {
      if (atBottom && latestSeq > myRead && document.visibilityState === 'visible') act.markRead(id, latestSeq);
    };
    mark();
    document.addEventListener('visibilitychange', mark);
    return () => document.removeEventListener('visibilitychange', mark);
  }, [atBottom, latestSeq, myRead, id, act]);

  // Screen readers hear incoming messages; the virtualised list itself is not a live region.
  const lastRow = rows[rows.length - 1];
  useEffect(() => {
    const m = lastRow?.message;
    if (m && m.senderId !== me && !m.deletedAt) setAnnounce(`${nameOf(m.senderId)}: ${m.body}`);
  }, [lastRow, me, nameOf]);

  const actions: MessageActions = useMemo(
    () => ({
      reply: (m) => {
        setEditing(null);
        setReplyTo(m);
      },
      edit: (m) => {
        setReplyTo(null);
        setEditing(m);
      },
      remove: (m) => {
        if (confirm('Delete this message for everyone?')) act.remove(m.id);
      },
      react: (m, emoji, on) => act.react(m.id, emoji, on),
      retry: send.retry,
      discard: send.discard,
      jumpTo: (messageId) => {
        const target = messagesById.get(messageId);
        if (target) list.current?.scrollToKey(`m-${target.clientMsgId}-${target.senderId}`);
      },
    }),
    [act, send, messagesById],
  );

  if (!conversation) return <p className="empty">Loading the conversation…</p>;
  const canDelete = conversation.kind === 'group' && (conversation.role === 'admin' || conversation.role === 'owner');
  const typingNames = typing.userIds.filter((u) => u !== me).map(nameOf);

  return (
    <>
      <Header c={conversation} me={me} />
      <VirtualList
        ref={list}
        label={`Messages with ${conversationTitle(conversation, me)}`}
        items={entries}
        keyOf={entryKey}
        canAnchor={isMessage}
        estimate={64}
        startAt={dividerAfter !== null ? 'new-messages' : null}
        onNearTop={hasMore && !loadingOlder ? loadOlder : undefined}
        onAtBottomChange={setAtBottom}
        header={<div className="loading-older">{loadingOlder ? 'Loading older messages…' : hasMore ? ' ' : 'This is the beginning of the conversation.'}</div>}
        renderRow={(e) =>
          e.kind === 'day' ? (
            <div className="separator">
              {e.label}
            </div>
          ) : e.kind === 'new' ? (
            <div className="separator new-messages">
              New messages
            </div>
          ) : (
            <MessageRow
              row={e.row}
              me={me}
              nameOf={nameOf}
              pictureOf={pictureOf}
              parent={e.row.message.replyTo ? (messagesById.get(e.row.message.replyTo) ?? null) : null}
              continued={e.continued}
              canDelete={canDelete}
              seenBy={lastMine && e.row.message.id === lastMine.id ? seenBy : null}
              actions={actions}
            />
          )
        }
      />
      {!atBottom && (
        <button type="button" className="btn jump" onClick={() => list.current?.scrollToBottom()}>
          ↓ Jump to latest
        </button>
      )}
      <div className="typing" aria-live="polite">
        {typingNames.length > 0 && `${listNames(typingNames)} ${typingNames.length > 1 ? 'are' : 'is'} typing…`}
      </div>
      <div className="sr-only" aria-live="polite">
        {announce}
      </div>
      <Composer
        members={members.filter((m) => m.userId !== me).map((m) => ({ userId: m.userId, name: memberName(m) }))}
        replyTo={replyTo}
        editing={editing}
        nameOf={nameOf}
        onSend={(body, mentions) => {
          send.send(body, { replyTo: replyTo?.id, mentions });
          setReplyTo(null);
          list.current?.scrollToBottom();
        }}
        onEdit={(m, body) => {
          if (body !== m.body) act.edit(m.id, body);
          setEditing(null);
        }}
        onCancel={() => {
          setReplyTo(null);
          setEditing(null);
        }}
        onTyping={typing.setTyping}
      />
    </>
  );
}
