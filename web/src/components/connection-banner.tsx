import { useConnection } from '../data.ts';

/** Says so while the app is not live: offline (sends queue), reconnecting, catching up. */
export function ConnectionBanner() {
  const { state, queued } = useConnection();
  if (state === 'connected') return null;
  const text =
    state === 'offline'
      ? `You are offline.${queued ? ` ${queued} message${queued === 1 ? '' : 's'} will be sent when you are back.` : ' Messages you send will wait until you are back.'}`
      : state === 'syncing'
        ? 'Catching up on what you missed…'
        : state === 'connecting'
          ? 'Connecting…'
          : 'Reconnecting…';
  return (
    <div className="banner" role="status">
      {text}
    </div>
  );
}
