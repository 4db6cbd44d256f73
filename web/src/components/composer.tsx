import { type FormEvent, type KeyboardEvent, useEffect, useId, useMemo, useRef, useState } from 'react';
import type { Message } from '../../../protocol/types.ts';

export interface Mentionable {
  userId: string;
  name: string;
}

export interface ComposerProps {
  members: Mentionable[];
  replyTo: Message | null;
  editing: Message | null;
  nameOf(userId: string): string;
  onSend(body: string, mentions: string[]): void;
  onEdit(message: Message, body: string): void;
  onCancel(): void;
  onTyping(typing: boolean): void;
  disabledReason?: string | null;
}

const MAX_SUGGESTIONS = 8;

/** The `@word` being typed just before the caret, if any. */
function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
  const m = /(^|\s)@([^\s@]{0,40})$/.exec(text.slice(0, caret));
  return m ? { start: caret - m[2]!.length - 1, query: m[2]!.toLowerCase() } : null;
}

/** The message box: Enter sends, Shift+Enter breaks the line, @ suggests members, Escape cancels a reply or an edit. */
export function Composer({ members, replyTo, editing, nameOf, onSend, onEdit, onCancel, onTyping, disabledReason }: ComposerProps) {
  const [text, setText] = useState('');
  const [caret, setCaret] = useState(0);
  const [picked, setPicked] = useState<Mentionable[]>([]);
  const [active, setActive] = useState(0);
  const area = useRef<HTMLTextAreaElement>(null);
  const listId = useId();

  useEffect(() => {
    if (editing) setText(editing.body);
    if (editing || replyTo) area.current?.focus();
  }, [editing, replyTo]);

  const query = mentionQuery(text, caret);
  const suggestions = useMemo(() => {
    if (!query) return [];
    return members.filter((m) => m.name.toLowerCase().startsWith(query.query) || m.userId.toLowerCase().startsWith(query.query)).slice(0, MAX_SUGGESTIONS);
  }, [members, query]);
  const open = suggestions.length > 0;

  const insert = (m: Mentionable) => {
    if (!query) return;
    const next = `${text.slice(0, query.start)}@${m.name} ${text.slice(caret)}`;
    const at = query.start + m.name.length + 2;
    setText(next);
    setPicked((p) => (p.some((x) => x.userId === m.userId) ? p : [...p, m]));
    setActive(0);
    requestAnimationFrame(() => {
      area.current?.setSelectionRange(at, at);
      setCaret(at);
    });
  };

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    const body = text.trim();
    if (!body || disabledReason) return;
    if (editing) onEdit(editing, body);
    else onSend(body, picked.filter((m) => body.includes(`@${m.name}`)).map((m) => m.userId));
    setText('');
    setPicked([]);
    onTyping(false);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (open && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
      e.preventDefault();
      setActive((a) => (a + (e.key === 'ArrowDown' ? 1 : suggestions.length - 1)) % suggestions.length);
    } else if (open && (e.key === 'Enter' || e.key === 'Tab')) {
      e.preventDefault();
      insert(suggestions[Math.min(active, suggestions.length - 1)]!);
    } else if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    } else if (e.key === 'Escape' && (replyTo || editing)) {
      e.preventDefault();
      if (editing) setText('');
      onCancel();
    }
  };

  const label = editing ? 'Edit message' : replyTo ? `Reply to ${nameOf(replyTo.senderId)}` : 'Message';
  return (
    <div className="composer">
      {(replyTo || editing) && (
        <div className="replying">
          <span>{editing ? 'Editing your message' : `Replying to ${nameOf(replyTo!.senderId)}: ${replyTo!.body}`}</span>
          <button
            type="button"
            className="btn"
            onClick={() => {
              if (editing) setText('');
              onCancel();
            }}
          >
            Cancel
          </button>
        </div>
      )}
      {open && (
        <div className="suggestions" id={listId} role="listbox" aria-label="Members to mention">
          {suggestions.map((m, i) => (
            <div
              key={m.userId}
              id={`${listId}-${i}`}
              role="option"
              tabIndex={-1}
              aria-selected={i === active}
              onMouseDown={(e) => {
                e.preventDefault();
                insert(m);
              }}
            >
              {m.name} <span className="hint">{m.userId}</span>
            </div>
          ))}
        </div>
      )}
      <form onSubmit={submit}>
        <label htmlFor={`${listId}-input`} className="sr-only">
          {label}
        </label>
        <textarea
          id={`${listId}-input`}
          ref={area}
          className="input"
          rows={1}
          placeholder={disabledReason ?? 'Write a message… (@ to mention)'}
          value={text}
          maxLength={10_000 * 2}
          role="combobox"
          aria-expanded={open}
          aria-controls={open ? listId : undefined}
          aria-autocomplete="list"
          aria-activedescendant={open ? `${listId}-${active}` : undefined}
          disabled={!!disabledReason}
          onChange={(e) => {
            setText(e.target.value);
            setCaret(e.target.selectionStart);
            onTyping(e.target.value.length > 0);
          }}
          onSelect={(e) => setCaret(e.currentTarget.selectionStart)}
          onKeyDown={onKeyDown}
          onBlur={() => onTyping(false)}
        />
        <button type="submit" className="btn primary" disabled={!text.trim() || !!disabledReason}>
          {editing ? 'Save' : 'Send'}
        </button>
      </form>
    </div>
  );
}
