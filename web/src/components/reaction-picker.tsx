import { type KeyboardEvent, useEffect, useRef } from 'react';

export const REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'];

/** A small row of emoji; arrow keys move, Enter picks, Escape closes. */
export function ReactionPicker({ onPick, onClose }: { onPick(emoji: string): void; onClose(): void }) {
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), []);
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      onClose();
      return;
    }
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const buttons = [...e.currentTarget.querySelectorAll('button')];
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    buttons[(i + (e.key === 'ArrowRight' ? 1 : buttons.length - 1)) % buttons.length]?.focus();
    e.preventDefault();
  };
  return (
    <div className="popover picker" role="toolbar" aria-label="Reactions" onKeyDown={onKeyDown} style={{ bottom: '100%', left: 0 }}>
      {REACTIONS.map((emoji, i) => (
        <button key={emoji} ref={i === 0 ? first : undefined} type="button" aria-label={`React with ${emoji}`} onClick={() => onPick(emoji)}>
          {emoji}
        </button>
      ))}
    </div>
  );
}
