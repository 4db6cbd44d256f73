import { initials } from '../format.ts';

export type PresenceLike = 'online' | 'away' | 'busy' | 'dnd' | 'offline';

const STATUS_LABEL: Record<PresenceLike, string> = { online: 'online', away: 'away', busy: 'busy', dnd: 'do not disturb', offline: 'offline' };

/** A user's picture (or initials), with a presence dot when presence is known. */
export function Avatar({ name, picture, presence, small }: { name: string; picture?: string | null; presence?: PresenceLike | null; small?: boolean }) {
  return (
    <span className={`avatar${small ? ' small' : ''}`} aria-hidden={presence ? undefined : true}>
      {picture ? <img src={picture} alt="" referrerPolicy="no-referrer" /> : <span aria-hidden="true">{initials(name)}</span>}
      {presence && <span className={`dot ${presence}`} role="img" aria-label={STATUS_LABEL[presence]} />}
    </span>
  );
}

export const presenceLabel = (p: PresenceLike): string => STATUS_LABEL[p];
