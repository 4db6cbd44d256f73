import { memo, type ReactNode, useState } from 'react';
import type { Message } from '../../../protocol/types.ts';
import { fileSize, listNames, timeOf } from '../format.ts';
import { Avatar } from './avatar.tsx';
import { ReactionPicker } from './reaction-picker.tsx';
import { PaperclipIcon } from './icons.tsx';

/** Where a message of the caller's stands on its way out. */
export type SendState = { state: 'pending' } | { state: 'queued' } | { state: 'failed'; reason: string };

export interface RowMessage {
  message: Message;
  send?: SendState;
}

export interface MessageActions {
  reply(m: Message): void;
  edit(m: Message): void;
  remove(m: Message): void;
  react(m: Message, emoji: string, on: boolean): void;
  retry(clientMsgId: string): void;
  discard(clientMsgId: string): void;
  jumpTo(messageId: string): void;
}

interface Props {
  row: RowMessage;
  me: string;
  nameOf(userId: string): string;
  pictureOf(userId: string): string | null;
  /** The message this one replies to, when known. */
  parent: Message | null;
  /** Same sender within a few minutes: no avatar and name again. */
  continued: boolean;
  canDelete: boolean;
  /** "Seen by …" under the caller's last message. */
  seenBy: string[] | null;
  actions: MessageActions;
}

function renderBody(m: Message, nameOf: (id: string) => string): ReactNode {
  if (m.mentions.length === 0) return m.body;
  // Highlight @name for each mentioned member, as the composer wrote it.
  const names = m.mentions.map((id) => `@${nameOf(id)}`).sort((a, b) => b.length - a.length);
  const parts: ReactNode[] = [];
  let rest = m.body;
  let key = 0;
  while (rest) {
    let at = -1;
    let hit = '';
    for (const n of names) {
      const i = rest.indexOf(n);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        hit = n;
      }
    }
    if (at < 0) {
      parts.push(rest);
      break;
    }
    if (at > 0) parts.push(rest.slice(0, at));
    parts.push(
      <span key={key++} className="mention">
        {hit}
      </span>,
    );
    rest = rest.slice(at + hit.length);
  }
  return parts;
}

const STATUS_TEXT = { sent: 'Sent', delivered: 'Delivered', read: 'Read' } as const;
const STATUS_TICKS = { sent: '✓', delivered: '✓✓', read: '✓✓' } as const;

function Status({ row, seenBy, actions }: { row: RowMessage; seenBy: string[] | null; actions: MessageActions }) {
  const { message: m, send } = row;
  if (send?.state === 'failed') {
    return (
      <div className="msg-status failed" role="alert">
        <span>Not sent: {send.reason}</span>
        <button type="button" className="link-btn" onClick={() => actions.retry(m.clientMsgId)}>
          Retry
        </button>
        <button type="button" className="link-btn" onClick={() => actions.discard(m.clientMsgId)}>
          Discard
        </button>
      </div>
    );
  }
  if (send) return <div className="msg-status">{send.state === 'queued' ? 'Waiting for the connection…' : 'Sending…'}</div>;
  if (!m.status) return null;
  return (
    <div className="msg-status">
      <span role="img" aria-label={STATUS_TEXT[m.status]} title={STATUS_TEXT[m.status]} style={m.status === 'read' ? { color: 'var(--accent)' } : undefined}>
        {STATUS_TICKS[m.status]}
      </span>
      {seenBy && seenBy.length > 0 && <span>Seen by {listNames(seenBy)}</span>}
    </div>
  );
}

/** One message: quote of its parent, body with mentions, attachments, reactions, status and actions. */
export const MessageRow = memo(function MessageRow({ row, me, nameOf, pictureOf, parent, continued, canDelete, seenBy, actions }: Props) {
  const m = row.message;
  const mine = m.senderId === me;
  const deleted = m.deletedAt !== null;
  const [picking, setPicking] = useState(false);
  const sender = nameOf(m.senderId);
  const settled = !row.send;
  return (
    <article className={`msg${mine ? ' mine' : ''}${continued ? ' cont' : ''}`} aria-label={`${sender}, ${timeOf(m.createdAt)}`} data-seq={m.seq || undefined}>
      <Avatar name={sender} picture={pictureOf(m.senderId)} />
      {!continued && (
        <div className="msg-head">
          <strong>{sender}</strong>
          <time className="msg-time" dateTime={m.createdAt}>
            {timeOf(m.createdAt)}
          </time>
        </div>
      )}
      <div>
        {m.replyTo && (
          <button type="button" className="quote" onClick={() => actions.jumpTo(m.replyTo!)} aria-label={parent ? `Reply to ${nameOf(parent.senderId)}: ${parent.body}` : 'Reply to an earlier message'}>
            {parent ? (
              <>
                <strong>{nameOf(parent.senderId)}</strong> {parent.deletedAt ? 'Message deleted' : parent.body}
              </>
            ) : (
              'Reply to an earlier message'
            )}
          </button>
        )}
        {deleted ? (
          <div className="msg-body deleted">This message was deleted</div>
        ) : (
          <div className="msg-body">
            {renderBody(m, nameOf)}
            {m.editedAt && <span className="msg-time"> (edited)</span>}
          </div>
        )}
        {!deleted && m.attachments.length > 0 && (
          <ul className="attachments" aria-label="Attachments">
            {m.attachments.map((a) => (
              <li key={a.url}>
                <a href={a.url} target="_blank" rel="noopener noreferrer">
                  <PaperclipIcon /> {a.name ?? new URL(a.url).pathname.split('/').pop()}
                  {a.size !== undefined && <span className="hint">{fileSize(a.size)}</span>}
                  {a.mimeType && <span className="sr-only">({a.mimeType})</span>}
                </a>
              </li>
            ))}
          </ul>
        )}
        {m.reactions.length > 0 && (
          <div className="reactions">
            {m.reactions.map((r) => {
              const on = r.userIds.includes(me);
              return (
                <button
                  key={r.emoji}
                  type="button"
                  className="reaction"
                  aria-pressed={on}
                  aria-label={`${r.emoji} ${r.count}, by ${listNames(r.userIds.map(nameOf))}`}
                  onClick={() => actions.react(m, r.emoji, !on)}
                >
                  {r.emoji} {r.count}
                </button>
              );
            })}
          </div>
        )}
        {mine && <Status row={row} seenBy={seenBy} actions={actions} />}
        {settled && !deleted && (
          <div className="msg-actions" style={{ position: 'relative' }}>
            <button type="button" className="btn" onClick={() => actions.reply(m)} aria-label={`Reply to ${sender}`}>
              Reply
            </button>
            <button type="button" className="btn" onClick={() => setPicking((p) => !p)} aria-expanded={picking} aria-label="Add a reaction">
              React
            </button>
            {mine && (
              <button type="button" className="btn" onClick={() => actions.edit(m)} aria-label="Edit message">
                Edit
              </button>
            )}
            {(mine || canDelete) && (
              <button type="button" className="btn danger" onClick={() => actions.remove(m)} aria-label="Delete message">
                Delete
              </button>
            )}
            {picking && (
              <ReactionPicker
                onPick={(emoji) => {
                  setPicking(false);
                  const on = !m.reactions.some((r) => r.emoji === emoji && r.userIds.includes(me));
                  actions.react(m, emoji, on);
                }}
                onClose={() => setPicking(false)}
              />
            )}
          </div>
        )}
      </div>
    </article>
  );
});
